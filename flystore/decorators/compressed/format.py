"""The compressed-file format (version 1), byte by byte; docs/compression.md describes the same layout.

A stored file is a run of independent frames followed by a trailer that indexes them::

    file    = frame* trailer
    frame   = one slice of the original: every slice holds ``frame_size`` bytes but the last
              (1..frame_size); a zstd frame, a gzip member, or the slice itself (codec "raw")
    index   = per frame: stored length (uint32 BE) | CRC-32 of the stored frame bytes (uint32 BE)
    footer  = frame_size (u32) | frames (u64) | original size (u64) | CRC-32 of the index (u32)
              | version (u8) | codec (u8) | flags (u16) | CRC-32 of the 28 bytes before (u32) | b"FLYZ"

The trailer wraps ``index | footer`` in something the codec's own tools skip, so a zstd file
is readable by ``zstd -d`` and a gzip file by ``gzip -d``:

- zstd and raw: a zstd skippable frame, ``5F 2A 4D 18 | payload length (u32 LE) | index | footer``;
- gzip: an empty gzip member whose comment is ``base64(index) base64(footer)``.

Every byte is covered by a CRC: frames by the index, the index by the footer, the footer by
itself, and the trailer's fixed bytes are compared exactly. So a flipped, cut, appended or
reordered byte is reported as ``IntegrityError`` instead of decompressing into wrong bytes.
CRC-32 detects corruption, not forgery: an attacker who can rewrite the file can write any
valid file; authenticity is the encrypted disk's job (nest ``compressed(encrypted(...))``).
"""

from __future__ import annotations

import base64
import struct
import sys
import zlib
from array import array
from dataclasses import dataclass

from ...errors import IntegrityError

__all__ = [
    "CODEC_GZIP", "CODEC_RAW", "CODEC_ZSTD", "CODEC_NAMES", "FLAG_STORED", "FOOTER_SIZE", "MAGIC", "MAX_FRAME",
    "TAIL_PROBE", "Footer", "Index", "gzip_trailer", "parse_tail", "zstd_trailer",
]

MAGIC = b"FLYZ"
VERSION = 1
#: The largest frame a writer makes; a footer claiming more is refused before anything is decompressed,
#: so a tiny crafted file cannot make a read allocate gigabytes (a decompression bomb).
MAX_FRAME = 64 * 1024 * 1024
CODEC_RAW, CODEC_ZSTD, CODEC_GZIP = 0, 1, 2
CODEC_NAMES = {CODEC_RAW: "raw", CODEC_ZSTD: "zstd", CODEC_GZIP: "gzip"}
#: The content was stored without compression (raw frames, or gzip members at level 0).
FLAG_STORED = 1

_FOOTER = struct.Struct(">IQQIBBHI4s")
FOOTER_SIZE = _FOOTER.size  # 36: a multiple of 3, so its base64 form has no padding
_B64_FOOTER = FOOTER_SIZE // 3 * 4
_ENTRY = struct.Struct(">II")
_LITTLE = sys.byteorder == "little"  # the index is big-endian on disk

_SKIPPABLE = b"\x5f\x2a\x4d\x18"
# An empty gzip member: header with FCOMMENT, mtime 0, no extra flags, OS "unknown" ...
_GZIP_HEAD = b"\x1f\x8b\x08\x10\x00\x00\x00\x00\x00\xff"
# ... and after the comment's NUL: an empty final deflate block, CRC-32 0 and length 0.
_GZIP_TAIL = b"\x00\x03\x00" + bytes(8)
#: Bytes read from the end of a file to find its footer (whichever the codec).
TAIL_PROBE = _B64_FOOTER + len(_GZIP_TAIL)


@dataclass(frozen=True)
class Footer:
    """The fixed-size end of a compressed file."""

    frame_size: int
    frames: int
    size: int
    index_crc: int
    codec: int
    flags: int = 0

    def pack(self) -> bytes:
        head = _FOOTER.pack(self.frame_size, self.frames, self.size, self.index_crc, VERSION, self.codec,
                            self.flags, 0, MAGIC)[:28]
        return head + struct.pack(">I", zlib.crc32(head)) + MAGIC

    @classmethod
    def unpack(cls, raw: bytes, path: str) -> Footer:
        """Raises: IntegrityError: not a version-1 footer, or one that does not add up."""
        if len(raw) != FOOTER_SIZE or raw[-4:] != MAGIC:
            raise IntegrityError.at(path, "the file is not a flystore compressed file (no footer; truncated?)")
        frame_size, frames, size, index_crc, version, codec, flags, crc, _ = _FOOTER.unpack(raw)
        if crc != zlib.crc32(raw[:28]):
            raise IntegrityError.at(path, "the compressed file's footer is corrupt")
        if version != VERSION:
            raise IntegrityError.at(path, f"unknown compressed format version {version}")
        if codec not in CODEC_NAMES or frame_size == 0 or frames != -(-size // frame_size):
            raise IntegrityError.at(path, "the compressed file's footer does not add up")
        if frame_size > MAX_FRAME:
            raise IntegrityError.at(path, f"the footer claims frames of {frame_size} bytes, more than {MAX_FRAME}")
        return cls(frame_size, frames, size, index_crc, codec, flags)

    def plain_length(self, frame: int) -> int:
        """Original bytes in ``frame``."""
        if frame < self.frames - 1:
            return self.frame_size
        return self.size - (self.frames - 1) * self.frame_size


class Index:
    """Stored lengths and CRCs of the frames, with their offsets."""

    def __init__(self) -> None:
        self.lengths = array("I")
        self.crcs = array("I")
        self.offsets = array("Q", [0])

    def add(self, stored: bytes | memoryview) -> None:
        self.lengths.append(len(stored))
        self.crcs.append(zlib.crc32(stored))
        self.offsets.append(self.offsets[-1] + len(stored))

    @property
    def frames_bytes(self) -> int:
        """Bytes of all frames together (where the trailer starts)."""
        return self.offsets[-1]

    def pack(self) -> bytes:
        pairs = array("I", bytes(8 * len(self.lengths)))
        pairs[0::2] = self.lengths
        pairs[1::2] = self.crcs
        if _LITTLE:
            pairs.byteswap()
        return pairs.tobytes()

    @classmethod
    def unpack(cls, raw: bytes, footer: Footer, path: str) -> Index:
        """Raises: IntegrityError: the index does not match its CRC or its frame count."""
        if len(raw) != _ENTRY.size * footer.frames or zlib.crc32(raw) != footer.index_crc:
            raise IntegrityError.at(path, "the compressed file's frame index is corrupt")
        pairs = array("I")
        pairs.frombytes(raw)
        if _LITTLE:
            pairs.byteswap()
        index = cls()
        index.lengths = pairs[0::2]
        index.crcs = pairs[1::2]
        running = 0
        for length in index.lengths:
            running += length
            index.offsets.append(running)
        return index


def zstd_trailer(index: bytes, footer: Footer) -> bytes:
    """The trailer of a zstd or raw file: a skippable frame holding ``index | footer``."""
    payload = index + footer.pack()
    return _SKIPPABLE + struct.pack("<I", len(payload)) + payload


def gzip_trailer(index: bytes, footer: Footer) -> bytes:
    """The trailer of a gzip file: an empty member whose comment carries ``index`` and ``footer``."""
    return _GZIP_HEAD + base64.b64encode(index) + base64.b64encode(footer.pack()) + _GZIP_TAIL


def _b64_length(size: int) -> int:
    return -(-size // 3) * 4


def parse_tail(tail: bytes, stored_size: int, path: str) -> tuple[Footer, int, int]:
    """The footer in the last bytes of a file, where its index starts and how long it is.

    ``tail`` is the file's last ``TAIL_PROBE`` bytes (or all of a shorter file).

    Raises:
        IntegrityError: no valid footer, or sizes that do not match the stored size.
    """
    if tail.endswith(MAGIC):
        footer = Footer.unpack(tail[-FOOTER_SIZE:], path)
        index_length = _ENTRY.size * footer.frames
        trailer = len(_SKIPPABLE) + 4 + index_length + FOOTER_SIZE
        index_start = stored_size - FOOTER_SIZE - index_length
    elif tail.endswith(_GZIP_TAIL) and len(tail) >= TAIL_PROBE:
        try:
            raw = base64.b64decode(tail[-TAIL_PROBE:-len(_GZIP_TAIL)], validate=True)
        except ValueError:
            raise IntegrityError.at(path, "the compressed file's footer is corrupt") from None
        footer = Footer.unpack(raw, path)
        index_length = _b64_length(_ENTRY.size * footer.frames)
        trailer = len(_GZIP_HEAD) + index_length + TAIL_PROBE
        index_start = stored_size - TAIL_PROBE - index_length
    else:
        raise IntegrityError.at(path, "the file is not a flystore compressed file (no footer; truncated?)")
    if (footer.codec == CODEC_GZIP) != tail.endswith(_GZIP_TAIL) or index_start < 0 or trailer > stored_size:
        raise IntegrityError.at(path, "the compressed file's trailer does not match its size (truncated?)")
    return footer, index_start, index_length


def check_trailer_head(footer: Footer, head: bytes, frames_bytes: int, stored_size: int, path: str) -> None:
    """The trailer's fixed bytes before the index, and the frames ending where the trailer begins.

    Raises:
        IntegrityError: the bytes differ or the frames do not fill the file up to the trailer.
    """
    index_length = _ENTRY.size * footer.frames
    if footer.codec == CODEC_GZIP:
        expected = _GZIP_HEAD
        trailer = len(_GZIP_HEAD) + _b64_length(index_length) + TAIL_PROBE
    else:
        expected = _SKIPPABLE + struct.pack("<I", index_length + FOOTER_SIZE)
        trailer = len(expected) + index_length + FOOTER_SIZE
    if head != expected or frames_bytes + trailer != stored_size:
        raise IntegrityError.at(path, "the compressed file's frames do not fill it up to its trailer")


def trailer_head_size(footer: Footer) -> int:
    """Bytes of the trailer before the index."""
    return len(_GZIP_HEAD) if footer.codec == CODEC_GZIP else len(_SKIPPABLE) + 4


def decode_index(raw: bytes, footer: Footer, path: str) -> Index:
    """The index as stored for this codec (base64 in a gzip comment, else binary).

    Raises:
        IntegrityError: the index is corrupt.
    """
    if footer.codec == CODEC_GZIP:
        try:
            raw = base64.b64decode(raw, validate=True)
        except ValueError:
            raise IntegrityError.at(path, "the compressed file's frame index is corrupt") from None
    return Index.unpack(raw, footer, path)

"""Streaming compression and decompression: one frame in memory at a time."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ..._streams import PieceQueue, PositionedReader, read_full, wanted_size
from ...backend import Readable
from ...errors import IntegrityError
from .codecs import PROBE_RATIO, FrameCodec, already_compressed
from .format import (
    CODEC_GZIP,
    CODEC_RAW,
    CODEC_ZSTD,
    FLAG_STORED,
    TAIL_PROBE,
    Footer,
    Index,
    check_trailer_head,
    decode_index,
    gzip_trailer,
    parse_tail,
    trailer_head_size,
    zstd_trailer,
)

__all__ = ["CompressingReader", "DecompressingReader", "compress_bytes", "read_footer"]

#: Bytes read from the end at open: the footer, and the whole index of files up to a few GiB.
_TAIL_READ = 64 * 1024


def _stored_pieces(
    next_plain: Callable[[], bytes | memoryview], codec: FrameCodec, frame_size: int
) -> Iterator[bytes]:
    """The stored bytes of a file, frame by frame, then its trailer.

    ``next_plain`` returns the next ``frame_size`` bytes of the original (fewer only at the end).
    """
    index = Index()
    size = 0
    first = next_plain()
    # Already-compressed content is stored as it is: by its signature, or because the first frame
    # did not shrink. Under gzip it becomes level-0 members, so the file stays a plain .gz.
    stored = already_compressed(bytes(first[:16]))
    frame = b""
    if first and not stored:
        frame = codec.compress(first)
        stored = len(frame) > PROBE_RATIO * len(first)
    file_codec = CODEC_RAW if stored and codec.codec == CODEC_ZSTD else codec.codec
    plain = first
    while plain:
        if stored or not frame:
            frame = codec.compress(plain, stored=stored)
        index.add(frame)
        size += len(plain)
        yield frame
        frame = b""
        if len(plain) < frame_size:
            break
        plain = next_plain()
    packed = index.pack()
    footer = Footer(frame_size, len(index.lengths), size, zlib.crc32(packed), file_codec, FLAG_STORED if stored else 0)
    yield gzip_trailer(packed, footer) if file_codec == CODEC_GZIP else zstd_trailer(packed, footer)


def compress_bytes(data: bytes, codec: FrameCodec, frame_size: int) -> bytes:
    """The whole stored form of ``data`` (already in memory)."""
    view = memoryview(data)
    position = 0

    def next_plain() -> memoryview:
        nonlocal position
        piece = view[position:position + frame_size]
        position += len(piece)
        return piece

    return b"".join(_stored_pieces(next_plain, codec, frame_size))


class CompressingReader:
    """``read(n)`` gives the stored form of a plain stream, compressed frame by frame."""

    def __init__(self, source: Readable, codec: FrameCodec, frame_size: int) -> None:
        self._pieces = _stored_pieces(lambda: read_full(source, frame_size), codec, frame_size)
        self._out = PieceQueue()
        self._done = False

    def read(self, size: int | None = -1, /) -> bytes:
        size = wanted_size(size)
        while self._out.buffered < size and not self._done:
            piece = next(self._pieces, None)
            if piece is None:
                self._done = True
            elif piece:
                self._out.push(piece)
        return self._out.take(size)


def _read_exactly(handle: BinaryIO, offset: int, size: int) -> bytes:
    handle.seek(offset)
    parts = []
    while size > 0:
        chunk = handle.read(size)
        if not chunk:
            break
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def read_footer(handle: BinaryIO, stored_size: int, path: str) -> Footer:
    """Only the footer of a stored file (what ``size()`` needs): one small read at the end.

    Raises:
        IntegrityError: no valid footer.
    """
    tail = _read_exactly(handle, max(0, stored_size - TAIL_PROBE), min(stored_size, TAIL_PROBE))
    return parse_tail(tail, stored_size, path)[0]


def _read_trailer(handle: BinaryIO, stored_size: int, path: str) -> tuple[Footer, Index]:
    start = max(0, stored_size - _TAIL_READ)
    tail = _read_exactly(handle, start, stored_size - start)
    if len(tail) != stored_size - start:
        raise IntegrityError.at(path, "the compressed file is shorter than its size (changed while read?)")
    footer, index_start, index_length = parse_tail(tail, stored_size, path)
    head_start = index_start - trailer_head_size(footer)
    if head_start >= start:
        raw = tail[head_start - start:index_start + index_length - start]
    else:
        raw = _read_exactly(handle, head_start, index_start + index_length - head_start)
    head, encoded = raw[:index_start - head_start], raw[index_start - head_start:]
    index = decode_index(encoded, footer, path)
    check_trailer_head(footer, head, index.frames_bytes, stored_size, path)
    return footer, index


class DecompressingReader(PositionedReader):
    """A seekable view of the original bytes that decompresses only the frames read.

    Opening reads the trailer (footer and index) and checks it against the stored size, so a
    truncated or extended file fails before any byte is returned; each frame is checked
    against its CRC before it is decompressed.
    """

    def __init__(
        self, handle: BinaryIO, stored_size: int, codecs: Callable[[int], FrameCodec], path: str
    ) -> None:
        super().__init__()
        self._handle = handle
        self._path = path
        try:
            self.footer, self._index = _read_trailer(handle, stored_size, path)
            self._codec = codecs(self.footer.codec)
        except BaseException:
            handle.close()
            raise
        self.size = self.footer.size
        self._frame_number = -1
        self._frame = b""
        self._position = 0
        self._at = -1

    def _load(self, number: int) -> None:
        if number == self._frame_number:
            return
        offset, length = self._index.offsets[number], self._index.lengths[number]
        if offset != self._at:
            self._handle.seek(offset)
        parts = []
        wanted = length
        while wanted > 0:
            chunk = self._handle.read(wanted)
            if not chunk:
                break
            parts.append(chunk)
            wanted -= len(chunk)
        stored = parts[0] if len(parts) == 1 else b"".join(parts)
        self._at = offset + len(stored)
        if len(stored) != length or zlib.crc32(stored) != self._index.crcs[number]:
            raise IntegrityError.at(self._path, f"frame {number} is corrupt or cut short (CRC mismatch)")
        self._frame = self._codec.decompress(stored, self.footer.plain_length(number), self._path, number)
        self._frame_number = number

    def _read(self, size: int | None, /) -> bytes:
        if self.closed:
            raise ValueError("read of a closed file")
        end = self.size if size is None or size < 0 else min(self.size, self._position + size)
        parts = []
        frame_size = self.footer.frame_size
        while self._position < end:
            number = self._position // frame_size
            self._load(number)
            start = self._position - number * frame_size
            piece = self._frame[start:start + (end - self._position)]
            parts.append(piece)
            self._position += len(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def read1(self, size: int = -1, /) -> bytes:
        return self.read(size if size >= 0 else self.footer.frame_size)


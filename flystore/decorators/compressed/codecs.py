"""Frame codecs (zstd, gzip, raw) and the sniffing that skips already-compressed content."""

from __future__ import annotations

import threading
import zlib
from typing import Any

from ...errors import DriverNotInstalled, IntegrityError
from .format import CODEC_GZIP, CODEC_RAW, CODEC_ZSTD

__all__ = ["FrameCodec", "already_compressed", "codec_for", "zstandard"]

#: A first frame that does not shrink below this share of its size is stored uncompressed.
PROBE_RATIO = 0.97

# Leading bytes of formats that are compressed already (images, archives, audio and video).
_SIGNATURES: tuple[bytes, ...] = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a", b"GIF89a",
    b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08",  # zip, docx/xlsx, jar, apk, epub
    b"\x1f\x8b",  # gzip
    b"\x28\xb5\x2f\xfd",  # zstd
    b"\xfd7zXZ\x00",  # xz
    b"BZh",  # bzip2
    b"7z\xbc\xaf\x27\x1c",  # 7-Zip
    b"Rar!\x1a\x07",
    b"\x04\x22\x4d\x18",  # lz4 frame
    b"\x1a\x45\xdf\xa3",  # Matroska / WebM
    b"OggS", b"fLaC", b"ID3",
    b"wOFF", b"wOF2",  # web fonts
    b"\xff\x0a", b"\x00\x00\x00\x0cJXL ",  # JPEG XL
)


def already_compressed(head: bytes) -> bool:
    """Whether the first bytes of a file name a format that is compressed already."""
    if head.startswith(_SIGNATURES):
        return True
    if head[4:8] == b"ftyp":  # MP4, MOV, M4A, HEIC, AVIF, 3GP
        return True
    return head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"AVI ")


def zstandard() -> Any:
    """The zstandard module, imported when a zstd disk is built (it is an optional extra).

    Raises:
        DriverNotInstalled: zstandard is missing (names ``pip install "flystore[compress]"``).
    """
    try:
        import zstandard as module
    except ImportError as cause:
        raise DriverNotInstalled.for_extra("compress", "the compressed disk (zstd)", cause=cause) from cause
    return module


class FrameCodec:
    """Compresses and decompresses single frames of one codec."""

    def __init__(self, codec: int, level: int) -> None:
        self.codec = codec
        self.level = level
        self._module: Any = None
        # zstandard's (de)compressor objects are not thread-safe: readers and writers of one disk run in
        # many threads at once, so each thread gets its own pair.
        self._local = threading.local()
        self._errors: tuple[type[Exception], ...] = (zlib.error, ValueError)
        if codec == CODEC_ZSTD:
            self._module = zstandard()
            self._errors += (self._module.ZstdError,)

    def _zstd(self) -> tuple[Any, Any]:
        pair: tuple[Any, Any] | None = getattr(self._local, "pair", None)
        if pair is None:
            module = self._module
            # No zstd checksum: the frame index's CRC-32 already covers every stored byte.
            pair = (module.ZstdCompressor(level=self.level, write_checksum=False, write_content_size=True),
                    module.ZstdDecompressor())
            self._local.pair = pair
        return pair

    def compress(self, plain: bytes | memoryview, *, stored: bool = False) -> bytes:
        """One frame of ``plain``; ``stored`` keeps it uncompressed (raw, or gzip level 0)."""
        if self.codec == CODEC_GZIP:
            squeezer = zlib.compressobj(0 if stored else self.level, zlib.DEFLATED, 31)
            return squeezer.compress(plain) + squeezer.flush()
        if stored or self.codec == CODEC_RAW:
            return bytes(plain)
        return self._zstd()[0].compress(plain)  # type: ignore[no-any-return]

    def decompress(self, frame: bytes | memoryview, expected: int, path: str, number: int) -> bytes:
        """The original bytes of one frame.

        Raises:
            IntegrityError: the frame does not decompress to exactly ``expected`` bytes.
        """
        try:
            if self.codec == CODEC_RAW:
                plain = bytes(frame)
            elif self.codec == CODEC_GZIP:
                inflater = zlib.decompressobj(31)
                plain = inflater.decompress(frame, expected + 1)
                if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
                    plain = b""  # reported below as a length mismatch
            else:
                plain = self._zstd()[1].decompress(frame, max_output_size=expected + 1)
        except self._errors as cause:
            raise IntegrityError.at(path, f"frame {number} does not decompress") from cause
        if len(plain) != expected:
            raise IntegrityError.at(path, f"frame {number} decompressed to the wrong length")
        return plain


def codec_for(name: str) -> int:
    """The codec number of a configured name (``zstd`` or ``gzip``)."""
    return {"zstd": CODEC_ZSTD, "gzip": CODEC_GZIP}[name]

"""``CompressedBackend``: compresses contents on the way in, checks and decompresses them on the way out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from ...attributes import Entry, FileAttributes, WriteOptions, without_stored_digests
from ...backend import Backend, Readable
from ...errors import IntegrityError
from ..base import TransformingBackend
from .codecs import FrameCodec, codec_for
from .format import CODEC_NAMES, FLAG_STORED, Footer
from .streams import CompressingReader, DecompressingReader, compress_bytes, read_footer

__all__ = ["CompressedBackend", "CompressionInfo"]

_URL_REASON = (
    "the disk is compressed: the bytes behind a URL would be the compressed form; read the file through the disk"
)


@dataclass(frozen=True)
class CompressionInfo:
    """How one file is stored.

    Attributes:
        codec: ``"zstd"``, ``"gzip"`` or ``"raw"`` (stored as it is).
        size: the original size in bytes.
        stored_size: bytes on the disk underneath.
        frames: independently decompressible frames.
        frame_size: original bytes per frame (the last may hold fewer).
        skipped: compression was skipped (already-compressed content).
    """

    codec: str
    size: int
    stored_size: int
    frames: int
    frame_size: int
    skipped: bool

    @property
    def ratio(self) -> float:
        """Original size over stored size (1.0 for an empty file)."""
        return self.size / self.stored_size if self.size else 1.0


class CompressedBackend(TransformingBackend):
    """Frames of zstd (or gzip) over any backend; names and metadata pass through unchanged.

    Args:
        inner: the backend that holds the compressed form.
        codec: ``"zstd"`` or ``"gzip"``.
        level: the codec's level (zstd 1..22, default 3; gzip 1..9, default 6).
        frame_size: original bytes per frame; a ranged read decompresses one frame.
    """

    url_refusal = _URL_REASON
    upload_refusal = "the disk is compressed: a client uploading directly would store uncompressed bytes"

    def __init__(self, inner: Backend, *, codec: str = "zstd", level: int | None = None,
                 frame_size: int = 512 * 1024) -> None:
        super().__init__(inner)
        number = codec_for(codec)
        self.codec = codec
        self.level = level if level is not None else (3 if codec == "zstd" else 6)
        self.frame_size = frame_size
        self.metadata_limit = inner.metadata_limit
        self.name = f"compressed({inner.name})"
        self._writer = FrameCodec(number, self.level)
        self._readers: dict[int, FrameCodec] = {number: self._writer}

    def _reader_codec(self, number: int) -> FrameCodec:
        codec = self._readers.get(number)
        if codec is None:
            codec = self._readers[number] = FrameCodec(number, 0)
        return codec

    def _stored_size(self, path: str) -> int:
        size = self.inner.stat(path).size
        if size is None:
            raise IntegrityError.at(path, "the base disk did not report the stored size")
        return size

    # -- reading -------------------------------------------------------------------

    def _reader(self, path: str) -> DecompressingReader:
        size = self._stored_size(path)
        return DecompressingReader(self.inner.open_read(path), size, self._reader_codec, path)

    def open_read(self, path: str) -> BinaryIO:
        return self._reader(path)  # type: ignore[return-value]

    def read(self, path: str) -> bytes:
        with self.open_read(path) as reader:
            return reader.read()

    def _footer(self, path: str, stored_size: int) -> Footer:
        with self.inner.open_read(path) as handle:
            return read_footer(handle, stored_size, path)

    def stat(self, path: str) -> FileAttributes:
        attributes = self.inner.stat(path)
        if attributes.size is None:
            raise IntegrityError.at(path, "the base disk did not report the stored size")
        return replace(attributes, size=self._footer(path, attributes.size).size, checksum=None,
                       extra=_original_extra(attributes.extra))

    def info(self, path: str) -> CompressionInfo:
        """How ``path`` is stored, from its footer (one small read).

        Raises:
            FileNotFound: no such file.
            IntegrityError: the file is not a valid compressed file.
        """
        stored = self._stored_size(path)
        footer = self._footer(path, stored)
        return CompressionInfo(CODEC_NAMES[footer.codec], footer.size, stored, footer.frames, footer.frame_size,
                               bool(footer.flags & FLAG_STORED))

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        # The listed size is the stored one; None makes the disk ask stat() for the original size.
        for entry in self.inner.list_contents(path, deep):
            if isinstance(entry, FileAttributes):
                entry = replace(entry, size=None, checksum=None, extra=_original_extra(entry.extra))
            yield entry

    def checksum(self, path: str, algorithm: str) -> str | None:
        return None  # the base disk's checksum is of the compressed form; the disk hashes the original

    # -- writing -------------------------------------------------------------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self.inner.write(path, compress_bytes(data, self._writer, self.frame_size), options)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self.inner.write_stream(path, CompressingReader(stream, self._writer, self.frame_size), options)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        return None  # the disk streams through write_stream, which compresses

    # -- copying -------------------------------------------------------------------

    def verify(self, path: str) -> None:
        """Decompress ``path`` to its end, discarding the bytes, one frame in memory at a time.

        Raises:
            FileNotFound: no such file.
            IntegrityError: the stored file is corrupt, cut short or not a compressed file.
        """
        with self._reader(path) as reader:
            while reader.read(reader.footer.frame_size):
                pass

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        # The stored form does not depend on the path, so the disk below copies it (server-side where it
        # can); the source is decompressed first, so a corrupt file raises instead of being passed on.
        self.verify(source)
        self.inner.copy(source, destination, options)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        self.verify(source)
        self.inner.move(source, destination, options)


def _original_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` without what describes the stored bytes (an S3 ETag is their MD5, GCS lists md5 and crc32c)."""
    return without_stored_digests(extra)

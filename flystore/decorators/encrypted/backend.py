"""``EncryptedBackend``: seals contents on the way in, authenticates and opens them on the way out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, BinaryIO

from ...attributes import Entry, FileAttributes, WriteOptions, without_stored_digests
from ...backend import Backend, Readable
from ...errors import (
    IntegrityError,
)
from ..base import TransformingBackend
from .format import KeyRing, plaintext_size
from .streams import DecryptingReader, EncryptingReader, encrypt_bytes

__all__ = ["EncryptedBackend"]

Progress = Callable[[int, int, str], Any]

_URL_REASON = (
    "the disk is encrypted: the bytes behind a URL would be ciphertext; read the file through the disk instead"
)


class EncryptedBackend(TransformingBackend):
    """AES-256-GCM segments over any backend; names and metadata pass through in plaintext."""

    url_refusal = _URL_REASON
    upload_refusal = "the disk is encrypted: a client uploading directly would store plaintext"

    def __init__(self, inner: Backend, keys: KeyRing) -> None:
        super().__init__(inner)
        self.keys = keys
        self.metadata_limit = inner.metadata_limit
        self.name = f"encrypted({inner.name})"

    # -- reading -------------------------------------------------------------------

    def open_read(self, path: str) -> BinaryIO:
        size = self.inner.stat(path).size
        if size is None:
            raise IntegrityError.at(path, "the base disk did not report the ciphertext size")
        handle = self.inner.open_read(path)
        return DecryptingReader(handle, size, self.keys, path)  # type: ignore[return-value]

    def read(self, path: str) -> bytes:
        with self.open_read(path) as reader:
            return reader.read()

    def _plain(self, attributes: FileAttributes) -> FileAttributes:
        extra = without_stored_digests(attributes.extra)  # an S3 ETag here would be the ciphertext's MD5
        if attributes.size is None:
            return replace(attributes, checksum=None, extra=extra)
        return replace(attributes, size=plaintext_size(attributes.size, attributes.path), checksum=None, extra=extra)

    def stat(self, path: str) -> FileAttributes:
        return self._plain(self.inner.stat(path))

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        for entry in self.inner.list_contents(path, deep):
            yield self._plain(entry) if isinstance(entry, FileAttributes) else entry

    def checksum(self, path: str, algorithm: str) -> str | None:
        return None  # the base disk's checksum is of the ciphertext; the disk hashes the plaintext stream

    # -- writing -------------------------------------------------------------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self.inner.write(path, encrypt_bytes(self.keys.new_cipher(path), data), options)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self.inner.write_stream(path, EncryptingReader(self.keys.new_cipher(path), stream), options)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        return None  # the disk streams through write_stream, which seals

    def _reseal(self, source: str, destination: str, options: WriteOptions) -> None:
        kept = self.inner.stat(source)
        merged = WriteOptions(
            visibility=options.visibility or kept.visibility,
            mimetype=options.mimetype or kept.mime_type,
            metadata=options.metadata or dict(kept.metadata),
            extra=options.extra,
        )
        with self.open_read(source) as reader:
            self.write_stream(destination, reader, merged)

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        # The path is bound into every segment, so a copy is decrypted and sealed again for its new path.
        # A source that fails authentication raises IntegrityError (not UnableToCopyFile): tampering is
        # always reported as such, and the destination is not written.
        self._reseal(source, destination, options)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        self._reseal(source, destination, options)
        self.inner.delete(source)

    # -- keys ----------------------------------------------------------------------

    def key_id_of(self, path: str) -> bytes:
        with self.open_read(path) as reader:
            return reader.header.key_id  # type: ignore[attr-defined,no-any-return]

    def rotate(self, path: str) -> bool:
        """Re-seal ``path`` with the current key; False when it already uses it.

        Raises:
            IntegrityError: the file does not authenticate under any key of the disk.
        """
        reader = self.open_read(path)
        with reader:
            if reader.header.key_id == self.keys.current_id:  # type: ignore[attr-defined]
                return False
            kept = self.inner.stat(path)
            options = WriteOptions(visibility=kept.visibility, mimetype=kept.mime_type, metadata=dict(kept.metadata))
            # The base backend's write is atomic: readers see the old or the new ciphertext, never a mix.
            self.write_stream(path, reader, options)
        return True

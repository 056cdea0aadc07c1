"""The decorator mechanism: a backend that wraps a backend.

``DecoratedBackend`` forwards every primitive and every capability to the
backend it wraps, explicitly (no ``__getattr__`` proxy), so a decorator
overrides only what it changes and type checkers see every method. The
encrypted, cached, CDN, failover and versioned decorators build on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO, NoReturn

from ..attributes import Entry, FileAttributes, WriteOptions
from ..backend import Backend, Readable
from ..errors import UnableToGeneratePublicUrl, UnableToGenerateTemporaryUrl, UnableToGenerateUrl

__all__ = ["DecoratedBackend", "TransformingBackend"]


class DecoratedBackend(Backend):
    """Forwards everything to ``inner``; subclasses override what they change."""

    #: Whether ``close()`` closes ``inner`` (False when ``inner`` was another layer's to close).
    owns_inner: bool = True

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.unsupported = inner.unsupported
        self.name = inner.name

    def connection_limit(self) -> int | None:
        return self.inner.connection_limit()

    def file_exists(self, path: str) -> bool:
        return self.inner.file_exists(path)

    def directory_exists(self, path: str) -> bool:
        return self.inner.directory_exists(path)

    def read(self, path: str) -> bytes:
        return self.inner.read(path)

    def open_read(self, path: str) -> BinaryIO:
        return self.inner.open_read(path)

    def stat(self, path: str) -> FileAttributes:
        return self.inner.stat(path)

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        return self.inner.list_contents(path, deep)

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        return self.inner.list_paths(path, deep)

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self.inner.write(path, data, options)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self.inner.write_stream(path, stream, options)

    def delete(self, path: str) -> bool:
        return self.inner.delete(path)

    def create_directory(self, path: str, options: WriteOptions) -> None:
        self.inner.create_directory(path, options)

    def delete_directory(self, path: str) -> bool:
        return self.inner.delete_directory(path)

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        self.inner.copy(source, destination, options)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        self.inner.move(source, destination, options)

    def set_visibility(self, path: str, visibility: str) -> None:
        self.inner.set_visibility(path, visibility)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        return self.inner.open_write(path, options)

    def public_url(self, path: str) -> str | None:
        return self.inner.public_url(path)

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
        return self.inner.temporary_url(path, expires_at, options)

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        return self.inner.temporary_upload_url(path, expires_at, options)

    def checksum(self, path: str, algorithm: str) -> str | None:
        return self.inner.checksum(path, algorithm)

    def local_path(self, path: str) -> str | None:
        return self.inner.local_path(path)

    def close(self) -> None:
        self.close_inner()

    def close_inner(self) -> None:
        """Close the wrapped backend when this decorator owns it: never a named disk's (its manager closes it)."""
        if self.owns_inner and not self.inner.shared:
            self.inner.close()


class TransformingBackend(DecoratedBackend):
    """A decorator whose stored bytes are not the file's (ciphertext, compressed frames, pointers).

    A URL or a local path would hand out the stored form, and a direct upload would bypass the
    transformation, so all of them are refused with the subclass's reasons.
    """

    #: Why a URL cannot be given, e.g. "the disk is encrypted: the bytes behind a URL would be ciphertext".
    url_refusal: str = "the bytes behind a URL would not be the file's"
    #: Why a direct upload cannot be offered.
    upload_refusal: str = "a client uploading directly would bypass the disk"

    def _no_url(self, error: type[UnableToGenerateUrl], path: str) -> NoReturn:
        raise error.at(path, self.url_refusal)

    def public_url(self, path: str) -> str | None:
        self._no_url(UnableToGeneratePublicUrl, path)

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
        self._no_url(UnableToGenerateTemporaryUrl, path)

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        raise UnableToGenerateTemporaryUrl.at(path, self.upload_refusal)

    def local_path(self, path: str) -> str | None:
        return None  # the local file holds the stored form


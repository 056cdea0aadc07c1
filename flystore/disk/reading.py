"""Reading and probing verbs: a file's bytes, text, JSON or stream; existence; attributes and checksums.

A read of a missing path says the same on every driver: a directory is in the
way, or nothing is there (``DiskCore._explain_missing``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json as json_module
import mimetypes
from datetime import datetime
from typing import Any

from .._streams import DEFAULT_CHUNK_SIZE, ProgressCallback, ReadStream
from ..attributes import FileAttributes
from ..errors import (
    FileNotFound,
    StorageError,
    UnableToCheckExistence,
    UnableToProvideChecksum,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnsupportedOperation,
)
from ..metadata import decode_metadata
from ..paths import basename, normalize
from ._verbs import _raise_as, _verb
from .core import DiskCore


def _guess_mimetype(path: str) -> str:
    guessed, _ = mimetypes.guess_type(basename(path), strict=False)
    return guessed or "application/octet-stream"


class ReadingVerbs(DiskCore):
    """The verbs that read a file or ask about it, changing nothing."""

    def get(self, path: str, *, progress: ProgressCallback | None = None) -> bytes:
        """The file's bytes.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToReadFile: the file could not be read.
        """
        if progress is not None:
            with self.read_stream(path, progress=progress) as stream:
                return b"".join(stream)
        try:
            return self._backend.read(self._file_path(path, FileNotFound))
        except (StorageError, OSError) as error:
            if isinstance(error, FileNotFound):
                self._explain_missing(error)
            _raise_as(error, UnableToReadFile, self.name, path)

    def get_text(self, path: str, encoding: str = "utf-8") -> str:
        """The file decoded as text.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToReadFile: the file could not be read or decoded.
        """
        data = self.get(path)
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as cause:
            raise UnableToReadFile.at(normalize(path), f"not valid {encoding}: {cause}", disk=self.name) from cause

    def json(self, path: str) -> Any:
        """The file parsed as JSON.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToReadFile: the file is not valid JSON.
        """
        data = self.get(path)
        try:
            return json_module.loads(data)
        except ValueError as cause:
            raise UnableToReadFile.at(normalize(path), f"not valid JSON: {cause}", disk=self.name) from cause

    @_verb(UnableToReadFile)
    def read_stream(
        self,
        path: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        *,
        progress: ProgressCallback | None = None,
    ) -> ReadStream:
        """A context manager over the file: iterate it for chunks, or ``read(n)``.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToReadFile: the file could not be opened.
        """
        target = self._file_path(path, FileNotFound)
        total = self._backend.stat(target).size if progress is not None else None
        handle = self._backend.open_read(target)

        def translate(error: Exception) -> BaseException:
            return UnableToReadFile.at(target, str(error), disk=self.name, cause=error)

        return ReadStream(handle, chunk_size, on_error=translate, progress=progress, total=total, disk=self.name)

    def exists(self, path: str) -> bool:
        """True for a file or a directory at ``path`` (the root always exists)."""
        try:
            target = normalize(path)
            if not target:
                return True
            return self._backend.file_exists(target) or self._backend.directory_exists(target)
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToCheckExistence, self.name, path)

    def missing(self, path: str) -> bool:
        """``not exists(path)``."""
        return not self.exists(path)

    def file_exists(self, path: str) -> bool:
        """True only for a file."""
        try:
            target = normalize(path)
            return bool(target) and self._backend.file_exists(target)
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToCheckExistence, self.name, path)

    def file_missing(self, path: str) -> bool:
        """``not file_exists(path)``."""
        return not self.file_exists(path)

    def directory_exists(self, path: str) -> bool:
        """True only for a directory (implied by files under it, or made)."""
        try:
            target = normalize(path)
            return not target or self._backend.directory_exists(target)
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToCheckExistence, self.name, path)

    def directory_missing(self, path: str) -> bool:
        """``not directory_exists(path)``."""
        return not self.directory_exists(path)

    @_verb(UnableToRetrieveMetadata)
    def stat(self, path: str) -> FileAttributes:
        """Everything the backend knows about the file, in one call.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        attributes = self._backend.stat(self._file_path(path, FileNotFound))
        if attributes.metadata:
            attributes = dataclasses.replace(attributes, metadata=decode_metadata(attributes.metadata))
        return attributes

    def _quick_stat(self, path: str) -> FileAttributes:
        """Size and time of the file at ``path`` in the backend's cheapest call (``disk.fs.info``).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            PathTraversalDetected: the path climbs above the root.
            UnableToRetrieveMetadata: the backend failed.
        """
        try:
            return self._backend.quick_stat(self._file_path(path, FileNotFound))
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToRetrieveMetadata, self.name, path)

    def size(self, path: str) -> int:
        """Size in bytes.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        size = self.stat(path).size
        if size is None:
            raise UnableToRetrieveMetadata.at(normalize(path), "the backend did not report a size", disk=self.name)
        return size

    def last_modified(self, path: str) -> datetime:
        """When the file was last written, as a timezone-aware UTC datetime.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        modified = self.stat(path).last_modified
        if modified is None:
            raise UnableToRetrieveMetadata.at(normalize(path), "the backend did not report a time", disk=self.name)
        return modified

    def mime_type(self, path: str) -> str:
        """The stored Content-Type, else a guess from the extension.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        attributes = self.stat(path)
        return attributes.mime_type or _guess_mimetype(attributes.path)

    @_verb(UnableToProvideChecksum)
    def checksum(self, path: str, algorithm: str = "md5") -> str:
        """Hex digest of the file's bytes (streamed when the backend has no native one).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToProvideChecksum: an unknown algorithm.
        """
        target = self._file_path(path, FileNotFound)
        try:
            digest = hashlib.new(algorithm)
        except (ValueError, TypeError) as cause:
            raise UnableToProvideChecksum.at(target, f"unknown algorithm {algorithm!r}", cause=cause) from cause
        native = self._backend.checksum(target, algorithm)
        if native is not None:
            return native
        with self._backend.open_read(target) as handle:
            while chunk := handle.read(DEFAULT_CHUNK_SIZE):
                digest.update(chunk)
        return digest.hexdigest()

    @_verb(UnableToRetrieveMetadata)
    def get_visibility(self, path: str) -> str:
        """``"public"`` or ``"private"``.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnsupportedOperation: the backend has no notion of visibility.
        """
        attributes = self.stat(path)
        if attributes.visibility is None:
            raise UnsupportedOperation.at(attributes.path, f"the {self._backend.name} backend has no visibility")
        return attributes.visibility

    def metadata(self, path: str) -> dict[str, Any]:
        """``path, size, last_modified, mime_type, visibility, metadata`` (+ backend extras).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        attributes = self.stat(path)
        return {
            **dict(attributes.extra),
            "path": attributes.path,
            "size": attributes.size,
            "last_modified": attributes.last_modified,
            "mime_type": attributes.mime_type or _guess_mimetype(attributes.path),
            "visibility": attributes.visibility,
            "metadata": dict(attributes.metadata),
        }

"""The primitive layer: what a driver or a decorator implements.

A ``Backend`` is internal plumbing in the Flysystem sense. Users call a disk
(``FilesystemAdapter``); the disk normalises paths, merges options, holds every
fallback and calls these primitives. Rules for implementers:

- paths arrive normalised and relative (``""`` is the root);
- every primitive raises only flystore errors (``translate_errors`` helps);
- a primitive never applies defaults or falls back: the disk does;
- listings are lazy and unsorted and never include the listed directory itself,
  directory markers or in-flight temporary files.

Optional capabilities (``public_url``, ``temporary_url``, ``temporary_upload_url``,
``checksum``, ``local_path``, ``open_write``) return ``None`` when the backend has
no native way; the disk then falls back or raises the specific error. A backend
lists in ``unsupported`` the features it cannot offer at all (``"visibility"``,
``"metadata"``, ``"mimetype"``); the contract suite then expects the documented
``UnsupportedOperation``/``UnableTo...`` error instead of the feature.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO, Protocol

from .attributes import Entry, FileAttributes, WriteOptions
from .errors import FileAlreadyExists

__all__ = ["Backend", "Readable"]


class Readable(Protocol):
    """Anything with ``read(n) -> bytes``: what ``write_stream`` consumes."""

    def read(self, size: int = -1, /) -> bytes: ...


class Backend:
    """Base class of drivers and decorators. Subclasses implement every primitive.

    Attributes:
        unsupported: features this backend cannot offer at all.
        name: a short word for messages ("local", "s3", ...).
        metadata_limit: bytes of custom metadata one file may carry (None: no limit).
    """

    unsupported: frozenset[str] = frozenset()
    name: str = "backend"
    #: The most bytes of custom metadata (UTF-8 keys plus encoded values) one file may carry,
    #: or None when the backend has no limit of its own; the disk refuses more with InvalidMetadata.
    metadata_limit: int | None = None
    #: True once disks configured by name wrap this backend: it belongs to its own disk, which
    #: closes it; a decorator wrapping it by name must leave it open (``DecoratedBackend.close``).
    shared: bool = False

    def connection_limit(self) -> int | None:
        """How many requests this backend serves at once from its connection pool (None: no such limit).

        Batches run at most this many items at once: a wider batch would wait for connections or, with
        urllib3, throw them away ("Connection pool is full") rather than go faster.
        """
        return None

    # -- existence -------------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        """Whether a file exists at ``path``.

        Raises:
            UnableToCheckExistence: the backend could not tell.
        """
        raise NotImplementedError

    def directory_exists(self, path: str) -> bool:
        """Whether a directory exists at ``path`` (implied by files or made explicitly).

        Raises:
            UnableToCheckExistence: the backend could not tell.
        """
        raise NotImplementedError

    # -- reading ---------------------------------------------------------------

    def read(self, path: str) -> bytes:
        """The whole file.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToReadFile: the file exists but could not be read.
        """
        raise NotImplementedError

    def open_read(self, path: str) -> BinaryIO:
        """A binary file object positioned at 0; seekable where the backend allows.

        The caller closes it.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToReadFile: the file exists but could not be opened.
        """
        raise NotImplementedError

    def stat(self, path: str) -> FileAttributes:
        """Everything known about the file at ``path`` in one call.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToRetrieveMetadata: the backend failed.
        """
        raise NotImplementedError

    def quick_stat(self, path: str) -> FileAttributes:
        """Size and last-modified time of the file at ``path``, in the backend's cheapest call.

        What costs more (an ACL request for visibility, extended attributes for the MIME
        type and custom metadata) may be left unset. ``disk.fs.info`` uses it. The default
        is ``stat``, so a decorator that changes attributes (sizes, paths) stays in effect.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToRetrieveMetadata: the backend failed.
        """
        return self.stat(path)

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        """Entries under directory ``path`` (all levels when ``deep``), lazily, unsorted.

        A missing directory yields nothing.

        Raises:
            UnableToListContents: the backend failed, possibly mid-way.
        """
        raise NotImplementedError

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        """``(path, is_folder)`` for every entry ``list_contents`` would yield.

        Listings that need no attributes use this; backends that can list names
        more cheaply than attributes (the local disk) override it.

        Raises:
            UnableToListContents: the backend failed, possibly mid-way.
        """
        for entry in self.list_contents(path, deep):
            yield entry.path, entry.is_folder

    # -- writing ---------------------------------------------------------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        """Create or replace the file at ``path``; parents are created as needed.

        Raises:
            UnableToWriteFile: nothing was written (never a partial file).
        """
        raise NotImplementedError

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        """Like ``write`` but reads ``stream`` in bounded chunks until it is exhausted.

        Raises:
            UnableToWriteFile: nothing was written (never a partial file).
        """
        raise NotImplementedError

    def write_new(self, path: str, stream: Readable, options: WriteOptions) -> None:
        """Create the file at ``path`` from ``stream`` only when nothing is there (exclusive create).

        Drivers that can make the check and the write one step override this: the local
        driver publishes with a hard link, which fails if the name exists; s3 sends a
        conditional PUT (``If-None-Match: *``); memory checks and stores under its lock.
        This default checks, then writes, so two writers racing may both pass the check
        (decorators inherit it: they write through their own ``write_stream``).

        Raises:
            FileAlreadyExists: a file or directory is at ``path``; nothing was written.
            UnableToWriteFile: nothing was written (never a partial file).
        """
        if self.file_exists(path) or self.directory_exists(path):
            raise FileAlreadyExists.at(path, "a file or directory already exists at this path")
        self.write_stream(path, stream, options)

    def delete(self, path: str) -> bool:
        """Delete the file at ``path``; True when a file was deleted. Missing is not an error.

        Raises:
            UnableToDeleteFile: the file exists and could not be deleted.
        """
        raise NotImplementedError

    def create_directory(self, path: str, options: WriteOptions) -> None:
        """Make an (empty) directory that exists and is listed.

        Raises:
            UnableToCreateDirectory: it could not be made.
        """
        raise NotImplementedError

    def delete_directory(self, path: str) -> bool:
        """Delete the directory and everything under it; False when it did not exist.

        Raises:
            UnableToDeleteDirectory: it could not be (fully) deleted.
        """
        raise NotImplementedError

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        """Copy a file, overwriting the destination and creating its parents.

        Raises:
            FileNotFound: the source is missing.
            UnableToCopyFile: the copy failed; the destination is unchanged.
        """
        raise NotImplementedError

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        """Move a file, overwriting the destination and creating its parents.

        Raises:
            FileNotFound: the source is missing.
            UnableToMoveFile: the move failed; the source is still there.
        """
        raise NotImplementedError

    def set_visibility(self, path: str, visibility: str) -> None:
        """Make the file public or private.

        Raises:
            FileNotFound: the file is missing.
            UnableToSetVisibility: the backend refused, or cannot do visibility.
        """
        raise NotImplementedError

    # -- optional capabilities (None: not native here, let the disk decide) -------

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        """A writable file object whose ``close()`` publishes the file atomically.

        Raises:
            UnableToWriteFile: the writer could not be opened.
        """
        return None

    def public_url(self, path: str) -> str | None:
        """The backend's public URL for ``path``.

        Raises:
            UnableToGeneratePublicUrl: the backend failed to build it.
        """
        return None

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
        """A URL the backend itself honours until ``expires_at`` (e.g. presigned).

        Raises:
            UnableToGenerateTemporaryUrl: the backend failed to sign it.
        """
        return None

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        """``(url, headers)`` for a client to PUT the file directly, until ``expires_at``.

        Raises:
            UnableToGenerateTemporaryUrl: the backend failed to sign it.
        """
        return None

    def checksum(self, path: str, algorithm: str) -> str | None:
        """A hex checksum the backend can give without reading the file, else None.

        Raises:
            FileNotFound: the file is missing.
            UnableToProvideChecksum: the backend failed.
        """
        return None

    def local_path(self, path: str) -> str | None:
        """The absolute local path of ``path``, on backends that have one."""
        return None

    def close(self) -> None:
        """Release connections and clients. Safe to call twice."""

"""``VersionedBackend``: keeps every overwritten and deleted version, natively on S3 or in the layout.

Which store holds the versions is decided on the first write and kept: S3's own
versions when the disk sits (through any ``scoped`` layers) directly on an S3
bucket with versioning enabled, else the ``.flystore-versions`` layout beside
the data. Either way no user path may name the layout's tree, and no listing
shows it.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO

from ...attributes import Entry, FileAttributes, WriteOptions
from ...backend import Backend, Readable
from ...errors import (
    InvalidConfiguration,
    StorageError,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToGenerateTemporaryUrl,
    UnableToWriteFile,
)
from ..base import DecoratedBackend
from .layout import LayoutVersions
from .native import NativeVersions, bucket_versioning, find_s3
from .version import STORE_DIRECTORY, refuse_reserved

__all__ = ["MODES", "VersionedBackend", "user_path"]

#: ``auto``: S3's versions where the bucket has them, else the layout; ``native``: S3's or an
#: error; ``layout``: always the layout.
MODES = ("auto", "native", "layout")

Store = LayoutVersions | NativeVersions
#: Seconds between two checks that a bucket's versioning is still enabled.
RECHECK_AFTER = 60.0


def _in_store(path: object) -> bool:
    return isinstance(path, str) and (path == STORE_DIRECTORY or path.startswith(STORE_DIRECTORY + "/"))


_TREE_NAME = re.compile(re.escape(STORE_DIRECTORY) + r"(/[^'\"\s]*)?")


@contextlib.contextmanager
def user_path(path: str) -> Iterator[None]:
    """Errors about a record name the user's path instead: the tree's names never leave the disk."""
    try:
        yield
    except StorageError as error:
        if _in_store(error.path):
            error.path = path
        for attribute in ("source", "destination"):
            if _in_store(getattr(error, attribute, None)):
                setattr(error, attribute, path)
        if STORE_DIRECTORY in error.reason:
            error.reason = _TREE_NAME.sub("its version record", error.reason)
            error.args = (error.reason,)
        raise


class VersionedBackend(DecoratedBackend):
    """Records every write and delete of ``inner`` as a version (see the module docstring).

    Args:
        inner: the backend that holds the files (and, in the layout, the versions).
        mode: one of ``MODES``.
        disk: the disk's name, for configuration errors.

    Raises:
        InvalidConfiguration: an unknown mode, or ``native`` on a disk that is not on S3.
    """

    def __init__(self, inner: Backend, mode: str = "auto", *, disk: str | None = None) -> None:
        super().__init__(inner)
        if mode not in MODES:
            raise InvalidConfiguration(f"must be one of {', '.join(MODES)}, not {mode!r}", option="mode", disk=disk)
        self.name = f"versioned({inner.name})"
        self.metadata_limit = inner.metadata_limit
        self.mode = mode
        self.layout = LayoutVersions(inner)
        self._s3 = find_s3(inner) if mode != "layout" else None
        if mode == "native" and self._s3 is None:
            raise InvalidConfiguration("native versions need an S3 disk directly below (scoped layers allowed)",
                                       option="mode", disk=disk)
        self._disk = disk
        self._store: Store | None = None
        self._decided_at = 0.0
        #: Seconds after which the bucket's versioning is asked again (native versions only).
        self.recheck_after = RECHECK_AFTER
        self._deciding = threading.Lock()

    # -- which store ------------------------------------------------------------------------

    def store(self) -> Store:
        """The store of this disk's versions, decided on first use (one request on S3).

        The bucket's own versions are asked again after ``recheck_after`` seconds: a bucket
        whose versioning was suspended meanwhile would replace its "null" version on every
        overwrite, so the disk moves to the layout (or, in ``native`` mode, refuses).

        Raises:
            InvalidConfiguration: ``native`` mode on a bucket without versioning enabled.
            UnableToListContents: the bucket's versioning could not be read.
        """
        store = self._store
        if store is not None and (store is self.layout or time.monotonic() - self._decided_at < self.recheck_after):
            return store
        with self._deciding:
            if self._store is None or (self._store is not self.layout
                                       and time.monotonic() - self._decided_at >= self.recheck_after):
                self._store = self._decide()
                self._decided_at = time.monotonic()
            return self._store

    def _decide(self) -> Store:
        if self._s3 is None:
            return self.layout
        s3, prefix = self._s3
        if bucket_versioning(s3):
            return NativeVersions(s3, prefix)
        if self.mode == "native":
            raise InvalidConfiguration(f"versioning is not enabled on bucket {s3.bucket!r}", option="mode",
                                       disk=self._disk)
        return self.layout

    def _layout_for(self, error: type[StorageError], path: str) -> LayoutVersions | None:
        """The layout when it holds the versions, None when S3 does (then writes pass straight through)."""
        try:
            store = self.store()
        except StorageError as cause:
            if isinstance(cause, InvalidConfiguration):
                raise
            raise error.at(path, cause.reason, cause=cause) from cause
        return store if isinstance(store, LayoutVersions) else None

    # -- reading: the tree is refused by name and left out of listings ------------------------------

    def file_exists(self, path: str) -> bool:
        refuse_reserved(path)
        return self.inner.file_exists(path)

    def directory_exists(self, path: str) -> bool:
        refuse_reserved(path)
        return self.inner.directory_exists(path)

    def read(self, path: str) -> bytes:
        refuse_reserved(path)
        return self.inner.read(path)

    def open_read(self, path: str) -> BinaryIO:
        refuse_reserved(path)
        return self.inner.open_read(path)

    def stat(self, path: str) -> FileAttributes:
        refuse_reserved(path)
        return self.inner.stat(path)

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        refuse_reserved(path)
        for entry in self.inner.list_contents(path, deep):
            if not _in_store(entry.path):
                yield entry

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        refuse_reserved(path)
        for found, is_folder in self.inner.list_paths(path, deep):
            if not _in_store(found):
                yield found, is_folder

    def checksum(self, path: str, algorithm: str) -> str | None:
        refuse_reserved(path)
        return self.inner.checksum(path, algorithm)

    def public_url(self, path: str) -> str | None:
        refuse_reserved(path)
        return self.inner.public_url(path)

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
        refuse_reserved(path)
        return self.inner.temporary_url(path, expires_at, options)

    def local_path(self, path: str) -> str | None:
        refuse_reserved(path)
        return self.inner.local_path(path)

    # -- writing: recorded by the layout, or versioned by S3 itself ------------------------------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        refuse_reserved(path)
        layout = self._layout_for(UnableToWriteFile, path)
        if layout is None:
            self.inner.write(path, data, options)
            return
        with user_path(path):
            layout.write(path, data, options)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        refuse_reserved(path)
        layout = self._layout_for(UnableToWriteFile, path)
        if layout is None:
            self.inner.write_stream(path, stream, options)
            return
        with user_path(path):
            layout.write_stream(path, stream, options)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        refuse_reserved(path)
        if self._layout_for(UnableToWriteFile, path) is None:
            return self.inner.open_write(path, options)
        return None  # the disk then streams through write_stream, which records

    def delete(self, path: str) -> bool:
        refuse_reserved(path)
        layout = self._layout_for(UnableToDeleteFile, path)
        if layout is None:
            return self.inner.delete(path)
        with user_path(path):
            return layout.delete(path)

    def create_directory(self, path: str, options: WriteOptions) -> None:
        refuse_reserved(path)
        self.inner.create_directory(path, options)

    def delete_directory(self, path: str) -> bool:
        refuse_reserved(path)
        layout = self._layout_for(UnableToDeleteDirectory, path)
        if layout is None:
            return self.inner.delete_directory(path)
        with user_path(path):
            return layout.delete_directory(path)

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        refuse_reserved(source)
        refuse_reserved(destination)
        layout = self._layout_for(UnableToWriteFile, destination)
        if layout is None:
            self.inner.copy(source, destination, options)
            return
        with user_path(destination):
            layout.copy(source, destination, options)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        refuse_reserved(source)
        refuse_reserved(destination)
        layout = self._layout_for(UnableToWriteFile, destination)
        if layout is None:
            self.inner.move(source, destination, options)
            return
        with user_path(destination):
            layout.move(source, destination, options)

    def set_visibility(self, path: str, visibility: str) -> None:
        refuse_reserved(path)
        self.inner.set_visibility(path, visibility)

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        refuse_reserved(path)
        if self._layout_for(UnableToGenerateTemporaryUrl, path) is not None:
            raise UnableToGenerateTemporaryUrl.at(
                path, "the disk keeps versions beside the data: a direct upload would replace the file unrecorded"
            )
        return self.inner.temporary_upload_url(path, expires_at, options)

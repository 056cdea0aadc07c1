"""Versions kept beside the data, in the ``.flystore-versions`` tree (see ``records.py``).

Every write is recorded first: the new content goes to a fresh, immutable
record with a unique id, and only then is it published at its path. A version
is therefore never lost to a concurrent writer, in this process or another:
whoever publishes last decides what the path holds, and every content that was
written is a record. Writers of one path through one disk take turns (striped
locks), so here the newest record is always what the path holds. A delete
removes the file, then writes a delete marker.

Records are written private (where the backend has visibility), so a deleted
public file does not stay public in the tree. The current content is stored
twice (the file and its newest record): that is the price of never losing a
version without locks across processes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import BinaryIO

from ...attributes import FileAttributes, WriteOptions
from ...backend import Backend, Readable
from ...errors import (
    FileNotFound,
    StorageError,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    VersionNotFound,
)
from .locks import PathLocks
from .prune import plan_prune
from .records import parse_record_name, record_directory, record_path, user_path_of
from .version import Version, is_layout_id, new_version_id, stamp_of

__all__ = ["LayoutVersions"]

#: Paths known to have records already (so a write need not look); bounded.
_KNOWN_LIMIT = 10_000


class LayoutVersions:
    """The layout over one backend: records writes and deletes, lists and restores versions."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.locks = PathLocks()
        self._private = "visibility" not in inner.unsupported
        self._recorded: dict[str, None] = {}
        self._recorded_lock = threading.Lock()

    # -- recording writes ---------------------------------------------------------------

    def _record_options(self, options: WriteOptions) -> WriteOptions:
        return replace(options, visibility="private") if self._private else replace(options, visibility=None)

    def _new_record(self, path: str) -> str:
        return record_path(path, new_version_id())

    def _remember(self, path: str) -> None:
        with self._recorded_lock:
            if len(self._recorded) >= _KNOWN_LIMIT:
                self._recorded.pop(next(iter(self._recorded)))
            self._recorded[path] = None

    def _forget(self, path: str) -> None:
        with self._recorded_lock:
            self._recorded.pop(path, None)

    def adopt(self, path: str) -> None:
        """Record the content of a file written before the disk was versioned, before it changes.

        Raises:
            UnableToCopyFile: the content could not be recorded.
        """
        if path in self._recorded or not self.inner.file_exists(path):
            return
        if not any(True for _ in self._records(path)):
            written = self.inner.stat(path).last_modified
            if written is not None and written >= datetime.now(timezone.utc):
                written = None  # a clock ahead of ours must not put the old content after the new one
            record = record_path(path, new_version_id(at=written))
            self.inner.copy(path, record, WriteOptions(visibility="private" if self._private else None))
        self._remember(path)

    def _publish(self, path: str, record: str, publish: Callable[[], None]) -> None:
        """Publish a recorded write; when publishing fails the record goes too (the write did not happen)."""
        try:
            publish()
        except BaseException:
            with contextlib.suppress(StorageError, OSError):
                self.inner.delete(record)
            raise
        self._remember(path)

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        with self.locks.hold(path):
            self.adopt(path)
            record = self._new_record(path)
            self.inner.write(record, data, self._record_options(options))
            self._publish(path, record, lambda: self.inner.write(path, data, options))

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        with self.locks.hold(path):
            self.adopt(path)
            record = self._new_record(path)
            self.inner.write_stream(record, stream, self._record_options(options))
            self._publish(path, record, lambda: self._publish_from(record, path, options))

    def _publish_from(self, record: str, path: str, options: WriteOptions) -> None:
        # Streamed back rather than copied: the path gets exactly the options of the write
        # (a copy would carry the record's private visibility).
        with self.inner.open_read(record) as handle:
            self.inner.write_stream(path, handle, options)

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        with self.locks.hold(destination):
            self._copy(source, destination, options)

    def _copy(self, source: str, destination: str, options: WriteOptions) -> None:
        visibility = options.visibility
        if visibility is None and self._private:
            visibility = self.inner.stat(source).visibility  # a copy keeps the source's visibility
        self.adopt(destination)
        record = self._new_record(destination)
        self.inner.copy(source, record, replace(options, visibility="private" if self._private else None))
        published = replace(options, visibility=visibility)
        self._publish(destination, record, lambda: self.inner.copy(record, destination, published))

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        if source == destination:
            return
        with self.locks.hold(source, destination):
            self.adopt(source)
            self._copy(source, destination, options)
            self.delete(source)

    # -- recording deletes ----------------------------------------------------------------

    def delete(self, path: str) -> bool:
        with self.locks.hold(path):
            self.adopt(path)
            if not self.inner.delete(path):
                return False
            self._mark_deleted(path, UnableToDeleteFile)
            return True

    def _mark_deleted(self, path: str, error: type[StorageError]) -> None:
        marker = record_path(path, new_version_id(), deleted=True)
        try:
            self.inner.write(marker, b"", WriteOptions(visibility="private" if self._private else None))
        except StorageError as cause:
            raise error.at(path, f"the file was deleted (its content is kept) but its delete marker could not "
                                 f"be written: {cause.reason}", cause=cause) from cause

    def delete_directory(self, path: str) -> bool:
        if not path:
            # As every driver but memory does; on memory it would take the tree with it.
            raise UnableToDeleteDirectory.at(path, "the disk root cannot be deleted")
        files = [entry.path for entry in self.inner.list_contents(path, True) if not entry.is_folder]
        for file in files:
            self.adopt(file)
        deleted = self.inner.delete_directory(path)
        for file in files:
            self._mark_deleted(file, UnableToDeleteDirectory)
        return deleted

    # -- listing versions ----------------------------------------------------------------

    def _records(self, path: str) -> Iterator[tuple[FileAttributes, str, bool]]:
        for entry in self.inner.list_contents(record_directory(path), False):
            if isinstance(entry, FileAttributes):
                parsed = parse_record_name(entry.name)
                if parsed is not None:
                    yield entry, parsed[0], parsed[1]

    def versions(self, path: str) -> list[Version]:
        """Raises: UnableToListContents: the tree could not be listed."""
        return self._versions(path, self._records(path))

    def _versions(self, path: str, records: Iterable[tuple[FileAttributes, str, bool]]) -> list[Version]:
        found = sorted(records, key=lambda record: record[1], reverse=True)
        if not found:
            return []
        exists = self.inner.file_exists(path)
        latest = next((index for index, record in enumerate(found) if record[2] != exists), None)
        if latest is not None and not exists and latest != 0:
            latest = None  # deleted without a marker newer than its content: nothing is current
        return [
            Version(
                id=version_id,
                path=path,
                size=0 if deleted else self._size(entry),
                last_modified=stamp_of(version_id),
                checksum=entry.checksum,
                is_deleted=deleted,
                is_latest=index == latest,
            )
            for index, (entry, version_id, deleted) in enumerate(found)
        ]

    def _size(self, entry: FileAttributes) -> int:
        # None means the listing did not fetch it (a decorator that knows sizes only from a stat).
        return int(entry.size if entry.size is not None else self.inner.stat(entry.path).size or 0)

    # -- reading, restoring, deleting versions ----------------------------------------------

    def _content_record(self, path: str, version_id: str) -> str:
        if not is_layout_id(version_id):
            raise VersionNotFound.at(path, f"no version {version_id!r} of this file (not a version id of this disk)")
        return record_path(path, version_id)

    def _missing(self, path: str, version_id: str, cause: BaseException | None = None) -> VersionNotFound:
        if self.inner.file_exists(record_path(path, version_id, deleted=True)):
            return VersionNotFound.at(path, f"version {version_id!r} is a delete marker; it has no content")
        return VersionNotFound.at(path, f"no version {version_id!r} of this file", cause=cause)

    def open_version(self, path: str, version_id: str) -> BinaryIO:
        """Raises: VersionNotFound: no such version of ``path``, or it is a delete marker."""
        try:
            return self.inner.open_read(self._content_record(path, version_id))
        except FileNotFound as cause:
            raise self._missing(path, version_id, cause) from cause

    def read_version(self, path: str, version_id: str) -> bytes:
        """Raises: VersionNotFound: no such version of ``path``, or it is a delete marker."""
        try:
            return self.inner.read(self._content_record(path, version_id))
        except FileNotFound as cause:
            raise self._missing(path, version_id, cause) from cause

    def restore(self, path: str, version_id: str, visibility: str | None) -> None:
        """Make the version's content (and type and metadata) current again, as a new version.

        Raises:
            VersionNotFound: no such version of ``path``, or it is a delete marker.
        """
        source = self._content_record(path, version_id)
        with self.locks.hold(path):
            try:
                kept = self.inner.stat(source)
            except FileNotFound as cause:
                raise self._missing(path, version_id, cause) from cause
            self.adopt(path)
            record = self._new_record(path)
            self.inner.copy(source, record, WriteOptions(visibility="private" if self._private else None))
            options = WriteOptions(visibility=visibility, mimetype=kept.mime_type, metadata=dict(kept.metadata))
            self._publish(path, record, lambda: self._publish_from(record, path, options))

    def delete_version(self, path: str, version_id: str, visibility: str | None) -> Version:
        """Delete one version; deleting the latest makes the one before it current (S3's rule).

        Returns the deleted version (as it was listed).

        Raises:
            VersionNotFound: no such version of ``path``.
        """
        if not is_layout_id(version_id):
            raise VersionNotFound.at(path, f"no version {version_id!r} of this file (not a version id of this disk)")
        with self.locks.hold(path):
            listed = self.versions(path)
            target = next((version for version in listed if version.id == version_id), None)
            if target is None:
                raise VersionNotFound.at(path, f"no version {version_id!r} of this file")
            self.inner.delete(record_path(path, version_id, deleted=target.is_deleted))
            if target.is_latest:
                self._reconcile(path, [version for version in listed if version.id != version_id], visibility)
            if len(listed) == 1:
                self._forget(path)
            return target

    def _reconcile(self, path: str, remaining: list[Version], visibility: str | None) -> None:
        """Make the path hold what its newest remaining version says."""
        newest = remaining[0] if remaining else None
        if newest is None or newest.is_deleted:
            self.inner.delete(path)
            return
        record = record_path(path, newest.id)
        kept = self.inner.stat(record)
        options = WriteOptions(visibility=visibility, mimetype=kept.mime_type, metadata=dict(kept.metadata))
        self._publish_from(record, path, options)

    def prune(self, path: str, keep: int | None, cutoff: datetime | None, *, below: bool = False) -> int:
        """Delete the versions ``plan_prune`` picks, for ``path`` and every path under it ("" is all);
        with ``below``, not for a file at ``path`` itself.

        Raises:
            UnableToListContents: the tree could not be listed.
            UnableToDeleteFile: a version could not be deleted (the ones before it are).
        """
        groups: dict[str, list[tuple[FileAttributes, str, bool]]] = {}
        for entry in self.inner.list_contents(record_directory(path), True):
            owner = user_path_of(entry.path) if isinstance(entry, FileAttributes) else None
            parsed = parse_record_name(entry.name) if owner is not None else None
            if below and owner == path:
                continue
            if owner is not None and parsed is not None and isinstance(entry, FileAttributes):
                groups.setdefault(owner, []).append((entry, parsed[0], parsed[1]))
        deleted = 0
        for owner, records in sorted(groups.items()):
            with self.locks.hold(owner):
                doomed = plan_prune(self._versions(owner, records), keep, cutoff)
                if len(doomed) == len(records):
                    self._forget(owner)
                for version in doomed:
                    if self.inner.delete(record_path(owner, version.id, deleted=version.is_deleted)):
                        deleted += 1
        return deleted

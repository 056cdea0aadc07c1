"""The ``memory`` driver: a per-disk, thread-safe, in-process store.

fsspec's ``MemoryFileSystem`` keeps one store per process and answers
``exists`` by scanning every key; a memory disk must be isolated (two memory
disks never share files, and every fake starts empty) and ``exists`` must not
grow with the number of files. So this store keeps its own dict of files plus
a count of entries under every directory, which makes file and directory
existence O(1). ``disk.fs`` still exposes it to fsspec consumers.

Names have no length limit here (object-store keys have no segment limit
either), so no verb can fail on a long name; the local driver, bound by its
filesystem, treats such names as missing and refuses to write them.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO

from ..attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ..backend import Backend, Readable
from ..errors import (
    FileAlreadyExists,
    FileNotFound,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToMoveFile,
    UnableToWriteFile,
)
from ..paths import is_within

__all__ = ["MemoryBackend", "create"]


@dataclass(slots=True)
class _StoredFile:
    data: bytes
    modified: float
    visibility: str
    mimetype: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)


def _ancestors(path: str) -> Iterator[str]:
    """Every directory above ``path``, nearest first, excluding the root."""
    index = path.rfind("/")
    while index > 0:
        path = path[:index]
        yield path
        index = path.rfind("/")


class MemoryBackend(Backend):
    """Files in a dict, directories counted so existence checks are O(1)."""

    name = "memory"

    def __init__(self) -> None:
        self._files: dict[str, _StoredFile] = {}
        self._explicit_dirs: dict[str, float] = {}
        # directory -> number of files and explicit directories somewhere below it
        self._below: dict[str, int] = {}
        self._lock = threading.RLock()

    # -- bookkeeping -----------------------------------------------------------

    def _is_directory(self, path: str) -> bool:
        return path == "" or path in self._below or path in self._explicit_dirs

    def _count(self, path: str, delta: int) -> None:
        below = self._below
        index = path.rfind("/")
        while index > 0:
            path = path[:index]
            count = below.get(path, 0) + delta
            if count:
                below[path] = count
            else:
                del below[path]
            index = path.rfind("/")

    def _check_parents_are_not_files(self, path: str, error: type[UnableToWriteFile | UnableToCreateDirectory]) -> None:
        for directory in _ancestors(path):
            if directory in self._files:
                raise error.at(path, f"'{directory}' is a file, not a directory")

    def _store(self, path: str, record: _StoredFile) -> None:
        if self._is_directory(path):
            raise UnableToWriteFile.at(path, "a directory exists at this path")
        if path not in self._files:
            self._check_parents_are_not_files(path, UnableToWriteFile)
            self._count(path, 1)
        self._files[path] = record

    def _get(self, path: str) -> _StoredFile:
        try:
            return self._files[path]
        except KeyError:
            raise FileNotFound.at(path, "no file exists at this path") from None

    # -- existence -------------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        return path in self._files

    def directory_exists(self, path: str) -> bool:
        return self._is_directory(path)

    # -- reading ---------------------------------------------------------------

    def read(self, path: str) -> bytes:
        return self._get(path).data

    def open_read(self, path: str) -> BinaryIO:
        return io.BytesIO(self._get(path).data)

    def stat(self, path: str) -> FileAttributes:
        record = self._get(path)
        return FileAttributes(
            path,
            size=len(record.data),
            last_modified=datetime.fromtimestamp(record.modified, timezone.utc),
            mime_type=record.mimetype,
            visibility=record.visibility,
            metadata=dict(record.metadata),
        )

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        with self._lock:
            files = [(name, record) for name, record in self._files.items() if is_within(name, path)]
            directories = {name for name in self._below if is_within(name, path)}
            directories.update(name for name in self._explicit_dirs if is_within(name, path))
        depth = path.count("/") + 1 if path else 0
        for name in directories:
            if deep or name.count("/") == depth:
                yield DirectoryAttributes(name, last_modified=self._directory_time(name))
        for name, record in files:
            if deep or name.count("/") == depth:
                yield FileAttributes(
                    name,
                    size=len(record.data),
                    last_modified=datetime.fromtimestamp(record.modified, timezone.utc),
                    mime_type=record.mimetype,
                    visibility=record.visibility,
                )

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        # Names only (``disk.files``, ``disk.fs.find``): no attributes built per file.
        with self._lock:
            files = [name for name in self._files if is_within(name, path)]
            directories = {name for name in self._below if is_within(name, path)}
            directories.update(name for name in self._explicit_dirs if is_within(name, path))
        depth = path.count("/") + 1 if path else 0
        for name in directories:
            if deep or name.count("/") == depth:
                yield name, True
        for name in files:
            if deep or name.count("/") == depth:
                yield name, False

    def _directory_time(self, path: str) -> datetime | None:
        made = self._explicit_dirs.get(path)
        return datetime.fromtimestamp(made, timezone.utc) if made is not None else None

    # -- writing ---------------------------------------------------------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        record = _StoredFile(
            data, time.time(), options.visibility or "public", options.mimetype, dict(options.metadata)
        )
        with self._lock:
            self._store(path, record)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        buffer = io.BytesIO()
        while chunk := stream.read(1024 * 1024):
            buffer.write(chunk)
        self.write(path, buffer.getvalue(), options)  # getvalue() shares the buffer: no second copy

    def write_new(self, path: str, stream: Readable, options: WriteOptions) -> None:
        buffer = io.BytesIO()
        while chunk := stream.read(1024 * 1024):
            buffer.write(chunk)
        data = buffer.getvalue()
        record = _StoredFile(data, time.time(), options.visibility or "public", options.mimetype,
                             dict(options.metadata))
        with self._lock:  # the check and the store are one step for every thread
            if path in self._files or self._is_directory(path):
                raise FileAlreadyExists.at(path, "a file or directory already exists at this path")
            self._store(path, record)

    def delete(self, path: str) -> bool:
        with self._lock:
            if self._files.pop(path, None) is None:
                return False
            self._count(path, -1)
            return True

    def create_directory(self, path: str, options: WriteOptions) -> None:
        with self._lock:
            if path in self._files:
                raise UnableToCreateDirectory.at(path, "a file exists at this path")
            self._check_parents_are_not_files(path, UnableToCreateDirectory)
            if path and path not in self._explicit_dirs:
                self._explicit_dirs[path] = time.time()
                self._count(path, 1)

    def delete_directory(self, path: str) -> bool:
        with self._lock:
            if not self._is_directory(path):
                return False
            for name in [name for name in self._files if is_within(name, path)]:
                del self._files[name]
                self._count(name, -1)
            for name in [name for name in self._explicit_dirs if name == path or is_within(name, path)]:
                del self._explicit_dirs[name]
                self._count(name, -1)
            return True

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        with self._lock:
            record = self._get(source)
            copied = _StoredFile(
                record.data,
                time.time(),
                options.visibility or record.visibility,
                record.mimetype,
                dict(record.metadata),
            )
            try:
                self._store(destination, copied)
            except UnableToWriteFile as error:
                raise UnableToCopyFile.between(source, destination, error.reason) from error

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        with self._lock:
            record = self._get(source)
            if options.visibility is not None:
                record.visibility = options.visibility
            try:
                self._store(destination, record)
            except UnableToWriteFile as error:
                raise UnableToMoveFile.between(source, destination, error.reason) from error
            self._files.pop(source)
            self._count(source, -1)

    def set_visibility(self, path: str, visibility: str) -> None:
        with self._lock:
            self._get(path).visibility = visibility


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """Build a memory disk (options: the common disk options only)."""
    from ..config import reject_unknown_options
    from ..disk import FilesystemAdapter

    reject_unknown_options(name, options, frozenset())
    return FilesystemAdapter(MemoryBackend(), name=name, config=options, manager=manager)

"""``disk.fs`` answering questions: info, listings, existence, whole and ranged reads, times."""

from __future__ import annotations

import errno
from typing import Any

from ..errors import FileNotFound
from .identity import DiskFileSystemBase
from .oserrors import _os_error

__all__ = ["ReadingFileSystem"]


class ReadingFileSystem(DiskFileSystemBase):
    """The read side of ``DiskFileSystem``: every answer is one or two disk calls."""

    def _entry(self, entry: Any) -> dict[str, Any]:
        if entry.is_folder:
            return {"name": entry.path, "size": 0, "type": "directory"}
        return {
            "name": entry.path,
            "size": entry.size,
            "type": "file",
            "mtime": entry.last_modified.timestamp() if entry.last_modified else None,
        }

    def info(self, path: Any, **kwargs: Any) -> dict[str, Any]:
        target = self._path(path)
        if not target:
            return {"name": "", "size": 0, "type": "directory"}
        disk = self.disk
        try:
            # The cheapest stat (no ACL request, no extended attributes): info shows neither.
            found = disk._quick_stat(target)
        except FileNotFound:
            if disk.directory_exists(target):
                return {"name": target, "size": 0, "type": "directory"}
            raise
        modified = found.last_modified
        return {"name": found.path, "size": found.size, "type": "file",
                "mtime": modified.timestamp() if modified is not None else None}

    def ls(self, path: Any, detail: bool = True, **kwargs: Any) -> list[Any]:
        target = self._path(path)
        disk = self.disk
        # List first (one call for a directory, the common case); only an empty listing asks
        # whether ``target`` is a file, an empty directory or nothing.
        listed = disk.list(target)
        if not listed and target:
            if disk.file_exists(target):
                listed = [disk.stat(target)]
            elif not disk.directory_exists(target):
                raise _os_error(FileNotFoundError, errno.ENOENT, target)
        if not detail:
            return [entry.path for entry in listed]
        return [self._entry(entry) for entry in listed]

    def find(self, path: Any, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False,
             **kwargs: Any) -> Any:
        if maxdepth is not None:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        target = self._path(path)
        disk = self.disk
        # List first: a non-empty listing is a directory, so the common case costs one listing,
        # and only an empty one asks what ``target`` is. ``disk.list`` is sorted by path already.
        # Names alone come from the backend's cheapest listing (no attributes built per file).
        names_only = not detail and not withdirs
        entries: list[Any] = disk.all_files(target) if names_only else disk.list(target, recursive=True)
        if not entries and target:
            if disk.file_exists(target):
                return {target: self._entry(disk.stat(target))} if detail else [target]
            if not disk.directory_exists(target):
                return {} if detail else []
        if names_only:
            return entries
        if not detail:
            return [target, *(entry.path for entry in entries)] if target else [entry.path for entry in entries]
        found: dict[str, dict[str, Any]] = {}
        if withdirs and target:
            found[target] = {"name": target, "size": 0, "type": "directory"}
        for entry in entries:
            if withdirs or not entry.is_folder:
                found[entry.path] = self._entry(entry)
        return found

    def exists(self, path: Any, **kwargs: Any) -> bool:
        # Unlike fsspec's default, a failure to tell (a missing bucket, a dead endpoint) is raised,
        # never answered as False: only a path that cannot exist is.
        try:
            target = self._path(path)
            return not target or self.disk.exists(target)
        except ValueError:  # a path that cannot exist (InvalidPath is a ValueError)
            return False

    def isfile(self, path: Any) -> bool:
        try:
            target = self._path(path)
            return bool(target) and self.disk.file_exists(target)
        except ValueError:  # a path that cannot exist (InvalidPath is a ValueError)
            return False

    def isdir(self, path: Any) -> bool:
        try:
            target = self._path(path)
            return not target or self.disk.directory_exists(target)
        except ValueError:  # a path that cannot exist (InvalidPath is a ValueError)
            return False

    def cat_file(self, path: Any, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        target = self._path(path)
        if start is None and end is None:
            return self.disk.get(target)
        with self.disk.open(target, "rb") as handle:
            if (start is not None and start < 0) or (end is not None and end < 0):
                size = self.disk.size(target)
                start = max(size + start, 0) if start is not None and start < 0 else start
                end = max(size + end, 0) if end is not None and end < 0 else end
            begin = start or 0
            if begin:
                handle.seek(begin)
            return handle.read(-1 if end is None else max(end - begin, 0))

    def created(self, path: Any) -> Any:
        return self.disk.last_modified(self._path(path))

    def modified(self, path: Any) -> Any:
        return self.disk.last_modified(self._path(path))

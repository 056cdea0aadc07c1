"""``disk.fs``: any disk as an fsspec filesystem, decorators included.

pandas, pyarrow, dask and every other fsspec consumer can read and write
through a disk; paths are the disk's own (relative to its root), so a scoped
or encrypted disk stays scoped or encrypted for them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractFileSystem

from .attributes import FileAttributes
from .errors import FileNotFound

if TYPE_CHECKING:
    from .disk import FilesystemAdapter

__all__ = ["DiskFileSystem"]


class DiskFileSystem(AbstractFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """An fsspec filesystem whose every call goes through a flystore disk."""

    protocol = "flystore"
    root_marker = ""
    cachable = False

    def __init__(self, *, disk: FilesystemAdapter, **storage_options: Any) -> None:
        super().__init__(**storage_options)
        self.disk = disk

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        if text.startswith("flystore://"):
            text = text[len("flystore://") :]
        return text.strip("/")

    def _entry(self, entry: Any) -> dict[str, Any]:
        if entry.is_folder:
            return {"name": entry.path, "size": 0, "type": "directory"}
        return {
            "name": entry.path,
            "size": entry.size,
            "type": "file",
            "mtime": entry.last_modified.timestamp() if entry.last_modified else None,
        }

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        if self.disk.file_exists(path):
            entries = [self._entry(self.disk.stat(path))]
        else:
            if not self.disk.directory_exists(path):
                raise FileNotFoundError(path)
            entries = [self._entry(entry) for entry in self.disk.list(path)]
        return entries if detail else [entry["name"] for entry in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        if self.disk.directory_exists(path):
            return {"name": path, "size": 0, "type": "directory"}
        try:
            attributes: FileAttributes = self.disk.stat(path)
        except FileNotFound as error:
            raise FileNotFoundError(path) from error
        return self._entry(attributes)

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        path = self._strip_protocol(path)
        try:
            if start is None and end is None:
                return self.disk.get(path)
            with self.disk.open(path, "rb") as handle:
                size = self.disk.size(path)
                begin = start if start is None or start >= 0 else max(size + start, 0)
                finish = end if end is None or end >= 0 else max(size + end, 0)
                handle.seek(begin or 0)
                length = -1 if finish is None else max(finish - (begin or 0), 0)
                return handle.read(length)
        except FileNotFound as error:
            raise FileNotFoundError(path) from error

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        self.disk.put(self._strip_protocol(path), value)

    def rm_file(self, path: str) -> None:
        self.disk.delete(self._strip_protocol(path))

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        for item in [path] if isinstance(path, str) else path:
            stripped = self._strip_protocol(item)
            if recursive and self.disk.directory_exists(stripped):
                self.disk.delete_directory(stripped)
            else:
                self.disk.delete(stripped)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.disk.make_directory(self._strip_protocol(path))

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        stripped = self._strip_protocol(path)
        if not exist_ok and self.disk.exists(stripped):
            raise FileExistsError(path)
        self.disk.make_directory(stripped)

    def rmdir(self, path: str) -> None:
        self.disk.delete_directory(self._strip_protocol(path))

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        self.disk.copy(self._strip_protocol(path1), self._strip_protocol(path2))

    def mv(self, path1: str, path2: str, recursive: bool = False, maxdepth: int | None = None,
           **kwargs: Any) -> None:
        self.disk.move(self._strip_protocol(path1), self._strip_protocol(path2))

    def created(self, path: str) -> Any:
        return self.disk.last_modified(self._strip_protocol(path))

    def modified(self, path: str) -> Any:
        return self.disk.last_modified(self._strip_protocol(path))

    def _open(self, path: str, mode: str = "rb", block_size: Any = None, autocommit: bool = True,
              cache_options: Any = None, **kwargs: Any) -> Any:
        path = self._strip_protocol(path)
        if "r" in mode:
            try:
                return self.disk.open(path, "rb")
            except FileNotFound as error:
                raise FileNotFoundError(path) from error
        return self.disk.open(path, "ab" if "a" in mode else "wb")


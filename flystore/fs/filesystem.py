"""``disk.fs``: any disk as an fsspec filesystem, decorators included.

pandas, pyarrow, dask and every other fsspec consumer read and write through
the disk; paths are the disk's own (relative to its root), so a scoped disk
stays scoped for them too. Where fsspec defines a behaviour (``rmdir`` of a
non-empty directory, exclusive creation, builtin error types) this class
follows fsspec; docs/fsspec.md lists where disk semantics differ.
"""

from __future__ import annotations

import errno
import io
from typing import Any

from ..errors import FileNotFound, StorageError
from ..paths import basename
from . import hooks
from .files import DiskReadFile, DiskWriteFile
from .identity import PREFIX as PREFIX
from .oserrors import _os_error
from .reading import ReadingFileSystem

__all__ = ["DiskFileSystem"]


class DiskFileSystem(ReadingFileSystem):
    """An fsspec filesystem whose every call goes through a flystore disk.

    The disk, its identity and paths are ``identity.DiskFileSystemBase``'s, the read side
    ``reading.ReadingFileSystem``'s; writing, deleting, copying and moving are here.

    Args:
        disk: the disk, or the name of a disk of the process's manager (``flystore.Storage``).
        config: a configuration file (``FILESYSTEMS``) whose manager resolves ``disk`` instead.
        recipe: the configuration a pickled or JSON-serialised fs travelled as (internal).
    """

    protocol = "flystore"
    root_marker = ""
    cachable = False
    async_impl = False

    # -- pickling: the disk travels as its recipe ---------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        if self._disk is None and self._recipe is None:
            return (_revive, (None, self._disk_name, self._config))
        return (_revive, (hooks.travelling(self.disk_name, self._travel_recipe()), None, None))

    # -- writing ------------------------------------------------------------------------

    def _refuse_in_the_way(self, target: str) -> None:
        """Raise the builtin error fsspec callers test for when a write cannot land at ``target``."""
        if not target:
            raise _os_error(IsADirectoryError, errno.EISDIR, target)
        if self.disk.directory_exists(target):
            raise _os_error(IsADirectoryError, errno.EISDIR, target)
        parent = target.rpartition("/")[0]
        if parent and self.disk.directory_exists(parent):
            return  # writing into an existing directory, the common case: nothing above is a file
        while parent:
            if self.disk.file_exists(parent):
                raise _os_error(NotADirectoryError, errno.ENOTDIR, parent)
            parent = parent.rpartition("/")[0]

    def pipe_file(self, path: Any, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        target = self._path(path)
        exclusive = mode == "create"
        if self._intrans:
            with self.open(target, "xb" if exclusive else "wb") as handle:
                handle.write(value)
            return
        try:
            if exclusive:
                self.disk._put_new(target, io.BytesIO(value))  # the check and the write in one step
            else:
                self.disk.put(target, value)
        except FileExistsError:
            raise
        except StorageError as error:
            self._refuse_in_the_way(target)
            raise error from error.__cause__

    def _open(self, path: str, mode: str = "rb", block_size: Any = None, autocommit: bool = True,
              cache_options: Any = None, **kwargs: Any) -> Any:
        target = self._path(path)
        if "r" in mode:
            return DiskReadFile(self.disk, target, self.disk.open(target, "rb"))
        exclusive = "x" in mode
        if exclusive and self.disk.exists(target):  # fail early; the commit checks again, atomically
            raise _os_error(FileExistsError, errno.EEXIST, target)
        self._refuse_in_the_way(target)
        initial = self.disk.open(target, "rb") if "a" in mode and self.disk.file_exists(target) else None
        return DiskWriteFile(self.disk, target, autocommit=autocommit, initial=initial, exclusive=exclusive)

    def mkdir(self, path: Any, create_parents: bool = True, **kwargs: Any) -> None:
        target = self._path(path)
        if self.exists(target):
            raise _os_error(FileExistsError, errno.EEXIST, target)
        parent = target.rpartition("/")[0]
        if not create_parents and parent and not self.disk.directory_exists(parent):
            raise _os_error(FileNotFoundError, errno.ENOENT, parent)
        self._make_directory(target)

    def makedirs(self, path: Any, exist_ok: bool = False) -> None:
        target = self._path(path)
        if target and self.disk.file_exists(target):
            raise _os_error(FileExistsError, errno.EEXIST, target)
        if not exist_ok and self.isdir(target):
            raise _os_error(FileExistsError, errno.EEXIST, target)
        if target:
            self._make_directory(target)

    def _make_directory(self, target: str) -> None:
        try:
            self.disk.make_directory(target)
        except StorageError as error:
            parent = target.rpartition("/")[0]
            while parent:
                if self.disk.file_exists(parent):
                    raise _os_error(NotADirectoryError, errno.ENOTDIR, parent, error) from error
                parent = parent.rpartition("/")[0]
            raise

    # -- deleting -----------------------------------------------------------------------

    def rm_file(self, path: Any) -> None:
        target = self._path(path)
        if not target or self.disk.directory_exists(target):
            raise _os_error(IsADirectoryError, errno.EISDIR, target)
        if not self.disk.delete(target):
            raise _os_error(FileNotFoundError, errno.ENOENT, target)

    def _rm(self, path: Any) -> None:
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        items = [path] if isinstance(path, str) else list(path)
        for item in items:
            target = self._path(item)
            if any(char in target for char in "*?["):
                for expanded in reversed(self.expand_path(target, recursive=recursive, maxdepth=maxdepth)):
                    self.rm(expanded, recursive=recursive)
                continue
            if not target:
                if not recursive:
                    raise _os_error(IsADirectoryError, errno.EISDIR, target)
                for entry in self.disk.list(""):
                    self.rm(entry.path, recursive=True)
                continue
            # Act first and ask only when nothing was there: one call in the common cases.
            if recursive and self.disk.delete_directory(target):
                continue
            if self.disk.delete(target):
                continue
            if not recursive and self.disk.directory_exists(target):
                raise _os_error(IsADirectoryError, errno.EISDIR, target)
            raise _os_error(FileNotFoundError, errno.ENOENT, target)

    def rmdir(self, path: Any) -> None:
        target = self._path(path)
        if not target:
            raise _os_error(PermissionError, errno.EPERM, "the disk root cannot be removed")
        if not self.disk.directory_exists(target):
            if self.disk.file_exists(target):
                raise _os_error(NotADirectoryError, errno.ENOTDIR, target)
            raise _os_error(FileNotFoundError, errno.ENOENT, target)
        if self.disk.list(target):
            raise _os_error(OSError, errno.ENOTEMPTY, target)
        self.disk.delete_directory(target)

    # -- copying and moving ---------------------------------------------------------

    def cp_file(self, path1: Any, path2: Any, **kwargs: Any) -> None:
        source, target = self._path(path1), self._path(path2)
        try:
            self.disk.copy(source, target)  # a file, the common case: one call
        except FileNotFound:
            if not self.disk.directory_exists(source):
                raise
            self.makedirs(target, exist_ok=True)  # fsspec copies a directory as an empty one

    def copy(self, path1: Any, path2: Any, recursive: bool = False, maxdepth: int | None = None,
             on_error: str | None = None, **kwargs: Any) -> None:
        if isinstance(path1, str) and isinstance(path2, str) and recursive and not path1.endswith("/"):
            source = self._path(path1)
            # fsspec finds "the parent" of the source by its last "/"; a top-level source has none,
            # so copying into an existing directory must name dst/src itself.
            if source and "/" not in source and not any(c in source for c in "*?[") and self.isdir(path2) \
                    and self.isdir(source) and not self.exists(f"{self._path(path2)}/{source}"):
                path2 = f"{self._path(path2)}/{source}" if self._path(path2) else source
        super().copy(path1, path2, recursive=recursive, maxdepth=maxdepth, on_error=on_error, **kwargs)

    def mv(self, path1: Any, path2: Any, recursive: bool = False, maxdepth: int | None = None,
           **kwargs: Any) -> None:
        if isinstance(path1, str) and isinstance(path2, str):
            source, target = self._path(path1), self._path(path2)
            if source == target:
                return
            if source and self.disk.file_exists(source):
                if self.isdir(target):
                    target = f"{target}/{basename(source)}" if target else basename(source)
                self.disk.move(source, target)
                return
            if not self.isdir(source):
                raise _os_error(FileNotFoundError, errno.ENOENT, source)
            if not recursive:
                raise _os_error(IsADirectoryError, errno.EISDIR, source)
        self.copy(path1, path2, recursive=recursive, maxdepth=maxdepth)
        self.rm(path1, recursive=recursive)


def _revive(recipe: dict[str, Any] | None, name: str | None, config: str | None) -> DiskFileSystem:
    """Unpickle a ``DiskFileSystem``: the disk is rebuilt on first use, not now."""
    if recipe is not None:
        return DiskFileSystem(recipe=recipe)
    return DiskFileSystem(name, config=config)

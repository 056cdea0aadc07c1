"""``disk.fs``: any disk as an fsspec filesystem, decorators included.

pandas, pyarrow, dask and every other fsspec consumer read and write through
the disk; paths are the disk's own (relative to its root), so a scoped disk
stays scoped for them too. Where fsspec defines a behaviour (``rmdir`` of a
non-empty directory, exclusive creation, builtin error types) this class
follows fsspec; docs/fsspec.md lists where disk semantics differ.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from fsspec.spec import AbstractFileSystem
from fsspec.utils import stringify_path

from ..errors import FileNotFound, StorageError
from ..paths import basename
from . import hooks
from .files import DiskReadFile, DiskWriteFile

if TYPE_CHECKING:
    from ..disk import FilesystemAdapter

__all__ = ["DiskFileSystem"]

PREFIX = "flystore://"


def _os_error(kind: type[OSError], code: int, path: str, cause: BaseException | None = None) -> OSError:
    error = kind(code, f"{errno.errorcode.get(code, 'error')}: {cause or path}", path)
    if cause is not None:
        error.__cause__ = cause
    return error


@contextmanager
def _builtin_errors(path: str) -> Iterator[None]:
    """Flystore's missing/exists errors already are FileNotFoundError/FileExistsError; others stay flystore's."""
    try:
        yield
    except FileNotFound:
        raise
    except KeyError as error:  # pragma: no cover - a backend leaking its mapping lookup
        raise _os_error(FileNotFoundError, errno.ENOENT, path, error) from error


class DiskFileSystem(AbstractFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """An fsspec filesystem whose every call goes through a flystore disk.

    Args:
        disk: the disk, or the name of a disk of the process's manager (``flystore.Storage``).
        config: a configuration file (``FILESYSTEMS``) whose manager resolves ``disk`` instead.
        recipe: the configuration a pickled or JSON-serialised fs travelled as (internal).
    """

    protocol = "flystore"
    root_marker = ""
    cachable = False
    async_impl = False

    def __init__(
        self,
        disk: FilesystemAdapter | str | None = None,
        *,
        config: str | None = None,
        recipe: dict[str, Any] | None = None,
        **storage_options: Any,
    ) -> None:
        super().__init__(**storage_options)
        self._disk: FilesystemAdapter | None = None
        self._disk_name: str | None = None
        self._config = config
        # from_json hands the recipe over still in its JSON form.
        self._recipe = hooks.recipe_from_json(recipe) if recipe is not None else None
        if isinstance(disk, str) or disk is None:
            self._disk_name = disk
        else:
            self._disk = disk

    # -- the disk, built on first use ------------------------------------------------

    @property
    def disk(self) -> FilesystemAdapter:
        """The disk behind this filesystem (resolved or rebuilt on first use).

        Raises:
            DiskNotConfigured: the named disk is not configured in the resolving manager.
        """
        if self._disk is None:
            if self._recipe is not None:
                self._disk = hooks.rebuild(self._recipe)
            else:
                self._disk = hooks.manager(self._config).disk(self._disk_name)
        return self._disk

    @property
    def disk_name(self) -> str:
        if self._disk is None and self._recipe is not None:
            return str(self._recipe["name"])
        if self._disk is None and self._disk_name is not None:
            return self._disk_name
        return self.disk.name

    def _travel_recipe(self) -> dict[str, Any] | None:
        if self._recipe is not None:
            return self._recipe
        if self._disk is None and self._disk_name is not None:
            return None
        return self.disk.recipe()

    # -- identity, pickling, JSON ---------------------------------------------------

    @property
    def _fs_token(self) -> str:
        recipe = self._travel_recipe()
        identity: Any = recipe if recipe is not None else {"name": self._disk_name, "config": self._config}
        return hashlib.md5(json.dumps(identity, sort_keys=True, default=repr).encode()).hexdigest()

    def __reduce__(self) -> tuple[Any, ...]:
        if self._disk is None and self._recipe is None:
            return (_revive, (None, self._disk_name, self._config))
        return (_revive, (hooks.travelling(self.disk_name, self._travel_recipe()), None, None))

    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        """``{"cls", "protocol", "args", "recipe"}``: the disk's configuration, as JSON values.

        Raises:
            TypeError: the disk was not built from a configuration, or an ``env()`` cast is not JSON-able.
        """
        recipe = self._travel_recipe()
        if recipe is not None:
            recipe = hooks.travelling(self.disk_name, recipe)
        body: dict[str, Any] = {"cls": f"{type(self).__module__}.{type(self).__name__}", "protocol": "flystore",
                                "args": []}
        if recipe is None:
            body.update(disk=self._disk_name, config=self._config)
        else:
            body["recipe"] = hooks.recipe_to_json(recipe)
        return body

    @classmethod
    def from_dict(cls, dct: dict[str, Any]) -> DiskFileSystem:
        """The filesystem ``to_dict``/``to_json`` described."""
        recipe = dct.get("recipe")
        if recipe is not None:
            return cls(recipe=hooks.recipe_from_json(recipe))
        return cls(dct.get("disk"), config=dct.get("config"))

    # -- paths ------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(item) for item in path]
        text = stringify_path(path)
        if text.startswith(PREFIX):
            text = text[len(PREFIX):].partition("/")[2]
        return text.strip("/")

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        text = stringify_path(path)
        if text.startswith(PREFIX):
            name = text[len(PREFIX):].partition("/")[0]
            if name:
                return {"disk": name}
        return {}

    def unstrip_protocol(self, name: str) -> str:
        if name.startswith(PREFIX):
            return name
        return f"{PREFIX}{self.disk_name}/{self._strip_protocol(name)}"

    def _path(self, path: Any) -> str:
        if type(path) is str and not path.startswith(PREFIX):  # the common case, without fsspec's helpers
            return path.strip("/")
        text = stringify_path(path)
        if text.startswith(PREFIX):
            named = text[len(PREFIX):].partition("/")[0]
            if named and named != self.disk_name:
                raise ValueError(f"{text!r} names disk {named!r}, but this filesystem is disk {self.disk_name!r}")
        return cast(str, self._strip_protocol(text))

    # -- reading ------------------------------------------------------------------------

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

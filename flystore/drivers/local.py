"""The ``local`` driver: a directory on this machine, treated as a jail.

- Nothing outside ``root`` is read, written or followed: every directory the
  path crosses is checked for symlinks and the file itself is opened with
  ``O_NOFOLLOW``. Symlinks found inside the root are not listed and are
  refused with ``PathTraversalDetected`` when named.
- Writes are atomic: bytes go to a hidden temporary file in the target's own
  directory (``.flystore-tmp-*``, never listed), which is renamed over the
  target only when complete. A failed write leaves the old file untouched.
  ``fsync: true`` adds durability against power loss at the cost of speed.
- Visibility is the file mode: public 0o644/0o755, private 0o600/0o700
  (overridable with ``permissions``).
- Custom metadata and a given MIME type are stored as ``user.flystore.*``
  extended attributes, written to the temporary file before the rename.

The hot paths call ``os`` directly instead of fsspec's ``LocalFileSystem``:
fsspec follows symlinks (which a jail cannot allow) and its per-call layers
cost more than the whole atomic write. ``disk.fs`` exposes the disk to fsspec.
"""

from __future__ import annotations

import errno
import io
import itertools
import os
import shutil
import stat as stat_module
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, BinaryIO

from ..attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ..backend import Backend, Readable
from ..errors import (
    FileNotFound,
    InvalidConfiguration,
    PathTraversalDetected,
    StorageError,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToListContents,
    UnableToMoveFile,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToSetVisibility,
    UnableToWriteFile,
)

__all__ = ["DEFAULT_PERMISSIONS", "LocalBackend", "TEMP_PREFIX", "create"]

TEMP_PREFIX = ".flystore-tmp-"
_XATTR = "user.flystore."
_XATTR_MIMETYPE = "user.flystore-mimetype"
_CHUNK = 1024 * 1024

DEFAULT_PERMISSIONS: dict[str, dict[str, int]] = {
    "file": {"public": 0o644, "private": 0o600},
    "dir": {"public": 0o755, "private": 0o700},
}

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | getattr(os, "O_BINARY", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | getattr(os, "O_BINARY", 0)
_HAS_XATTR = hasattr(os, "setxattr")
_temp_counter = itertools.count()
_pid = os.getpid()


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


class LocalBackend(Backend):
    """Files under ``root`` on the local filesystem."""

    name = "local"

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        permissions: Mapping[str, Mapping[str, int]] | None = None,
        default_visibility: str = "public",
        directory_visibility: str | None = None,
        fsync: bool = False,
    ) -> None:
        self.root = os.path.realpath(os.path.abspath(os.fspath(root)))
        self._prefix = self.root.rstrip(os.sep) + os.sep
        merged = {kind: dict(modes) for kind, modes in DEFAULT_PERMISSIONS.items()}
        for kind, modes in (permissions or {}).items():
            merged.setdefault(kind, {}).update(modes)
        self.file_modes = merged["file"]
        self.dir_modes = merged["dir"]
        self.default_visibility = default_visibility
        self.directory_visibility = directory_visibility or default_visibility
        self.fsync = fsync

    # -- the jail ----------------------------------------------------------------

    def _full(self, path: str) -> str:
        """Absolute path of ``path``; refuses symlinks on every directory it crosses."""
        if not path:
            return self.root
        if "/" in path:
            current = self.root
            for segment in path.split("/")[:-1]:
                current = current + os.sep + segment
                try:
                    mode = os.lstat(current).st_mode
                except OSError:
                    break  # missing: nothing beyond it exists either, so no link to cross
                if stat_module.S_ISLNK(mode):
                    raise PathTraversalDetected.at(path, "the path crosses a symbolic link; links are not followed")
            return self._prefix + path.replace("/", os.sep) if os.sep != "/" else self._prefix + path
        return self._prefix + path

    def _lstat(self, path: str) -> os.stat_result | None:
        try:
            return os.lstat(self._full(path))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _mode_for(self, visibility: str | None, kind: str = "file") -> int:
        modes = self.file_modes if kind == "file" else self.dir_modes
        return modes.get(visibility or self.default_visibility, modes["public"])

    def _visibility_of(self, mode: int, kind: str = "file") -> str:
        modes = self.file_modes if kind == "file" else self.dir_modes
        permissions = stat_module.S_IMODE(mode)
        for visibility, expected in modes.items():
            if permissions == expected:
                return visibility
        return "public" if permissions & 0o004 else "private"

    def _make_parents(self, path: str, error: type[StorageError]) -> None:
        """Create the directories above ``path`` (with the directory mode) as needed."""
        index = path.rfind("/")
        if index <= 0:
            if not os.path.isdir(self.root):
                self._make_directory_chain("", error, path)
            return
        self._make_directory_chain(path[:index], error, path)

    def _make_directory_chain(self, directory: str, error: type[StorageError], for_path: str) -> None:
        mode = self._mode_for(self.directory_visibility, "dir")
        if not os.path.isdir(self.root):
            try:
                os.makedirs(self.root, exist_ok=True)
            except OSError as cause:
                raise error.at(
                    for_path, f"cannot create the disk root {self.root}: {cause.strerror}", cause=cause
                ) from cause
        current = self.root
        for segment in directory.split("/") if directory else ():
            current = current + os.sep + segment
            try:
                os.mkdir(current, mode)
            except FileExistsError:
                if os.path.islink(current):
                    raise PathTraversalDetected.at(for_path, "the path crosses a symbolic link") from None
                if not os.path.isdir(current):
                    raise error.at(for_path, "a file is in the way of a directory above this path") from None
                continue
            except OSError as cause:
                raise error.at(for_path, cause.strerror or str(cause), cause=cause) from cause
            os.chmod(current, mode)  # mkdir's mode is filtered by the umask

    # -- existence ---------------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        try:
            found = self._lstat(path)
        except PathTraversalDetected:
            return False
        return found is not None and stat_module.S_ISREG(found.st_mode)

    def directory_exists(self, path: str) -> bool:
        try:
            found = self._lstat(path)
        except PathTraversalDetected:
            return False
        return found is not None and stat_module.S_ISDIR(found.st_mode)

    # -- reading -----------------------------------------------------------------

    def _open_fd(self, path: str) -> int:
        full = self._full(path)
        try:
            return os.open(full, _READ_FLAGS)
        except FileNotFoundError:
            raise FileNotFound.at(path, "no file exists at this path") from None
        except NotADirectoryError:
            raise FileNotFound.at(path, "a parent of this path is a file") from None
        except OSError as cause:
            if cause.errno == errno.ELOOP:
                raise PathTraversalDetected.at(path, "the file is a symbolic link; links are not followed") from None
            raise UnableToReadFile.at(path, cause.strerror or str(cause), cause=cause) from cause

    def read(self, path: str) -> bytes:
        fd = self._open_fd(path)
        try:
            handle = io.FileIO(fd, "rb", closefd=True)
        except IsADirectoryError:
            os.close(fd)
            raise FileNotFound.at(path, "this path is a directory, not a file") from None
        with handle:
            try:
                return handle.readall()
            except OSError as cause:
                raise UnableToReadFile.at(path, cause.strerror or str(cause), cause=cause) from cause

    def open_read(self, path: str) -> BinaryIO:
        fd = self._open_fd(path)
        if not stat_module.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FileNotFound.at(path, "this path is a directory, not a file")
        return open(fd, "rb", buffering=_CHUNK, closefd=True)

    def stat(self, path: str) -> FileAttributes:
        full = self._full(path)
        try:
            found = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFound.at(path, "no file exists at this path") from None
        except OSError as cause:
            raise UnableToRetrieveMetadata.at(path, cause.strerror or str(cause), cause=cause) from cause
        if stat_module.S_ISLNK(found.st_mode):
            raise PathTraversalDetected.at(path, "the file is a symbolic link; links are not followed")
        if not stat_module.S_ISREG(found.st_mode):
            raise FileNotFound.at(path, "this path is a directory, not a file")
        mimetype, metadata = self._read_xattrs(full)
        return FileAttributes(
            path,
            size=found.st_size,
            last_modified=_utc(found.st_mtime),
            mime_type=mimetype,
            visibility=self._visibility_of(found.st_mode),
            metadata=metadata,
        )

    def _read_xattrs(self, full: str) -> tuple[str | None, dict[str, str]]:
        if not _HAS_XATTR:
            return None, {}
        try:
            names = os.listxattr(full, follow_symlinks=False)
        except OSError:
            return None, {}
        mimetype = None
        metadata: dict[str, str] = {}
        for name in names:
            if name == _XATTR_MIMETYPE:
                mimetype = os.getxattr(full, name, follow_symlinks=False).decode()
            elif name.startswith(_XATTR):
                metadata[name[len(_XATTR) :]] = os.getxattr(full, name, follow_symlinks=False).decode()
        return mimetype, metadata

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        try:
            start = self._full(path)
        except PathTraversalDetected as error:
            raise UnableToListContents.at(path, error.reason) from error
        return self._scan(start, path, deep)

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        # Names only: no stat, no attribute objects; an explicit stack instead of recursion.
        try:
            start = self._full(path)
        except PathTraversalDetected as error:
            raise UnableToListContents.at(path, error.reason) from error
        found: list[tuple[str, bool]] = []
        pending = [(start, path + "/" if path else "")]
        while pending:
            directory, prefix = pending.pop()
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        name = entry.name
                        if name.startswith(TEMP_PREFIX) or entry.is_symlink():
                            continue
                        if entry.is_dir(follow_symlinks=False):
                            found.append((prefix + name, True))
                            if deep:
                                pending.append((entry.path, prefix + name + "/"))
                        elif entry.is_file(follow_symlinks=False):
                            found.append((prefix + name, False))
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as cause:
                raise UnableToListContents.at(path, cause.strerror or str(cause), cause=cause) from cause
        return iter(found)

    def _scan(self, directory: str, relative: str, deep: bool) -> Iterator[Entry]:
        prefix = relative + "/" if relative else ""
        try:
            with os.scandir(directory) as entries:
                children = list(entries)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as cause:
            raise UnableToListContents.at(relative, cause.strerror or str(cause), cause=cause) from cause
        for entry in children:
            name = entry.name
            if entry.is_symlink() or name.startswith(TEMP_PREFIX):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield DirectoryAttributes(prefix + name)
                if deep:
                    yield from self._scan(entry.path, prefix + name, deep)
            elif entry.is_file(follow_symlinks=False):
                yield FileAttributes(prefix + name)

    # -- writing -----------------------------------------------------------------

    def _open_temp(self, path: str, error: type[StorageError]) -> tuple[int, str]:
        """Create the hidden temporary file beside ``path``; creates parents on demand."""
        full = self._full(path)
        directory = os.path.dirname(full)
        for attempt in range(3):
            temp = f"{directory}{os.sep}{TEMP_PREFIX}{_pid}-{next(_temp_counter)}"
            try:
                return os.open(temp, _CREATE_FLAGS, 0o600), temp
            except FileExistsError:
                continue  # a crashed process with our pid left one behind
            except (FileNotFoundError, NotADirectoryError):
                if attempt:
                    raise error.at(path, "a file is in the way of a directory above this path") from None
                self._make_parents(path, error)
            except OSError as cause:
                raise error.at(path, cause.strerror or str(cause), cause=cause) from cause
        raise error.at(path, "could not create a temporary file")

    def _publish(
        self,
        fd: int,
        temp: str,
        path: str,
        mode: int,
        mimetype: str | None,
        metadata: Mapping[str, str],
        error: type[StorageError],
    ) -> None:
        """Give the finished temporary file its mode and attributes, then rename it into place."""
        try:
            os.fchmod(fd, mode)
            if mimetype or metadata:
                self._write_xattrs(fd, path, mimetype, metadata, error)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(temp, self._prefix + path)
        except OSError as cause:
            reason = "a directory exists at this path" if os.path.isdir(self._prefix + path) else cause.strerror
            raise error.at(path, reason or str(cause), cause=cause) from cause

    def _write_xattrs(
        self, fd: int, path: str, mimetype: str | None, metadata: Mapping[str, str], error: type[StorageError]
    ) -> None:
        if not _HAS_XATTR:
            if metadata:
                raise error.at(path, "custom metadata needs extended attributes, which this OS lacks")
            return
        try:
            if mimetype:
                os.setxattr(fd, _XATTR_MIMETYPE, mimetype.encode())
            for key, value in metadata.items():
                os.setxattr(fd, _XATTR + key, str(value).encode())
        except OSError as cause:
            if metadata:
                raise error.at(
                    path, f"this filesystem cannot store custom metadata: {cause.strerror}", cause=cause
                ) from cause
            # A MIME type is a hint the disk can guess again: losing it loses nothing.

    def _write_with(
        self,
        path: str,
        fill: Any,
        mode: int,
        mimetype: str | None,
        metadata: Mapping[str, str],
        error: type[StorageError] = UnableToWriteFile,
    ) -> None:
        fd, temp = self._open_temp(path, error)
        try:
            try:
                fill(fd)
            except StorageError:
                raise
            except OSError as cause:
                raise error.at(path, cause.strerror or str(cause), cause=cause) from cause
            self._publish(fd, temp, path, mode, mimetype, metadata, error)
        except BaseException:
            try:
                os.close(fd)
            except OSError:
                pass
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        def fill(fd: int) -> None:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]

        self._write_with(path, fill, self._mode_for(options.visibility), options.mimetype, options.metadata)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        def fill(fd: int) -> None:
            while chunk := stream.read(_CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]

        self._write_with(path, fill, self._mode_for(options.visibility), options.mimetype, options.metadata)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO:
        fd, temp = self._open_temp(path, UnableToWriteFile)
        return _AtomicWriter(self, fd, temp, path, options)  # type: ignore[return-value]

    def delete(self, path: str) -> bool:
        full = self._full(path)
        try:
            os.unlink(full)  # unlink first: one system call for the common case
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as cause:
            if cause.errno in (errno.EISDIR, errno.EPERM) and os.path.isdir(full):
                return False  # a directory: delete() leaves it to delete_directory()
            raise UnableToDeleteFile.at(path, cause.strerror or str(cause), cause=cause) from cause
        return True

    def create_directory(self, path: str, options: WriteOptions) -> None:
        if not path:
            return
        found = self._lstat(path)
        if found is not None and not stat_module.S_ISDIR(found.st_mode):
            raise UnableToCreateDirectory.at(path, "a file exists at this path")
        if found is None:
            self._make_directory_chain(path, UnableToCreateDirectory, path)
        if options.visibility is not None:
            os.chmod(self._full(path), self._mode_for(options.visibility, "dir"))

    def delete_directory(self, path: str) -> bool:
        if not path:
            raise UnableToDeleteDirectory.at(path, "the disk root cannot be deleted")
        found = self._lstat(path)
        if found is None or not stat_module.S_ISDIR(found.st_mode):
            return False
        try:
            shutil.rmtree(self._full(path))  # rmtree unlinks symlinks, never follows them
        except OSError as cause:
            raise UnableToDeleteDirectory.at(path, cause.strerror or str(cause), cause=cause) from cause
        return True

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        full_source = self._full(source)
        with self.open_read(source) as handle:
            found = os.fstat(handle.fileno())
            mode = (
                self._mode_for(options.visibility)
                if options.visibility is not None
                else stat_module.S_IMODE(found.st_mode)
            )
            mimetype, metadata = self._read_xattrs(full_source)

            def fill(fd: int) -> None:
                while chunk := handle.read(_CHUNK):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]

            try:
                self._write_with(destination, fill, mode, mimetype, metadata, UnableToCopyFile)
            except UnableToCopyFile as error:
                raise UnableToCopyFile.between(source, destination, error.reason) from error.__cause__

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        full_source = self._full(source)
        found = self._lstat(source)
        if found is None or not stat_module.S_ISREG(found.st_mode):
            if found is not None and stat_module.S_ISLNK(found.st_mode):
                raise PathTraversalDetected.at(source, "the file is a symbolic link; links are not followed")
            raise FileNotFound.at(source, "no file exists at this path")
        full_destination = self._full(destination)
        try:
            self._make_parents(destination, UnableToMoveFile)
            if os.path.isdir(full_destination) and not os.path.islink(full_destination):
                raise UnableToMoveFile.between(source, destination, "a directory exists at the destination")
            os.replace(full_source, full_destination)
            if options.visibility is not None:
                os.chmod(full_destination, self._mode_for(options.visibility))
        except UnableToMoveFile as error:
            if error.source is None:
                raise UnableToMoveFile.between(source, destination, error.reason) from error.__cause__
            raise
        except OSError as cause:
            raise UnableToMoveFile.between(source, destination, cause.strerror or str(cause), cause=cause) from cause

    def set_visibility(self, path: str, visibility: str) -> None:
        found = self._lstat(path)
        if found is None:
            raise FileNotFound.at(path, "no file exists at this path")
        kind = "dir" if stat_module.S_ISDIR(found.st_mode) else "file"
        try:
            os.chmod(self._full(path), self._mode_for(visibility, kind), follow_symlinks=False)
        except (OSError, NotImplementedError) as cause:
            raise UnableToSetVisibility.at(path, str(cause), cause=cause) from cause

    # -- capabilities ------------------------------------------------------------

    def local_path(self, path: str) -> str:
        return self._full(path)


class _AtomicWriter(io.FileIO):
    """A writable file whose ``close()`` renames it into place; ``abort()`` discards it."""

    def __init__(self, backend: LocalBackend, fd: int, temp: str, path: str, options: WriteOptions) -> None:
        super().__init__(fd, "wb", closefd=False)
        self._backend = backend
        self._fd = fd
        self._temp = temp
        self._path = path
        self._options = options
        self._finished = False

    def abort(self) -> None:
        """Discard what was written; the target is left as it was."""
        if self._finished:
            return
        self._finished = True
        super().close()
        os.close(self._fd)
        try:
            os.unlink(self._temp)
        except OSError:
            pass

    def close(self) -> None:
        if self._finished:
            return
        self._finished = True
        super().close()
        backend = self._backend
        try:
            backend._publish(
                self._fd,
                self._temp,
                self._path,
                backend._mode_for(self._options.visibility),
                self._options.mimetype,
                self._options.metadata,
                UnableToWriteFile,
            )
        except BaseException:
            try:
                os.unlink(self._temp)
            except OSError:
                pass
            raise

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        # An abandoned writer must not publish half a file.
        if not self._finished:
            self.abort()


_LOCAL_OPTIONS = frozenset({"root", "permissions", "fsync", "directory_visibility"})


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """Build a local disk from its options (``root`` required)."""
    from ..config import reject_unknown_options
    from ..disk import LocalFilesystemAdapter

    reject_unknown_options(name, options, _LOCAL_OPTIONS)
    root = options.get("root")
    if not root or not isinstance(root, (str, os.PathLike)):
        raise InvalidConfiguration("a local disk needs 'root', the directory it keeps files in",
                                   option="root", disk=name)
    extra = {key: value for key, value in options.items() if key in _LOCAL_OPTIONS and key != "root"}
    common = {key: value for key, value in options.items() if key not in _LOCAL_OPTIONS}
    return LocalFilesystemAdapter(root, name=name, manager=manager, **extra, **common)

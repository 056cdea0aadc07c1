"""Atomic writes: a hidden temporary file beside the target, renamed over it when complete.

The temporary file (``.flystore-tmp-<pid>-<n>``, never listed) gets its mode and
extended attributes before the rename, so readers see the old file or the
whole new one, and a write that fails at any step (the source, the disk, the
attributes) removes its temporary file and leaves the old file untouched.
"""

from __future__ import annotations

import errno
import io
import itertools
import os
import stat as stat_module
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...attributes import WriteOptions
from ...errors import FileAlreadyExists, StorageError, UnableToWriteFile
from ._walk import TEMP_PREFIX
from ._xattrs import write_xattrs

if TYPE_CHECKING:
    from .backend import LocalBackend

__all__ = ["AtomicWriter", "CHUNK", "Temp", "copy_into", "create_temp", "publish", "write_all", "write_with"]

CHUNK = 1024 * 1024
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | getattr(os, "O_BINARY", 0)
# link() on a filesystem without hard links (FAT, some network and FUSE mounts).
_NO_HARD_LINKS = frozenset(
    code for code in (getattr(errno, name, None) for name in ("EPERM", "EOPNOTSUPP", "ENOTSUP", "EMLINK", "ENOSYS"))
    if code is not None
)
_temp_counter = itertools.count()
_pid = os.getpid()


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def copy_into(fd: int, read: Callable[[int], bytes]) -> None:
    """Write ``read(CHUNK)`` chunks to ``fd`` until it returns nothing: bounded memory."""
    while chunk := read(CHUNK):
        write_all(fd, chunk)


class Temp:
    """A temporary file being written: its descriptor and where it sits.

    ``dir_fd`` is a descriptor of the target's directory (None for a top-level
    target, whose directory is the root); ``temp`` and ``target`` are relative to it.
    """

    __slots__ = ("dir_fd", "fd", "target", "temp")

    def __init__(self, fd: int, dir_fd: int | None, temp: str, target: str) -> None:
        self.fd = fd
        self.dir_fd = dir_fd
        self.temp = temp
        self.target = target

    def discard(self, close_file: bool) -> None:
        """Remove the temporary file and release the descriptors; never raises."""
        if close_file:
            try:
                os.close(self.fd)
            except OSError:
                pass
        try:
            os.unlink(self.temp, dir_fd=self.dir_fd)
        except OSError:
            pass
        self.release()

    def release(self) -> None:
        """Close the directory descriptor (idempotent)."""
        if self.dir_fd is not None:
            os.close(self.dir_fd)
            self.dir_fd = None


def create_temp(backend: LocalBackend, path: str, error: type[StorageError]) -> Temp:
    """Create the hidden temporary file beside ``path``; creates parents on demand.

    Raises:
        PathTraversalDetected: the path crosses a symlink.
        StorageError: of class ``error``: the name is too long, a file is in the way,
            or the filesystem refused.
    """
    reason = backend.jail.too_long(path, writing=True)
    if reason is not None:
        raise error.at(path, reason)
    located = _locate(backend, path, error)
    made_parents = False
    for _attempt in range(4):
        if located is None:
            if made_parents:
                raise error.at(path, "a file is in the way of a directory above this path")
            backend.make_parents(path, error)
            made_parents = True
            located = _locate(backend, path, error)
            continue
        dir_fd, target = located
        name = f"{TEMP_PREFIX}{_pid}-{next(_temp_counter)}"
        temp = name if dir_fd is not None else backend.jail.prefix + name
        try:
            return Temp(os.open(temp, _CREATE_FLAGS, 0o600, dir_fd=dir_fd), dir_fd, temp, target)
        except FileExistsError:
            continue  # a crashed process with our pid left one behind
        except (FileNotFoundError, NotADirectoryError):
            if dir_fd is not None:
                os.close(dir_fd)
            located = None  # the directory went away (or the root was never made)
        except OSError as cause:
            if dir_fd is not None:
                os.close(dir_fd)
            raise error.at(path, cause.strerror or str(cause), cause=cause) from cause
    if located is not None and located[0] is not None:
        os.close(located[0])
    raise error.at(path, "could not create a temporary file")


def _locate(backend: LocalBackend, path: str, error: type[StorageError]) -> tuple[int | None, str] | None:
    try:
        return backend.jail.locate(path)
    except OSError as cause:
        raise error.at(path, cause.strerror or str(cause), cause=cause) from cause


def publish(
    backend: LocalBackend,
    temp: Temp,
    path: str,
    mode: int,
    options: tuple[str | None, Mapping[str, str]],
    error: type[StorageError],
    *,
    exclusive: bool = False,
) -> None:
    """Give the finished temporary file its mode and attributes, close it, rename it into place.

    ``options`` is ``(mimetype, metadata)``. Closes the file whatever happens; the
    caller discards ``temp`` when this raises. ``exclusive`` publishes only if nothing
    is at the target, in one step (see ``_link_into_place``).

    Raises:
        FileAlreadyExists: ``exclusive`` and something is at the target.
        InvalidMetadata: the metadata does not fit beside the file.
        StorageError: of class ``error``: the attributes or the rename failed.
    """
    mimetype, metadata = options
    try:
        os.fchmod(temp.fd, mode)
        if mimetype or metadata:
            write_xattrs(temp.fd, path, mimetype, metadata, error)
        if backend.fsync:
            os.fsync(temp.fd)
    finally:
        os.close(temp.fd)
    if exclusive and _link_into_place(temp, path, error):
        temp.discard(close_file=False)  # the file lives on under its name; drop the temporary one
        return
    try:
        os.replace(temp.temp, temp.target, src_dir_fd=temp.dir_fd, dst_dir_fd=temp.dir_fd)
    except OSError as cause:
        try:
            is_directory = stat_module.S_ISDIR(os.stat(temp.target, dir_fd=temp.dir_fd, follow_symlinks=False).st_mode)
        except OSError:
            is_directory = False
        reason = "a directory exists at this path" if is_directory else cause.strerror
        raise error.at(path, reason or str(cause), cause=cause) from cause
    temp.release()


def _link_into_place(temp: Temp, path: str, error: type[StorageError]) -> bool:
    """Publish by hard-linking the temporary file to the target: ``link`` fails if the name exists.

    The check and the publish are one system call, so of writers racing for one name
    exactly one wins. False when this filesystem has no hard links; the caller then
    checks and renames, which two writers racing may both pass.

    Raises:
        FileAlreadyExists: something (a file, a directory, a link) is at the target.
        StorageError: of class ``error``: the link failed otherwise.
    """
    try:
        os.link(temp.temp, temp.target, src_dir_fd=temp.dir_fd, dst_dir_fd=temp.dir_fd, follow_symlinks=False)
    except FileExistsError:
        raise FileAlreadyExists.at(path, "a file or directory already exists at this path") from None
    except OSError as cause:
        if cause.errno in _NO_HARD_LINKS:
            try:
                os.stat(temp.target, dir_fd=temp.dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                return False
            raise FileAlreadyExists.at(path, "a file or directory already exists at this path") from None
        raise error.at(path, cause.strerror or str(cause), cause=cause) from cause
    return True


def write_with(
    backend: LocalBackend,
    path: str,
    fill: Callable[[int], None],
    mode: int,
    options: tuple[str | None, Mapping[str, str]],
    error: type[StorageError] = UnableToWriteFile,
    *,
    exclusive: bool = False,
) -> None:
    """Create a temporary file, ``fill(fd)`` it, publish it; nothing is left behind on failure.

    Raises:
        FileAlreadyExists: ``exclusive`` and something is at the target; nothing was written.
        StorageError: of class ``error`` (or ``InvalidMetadata``); the old file is intact.
    """
    temp = create_temp(backend, path, error)
    try:
        fill(temp.fd)
    except BaseException as failure:
        temp.discard(close_file=True)
        if isinstance(failure, OSError):
            raise error.at(path, failure.strerror or str(failure), cause=failure) from failure
        raise
    try:
        publish(backend, temp, path, mode, options, error, exclusive=exclusive)
    except BaseException:
        temp.discard(close_file=False)  # publish closed the file
        raise


class AtomicWriter(io.FileIO):
    """A writable file whose ``close()`` renames it into place; ``abort()`` discards it."""

    def __init__(self, backend: LocalBackend, path: str, options: WriteOptions) -> None:
        temp = create_temp(backend, path, UnableToWriteFile)
        super().__init__(temp.fd, "wb", closefd=False)
        self._backend = backend
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
        self._temp.discard(close_file=True)

    def close(self) -> None:
        """Publish the file.

        Raises:
            UnableToWriteFile: it could not be published; the old file is intact.
        """
        if self._finished:
            return
        self._finished = True
        super().close()
        backend = self._backend
        try:
            publish(
                backend,
                self._temp,
                self._path,
                backend.mode_for(self._options.visibility),
                (self._options.mimetype, self._options.metadata),
                UnableToWriteFile,
            )
        except BaseException:
            self._temp.discard(close_file=False)
            raise

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        # An abandoned writer must not publish half a file.
        if not getattr(self, "_finished", True):
            self.abort()

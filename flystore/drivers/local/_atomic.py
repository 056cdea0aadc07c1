"""Atomic writes: a hidden temporary file beside the target, renamed over it when complete.

The temporary file (``.flystore-tmp-<pid>-<n>``, never listed) gets its mode and
extended attributes before the rename, so readers see the old file or the
whole new one, and a write that fails at any step (the source, the disk, the
attributes) removes its temporary file and leaves the old file untouched.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...attributes import WriteOptions
from ...errors import StorageError, UnableToWriteFile
from ._walk import TEMP_PREFIX
from ._xattrs import write_xattrs

if TYPE_CHECKING:
    from .backend import LocalBackend

__all__ = ["AtomicWriter", "CHUNK", "copy_into", "create_temp", "publish", "write_with"]

CHUNK = 1024 * 1024
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | getattr(os, "O_BINARY", 0)
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


def create_temp(backend: LocalBackend, path: str, error: type[StorageError]) -> tuple[int, str]:
    """Create the hidden temporary file beside ``path``; creates parents on demand.

    Raises:
        PathTraversalDetected: the path crosses a symlink.
        StorageError: of class ``error``: the name is too long, a file is in the way,
            or the filesystem refused.
    """
    reason = backend.jail.too_long(path, writing=True)
    if reason is not None:
        raise error.at(path, reason)
    full = backend.jail.full(path)
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
            backend.make_parents(path, error)
        except OSError as cause:
            raise error.at(path, cause.strerror or str(cause), cause=cause) from cause
    raise error.at(path, "could not create a temporary file")


def publish(
    backend: LocalBackend,
    fd: int,
    temp: str,
    path: str,
    mode: int,
    options: tuple[str | None, Mapping[str, str]],
    error: type[StorageError],
) -> None:
    """Give the finished temporary file its mode and attributes, close it, rename it into place.

    ``options`` is ``(mimetype, metadata)``. Closes ``fd`` whatever happens; the caller
    removes ``temp`` when this raises.

    Raises:
        InvalidMetadata: the metadata does not fit beside the file.
        StorageError: of class ``error``: the attributes or the rename failed.
    """
    mimetype, metadata = options
    try:
        os.fchmod(fd, mode)
        if mimetype or metadata:
            write_xattrs(fd, path, mimetype, metadata, error)
        if backend.fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    target = backend.jail.prefix + path
    try:
        os.replace(temp, target)
    except OSError as cause:
        reason = "a directory exists at this path" if os.path.isdir(target) else cause.strerror
        raise error.at(path, reason or str(cause), cause=cause) from cause


def _discard(fd: int | None, temp: str) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.unlink(temp)
    except OSError:
        pass


def write_with(
    backend: LocalBackend,
    path: str,
    fill: Callable[[int], None],
    mode: int,
    options: tuple[str | None, Mapping[str, str]],
    error: type[StorageError] = UnableToWriteFile,
) -> None:
    """Create a temporary file, ``fill(fd)`` it, publish it; nothing is left behind on failure.

    Raises:
        StorageError: of class ``error`` (or ``InvalidMetadata``); the old file is intact.
    """
    fd, temp = create_temp(backend, path, error)
    try:
        fill(fd)
    except BaseException as failure:
        _discard(fd, temp)
        if isinstance(failure, OSError):
            raise error.at(path, failure.strerror or str(failure), cause=failure) from failure
        raise
    try:
        publish(backend, fd, temp, path, mode, options, error)
    except BaseException:
        _discard(None, temp)  # publish closed the descriptor
        raise


class AtomicWriter(io.FileIO):
    """A writable file whose ``close()`` renames it into place; ``abort()`` discards it."""

    def __init__(self, backend: LocalBackend, path: str, options: WriteOptions) -> None:
        fd, temp = create_temp(backend, path, UnableToWriteFile)
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
        _discard(self._fd, self._temp)

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
                self._fd,
                self._temp,
                self._path,
                backend.mode_for(self._options.visibility),
                (self._options.mimetype, self._options.metadata),
                UnableToWriteFile,
            )
        except BaseException:
            _discard(None, self._temp)
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

"""``LocalBackend``: the local driver's primitives, on ``os`` directly.

The hot paths call ``os`` instead of fsspec's ``LocalFileSystem``: fsspec
follows symlinks (which a jail cannot allow) and its per-call layers cost more
than the whole atomic write. Visibility is the file mode: public 0o644/0o755,
private 0o600/0o700 (overridable with ``permissions``).
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import stat as stat_module
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import BinaryIO

from ...attributes import Entry, FileAttributes, WriteOptions
from ...backend import Backend, Readable
from ...errors import (
    FileNotFound,
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
)
from ._atomic import CHUNK, AtomicWriter, copy_into, write_all, write_with
from ._jail import LINK_REASON, Jail
from ._walk import walk_entries, walk_paths
from ._xattrs import METADATA_LIMIT, read_xattrs

__all__ = ["DEFAULT_PERMISSIONS", "LocalBackend"]

DEFAULT_PERMISSIONS: dict[str, dict[str, int]] = {
    "file": {"public": 0o644, "private": 0o600},
    "dir": {"public": 0o755, "private": 0o700},
}

_READ_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)
_FILE_LINK_REASON = "the file is a symbolic link; links are not followed"


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


class LocalBackend(Backend):
    """Files under ``root`` on the local filesystem."""

    name = "local"
    metadata_limit = METADATA_LIMIT

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
        self.jail = Jail(self.root)
        merged = {kind: dict(modes) for kind, modes in DEFAULT_PERMISSIONS.items()}
        for kind, modes in (permissions or {}).items():
            merged.setdefault(kind, {}).update(modes)
        self.file_modes = merged["file"]
        self.dir_modes = merged["dir"]
        self.default_visibility = default_visibility
        self.directory_visibility = directory_visibility or default_visibility
        self.fsync = fsync

    # -- modes and directories ----------------------------------------------------

    def mode_for(self, visibility: str | None, kind: str = "file") -> int:
        """The permission bits for ``visibility`` (the default one when None)."""
        modes = self.file_modes if kind == "file" else self.dir_modes
        return modes.get(visibility or self.default_visibility, modes["public"])

    def visibility_of(self, mode: int, kind: str = "file") -> str:
        """``public`` or ``private`` for a file mode."""
        modes = self.file_modes if kind == "file" else self.dir_modes
        permissions = stat_module.S_IMODE(mode)
        for visibility, expected in modes.items():
            if permissions == expected:
                return visibility
        return "public" if permissions & 0o004 else "private"

    def make_parents(self, path: str, error: type[StorageError]) -> None:
        """Create the directories above ``path`` (with the directory mode) as needed.

        Raises:
            PathTraversalDetected: one of them is a symlink.
            StorageError: of class ``error``: a file is in the way, or mkdir failed.
        """
        index = path.rfind("/")
        self._make_directory_chain(path[:index] if index > 0 else "", error, path)

    def _make_directory_chain(self, directory: str, error: type[StorageError], for_path: str) -> None:
        mode = self.mode_for(self.directory_visibility, "dir")
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
                    raise PathTraversalDetected.at(for_path, LINK_REASON) from None
                if not os.path.isdir(current):
                    raise error.at(for_path, "a file is in the way of a directory above this path") from None
                continue
            except OSError as cause:
                raise error.at(for_path, cause.strerror or str(cause), cause=cause) from cause
            os.chmod(current, mode)  # mkdir's mode is filtered by the umask

    # -- existence ----------------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        try:
            found = self.jail.lstat(path)
        except (PathTraversalDetected, FileNotFound):
            return False
        return found is not None and stat_module.S_ISREG(found.st_mode)

    def directory_exists(self, path: str) -> bool:
        try:
            found = self.jail.lstat(path)
        except (PathTraversalDetected, FileNotFound):
            return False
        return found is not None and stat_module.S_ISDIR(found.st_mode)

    # -- reading ------------------------------------------------------------------

    def _open_fd(self, path: str) -> int:
        full = self.jail.full(path)
        try:
            return os.open(full, _READ_FLAGS)
        except FileNotFoundError:
            raise FileNotFound.at(path, "no file exists at this path") from None
        except NotADirectoryError:
            raise FileNotFound.at(path, "a parent of this path is a file") from None
        except OSError as cause:
            if cause.errno == errno.ELOOP:
                raise PathTraversalDetected.at(path, _FILE_LINK_REASON) from None
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
        return open(fd, "rb", buffering=CHUNK, closefd=True)

    def stat(self, path: str) -> FileAttributes:
        full = self.jail.full(path)
        try:
            found = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFound.at(path, "no file exists at this path") from None
        except OSError as cause:
            raise UnableToRetrieveMetadata.at(path, cause.strerror or str(cause), cause=cause) from cause
        if stat_module.S_ISLNK(found.st_mode):
            raise PathTraversalDetected.at(path, _FILE_LINK_REASON)
        if not stat_module.S_ISREG(found.st_mode):
            raise FileNotFound.at(path, "this path is a directory, not a file")
        mimetype, metadata = read_xattrs(full)
        return FileAttributes(
            path,
            size=found.st_size,
            last_modified=_utc(found.st_mtime),
            mime_type=mimetype,
            visibility=self.visibility_of(found.st_mode),
            metadata=metadata,
        )

    # -- listing ------------------------------------------------------------------

    def _open_listed(self, path: str) -> int | None:
        try:
            return self.jail.open_directory(path)
        except OSError as cause:
            raise UnableToListContents.at(path, cause.strerror or str(cause), cause=cause) from cause

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        # Refuse a link now, not at the first next(); the walk itself opens its own descriptor
        # when iterated, so an iterator that is never consumed holds none.
        fd = self._open_listed(path)
        if fd is None:
            return iter(())
        os.close(fd)
        return self._entries(path, deep)

    def _entries(self, path: str, deep: bool) -> Iterator[Entry]:
        fd = self._open_listed(path)
        if fd is None:
            return
        try:
            yield from walk_entries(fd, path + "/" if path else "", deep, self.visibility_of)
        except OSError as cause:
            raise UnableToListContents.at(path, cause.strerror or str(cause), cause=cause) from cause

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        fd = self._open_listed(path)
        if fd is None:
            return iter(())
        try:
            return iter(walk_paths(fd, path + "/" if path else "", deep))
        except OSError as cause:
            raise UnableToListContents.at(path, cause.strerror or str(cause), cause=cause) from cause

    # -- writing ------------------------------------------------------------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        write_with(
            self, path, lambda fd: write_all(fd, data), self.mode_for(options.visibility),
            (options.mimetype, options.metadata),
        )

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        write_with(
            self, path, lambda fd: copy_into(fd, stream.read), self.mode_for(options.visibility),
            (options.mimetype, options.metadata),
        )

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO:
        return AtomicWriter(self, path, options)  # type: ignore[return-value]  # FileIO is a binary file

    def delete(self, path: str) -> bool:
        try:
            full = self.jail.full(path)
        except FileNotFound:
            return False  # a name too long to exist
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
        reason = self.jail.too_long(path)
        if reason is not None:
            raise UnableToCreateDirectory.at(path, reason)
        found = self.jail.lstat(path)
        if found is not None and stat_module.S_ISLNK(found.st_mode):
            raise PathTraversalDetected.at(path, LINK_REASON)
        if found is not None and not stat_module.S_ISDIR(found.st_mode):
            raise UnableToCreateDirectory.at(path, "a file exists at this path")
        if found is None:
            self._make_directory_chain(path, UnableToCreateDirectory, path)
        if options.visibility is not None:
            try:
                os.chmod(self.jail.full(path), self.mode_for(options.visibility, "dir"), follow_symlinks=False)
            except (OSError, NotImplementedError) as cause:
                raise UnableToCreateDirectory.at(path, str(cause), cause=cause) from cause

    def delete_directory(self, path: str) -> bool:
        if not path:
            raise UnableToDeleteDirectory.at(path, "the disk root cannot be deleted")
        if self.jail.too_long(path) is not None:
            return False  # a name too long to exist
        parent, _, name = path.rpartition("/")
        fd = self._open_listed(parent)  # PathTraversalDetected when a directory above is a link
        if fd is None:
            return False
        try:
            try:
                found = os.lstat(name, dir_fd=fd)
            except (FileNotFoundError, NotADirectoryError):
                return False
            if stat_module.S_ISLNK(found.st_mode):
                raise PathTraversalDetected.at(path, LINK_REASON)
            if not stat_module.S_ISDIR(found.st_mode):
                return False
            # rmtree with dir_fd opens every level with O_NOFOLLOW and unlinks links, never follows them.
            if sys.version_info >= (3, 11):
                shutil.rmtree(name, dir_fd=fd)
            else:  # rmtree's own walk still opens every level with O_NOFOLLOW
                shutil.rmtree(self.jail.full(path))
        except OSError as cause:
            raise UnableToDeleteDirectory.at(path, cause.strerror or str(cause), cause=cause) from cause
        finally:
            os.close(fd)
        return True

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        full_source = self.jail.full(source)
        with self.open_read(source) as handle:
            found = os.fstat(handle.fileno())
            mode = (
                self.mode_for(options.visibility)
                if options.visibility is not None
                else stat_module.S_IMODE(found.st_mode)
            )
            attributes = read_xattrs(full_source)
            try:
                write_with(self, destination, lambda fd: copy_into(fd, handle.read), mode, attributes,
                           UnableToCopyFile)
            except UnableToCopyFile as error:
                raise UnableToCopyFile.between(source, destination, error.reason) from error.__cause__

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        full_source = self.jail.full(source)
        found = self.jail.lstat(source)
        if found is None or not stat_module.S_ISREG(found.st_mode):
            if found is not None and stat_module.S_ISLNK(found.st_mode):
                raise PathTraversalDetected.at(source, _FILE_LINK_REASON)
            raise FileNotFound.at(source, "no file exists at this path")
        reason = self.jail.too_long(destination, writing=True)
        if reason is not None:
            raise UnableToMoveFile.between(source, destination, reason)
        full_destination = self.jail.full(destination)
        try:
            self.make_parents(destination, UnableToMoveFile)
            if os.path.isdir(full_destination) and not os.path.islink(full_destination):
                raise UnableToMoveFile.between(source, destination, "a directory exists at the destination")
            os.replace(full_source, full_destination)
            if options.visibility is not None:
                os.chmod(full_destination, self.mode_for(options.visibility))
        except UnableToMoveFile as error:
            if error.source is None:
                raise UnableToMoveFile.between(source, destination, error.reason) from error.__cause__
            raise
        except OSError as cause:
            raise UnableToMoveFile.between(source, destination, cause.strerror or str(cause), cause=cause) from cause

    def set_visibility(self, path: str, visibility: str) -> None:
        found = self.jail.lstat(path)
        if found is None:
            raise FileNotFound.at(path, "no file exists at this path")
        if stat_module.S_ISLNK(found.st_mode):
            raise PathTraversalDetected.at(path, _FILE_LINK_REASON)
        kind = "dir" if stat_module.S_ISDIR(found.st_mode) else "file"
        try:
            os.chmod(self.jail.full(path), self.mode_for(visibility, kind), follow_symlinks=False)
        except (OSError, NotImplementedError) as cause:
            raise UnableToSetVisibility.at(path, str(cause), cause=cause) from cause

    # -- capabilities -------------------------------------------------------------

    def local_path(self, path: str) -> str:
        return self.jail.full(path)

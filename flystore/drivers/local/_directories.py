"""The local backend's directory verbs: listings, making and deleting directories.

Listings and tree deletion start from a descriptor of the directory reached
through the jail's ``open_directory`` and walk with directory descriptors, so
a symlinked directory is refused and one swapped in while they run is skipped.
"""

from __future__ import annotations

import os
import shutil
import stat as stat_module
import sys
from collections.abc import Iterator

from ...attributes import Entry, WriteOptions
from ...backend import Backend
from ...errors import PathTraversalDetected, UnableToCreateDirectory, UnableToDeleteDirectory, UnableToListContents
from ._jail import LINK_REASON, Jail
from ._walk import walk_entries, walk_paths

__all__ = ["DirectoryVerbs"]


class DirectoryVerbs(Backend):
    """Listing and directory primitives of ``LocalBackend`` (which provides the attributes below)."""

    jail: Jail
    directory_visibility: str

    def mode_for(self, visibility: str | None, kind: str = "file") -> int:
        """The permission bits for ``visibility``."""
        raise NotImplementedError

    def visibility_of(self, mode: int, kind: str = "file") -> str:
        """``public`` or ``private`` for a file mode."""
        raise NotImplementedError

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
            mode = self.mode_for(self.directory_visibility, "dir")
            self.jail.make_directories(path, mode, UnableToCreateDirectory, path)
        if options.visibility is not None:
            fd = self._open_listed(path)
            if fd is None:
                raise UnableToCreateDirectory.at(path, "the directory vanished while it was made")
            try:
                os.fchmod(fd, self.mode_for(options.visibility, "dir"))
            except OSError as cause:
                raise UnableToCreateDirectory.at(path, cause.strerror or str(cause), cause=cause) from cause
            finally:
                os.close(fd)

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

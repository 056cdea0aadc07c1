"""The jail: how a disk path becomes a physical path without leaving ``root``.

Two ways in, for two needs:

- ``full()`` gives the absolute path after checking, with ``lstat``, that no
  directory the path crosses is a symlink. Single-file verbs use it: they then
  open the file itself with ``O_NOFOLLOW``.
- ``open_directory()`` walks from the root one segment at a time with
  ``openat``-style ``dir_fd`` opens and ``O_DIRECTORY | O_NOFOLLOW``, so the
  directory it returns is the one inside the jail even if a segment is swapped
  for a symlink while it walks. Listings and tree deletion start from it, and
  ``locate()`` uses it so that reads, writes, renames and deletes of a nested
  path act relative to a descriptor of the real parent directory.

Names the filesystem cannot hold (a segment over ``NAME_MAX`` bytes, a path
over ``PATH_MAX``) are caught here, before any system call, so no verb meets a
raw ``ENAMETOOLONG``: such a file cannot exist, so reading it is
``FileNotFound`` and probes answer False; writers ask ``too_long()`` and raise
their own class.
"""

from __future__ import annotations

import errno
import os
import stat as stat_module

from ...errors import FileNotFound, PathTraversalDetected, StorageError

__all__ = ["DIRECTORY_FLAGS", "Jail", "LINK_REASON", "TEMP_NAME_BYTES"]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
#: Opening a directory inside the jail: never through a link, never a non-directory.
DIRECTORY_FLAGS = os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC
LINK_REASON = "the path crosses a symbolic link; links are not followed"

#: Bytes a write reserves for its temporary file's name (``.flystore-tmp-<pid>-<n>``).
TEMP_NAME_BYTES = 64

# Longest path (in characters) that cannot break NAME_MAX = 255 bytes even at 4 UTF-8 bytes a character.
_SURELY_SHORT = 63


def _limit(root: str, name: str, default: int) -> int:
    """``pathconf`` of the nearest existing ancestor of ``root`` (the root may not exist yet)."""
    directory = root
    while True:
        try:
            value = os.pathconf(directory, name)
        except (OSError, ValueError, AttributeError):
            parent = os.path.dirname(directory)
            if parent == directory:
                return default
            directory = parent
            continue
        return value if value > 0 else default


class Jail:
    """Path resolution under one root directory.

    Attributes:
        root: the absolute, resolved root.
        name_max: the most bytes one path segment may have on this filesystem.
        path_max: the most bytes an absolute path may have.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.prefix = root.rstrip(os.sep) + os.sep
        self.name_max = _limit(root, "PC_NAME_MAX", 255)
        self.path_max = _limit(root, "PC_PATH_MAX", 4096)
        self._prefix_bytes = len(os.fsencode(self.prefix))

    # -- lengths ---------------------------------------------------------------------

    def too_long(self, path: str, *, writing: bool = False) -> str | None:
        """Why the filesystem cannot hold ``path``, or None when it can.

        ``writing`` also makes room for the temporary file written beside the
        target: its name takes up to ``TEMP_NAME_BYTES`` bytes.
        """
        if len(path) <= _SURELY_SHORT:
            return None
        encoded = path.encode("utf-8", "surrogateescape")
        length = self._prefix_bytes + len(encoded)
        if writing:
            last = len(encoded) - encoded.rfind(b"/") - 1
            length += max(TEMP_NAME_BYTES - last, 0)
        # PATH_MAX counts the terminating NUL.
        if length >= self.path_max:
            room = " (writes keep room for a temporary file's name)" if writing else ""
            return (
                f"the path is too long for this filesystem ({self._prefix_bytes + len(encoded)} bytes "
                f"with the root; at most {self.path_max - 1}{room})"
            )
        for segment in encoded.split(b"/"):
            if len(segment) > self.name_max:
                shown = segment[:24].decode("utf-8", "replace")
                return (
                    f"the name '{shown}...' is too long for this filesystem "
                    f"({len(segment)} bytes; at most {self.name_max})"
                )
        return None

    # -- resolution ------------------------------------------------------------------

    def full(self, path: str) -> str:
        """The absolute path of ``path``, refusing symlinks on every directory it crosses.

        Raises:
            PathTraversalDetected: a directory on the way is a symlink.
            FileNotFound: the name is too long to exist on this filesystem.
        """
        if not path:
            return self.root
        if len(path) > _SURELY_SHORT:
            reason = self.too_long(path)
            if reason is not None:
                raise FileNotFound.at(path, f"no file can exist here: {reason}")
        if "/" in path:
            current = self.root
            for segment in path.split("/")[:-1]:
                current = current + os.sep + segment
                try:
                    mode = os.lstat(current).st_mode
                except OSError:
                    break  # missing: nothing beyond it exists either, so no link to cross
                if stat_module.S_ISLNK(mode):
                    raise PathTraversalDetected.at(path, LINK_REASON)
            return self.prefix + path.replace("/", os.sep) if os.sep != "/" else self.prefix + path
        return self.prefix + path

    def lstat(self, path: str) -> os.stat_result | None:
        """``lstat`` of ``path`` (the entry itself, never a link's target); None when missing.

        Raises:
            PathTraversalDetected: a directory on the way is a symlink.
            FileNotFound: the name is too long to exist on this filesystem.
        """
        try:
            return os.lstat(self.full(path))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def open_directory(self, path: str) -> int | None:
        """A descriptor of directory ``path`` reached without following any link.

        None when nothing, or a file, is there (a listing of it is empty). The
        caller closes the descriptor.

        Raises:
            PathTraversalDetected: ``path`` is, or crosses, a symbolic link.
            OSError: the directory exists but could not be opened.
        """
        if len(path) > _SURELY_SHORT and self.too_long(path) is not None:
            return None
        segments = path.split("/") if path else []
        # The root was resolved once, at start: the first level is opened by its absolute path
        # (O_NOFOLLOW still refuses a link there), which saves opening and closing the root.
        first = self.prefix + segments[0] if segments else self.root
        try:
            fd = os.open(first, DIRECTORY_FLAGS if segments else DIRECTORY_FLAGS & ~_O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as cause:
            if not segments or cause.errno not in (errno.ENOTDIR, errno.ELOOP):
                if cause.errno == errno.ENOTDIR:
                    return None  # the root is a file: nothing to list
                raise
            try:
                is_link = stat_module.S_ISLNK(os.lstat(first).st_mode)
            except OSError:
                is_link = False
            if is_link or cause.errno == errno.ELOOP:
                raise PathTraversalDetected.at(path, LINK_REASON) from None
            return None
        for segment in segments[1:]:
            try:
                child = os.open(segment, DIRECTORY_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                os.close(fd)
                return None
            except OSError as cause:
                if cause.errno not in (errno.ENOTDIR, errno.ELOOP):
                    os.close(fd)
                    raise
                # ENOTDIR is both "a file" and "a link" under O_NOFOLLOW|O_DIRECTORY: look, without following.
                try:
                    is_link = stat_module.S_ISLNK(os.lstat(segment, dir_fd=fd).st_mode)
                except OSError:
                    is_link = False
                finally:
                    os.close(fd)
                if is_link or cause.errno == errno.ELOOP:
                    raise PathTraversalDetected.at(path, LINK_REASON) from None
                return None
            os.close(fd)
            fd = child
        return fd

    def locate(self, path: str) -> tuple[int | None, str] | None:
        """``(dir_fd, name)`` to reach ``path`` without following a link, for ``*at`` calls.

        A top-level path is ``(None, absolute path)``: its directory is the root, resolved
        once. A nested one is a descriptor of its parent (the caller closes it) and the
        last segment. None when the parent does not exist or is a file.

        Raises:
            PathTraversalDetected: a directory above ``path`` is a symbolic link.
            OSError: a directory above it could not be opened.
        """
        index = path.rfind("/")
        if index < 0:
            return None, self.prefix + path
        try:
            fd = self.open_directory(path[:index])
        except PathTraversalDetected:
            raise PathTraversalDetected.at(path, LINK_REASON) from None  # name the user's whole path
        if fd is None:
            return None
        return fd, path[index + 1 :]

    def make_directories(self, directory: str, mode: int, error: type[StorageError], for_path: str) -> None:
        """Create ``directory`` and the directories above it, each with exactly ``mode``.

        Every level is opened relative to its parent with ``O_NOFOLLOW``, so a link put
        in the way is refused rather than created through.

        Raises:
            PathTraversalDetected: a level is a symbolic link.
            StorageError: of class ``error``: a file is in the way, or mkdir failed.
        """
        try:
            os.makedirs(self.root, exist_ok=True)
            fd = os.open(self.root, DIRECTORY_FLAGS & ~_O_NOFOLLOW)
        except OSError as cause:
            raise error.at(
                for_path, f"cannot create the disk root {self.root}: {cause.strerror}", cause=cause
            ) from cause
        try:
            for segment in directory.split("/") if directory else ():
                child = self._make_one(fd, segment, mode, error, for_path)
                os.close(fd)
                fd = child
        finally:
            os.close(fd)

    @staticmethod
    def _make_one(fd: int, segment: str, mode: int, error: type[StorageError], for_path: str) -> int:
        created = False
        for _attempt in range(4):
            try:
                child = os.open(segment, DIRECTORY_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                pass
            except OSError as cause:
                if cause.errno not in (errno.ENOTDIR, errno.ELOOP):
                    raise error.at(for_path, cause.strerror or str(cause), cause=cause) from cause
                try:
                    is_link = stat_module.S_ISLNK(os.lstat(segment, dir_fd=fd).st_mode)
                except OSError:
                    continue  # gone again: try once more
                if is_link:
                    raise PathTraversalDetected.at(for_path, LINK_REASON) from None
                raise error.at(for_path, "a file is in the way of a directory above this path") from None
            else:
                if created:
                    os.fchmod(child, mode)  # mkdir's mode is filtered by the umask
                return child
            try:
                os.mkdir(segment, mode, dir_fd=fd)
                created = True
            except FileExistsError:
                continue  # made meanwhile: open what is there
            except OSError as cause:
                raise error.at(for_path, cause.strerror or str(cause), cause=cause) from cause
        raise error.at(for_path, "a directory above this path keeps changing")

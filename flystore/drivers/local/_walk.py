"""Listing a directory tree through directory descriptors, never through a link.

Each directory is read with ``os.scandir(fd)`` and each subdirectory is opened
relative to its parent's descriptor with ``O_DIRECTORY | O_NOFOLLOW``. A
subdirectory that a concurrent process swapped for a symlink (or a file)
between the scan and the open fails that open with ``ELOOP``/``ENOTDIR`` and is
skipped: the walk never reads through it, so no name from outside the jail can
appear. Symlinks themselves are never listed, nor are in-flight temporary files.

The walk is depth-first and keeps one descriptor per level open, so a wide
tree cannot exhaust the process's descriptors.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TypeVar

from ...attributes import DirectoryAttributes, Entry, FileAttributes
from ._jail import DIRECTORY_FLAGS

__all__ = ["TEMP_PREFIX", "walk_entries", "walk_paths"]

TEMP_PREFIX = ".flystore-tmp-"

# Children that vanished or stopped being directories since the scan: not an error, not followed.
_SKIPPED = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)

_T = TypeVar("_T")


def _walk(
    fd: int, prefix: str, deep: bool, scan: Callable[[int, str], tuple[list[_T], list[str]]]
) -> Iterator[list[_T]]:
    """Yield what ``scan`` finds in the directory ``fd`` and, when ``deep``, below it.

    ``scan(fd, prefix)`` reads one directory: what it holds, and the names of the
    subdirectories to descend into. Takes ownership of ``fd``.

    Raises:
        OSError: a directory could not be read.
    """
    stack: list[tuple[int, str, Iterator[str]]] = []
    current, current_prefix = fd, prefix
    try:
        while True:
            found, subdirectories = scan(current, current_prefix)
            if found:
                yield found
            if deep and subdirectories:
                stack.append((current, current_prefix, iter(subdirectories)))
            else:
                os.close(current)
            current = -1
            while stack:
                parent, parent_prefix, names = stack[-1]
                name = next(names, None)
                if name is None:
                    stack.pop()
                    os.close(parent)
                    continue
                try:
                    current = os.open(name, DIRECTORY_FLAGS, dir_fd=parent)
                except OSError as cause:
                    if cause.errno in _SKIPPED:
                        continue
                    raise
                current_prefix = parent_prefix + name + "/"
                break
            else:
                return
    finally:
        if current >= 0:
            os.close(current)
        for parent, _, _ in stack:
            os.close(parent)


def _scan_paths(fd: int, prefix: str) -> tuple[list[tuple[str, bool]], list[str]]:
    found: list[tuple[str, bool]] = []
    subdirectories: list[str] = []
    with os.scandir(fd) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith(TEMP_PREFIX):
                continue
            # d_type answers both without a stat; a symlink is neither.
            if entry.is_dir(follow_symlinks=False):
                found.append((prefix + name, True))
                subdirectories.append(name)
            elif entry.is_file(follow_symlinks=False):
                found.append((prefix + name, False))
    return found, subdirectories


def walk_paths(fd: int, prefix: str, deep: bool) -> list[tuple[str, bool]]:
    """``(path, is_folder)`` for everything under the directory ``fd`` (closed on return).

    Raises:
        OSError: a directory could not be read.
    """
    paths: list[tuple[str, bool]] = []
    for found in _walk(fd, prefix, deep, _scan_paths):
        paths.extend(found)
    return paths


def walk_entries(fd: int, prefix: str, deep: bool, visibility_of: Callable[[int], str]) -> Iterator[Entry]:
    """Entries, with size, time and visibility, under the directory ``fd``, lazily.

    ``fd`` is closed when the iterator is exhausted or closed.

    Raises:
        OSError: a directory could not be read.
    """

    def scan(directory: int, directory_prefix: str) -> tuple[list[Entry], list[str]]:
        found: list[Entry] = []
        subdirectories: list[str] = []
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(TEMP_PREFIX):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    found.append(DirectoryAttributes(directory_prefix + name))
                    subdirectories.append(name)
                elif entry.is_file(follow_symlinks=False):
                    try:
                        # fstatat(dir_fd, name, AT_SYMLINK_NOFOLLOW): the entry itself, inside the jail.
                        info = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # deleted while we listed
                    found.append(
                        FileAttributes(
                            directory_prefix + name,
                            size=info.st_size,
                            last_modified=datetime.fromtimestamp(info.st_mtime, timezone.utc),
                            visibility=visibility_of(info.st_mode),
                        )
                    )
        return found, subdirectories

    for found in _walk(fd, prefix, deep, scan):
        yield from found

"""What one side of a pair holds (``Listed``) and which paths take part (``PathFilter``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["STATE_DIRECTORY", "Listed", "PathFilter", "is_hidden"]

#: Where a two-way pair keeps its state, under the destination root; never synced.
STATE_DIRECTORY = ".flystore-sync"


@dataclass(frozen=True, slots=True)
class Listed:
    """A file as one recursive listing reported it.

    Attributes:
        path: the path relative to the side's root.
        size: size in bytes.
        mtime: last modification as POSIX seconds, or None when the backend gives none.
        md5: the content's MD5 hex digest when known without reading it (a native
            hash), or once computed; else None.
        handle: what a storage client needs to read or delete it (entry id and hash).
    """

    path: str
    size: int
    mtime: float | None = None
    md5: str | None = None
    handle: Any = None

    def with_md5(self, md5: str) -> Listed:
        """The same file with its MD5 known."""
        return replace(self, md5=md5)


def is_hidden(path: str) -> bool:
    """Whether ``path`` is the sync's own bookkeeping (the state directory)."""
    return path == STATE_DIRECTORY or path.startswith(STATE_DIRECTORY + "/")


def _matches(pattern: str, path: str) -> bool:
    """Whether glob ``pattern`` selects ``path`` (or a directory above it).

    A pattern without ``/`` is tried on every segment, so ``*.log`` matches a
    file anywhere and ``cache`` everything under any ``cache`` directory; one
    with ``/`` is tried on the whole path from the root and on each directory
    above it (``docs/*`` or ``build/``).
    """
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern = pattern.rstrip("/")
    if not pattern:
        return False
    segments = path.split("/")
    if "/" not in pattern:
        return any(fnmatch.fnmatchcase(segment, pattern) for segment in segments)
    return any(fnmatch.fnmatchcase("/".join(segments[:end]), pattern) for end in range(1, len(segments) + 1))


class PathFilter:
    """Selects the paths a sync looks at: included (when ``include`` is given) and not excluded.

    The state directory is never selected. The same filter applies to both sides,
    so an excluded file is neither copied nor deleted.
    """

    def __init__(self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None) -> None:
        if isinstance(include, str) or isinstance(exclude, str):
            raise TypeError("include and exclude are lists of glob patterns, not a single string")
        self.include = tuple(include) if include else ()
        self.exclude = tuple(exclude) if exclude else ()

    def __call__(self, path: str) -> bool:
        if is_hidden(path):
            return False
        if self.include and not any(_matches(pattern, path) for pattern in self.include):
            return False
        return not any(_matches(pattern, path) for pattern in self.exclude)

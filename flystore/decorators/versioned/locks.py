"""Striped per-path locks: writers of one path through one disk take turns; other paths do not wait."""

from __future__ import annotations

import contextlib
import threading
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

__all__ = ["PathLocks"]


class PathLocks:
    """A fixed set of locks; a path always maps to the same one."""

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [threading.RLock() for _ in range(stripes)]

    def _index(self, path: str) -> int:
        return zlib.crc32(path.encode("utf-8", "surrogatepass")) % len(self._locks)

    def hold(self, *paths: str) -> AbstractContextManager[Any]:
        """Hold the locks of every path, taken in one global order (two holders never deadlock)."""
        if len(paths) == 1:
            return self._locks[self._index(paths[0])]
        return self._hold_all(paths)

    @contextlib.contextmanager
    def _hold_all(self, paths: tuple[str, ...]) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for index in sorted({self._index(path) for path in paths}):
                stack.enter_context(self._locks[index])
            yield

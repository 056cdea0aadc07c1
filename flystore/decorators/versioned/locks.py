"""Striped per-path locks: writers of one path through one disk take turns; other paths do not wait."""

from __future__ import annotations

import contextlib
import threading
import zlib
from collections.abc import Iterator

__all__ = ["PathLocks"]


class PathLocks:
    """A fixed set of locks; a path always maps to the same one."""

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [threading.RLock() for _ in range(stripes)]

    def _index(self, path: str) -> int:
        return zlib.crc32(path.encode("utf-8", "surrogatepass")) % len(self._locks)

    @contextlib.contextmanager
    def hold(self, *paths: str) -> Iterator[None]:
        """Hold the locks of every path, taken in one global order (two holders never deadlock)."""
        with contextlib.ExitStack() as stack:
            for index in sorted({self._index(path) for path in paths}):
                stack.enter_context(self._locks[index])
            yield

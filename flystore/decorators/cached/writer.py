"""A native writer that tells its decorator when the file it wrote was published."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, BinaryIO

__all__ = ["NotifyingWriter"]


class NotifyingWriter(io.RawIOBase):
    """Forwards to ``native``; ``published()`` runs after a clean ``close()`` (and after a failed one,
    since the file may have changed), never after ``abort()``."""

    def __init__(self, native: BinaryIO, published: Callable[[], None]) -> None:
        super().__init__()
        self._native: Any = native
        self._published = published
        self._finished = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        written = self._native.write(data)
        return len(data) if written is None else int(written)

    def tell(self) -> int:
        return int(self._native.tell())

    def flush(self) -> None:
        if not self._finished:
            self._native.flush()

    def abort(self) -> None:
        """Discard what was written (the native writer's own abort)."""
        if not self._finished:
            self._finished = True
            self._native.abort()
            super().close()

    def close(self) -> None:
        if self._finished:
            return
        self._finished = True
        try:
            self._native.close()
        finally:
            super().close()
            self._published()

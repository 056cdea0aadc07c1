"""A version's read handle whose errors name the user's path, never a record of the layout."""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from .backend import user_path

__all__ = ["NamedReader"]


class NamedReader(io.RawIOBase):
    """A version's handle whose errors name the user's path (a record's name never leaves the disk)."""

    def __init__(self, handle: BinaryIO, path: str) -> None:
        super().__init__()
        self._handle = handle
        self._path = path

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        with user_path(self._path):
            return self._handle.read(size)

    def readinto(self, buffer: Any, /) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._handle.close()
        super().close()

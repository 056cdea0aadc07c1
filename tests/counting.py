"""A pass-through backend layer that counts what reaches the backend below it (tests and benchmarks)."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any, BinaryIO

from flystore.decorators.base import DecoratedBackend


class CountingFile(io.RawIOBase):
    """A read handle that adds the bytes it hands out to ``counter["bytes"]``."""

    def __init__(self, handle: BinaryIO, counter: Counter[str]) -> None:
        self._handle, self._counter = handle, counter

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._counter["bytes"] += len(data)
        return data

    def close(self) -> None:
        self._handle.close()
        super().close()


class Counting(DecoratedBackend):
    """Counts what reaches the base backend: stats, opens, whole reads and bytes read (``counter``)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.counter: Counter[str] = Counter()

    def stat(self, path: str) -> Any:
        self.counter["stat"] += 1
        return super().stat(path)

    def open_read(self, path: str) -> BinaryIO:
        self.counter["open"] += 1
        return CountingFile(super().open_read(path), self.counter)  # type: ignore[return-value]

    def read(self, path: str) -> bytes:
        self.counter["read"] += 1
        return super().read(path)

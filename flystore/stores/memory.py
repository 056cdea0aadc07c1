"""The ``memory`` store: an LRU bounded by bytes, safe to share between threads."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from .base import Store, StoreStats

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """Least-recently-used entries go first once keys plus values exceed ``max_bytes``.

    A value larger than ``max_bytes`` on its own is not stored at all.
    """

    kind = "memory"

    def __init__(self, namespace: str, *, max_bytes: int) -> None:
        super().__init__(namespace)
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._bytes = 0
        self._evictions = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            value, expires = found
            if expires is not None and expires <= time.monotonic():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        size = len(key) + len(value)
        expires = None if ttl is None else time.monotonic() + ttl
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if size > self.max_bytes:
                return
            self._entries[key] = (value, expires)
            self._bytes += size
            while self._bytes > self.max_bytes:
                oldest = next(iter(self._entries))
                self._drop(oldest)
                self._evictions += 1

    def _drop(self, key: str) -> None:
        value, _ = self._entries.pop(key)
        self._bytes -= len(key) + len(value)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                if key in self._entries:
                    self._drop(key)

    def delete_prefix(self, prefix: str) -> None:
        with self._lock:
            for key in [key for key in self._entries if key.startswith(prefix)]:
                self._drop(key)

    def stats(self) -> StoreStats:
        with self._lock:
            return StoreStats(entries=len(self._entries), bytes=self._bytes, evictions=self._evictions)

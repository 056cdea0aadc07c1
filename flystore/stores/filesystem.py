"""The ``filesystem`` store: one file per entry in a directory, bounded by bytes.

Entries are written to a temporary file and renamed into place, so a reader
sees a whole entry or none, and they survive a restart. Each file holds its
full key (namespace included), so prefix deletes and several namespaces in one
directory work; file names are a hash of the key, so any key length fits.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import threading
import time
from collections.abc import Iterator

from .base import Store, StoreStats, StoreUnavailable

__all__ = ["FilesystemStore"]

_MAGIC = b"FSF\x01"
_HEADER = struct.Struct(">4sdI")  # magic, expiry (unix time, 0: none), key length
_SUFFIX = ".entry"


class FilesystemStore(Store):
    """Entries under ``path``; the least recently used go first beyond ``max_bytes``."""

    kind = "filesystem"

    def __init__(self, namespace: str, path: str, *, max_bytes: int) -> None:
        super().__init__(namespace)
        self.path = os.path.abspath(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._bytes: int | None = None  # counted on first use
        self._evictions = 0

    def _file(self, key: str) -> str:
        digest = hashlib.sha256((self.namespace + "\x00" + key).encode()).hexdigest()
        return os.path.join(self.path, digest[:2], digest[2:] + _SUFFIX)

    def _full_key(self, key: str) -> bytes:
        return (self.namespace + "\x00" + key).encode()

    def get(self, key: str) -> bytes | None:
        target = self._file(key)
        try:
            with open(target, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return None
        except OSError as cause:
            raise StoreUnavailable(f"cannot read cache entry {target}: {cause}") from cause
        parsed = _parse(data)
        if parsed is None or parsed[0] != self._full_key(key):
            return None
        _, expires, value = parsed
        if expires and expires <= time.time():
            self._remove(target)
            return None
        try:
            os.utime(target)  # recency for eviction
        except OSError:
            pass  # evicted meanwhile: the value we hold is still whole
        return value

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        full_key = self._full_key(key)
        expires = 0.0 if ttl is None else time.time() + ttl
        data = _HEADER.pack(_MAGIC, expires, len(full_key)) + full_key + value
        if len(data) > self.max_bytes:
            return
        target = self._file(key)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            previous = _size_of(target)
            descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".tmp")
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(data)
                os.replace(temporary, target)
            except BaseException:
                self._remove(temporary)
                raise
        except OSError as cause:
            raise StoreUnavailable(f"cannot write cache entry under {self.path}: {cause}") from cause
        with self._lock:
            if self._bytes is not None:
                self._bytes += len(data) - previous
            total = self._total()
        if total > self.max_bytes:
            self._evict()

    def delete(self, *keys: str) -> None:
        for key in keys:
            target = self._file(key)
            size = _size_of(target)
            if size and self._remove(target):
                with self._lock:
                    if self._bytes is not None:
                        self._bytes -= size

    def delete_prefix(self, prefix: str) -> None:
        wanted = self._full_key(prefix)
        for target, size, _ in self._scan():
            try:
                with open(target, "rb") as handle:
                    head = handle.read(_HEADER.size + 65536)
            except OSError:
                continue
            if len(head) < _HEADER.size:
                continue
            magic, _, key_length = _HEADER.unpack_from(head)
            key = head[_HEADER.size : _HEADER.size + key_length]
            if magic == _MAGIC and (key.startswith(wanted) or len(key) < key_length):
                # A key longer than what we read is compared in full from the file.
                if len(key) < key_length:
                    parsed = _parse(_read(target))
                    if parsed is None or not parsed[0].startswith(wanted):
                        continue
                if self._remove(target):
                    with self._lock:
                        if self._bytes is not None:
                            self._bytes -= size

    def stats(self) -> StoreStats:
        entries = 0
        total = 0
        for _, size, _ in self._scan():
            entries += 1
            total += size
        with self._lock:
            self._bytes = total
            return StoreStats(entries=entries, bytes=total, evictions=self._evictions)

    def _total(self) -> int:
        if self._bytes is None:
            self._bytes = sum(size for _, size, _ in self._scan())
        return self._bytes

    def _evict(self) -> None:
        """Drop least recently used entries until the store is at 90% of its bound."""
        entries = sorted(self._scan(), key=lambda item: item[2])
        total = sum(size for _, size, _ in entries)
        goal = self.max_bytes * 9 // 10
        evicted = 0
        for target, size, _ in entries:
            if total <= goal:
                break
            if self._remove(target):
                total -= size
                evicted += 1
        with self._lock:
            self._bytes = total
            self._evictions += evicted

    def _scan(self) -> Iterator[tuple[str, int, float]]:
        try:
            shards = os.listdir(self.path)
        except FileNotFoundError:
            return
        except OSError as cause:
            raise StoreUnavailable(f"cannot list cache directory {self.path}: {cause}") from cause
        for shard in shards:
            directory = os.path.join(self.path, shard)
            try:
                names = os.listdir(directory)
            except OSError:
                continue
            for name in names:
                if not name.endswith(_SUFFIX):
                    continue
                target = os.path.join(directory, name)
                try:
                    info = os.stat(target)
                except OSError:
                    continue
                yield target, info.st_size, info.st_mtime

    @staticmethod
    def _remove(target: str) -> bool:
        try:
            os.remove(target)
            return True
        except FileNotFoundError:
            return False
        except OSError as cause:
            raise StoreUnavailable(f"cannot remove cache entry {target}: {cause}") from cause


def _size_of(target: str) -> int:
    try:
        return os.stat(target).st_size
    except OSError:
        return 0


def _read(target: str) -> bytes:
    try:
        with open(target, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _parse(data: bytes) -> tuple[bytes, float, bytes] | None:
    if len(data) < _HEADER.size:
        return None
    magic, expires, key_length = _HEADER.unpack_from(data)
    end = _HEADER.size + key_length
    if magic != _MAGIC or len(data) < end:
        return None
    return data[_HEADER.size : end], expires, data[end:]

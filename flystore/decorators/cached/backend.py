"""``CachedBackend``: read-through caching of contents, attributes and listings.

Keys put the path first (``<path>\\0<kind>``), so everything under a directory
is one prefix delete. Every write through this backend invalidates the file's
own entries and the listings and directory checks of all its ancestors, in a
``finally`` (a failed write may still have changed the file). Changes made
outside flystore (or through a disk without this cache) are seen only after
``ttl``: the reason Flysystem dropped its cache, and why this one is opt-in.
"""

from __future__ import annotations

import io
import json
import threading
import warnings
from collections.abc import Iterator
from typing import Any, BinaryIO

from ...attributes import Entry, FileAttributes, WriteOptions
from ...backend import Backend, Readable
from ...stores import CacheUnavailableWarning, Store, StoreUnavailable, seal, unseal
from ..base import DecoratedBackend
from .codec import decode_entries, decode_entry, encode_entries, encode_entry
from .writer import NotifyingWriter

__all__ = ["CachedBackend"]

CONTENT, STAT, IS_FILE, IS_DIR = "f", "s", "x", "d"
LISTINGS = ("L0", "L1", "P0", "P1")  # list_contents / list_paths, shallow / deep


def _key(path: str, kind: str) -> str:
    return f"{path}\x00{kind}"


def _ancestors(path: str) -> list[str]:
    found = []
    while path:
        cut = path.rfind("/")
        path = path[:cut] if cut >= 0 else ""
        found.append(path)
    return found


class CachedBackend(DecoratedBackend):
    """Caches what ``inner`` returns in ``store`` for ``ttl`` seconds (None: until invalidated).

    Args:
        inner: the backend whose answers are cached.
        store: where entries live.
        ttl: seconds an entry is believed.
        max_file_size: contents up to this many bytes are cached; larger files always stream.
        max_listing: listings of up to this many entries are cached.
    """

    def __init__(
        self, inner: Backend, store: Store, *, ttl: float | None, max_file_size: int, max_listing: int = 10_000
    ) -> None:
        super().__init__(inner)
        self.store = store
        self.ttl = ttl
        self.max_file_size = max_file_size
        self.max_listing = max_listing
        self.metadata_limit = inner.metadata_limit
        self.hits = 0
        self.misses = 0
        self._epoch = 0  # bumped by every invalidation: a fetch that raced one is not stored
        self._degraded = False
        self._lock = threading.Lock()

    # -- the store, never an error ------------------------------------------------------

    def _trouble(self, error: StoreUnavailable, doing: str) -> None:
        if not self._degraded:
            self._degraded = True
            warnings.warn(
                f"cache store {self.store.kind!r} unavailable while {doing}; reading through to the disk: {error}",
                CacheUnavailableWarning,
                stacklevel=4,
            )

    def _lookup(self, key: str) -> bytes | None:
        try:
            frame = self.store.get(key)
        except StoreUnavailable as error:
            self._trouble(error, "reading")
            return None
        self._degraded = False
        payload = unseal(frame)
        with self._lock:
            if payload is None:
                self.misses += 1
            else:
                self.hits += 1
        return payload

    def _keep(self, key: str, payload: bytes, epoch: int) -> None:
        if epoch != self._epoch:
            return
        try:
            self.store.set(key, seal(payload), self.ttl)
        except StoreUnavailable as error:
            self._trouble(error, "storing an entry")

    def _forget(self, keys: list[str], prefixes: tuple[str, ...] = ()) -> None:
        with self._lock:
            self._epoch += 1
        try:
            self.store.delete(*keys)
            for prefix in prefixes:
                self.store.delete_prefix(prefix)
        except StoreUnavailable as error:
            self._trouble(error, "invalidating")

    def invalidate_file(self, path: str) -> None:
        """Forget what is cached about ``path`` and the listings of its parents."""
        keys = [_key(path, kind) for kind in (CONTENT, STAT, IS_FILE, IS_DIR)]
        for parent in _ancestors(path):
            keys.extend(_key(parent, kind) for kind in (*LISTINGS, IS_DIR))
        self._forget(keys)

    def invalidate_tree(self, path: str) -> None:
        """Forget ``path``, everything under it and its parents' listings (the root: everything)."""
        if not path:
            self._forget([], ("",))
            return
        keys = [_key(path, kind) for kind in (CONTENT, STAT, IS_FILE, IS_DIR, *LISTINGS)]
        for parent in _ancestors(path):
            keys.extend(_key(parent, kind) for kind in (*LISTINGS, IS_DIR))
        self._forget(keys, (path + "/",))

    # -- reads -------------------------------------------------------------------------

    def _flag(self, key: str, fetch: Any) -> bool:
        cached = self._lookup(key)
        if cached in (b"0", b"1"):
            return cached == b"1"
        epoch = self._epoch
        answer = bool(fetch())
        self._keep(key, b"1" if answer else b"0", epoch)
        return answer

    def file_exists(self, path: str) -> bool:
        return self._flag(_key(path, IS_FILE), lambda: self.inner.file_exists(path))

    def directory_exists(self, path: str) -> bool:
        return self._flag(_key(path, IS_DIR), lambda: self.inner.directory_exists(path))

    def read(self, path: str) -> bytes:
        key = _key(path, CONTENT)
        cached = self._lookup(key)
        if cached is not None:
            return cached
        epoch = self._epoch
        data = self.inner.read(path)
        if len(data) <= self.max_file_size:
            self._keep(key, data, epoch)
        return data

    def open_read(self, path: str) -> BinaryIO:
        cached = self._lookup(_key(path, CONTENT))
        if cached is not None:
            return io.BytesIO(cached)
        return self.inner.open_read(path)  # streams stay streams: never buffered to fill the cache

    def stat(self, path: str) -> FileAttributes:
        key = _key(path, STAT)
        cached = self._lookup(key)
        if cached is not None:
            entry = decode_entry(cached)
            if isinstance(entry, FileAttributes):
                return entry
        epoch = self._epoch
        attributes = self.inner.stat(path)
        encoded = encode_entry(attributes)
        if encoded is not None:
            self._keep(key, encoded, epoch)
        return attributes

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        key = _key(path, "L1" if deep else "L0")
        cached = self._lookup(key)
        if cached is not None:
            entries = decode_entries(cached)
            if entries is not None:
                yield from entries
                return
        epoch = self._epoch
        seen: list[Entry] | None = []
        for entry in self.inner.list_contents(path, deep):
            if seen is not None:
                seen.append(entry)
                if len(seen) > self.max_listing:
                    seen = None
            yield entry
        if seen is not None:
            encoded = encode_entries(seen)
            if encoded is not None:
                self._keep(key, encoded, epoch)

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        key = _key(path, "P1" if deep else "P0")
        cached = self._lookup(key)
        if cached is not None:
            try:
                pairs = [(str(name), bool(folder)) for name, folder in json.loads(cached)]
            except (ValueError, TypeError):
                pairs = None
            if pairs is not None:
                yield from pairs
                return
        epoch = self._epoch
        seen: list[tuple[str, bool]] | None = []
        for pair in self.inner.list_paths(path, deep):
            if seen is not None:
                seen.append(pair)
                if len(seen) > self.max_listing:
                    seen = None
            yield pair
        if seen is not None:
            self._keep(key, json.dumps(seen, separators=(",", ":")).encode(), epoch)

    # -- writes: pass through, then invalidate exactly what they touched ----------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        try:
            self.inner.write(path, data, options)
        finally:
            self.invalidate_file(path)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        try:
            self.inner.write_stream(path, stream, options)
        finally:
            self.invalidate_file(path)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        native = self.inner.open_write(path, options)
        if native is None:
            return None
        return NotifyingWriter(native, lambda: self.invalidate_file(path))  # type: ignore[return-value]

    def delete(self, path: str) -> bool:
        try:
            return self.inner.delete(path)
        finally:
            self.invalidate_file(path)

    def create_directory(self, path: str, options: WriteOptions) -> None:
        try:
            self.inner.create_directory(path, options)
        finally:
            self.invalidate_file(path)

    def delete_directory(self, path: str) -> bool:
        try:
            return self.inner.delete_directory(path)
        finally:
            self.invalidate_tree(path)

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        try:
            self.inner.copy(source, destination, options)
        finally:
            self.invalidate_file(destination)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        try:
            self.inner.move(source, destination, options)
        finally:
            self.invalidate_file(source)
            self.invalidate_file(destination)

    def set_visibility(self, path: str, visibility: str) -> None:
        try:
            self.inner.set_visibility(path, visibility)
        finally:
            self.invalidate_file(path)

    def close(self) -> None:
        try:
            self.close_inner()
        finally:
            self.store.close()

"""The store interface and the factory that builds a store from options."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidConfiguration

__all__ = ["CacheUnavailableWarning", "STORE_KINDS", "Store", "StoreStats", "StoreUnavailable", "build_store"]

STORE_KINDS = ("memory", "filesystem", "redis")


class StoreUnavailable(Exception):
    """The store could not be reached or failed; callers degrade to uncached work."""


class CacheUnavailableWarning(RuntimeWarning):
    """A cache store failed; flystore carried on without it (reads go to the disk)."""


@dataclass(frozen=True)
class StoreStats:
    """What a store knows about itself.

    Attributes:
        entries: entries held now (None when the store cannot tell cheaply).
        bytes: bytes held now (keys plus values; for redis, the server's used memory).
        evictions: entries dropped to stay within the size bound.
    """

    entries: int | None
    bytes: int
    evictions: int


class Store(abc.ABC):
    """Bytes under string keys, each with an optional time to live, inside one namespace.

    Every method raises :class:`StoreUnavailable` (and nothing else) when the
    store itself fails; a missing or expired key is ``None``, not an error.
    """

    kind: str = "store"

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    @abc.abstractmethod
    def get(self, key: str) -> bytes | None:
        """The value, or None when missing or expired.

        Raises:
            StoreUnavailable: the store failed.
        """

    @abc.abstractmethod
    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (None: until evicted or deleted).

        Raises:
            StoreUnavailable: the store failed.
        """

    @abc.abstractmethod
    def delete(self, *keys: str) -> None:
        """Forget ``keys`` (missing keys are fine).

        Raises:
            StoreUnavailable: the store failed.
        """

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Forget every key starting with ``prefix``.

        Raises:
            StoreUnavailable: the store failed.
        """

    def clear(self) -> None:
        """Forget everything in this store's namespace.

        Raises:
            StoreUnavailable: the store failed.
        """
        self.delete_prefix("")

    @abc.abstractmethod
    def stats(self) -> StoreStats:
        """Entries, bytes and evictions.

        Raises:
            StoreUnavailable: the store failed.
        """

    def close(self) -> None:  # noqa: B027  # most stores hold nothing to release
        """Release connections; safe to call twice."""


def _positive_int(disk: str, options: Mapping[str, Any], key: str, default: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidConfiguration(f"must be a positive whole number of bytes, not {value!r}", option=key, disk=disk)
    return value


def build_store(kind: str, options: Mapping[str, Any], *, namespace: str, disk: str) -> Store:
    """The store of ``kind`` configured from ``options`` (only that store's options).

    Raises:
        InvalidConfiguration: an unknown kind or a bad option, naming ``disk``.
        DriverNotInstalled: the redis store without the ``redis`` package.
    """
    if kind == "memory":
        from .memory import MemoryStore

        _reject(disk, options, {"max_bytes"})
        return MemoryStore(namespace, max_bytes=_positive_int(disk, options, "max_bytes", 64 * 1024 * 1024))
    if kind == "filesystem":
        from .filesystem import FilesystemStore

        _reject(disk, options, {"path", "max_bytes"})
        path = options.get("path")
        if not isinstance(path, str) or not path:
            raise InvalidConfiguration("the filesystem store needs 'path', a directory", option="path", disk=disk)
        return FilesystemStore(namespace, path, max_bytes=_positive_int(disk, options, "max_bytes", 256 * 1024 * 1024))
    if kind == "redis":
        from .redis import RedisStore

        _reject(disk, options, set(RedisStore.OPTIONS))
        return RedisStore.from_options(namespace, options, disk=disk)
    raise InvalidConfiguration(
        f"unknown store {kind!r}; stores are {', '.join(STORE_KINDS)}", option="store", disk=disk
    )


def _reject(disk: str, options: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed))
        raise InvalidConfiguration(f"unknown store option; this store knows: {known}", option=unknown[0], disk=disk)

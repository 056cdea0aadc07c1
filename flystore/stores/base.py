"""The store interface and the factory that builds a store from options."""

from __future__ import annotations

import abc
from dataclasses import dataclass

__all__ = ["CacheUnavailableWarning", "STORE_KINDS", "Store", "StoreStats", "StoreUnavailable"]

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

"""Key/value cache stores shared by the ``cached`` disk and ``flystore.cache``.

Three stores, one interface (:class:`Store`): ``memory`` (an LRU bounded by
bytes), ``filesystem`` (a directory bounded by bytes; entries survive restarts)
and ``redis``. Values are opaque bytes; :mod:`flystore.stores.envelope` adds
the length and checksum that let a reader refuse a corrupt entry.
"""

from __future__ import annotations

from .base import CacheUnavailableWarning, Store, StoreStats, StoreUnavailable
from .envelope import seal, unseal
from .factory import build_store

__all__ = [
    "CacheUnavailableWarning",
    "Store",
    "StoreStats",
    "StoreUnavailable",
    "build_store",
    "seal",
    "unseal",
]

"""Building a store from its kind and options (``memory``, ``filesystem``, ``redis``).

Kept apart from ``base`` so that the concrete stores depend on the base and
only this factory depends on them (no import cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidConfiguration
from .base import STORE_KINDS, Store
from .filesystem import FilesystemStore
from .memory import MemoryStore

__all__ = ["build_store"]


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
        _reject(disk, options, {"max_bytes"})
        return MemoryStore(namespace, max_bytes=_positive_int(disk, options, "max_bytes", 64 * 1024 * 1024))
    if kind == "filesystem":
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

"""The ``cached`` disk: ``CachedFilesystemAdapter`` and the config driver that builds it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...disk import FilesystemAdapter
from ...errors import InvalidConfiguration
from ...paths import normalize
from ...stores import StoreUnavailable, build_store
from ..read_only import inherited_config
from .backend import CachedBackend

if TYPE_CHECKING:
    from ...manager import StorageManager

__all__ = ["CachedFilesystemAdapter", "create"]

DEFAULT_TTL = 300.0
DEFAULT_MAX_FILE_SIZE = 1024 * 1024
#: Options of the cached disk itself; the rest are the store's (see flystore.stores).
OWN_OPTIONS = frozenset({"disk", "store", "ttl", "max_file_size", "max_listing", "namespace"})
STORE_OPTIONS = frozenset(
    {"max_bytes", "path", "redis_url", "host", "port", "db", "username", "password", "socket_timeout",
     "max_connections"}
)


class CachedFilesystemAdapter(FilesystemAdapter):
    """A disk that caches another disk's contents, attributes and listings.

    Args:
        base_adapter: the disk to cache.
        cache_driver: ``"memory"``, ``"filesystem"`` or ``"redis"``.
        cache_ttl: seconds an entry is believed (None: until a write invalidates it).
        max_file_size: files up to this many bytes have their contents cached.
        name: this disk's name (default: the base disk's).
        namespace: key prefix in the store (disks sharing a store and a namespace share entries).
        manager: the manager this disk belongs to (default: the base disk's).
        **store_options: the store's options: ``max_bytes``; ``path`` (filesystem);
            ``redis_url`` or ``host``/``port``/``db``/``username``/``password``,
            ``socket_timeout``, ``max_connections`` (redis).

    Raises:
        InvalidConfiguration: a bad option (named).
        DriverNotInstalled: the redis store without the ``redis`` package.
    """

    def __init__(
        self,
        base_adapter: FilesystemAdapter,
        cache_driver: str = "memory",
        cache_ttl: float | None = DEFAULT_TTL,
        *,
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        max_listing: int = 10_000,
        name: str | None = None,
        namespace: str | None = None,
        manager: StorageManager | None = None,
        config: Mapping[str, Any] | None = None,
        **store_options: Any,
    ) -> None:
        disk_name = name or base_adapter.name
        _check_number(disk_name, "ttl", cache_ttl, allow_none=True)
        _check_number(disk_name, "max_file_size", max_file_size)
        _check_number(disk_name, "max_listing", max_listing)
        unknown = sorted(set(store_options) - STORE_OPTIONS)
        if unknown:
            known = ", ".join(sorted(OWN_OPTIONS | STORE_OPTIONS))
            raise InvalidConfiguration(f"unknown option; the cached disk knows: {known}", option=unknown[0],
                                       disk=disk_name)
        if "redis_url" in store_options:
            store_options["url"] = store_options.pop("redis_url")
        store = build_store(
            cache_driver, store_options, namespace=namespace or f"flystore:cached:{disk_name}:", disk=disk_name
        )
        backend = CachedBackend(
            base_adapter.backend, store, ttl=cache_ttl, max_file_size=int(max_file_size), max_listing=int(max_listing)
        )
        merged = {**inherited_config(base_adapter.config), **dict(config or {})}
        super().__init__(backend, name=disk_name, config=merged, manager=manager or base_adapter.manager)
        self._cache = backend

    def cache_stats(self) -> dict[str, Any]:
        """``hits``, ``misses`` (lookups of this disk), ``evictions``, ``bytes`` and ``entries`` of the store.

        A store that is down reports ``None`` for its own figures (and warns).
        """
        cache = self._cache
        figures: dict[str, Any] = {"hits": cache.hits, "misses": cache.misses, "store": cache.store.kind}
        try:
            stats = self._cache.store.stats()
        except StoreUnavailable as error:
            self._cache._trouble(error, "reading statistics")
            figures.update(evictions=None, bytes=None, entries=None)
        else:
            figures.update(evictions=stats.evictions, bytes=stats.bytes, entries=stats.entries)
        return figures

    def clear_cache(self, path: str | None = None) -> None:
        """Forget every cached entry of this disk, or only ``path`` (a file or a directory tree).

        Raises:
            PathTraversalDetected: ``path`` escapes the disk.
        """
        if path is None:
            self._cache.invalidate_tree("")
            return
        target = normalize(path)
        self._cache.invalidate_file(target)
        self._cache.invalidate_tree(target)


def _check_number(disk: str, option: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidConfiguration(f"must be a non-negative number, not {value!r}", option=option, disk=disk)


def create(name: str, options: dict[str, Any], manager: Any) -> CachedFilesystemAdapter:
    """``{"driver": "cached", "disk": "s3", "store": "redis", "ttl": 3600, "redis_url": ...}``.

    Raises:
        InvalidConfiguration: a bad or unknown option (named).
    """
    from ...config import reject_unknown_options

    reject_unknown_options(name, options, OWN_OPTIONS | STORE_OPTIONS)
    inner = manager._resolve_inner(name, options)
    store_kind = options.get("store", "memory")
    if not isinstance(store_kind, str):
        raise InvalidConfiguration("must be 'memory', 'filesystem' or 'redis'", option="store", disk=name)
    namespace = options.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise InvalidConfiguration("must be a string", option="namespace", disk=name)
    return CachedFilesystemAdapter(
        inner,
        store_kind,
        options.get("ttl", DEFAULT_TTL),
        max_file_size=options.get("max_file_size", DEFAULT_MAX_FILE_SIZE),
        max_listing=options.get("max_listing", 10_000),
        name=name,
        namespace=namespace,
        manager=manager,
        config={key: value for key, value in options.items() if key not in OWN_OPTIONS | STORE_OPTIONS},
        **{key: value for key, value in options.items() if key in STORE_OPTIONS},
    )

"""Tenants of one manager: the ``tenants`` section of the configuration, and a disk per tenant.

The section (all keys optional)::

    "tenants": {
        "disk": "s3",                    # the disk tenants live on (default: the default disk)
        "prefix": "tenants/{tenant}",    # each tenant's directory on it (the default)
        "bucket": "app-{tenant}",        # or: any string option of that disk, templated per tenant
        "max_bytes": 50_000_000,         # quotas for every tenant (None: unlimited)
        "max_files": 10_000,
        "quotas": {"acme": {"max_bytes": 500_000_000}},   # per-tenant overrides
    }

With a templated option (``bucket``, ``container``, ``root``, ...) each tenant gets
its own disk built from the named disk's options with that option replaced; the
prefix then defaults to none (the whole bucket is the tenant's).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..config import resolve_env
from ..decorators.prefixed import PrefixedBackend
from ..decorators.read_only import inherited_config
from ..disk import FilesystemAdapter
from ..errors import InvalidConfiguration, QuotaExceeded, StorageError, UnableToCopyFile
from ..paths import normalize
from .names import validate_templated_name, validate_tenant_name
from .quota import QuotaBackend, TenantUsage, count_files

if TYPE_CHECKING:
    from ..manager import StorageManager

__all__ = ["TenantDisk", "Tenants", "tenants_of"]

PLACEHOLDER = "{tenant}"
_OWN_KEYS = frozenset({"disk", "prefix", "max_bytes", "max_files", "quotas"})
_DEFAULT_PREFIX = "tenants/{tenant}"


class TenantDisk(FilesystemAdapter):
    """A tenant's disk: its files only, within its quota.

    Attributes:
        tenant: the tenant's name.
        base: the name of the disk the tenant lives on.
    """

    tenant: str
    base: str
    #: Whether the backend was built for this tenant alone (its own bucket), so closing it is ours to do.
    owns_backend: bool = False

    def close(self) -> None:
        """Release the tenant's own bucket client; a prefix on a shared disk is left to that disk."""
        if self.owns_backend:
            super().close()

    def copy(self, source: str, destination: str, *, visibility: str | None = None,
             progress: Callable[[int, int | None], None] | None = None, **options: Any) -> str:
        """Copy a file within the tenant's disk (see ``FilesystemAdapter.copy``).

        Raises:
            QuotaExceeded: the copy would take the tenant past a quota; nothing was written.
            FileNotFound: the source is missing.
            UnableToCopyFile: the copy failed.
        """
        try:
            return super().copy(source, destination, visibility=visibility, progress=progress, **options)
        except UnableToCopyFile as error:
            if isinstance(error.__cause__, QuotaExceeded):
                refused = error.__cause__
                refused.disk = refused.disk or self.name
                raise refused from None
            raise

    def usage(self) -> TenantUsage:
        """The tenant's files and bytes, counted afresh from a listing (the quota ledger is reset to it).

        Raises:
            UnableToListContents: the listing failed.
        """
        backend = self.backend
        if isinstance(backend, QuotaBackend):
            return backend.count()
        files, total = count_files(backend)
        return TenantUsage(self.tenant, files, total)


def _limit(value: Any, option: str, disk: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidConfiguration(f"a quota is a whole number >= 0 or None, not {value!r}", option=option,
                                   disk=disk)
    return value


class Tenants:
    """The tenants of one manager; ``tenants_of(manager)`` returns the one it uses.

    Tenant disks are built once per (disk, tenant) and shared, so every
    ``for_tenant("acme")`` of the manager counts against the same quota ledger.
    """

    def __init__(self, manager: StorageManager) -> None:
        self._manager = weakref.ref(manager)
        self._lock = threading.RLock()
        self._disks: dict[tuple[str, str], tuple[FilesystemAdapter, TenantDisk]] = {}
        self._config_seen: object = None

    @property
    def manager(self) -> StorageManager:
        manager = self._manager()
        assert manager is not None, "the manager of these tenants is gone"
        return manager

    def settings(self) -> dict[str, Any]:
        """The ``tenants`` section in force (``{}`` when the configuration has none).

        Raises:
            InvalidConfiguration: the section is not a mapping.
        """
        section = self.manager.config.get("tenants") or {}
        if not isinstance(section, Mapping):
            raise InvalidConfiguration("'tenants' must be a dict like {'disk': 's3', 'prefix': 'tenants/{tenant}'}",
                                       option="tenants")
        resolved: dict[str, Any] = resolve_env(dict(section))
        return resolved

    def disk(self, tenant: str, disk: str | None = None) -> TenantDisk:
        """The disk of ``tenant`` on ``disk`` (default: the section's ``disk``, else the default disk).

        Raises:
            PathTraversalDetected: ``tenant`` is not a usable tenant name.
            InvalidConfiguration: the ``tenants`` section is wrong.
            DiskNotConfigured: the disk is not configured.
        """
        name = validate_tenant_name(tenant)
        manager = self.manager
        with self._lock:
            if self._config_seen is not manager.config:
                self._forget_all()
                self._config_seen = manager.config
            settings = self.settings()
            base_name = disk or settings.get("disk") or manager.default_disk_name
            if not isinstance(base_name, str):
                raise InvalidConfiguration("'disk' must name a configured disk", option="tenants.disk")
            base = manager.disk(base_name)
            cached = self._disks.get((base_name, name))
            if cached is not None and cached[0] is base:
                return cached[1]
            made = self._build(name, base_name, base, settings)
            self._disks[(base_name, name)] = (base, made)
            if made.name not in manager.config["disks"]:
                manager.set(made.name, made)  # so signed URLs of the tenant disk verify through the manager
            return made

    def usage(self, tenant: str, disk: str | None = None) -> TenantUsage:
        """The files and bytes of ``tenant``, counted afresh.

        Raises:
            PathTraversalDetected: ``tenant`` is not a usable tenant name.
            UnableToListContents: the listing failed.
        """
        return self.disk(tenant, disk).usage()

    def _forget_all(self) -> None:
        self._disks.clear()

    def _build(self, tenant: str, base_name: str, base: FilesystemAdapter, settings: dict[str, Any]) -> TenantDisk:
        disk_name = f"{base_name}@{tenant}"
        templated = {key: value for key, value in settings.items() if key not in _OWN_KEYS}
        for key, value in templated.items():
            if not isinstance(value, str) or PLACEHOLDER not in value:
                raise InvalidConfiguration(
                    f"unknown key {key!r}: besides {', '.join(sorted(_OWN_KEYS))} the tenants section only holds "
                    "options of the tenants' disk templated with {tenant}", option=f"tenants.{key}",
                )
        prefix_template = settings.get("prefix", None if templated else _DEFAULT_PREFIX)
        if templated:
            validate_templated_name(tenant)
            options = dict(self.manager.config["disks"][base_name])
            options.update({key: value.replace(PLACEHOLDER, tenant) for key, value in templated.items()})
            inner = self.manager.build(options, name=disk_name)
        else:
            inner = base
        backend = inner.backend
        config = inherited_config(inner.config)
        if prefix_template:
            prefix = self._prefix(prefix_template, tenant)
            backend = PrefixedBackend(backend, prefix)
            if config.get("url"):
                config["url"] = f"{str(config['url']).rstrip('/')}/{prefix}"
        limits = self._limits(tenant, settings)
        if limits != (None, None):
            backend = QuotaBackend(backend, tenant, max_bytes=limits[0], max_files=limits[1], disk=disk_name)
        made = TenantDisk(backend, name=disk_name, config=config, manager=self.manager)
        made.tenant = tenant
        made.base = base_name
        made.owns_backend = bool(templated)
        return made

    @staticmethod
    def _prefix(template: Any, tenant: str) -> str:
        if not isinstance(template, str) or template.count(PLACEHOLDER) != 1:
            raise InvalidConfiguration("'prefix' must be a path holding {tenant} once, like 'tenants/{tenant}'",
                                       option="tenants.prefix")
        before, _, after = template.partition(PLACEHOLDER)
        if (before and not before.endswith("/")) or (after and not after.startswith("/")):
            # "t-{tenant}" would let tenant "a" own a path that merely starts like tenant "a-b"'s; one whole
            # segment per tenant keeps every tenant's directory apart from every other's.
            raise InvalidConfiguration("{tenant} must be a whole path segment of 'prefix', like 'tenants/{tenant}'",
                                       option="tenants.prefix")
        try:
            return normalize(template.replace(PLACEHOLDER, tenant))
        except StorageError as error:
            raise InvalidConfiguration(f"not a usable path: {error.reason}", option="tenants.prefix") from error

    @staticmethod
    def _limits(tenant: str, settings: dict[str, Any]) -> tuple[int | None, int | None]:
        overrides = settings.get("quotas") or {}
        if not isinstance(overrides, Mapping):
            raise InvalidConfiguration("'quotas' maps tenant names to {'max_bytes': ..., 'max_files': ...}",
                                       option="tenants.quotas")
        own = overrides.get(tenant) or {}
        if not isinstance(own, Mapping) or set(own) - {"max_bytes", "max_files"}:
            raise InvalidConfiguration("a tenant's quotas are 'max_bytes' and 'max_files'",
                                       option=f"tenants.quotas.{tenant}")
        chosen = {key: own.get(key, settings.get(key)) for key in ("max_bytes", "max_files")}
        return (_limit(chosen["max_bytes"], "tenants.max_bytes", tenant),
                _limit(chosen["max_files"], "tenants.max_files", tenant))


_TENANTS_LOCK = threading.Lock()


def tenants_of(manager: StorageManager) -> Tenants:
    """The tenants of ``manager`` (made on first use, kept on the manager so they live and die with it)."""
    with _TENANTS_LOCK:
        found = vars(manager).get("_tenants")
        if not isinstance(found, Tenants):
            found = Tenants(manager)
            vars(manager)["_tenants"] = found
        return found

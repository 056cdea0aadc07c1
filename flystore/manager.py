"""StorageManager: configuration in, named disks out.

It loads the configuration lazily, resolves ``env()`` values when a disk is
built, caches every disk it builds, holds the driver registry (``extend``),
swaps fakes in and out (``manager_fakes``), and copies, moves and syncs across
disks with ``disk://path`` operands (``manager_across``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .backend import Backend
from .config import COMMON_OPTIONS, default_config, resolve_env
from .disk import DISK_METHODS, FilesystemAdapter
from .disk_graph import find_loop, named_disks, wrapping
from .errors import DiskNotConfigured, InvalidConfiguration, StorageError
from .manager_across import CrossDiskVerbs
from .manager_fakes import FakeSwitching
from .registry import DriverFactory, load_builtin
from .signing import decode_key

if TYPE_CHECKING:
    from .tenants import TenantDisk
    from .testing.fake import FakeDisk

__all__ = ["StorageManager"]

class StorageManager(CrossDiskVerbs, FakeSwitching):
    """Turns a ``{"default": ..., "disks": {...}}`` configuration into disks.

    Args:
        config: the configuration; ``None`` loads it lazily on first use
            (``$FLYSTORE_CONFIG``, then ``config/filesystems.py``, then the built-in default).
        app_key: the key signing temporary URLs of local/memory disks; defaults to
            the ``APP_KEY`` environment variable (``base64:...`` accepted).
        app_url: prefixed to those URLs; defaults to ``APP_URL``.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        app_key: str | bytes | None = None,
        app_url: str | None = None,
    ) -> None:
        self._config: dict[str, Any] | None = None
        self._disks: dict[str, FilesystemAdapter] = {}
        self._creators: dict[str, DriverFactory] = {}
        self._fakes: dict[str, FilesystemAdapter | None] = {}
        self._persistent_fakes: dict[str, FakeDisk] = {}
        self._lock = threading.RLock()
        # One lock per disk for building it, so a disk whose client hangs while connecting (an SFTP
        # host that is down) holds up only that disk's callers; the generation tells a build that
        # finished after a reconfiguration that its disk is stale.
        self._build_locks: dict[str, threading.RLock] = {}
        self._generation = 0
        self._local = threading.local()
        self._app_key = app_key
        self._app_url = app_url
        if config is not None:
            self.configure(config)

    # -- configuration -------------------------------------------------------------

    def configure(self, config: Mapping[str, Any]) -> None:
        """Replace the whole configuration; every cached disk is dropped.

        Raises:
            InvalidConfiguration: no ``disks`` mapping, or a ``default`` that names no disk.
        """
        if not isinstance(config, Mapping):
            raise InvalidConfiguration(
                "the configuration must be a dict like {'default': 'local', 'disks': {'local': {...}}}, "
                f"not {type(config).__name__}"
            )
        disks = config.get("disks")
        if not isinstance(disks, Mapping):
            raise InvalidConfiguration("the configuration needs a 'disks' mapping of name -> options")
        for name, options in disks.items():
            if not isinstance(options, Mapping):
                raise InvalidConfiguration("a disk's configuration must be a dict of options", disk=str(name))
        default = resolve_env(config.get("default")) or ("local" if "local" in disks else next(iter(disks), None))
        if default is not None and default not in disks:
            raise InvalidConfiguration(
                f"'default' names disk {default!r}, which is not configured; disks: {', '.join(disks) or 'none'}"
            )
        with self._lock:
            self._generation += 1
            self._close_all()
            self._config = {"default": default, "disks": {name: dict(options) for name, options in disks.items()}}
            if config.get("tenants") is not None:
                self._config["tenants"] = dict(config["tenants"])
            self._fakes.clear()

    @property
    def config(self) -> dict[str, Any]:
        """The configuration in force (loaded on first use)."""
        if self._config is None:
            with self._lock:
                if self._config is None:
                    self.configure(default_config())
        assert self._config is not None
        return self._config

    @property
    def app_key(self) -> bytes | None:
        """The application key as bytes, or None."""
        raw = self._app_key if self._app_key is not None else os.environ.get("APP_KEY")
        if not raw:
            return None
        return decode_key(raw, option="app_key")

    @app_key.setter
    def app_key(self, value: str | bytes | None) -> None:
        self._app_key = value

    @property
    def app_url(self) -> str | None:
        """Base URL prefixed to signed local URLs (``APP_URL`` by default)."""
        return self._app_url if self._app_url is not None else os.environ.get("APP_URL")

    def disk_names(self) -> list[str]:
        """The configured disk names, in configuration order."""
        return list(self.config["disks"])

    @property
    def default_disk_name(self) -> str:
        """The name ``disk()`` resolves when given no name.

        Raises:
            DiskNotConfigured: no disk is configured at all.
        """
        default = self.config.get("default")
        if default is None:
            raise DiskNotConfigured("no disks are configured")
        return str(default)

    def set_default_disk(self, name: str) -> None:
        """Make ``name`` the default disk.

        Raises:
            DiskNotConfigured: ``name`` is not configured.
        """
        if name not in self.config["disks"] and name not in self._disks:
            raise self._not_configured(name)
        self.config["default"] = name

    # -- disks ---------------------------------------------------------------------

    def disk(self, name: str | None = None) -> FilesystemAdapter:
        """The named disk (the default when None), built once and reused.

        ``"<disk>@<tenant>"`` names the tenant's disk on ``<disk>`` (``Storage.tenant(tenant, disk)``), built on
        first use.

        Raises:
            DiskNotConfigured: no disk of that name; the message lists the configured ones.
            InvalidConfiguration: the disk's options are wrong.
            DriverNotInstalled: the driver's extra is missing.
            PathTraversalDetected: a tenant's disk whose tenant name is not a usable one.
        """
        key = name if name is not None else self.default_disk_name
        found = self._disks.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._disks.get(key)
            if found is not None:
                return found
            options = self.config["disks"].get(key)
            if options is None:
                base, _, tenant = key.partition("@")
                if not base or not tenant:
                    raise self._not_configured(key)
            else:
                if key not in self._building:
                    self._refuse_loops(key)
                build_lock = self._build_locks.setdefault(key, threading.RLock())
                generation = self._generation
        if options is None:
            return self._tenant_disk(key)  # it registers the tenant's disk under this name once built
        with build_lock:
            found = self._disks.get(key)
            if found is not None:
                return found
            built = self._build(key, options)
            with self._lock:
                current = self._disks.get(key)
                if generation == self._generation and current is None:
                    self._disks[key] = built
                    return built
        with contextlib.suppress(StorageError, OSError):
            built.close()  # reconfigured (or faked) while it was being built: not this disk any more
        return current if current is not None else self.disk(key)

    def _refuse_loops(self, name: str) -> None:
        """Refuse a configuration whose disks wrap each other in a loop, before any build lock is taken.

        Raises:
            InvalidConfiguration: the chain of disks that loops.
        """
        loop = find_loop(self.config["disks"], name)
        if loop is not None:
            chain = " -> ".join(loop)
            raise InvalidConfiguration(f"disks refer to each other in a loop: {chain}", option="disk", disk=name)

    @property
    def _building(self) -> list[str]:
        """The disks this thread is building, outermost first (loop detection while building)."""
        stack: list[str] | None = getattr(self._local, "building", None)
        if stack is None:
            stack = self._local.building = []
        return stack

    def _not_configured(self, name: str) -> DiskNotConfigured:
        names = ", ".join(repr(disk) for disk in self.config["disks"]) or "none"
        return DiskNotConfigured(f"disk {name!r} is not configured; configured disks: {names}", disk=name)

    def configure_disk(self, name: str, driver: str, **options: Any) -> None:
        """Add or replace disk ``name`` at runtime.

        Like a disk in the configuration dict, it is built on first use by
        ``disk(name)``: ``env()`` values are read then, and a missing extra or a bad
        option is reported then. A disk of that name already built is dropped.

        Raises:
            InvalidConfiguration: ``name`` or ``driver`` is not a non-empty string.
        """
        if not isinstance(name, str) or not name:
            raise InvalidConfiguration("a disk name must be a non-empty string", option="name")
        if not isinstance(driver, str) or not driver:
            raise InvalidConfiguration("every disk needs a 'driver'", option="driver", disk=name)
        with self._lock:
            self.forget_disk(name)
            self._generation += 1
            self.config["disks"][name] = {"driver": driver, **options}
            if self.config.get("default") is None:
                self.config["default"] = name

    def build(self, config: Mapping[str, Any], *, name: str = "ondemand") -> FilesystemAdapter:
        """An on-demand disk from ``config`` that is not registered under a name.

        Raises:
            InvalidConfiguration: the options are wrong.
            DriverNotInstalled: the driver's extra is missing.
        """
        return self._build(name, dict(config))

    def extend(self, driver: str, factory: DriverFactory) -> None:
        """Register a custom driver: ``factory(options, manager)`` returns a disk, a
        ``Backend``, or an fsspec filesystem (wrapped as a disk; ``root`` option honoured).
        Cached disks using that driver are rebuilt on next use.
        """
        with self._lock:
            self._generation += 1
            self._creators[driver] = factory
            for name, options in self.config["disks"].items():
                if options.get("driver") == driver:
                    self._disks.pop(name, None)

    def forget_disk(self, *names: str) -> None:
        """Drop cached disks so the next ``disk(name)`` rebuilds them from the configuration."""
        with self._lock:
            self._generation += 1
            for name in names:
                disk = self._disks.pop(name, None)
                self._fakes.pop(name, None)
                if disk is not None and not self._is_shared(disk):
                    disk.close()

    def set(self, name: str, disk: FilesystemAdapter) -> None:
        """Put ``disk`` in place of disk ``name`` (used by fakes)."""
        with self._lock:
            self._disks[name] = disk

    def _drop_dependents(self, name: str) -> None:
        """Forget the built disks that wrap ``name``, directly or not, so they rebuild over what it is now.

        Called when a fake replaces ``name`` or the real disk comes back; faked disks stay.
        """
        wrappers = wrapping(self.config["disks"], name)
        self._generation += 1
        for other in list(self._disks):
            if other in wrappers and other not in self._fakes:
                built = self._disks.pop(other)
                if not self._is_shared(built):
                    with contextlib.suppress(StorageError, OSError):
                        built.close()

    def _is_shared(self, disk: FilesystemAdapter) -> bool:
        return any(other is disk for other in self._disks.values())

    def _close_all(self) -> None:
        # Newest first: a decorator disk is cached after the disks it builds on, so it closes (and flushes,
        # like an audited disk's trail) while they are still open.
        for disk in reversed(list(self._disks.values())):
            with contextlib.suppress(StorageError, OSError):
                disk.close()
        self._disks.clear()

    def _build(self, name: str, raw_options: Mapping[str, Any]) -> FilesystemAdapter:
        if name in self._building:
            chain = " -> ".join([*self._building[self._building.index(name) :], name])
            raise InvalidConfiguration(f"disks refer to each other in a loop: {chain}", option="disk", disk=name)
        self._building.append(name)
        try:
            options = resolve_env(dict(raw_options))
            driver = options.get("driver")
            if not isinstance(driver, str) or not driver:
                raise InvalidConfiguration("every disk needs a 'driver'", option="driver", disk=name)
            creator = self._creators.get(driver)
            if creator is not None:
                disk = self._from_custom(name, driver, creator, options)
            else:
                factory = load_builtin(driver, name)
                body = {key: value for key, value in options.items() if key != "driver"}
                disk = factory(name, body, self)
            if options.get("read_only"):
                from .decorators.read_only import ReadOnlyBackend

                disk._backend = ReadOnlyBackend(disk.backend)
            self._remember_recipe(disk, name, raw_options)
            return disk
        except StorageError as error:
            if error.disk is None:
                error.disk = name
            raise
        finally:
            self._building.pop()

    def _remember_recipe(self, disk: FilesystemAdapter, name: str, raw_options: Mapping[str, Any]) -> None:
        """Record the configuration ``disk`` was built from, so it can travel (``FilesystemAdapter.recipe``).

        The options stay as given (``env()`` unresolved); named disks it wraps come along.
        """
        if disk.__dict__.get("_recipe") is not None or raw_options.get("driver") in self._creators:
            return  # a custom driver's factory does not exist in another process
        disks: dict[str, Any] = {name: dict(raw_options)}
        pending = [raw_options]
        while pending:
            for inner in named_disks(pending.pop()):
                if inner not in disks and inner in self.config["disks"]:
                    disks[inner] = dict(self.config["disks"][inner])
                    pending.append(disks[inner])
        disk.__dict__["_recipe"] = {"name": name, "disks": disks}

    def _from_custom(
        self, name: str, driver: str, creator: DriverFactory, options: dict[str, Any]
    ) -> FilesystemAdapter:
        made = creator(options, self)
        if isinstance(made, FilesystemAdapter):
            if made.name in ("disk", "ondemand"):
                made.name = name
            made.manager = made.manager or self
            return made
        config = {key: value for key, value in options.items() if key in COMMON_OPTIONS}
        if isinstance(made, Backend):
            return FilesystemAdapter(made, name=name, config=config, manager=self)
        try:
            from fsspec.spec import AbstractFileSystem
        except ModuleNotFoundError:  # pragma: no cover - fsspec is a core dependency
            AbstractFileSystem = ()  # type: ignore[assignment,misc]  # noqa: N806
        if isinstance(made, AbstractFileSystem):
            from .drivers.generic import FsspecBackend

            return FilesystemAdapter(
                FsspecBackend(made, root=str(options.get("root", "")), protocol_name=driver),
                name=name,
                config=config,
                manager=self,
            )
        raise InvalidConfiguration(
            f"the factory of driver {driver!r} returned {type(made).__name__}; "
            "it must return a disk, a Backend or an fsspec filesystem",
            option="driver",
            disk=name,
        )

    def _resolve_inner(self, name: str, options: Mapping[str, Any]) -> FilesystemAdapter:
        """The disk a decorator disk wraps: ``disk`` names another disk or holds its options."""
        inner = options.get("disk")
        if isinstance(inner, str) and inner:
            if inner not in self.config["disks"] and inner not in self._disks:
                raise InvalidConfiguration(
                    f"wraps disk {inner!r}, which is not configured", option="disk", disk=name
                )
            if inner in self._building:
                chain = " -> ".join([*self._building[self._building.index(inner) :], inner])
                raise InvalidConfiguration(f"disks refer to each other in a loop: {chain}", option="disk", disk=name)
            wrapped = self.disk(inner)
            wrapped.backend.shared = True  # its own disk closes it, never the decorator
            return wrapped
        if isinstance(inner, Mapping):
            return self._build(f"{name}.disk", inner)
        raise InvalidConfiguration(
            "a decorator disk needs 'disk': the name of the disk it wraps", option="disk", disk=name
        )

    # -- tenants and actors (flystore.tenants, the audited decorator) -------------------

    def for_tenant(self, tenant: str, disk: str | None = None) -> TenantDisk:
        """The disk of ``tenant``: its prefix (or bucket) of ``disk``, within its quotas (docs/tenants.md).

        Raises:
            PathTraversalDetected: ``tenant`` is not a usable tenant name.
            InvalidConfiguration: the ``tenants`` section of the configuration is wrong.
        """
        from .tenants import tenants_of

        return tenants_of(self).disk(tenant, disk)

    tenant = for_tenant  # Storage.tenant("acme"), the facade's spelling (issue #12)

    @staticmethod
    def acting_as(actor: str) -> contextlib.AbstractContextManager[str]:
        """``with Storage.acting_as("user-42"):`` names the actor in audit records (docs/audit.md).

        Raises:
            ValueError: ``actor`` is not a non-empty string.
        """
        from .decorators.audited.actor import acting_as

        return acting_as(actor)

    # -- the default disk's verbs ----------------------------------------------------

    def __getattr__(self, attribute: str) -> Any:
        # Every disk verb on the manager acts on the default disk (Laravel's facade).
        if attribute in _FORWARDED:
            return getattr(self.disk(), attribute)
        raise AttributeError(f"{type(self).__name__!r} has no attribute {attribute!r}")

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *_FORWARDED})


_FORWARDED = frozenset(DISK_METHODS) - {"copy", "move", "config", "name", "manager", "close"}

"""Driver lookup: ``extend()`` first, then the built-in table, then entry points."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from .errors import DriverNotFound, DriverNotInstalled

__all__ = ["BUILTIN_DRIVERS", "DriverFactory", "load_builtin"]

DriverFactory = Callable[..., Any]

# name -> ("module:function", extra that provides its dependency or None). Kept sorted.
BUILTIN_DRIVERS: dict[str, tuple[str, str | None]] = {
    "audited": ("flystore.decorators.audited:create", None),
    "azure": ("flystore.drivers.azure:create", "azure"),
    "cached": ("flystore.decorators.cached:create", None),
    "cdn": ("flystore.decorators.cdn:create", None),
    "compressed": ("flystore.decorators.compressed:create", "compress"),
    "deduplicated": ("flystore.decorators.deduplicated:create", None),
    "encrypted": ("flystore.decorators.encrypted:create", "crypto"),
    "failover": ("flystore.decorators.failover:create", None),
    "fsspec": ("flystore.drivers.generic:create", None),
    "ftp": ("flystore.drivers.ftp:create", "ftp"),
    "gcs": ("flystore.drivers.gcs:create", "gcs"),
    "local": ("flystore.drivers.local:create", None),
    "memory": ("flystore.drivers.memory:create", None),
    "read_only": ("flystore.decorators.read_only:create", None),
    "s3": ("flystore.drivers.s3:create", "s3"),
    "scoped": ("flystore.decorators.prefixed:create", None),
    "sftp": ("flystore.drivers.sftp:create", "sftp"),
    "versioned": ("flystore.decorators.versioned:create", None),
    "webdav": ("flystore.drivers.webdav:create", "webdav"),
}
assert list(BUILTIN_DRIVERS) == sorted(BUILTIN_DRIVERS), "keep BUILTIN_DRIVERS sorted"

ENTRY_POINT_GROUP = "flystore.drivers"


def load_builtin(driver: str, disk: str) -> DriverFactory:
    """The factory of a built-in or entry-point driver.

    Raises:
        DriverNotFound: no driver of that name.
        DriverNotInstalled: the driver module is there but its extra is not installed.
    """
    known = BUILTIN_DRIVERS.get(driver)
    if known is None:
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            if entry.name == driver:
                return entry.load()  # type: ignore[no-any-return]
        names = ", ".join(sorted(BUILTIN_DRIVERS))
        raise DriverNotFound(f"unknown driver {driver!r}; built-in drivers are {names}", option="driver", disk=disk)
    target, extra = known
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as cause:
        if extra is None or (cause.name or "").partition(".")[0] == "flystore":
            raise
        raise DriverNotInstalled.for_extra(extra, f"the {driver} driver", disk=disk, cause=cause) from cause
    return getattr(module, function)  # type: ignore[no-any-return]

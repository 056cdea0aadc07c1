"""How ``disk.fs`` finds managers, and how a disk travels as its configuration.

A disk built by a manager remembers the configuration it was built from, as
given (``env()`` markers unresolved), plus the configurations of the disks it
wraps: that is its *recipe*. Pickling, ``to_json`` and dask tokens use the
recipe, never a connection, a lock or a resolved secret; the receiving process
rebuilds the disk from it on first use, reading ``env()`` values there.

This module never imports the manager: ``flystore/__init__.py`` installs the
process's manager and the manager class here (the layers below never reach up).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config import Env, load_config_file

if TYPE_CHECKING:
    from ..disk import FilesystemAdapter
    from ..manager import StorageManager

__all__ = ["install", "manager", "rebuild", "reduce_disk", "recipe_token"]

_default: Callable[[], StorageManager] | None = None
_manager_class: Callable[..., StorageManager] | None = None
_lock = threading.Lock()
_by_config: dict[str, StorageManager] = {}
_rebuilt: dict[str, StorageManager] = {}
_CASTS: dict[str, Any] = {"int": int, "float": float, "bool": bool, "str": str}


def install(default: Callable[[], StorageManager], manager_class: Callable[..., StorageManager]) -> None:
    """Name the process's manager (``flystore.Storage``) and the class that builds private ones."""
    global _default, _manager_class
    _default, _manager_class = default, manager_class


def _new_manager(config: dict[str, Any]) -> StorageManager:
    if _manager_class is None:  # pragma: no cover - flystore/__init__ installs it on import
        raise RuntimeError("flystore is not initialised; import flystore first")
    return _manager_class(config)


def manager(config: str | None = None) -> StorageManager:
    """The process's manager, or one per configuration file named by ``config``.

    Raises:
        InvalidConfiguration: the configuration file is missing or malformed.
    """
    if config is None:
        if _default is None:  # pragma: no cover - flystore/__init__ installs it on import
            raise RuntimeError("flystore is not initialised; import flystore first")
        return _default()
    with _lock:
        found = _by_config.get(config)
        if found is None:
            found = _by_config[config] = _new_manager(load_config_file(config))
        return found


def recipe_token(recipe: dict[str, Any]) -> str:
    """A stable digest of a recipe: equal recipes, equal tokens, in every process."""
    return hashlib.md5(json.dumps(recipe, sort_keys=True, default=repr).encode()).hexdigest()


def rebuild(recipe: dict[str, Any]) -> FilesystemAdapter:
    """The disk a recipe describes; one private manager per recipe and process, so rebuilt once.

    Raises:
        InvalidConfiguration, DriverNotInstalled: as building the disk from its configuration would.
    """
    token = recipe_token(recipe)
    with _lock:
        built = _rebuilt.get(token)
        if built is None:
            name = str(recipe["name"])
            built = _rebuilt[token] = _new_manager({"default": name, "disks": dict(recipe["disks"])})
    return built.disk(str(recipe["name"]))


def reduce_disk(disk: FilesystemAdapter) -> tuple[Any, ...]:
    """``disk.__reduce__``: the disk pickles as its recipe.

    Raises:
        TypeError: the disk was not built from a configuration (a fake, a hand-built disk),
            or it stores files in this process's memory, which another process cannot see.
    """
    return (rebuild, (travelling(disk.name, disk.recipe()),))


def travelling(name: str, recipe: dict[str, Any] | None) -> dict[str, Any]:
    """``recipe``, checked: a disk that cannot be rebuilt elsewhere refuses to leave.

    Raises:
        TypeError: no recipe (a fake, a hand-built disk), or a memory disk in the chain.
    """
    if recipe is None:
        raise TypeError(
            f"disk {name!r} was not built from a configuration, so it cannot travel to another "
            "process; build it through a StorageManager (or flystore.Storage)"
        )
    if any(options.get("driver") == "memory" for options in recipe["disks"].values()):
        raise TypeError(
            f"disk {name!r} keeps its files in this process's memory; another process would get an "
            "empty disk. Use a local or remote disk for work that leaves the process"
        )
    return recipe


def _to_json(value: Any) -> Any:
    if isinstance(value, Env):
        cast_name = None
        if value.cast is not None:
            cast_name = next((name for name, known in _CASTS.items() if known is value.cast), None)
            if cast_name is None:
                raise TypeError(f"env({value.name!r}) has a cast that JSON cannot carry; use int, float, bool or str")
        return {"__flystore_env__": value.name, "default": _to_json(value.default), "cast": cast_name}
    if isinstance(value, dict):
        return {str(key): _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"a configuration value of type {type(value).__name__} cannot be written as JSON")


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if "__flystore_env__" in value:
            cast = _CASTS.get(value.get("cast") or "")
            return Env(str(value["__flystore_env__"]), _from_json(value.get("default")), cast)
        return {key: _from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    return value


def recipe_to_json(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe as JSON values (``env()`` markers kept as markers).

    Raises:
        TypeError: a value (or an ``env()`` cast) has no JSON form.
    """
    return dict(_to_json(recipe))


def recipe_from_json(data: dict[str, Any]) -> dict[str, Any]:
    """The inverse of ``recipe_to_json``."""
    return dict(_from_json(data))

"""Configuration: ``env()`` placeholders, loading ``config/filesystems.py``, the built-in default."""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InvalidConfiguration

__all__ = [
    "COMMON_OPTIONS",
    "DEFAULT_CONFIG",
    "Env",
    "apply_aliases",
    "default_config",
    "env",
    "load_config_file",
    "reject_unknown_options",
    "resolve_env",
    "string_option",
]

#: Options every disk understands, whatever its driver.
COMMON_OPTIONS = frozenset({"driver", "url", "visibility", "signing_key", "serve_prefix", "read_only"})

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Env:
    """A value read from the environment when the disk is resolved (see ``env``)."""

    name: str
    default: Any = None
    cast: Callable[[str], Any] | None = None

    def resolve(self) -> Any:
        """The variable's value now (cast), or the default when it is unset.

        Raises:
            InvalidConfiguration: the cast failed.
        """
        raw = os.environ.get(self.name)
        if raw is None:
            return self.default
        if self.cast is None:
            return raw
        if self.cast is bool:
            lowered = raw.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise InvalidConfiguration(f"environment variable {self.name}={raw!r} is not a boolean")
        try:
            return self.cast(raw)
        except (TypeError, ValueError) as cause:
            raise InvalidConfiguration(f"environment variable {self.name}={raw!r}: {cause}") from cause


def env(name: str, default: Any = None, cast: Callable[[str], Any] | None = None) -> Any:
    """A config value read from environment variable ``name`` when the disk is resolved.

    ``cast=bool`` understands ``1/true/yes/on`` and ``0/false/no/off``.
    """
    return Env(name, default, cast)


def reject_unknown_options(disk: str, options: Mapping[str, Any], allowed: frozenset[str] | set[str]) -> None:
    """Refuse option keys the driver does not know (typos would otherwise pass silently).

    The message lists every known option and, when one is close, suggests it.

    Raises:
        InvalidConfiguration: naming the disk and the first unknown option.
    """
    known_options = set(allowed) | COMMON_OPTIONS
    unknown = sorted(set(options) - known_options)
    if unknown:
        first = unknown[0]
        close = difflib.get_close_matches(str(first), sorted(known_options), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        known = ", ".join(sorted(known_options))
        raise InvalidConfiguration(f"unknown option; {hint}this driver knows: {known}", option=first, disk=disk)


def apply_aliases(disk: str, options: Mapping[str, Any], aliases: Mapping[str, str]) -> dict[str, Any]:
    """``options`` with alias keys (``{alias: canonical}``) renamed to their canonical name.

    Aliases let the seed's spellings (``access_key`` for ``key``, ...) work as written.

    Raises:
        InvalidConfiguration: both an alias and its canonical name are given.
    """
    renamed = dict(options)
    for alias, canonical in aliases.items():
        if alias in renamed:
            if canonical in renamed:
                raise InvalidConfiguration(
                    f"'{alias}' is another name for '{canonical}'; give one of them, not both",
                    option=alias,
                    disk=disk,
                )
            renamed[canonical] = renamed.pop(alias)
    return renamed


def string_option(
    disk: str, options: Mapping[str, Any], key: str, *, required: bool = False, driver: str = "this"
) -> str | None:
    """The string option ``key``, or None when unset or empty.

    Raises:
        InvalidConfiguration: it is required and missing, or it is not a string.
    """
    value = options.get(key)
    if value is None or value == "":
        if required:
            raise InvalidConfiguration(f"the {driver} driver needs '{key}'", option=key, disk=disk)
        return None
    if not isinstance(value, str):
        raise InvalidConfiguration(f"must be a string, not {type(value).__name__}", option=key, disk=disk)
    return value


def resolve_env(value: Any) -> Any:
    """``value`` with every ``env()`` placeholder inside it replaced by its current value."""
    if isinstance(value, Env):
        return value.resolve()
    if isinstance(value, Mapping):
        return {key: resolve_env(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_env(item) for item in value]
    if isinstance(value, tuple):
        return tuple(resolve_env(item) for item in value)
    return value


DEFAULT_CONFIG: dict[str, Any] = {
    "default": "local",
    "disks": {
        "local": {"driver": "local", "root": "storage/app"},
        "public": {"driver": "local", "root": "storage/app/public", "url": "/storage", "visibility": "public"},
    },
}


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``FILESYSTEMS`` from a Python file (or a TOML file's top level).

    Raises:
        InvalidConfiguration: the file is missing, fails to load, or has no ``FILESYSTEMS``.
    """
    file = Path(path)
    if not file.is_file():
        raise InvalidConfiguration(f"configuration file {file} does not exist")
    if file.suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib

            with file.open("rb") as handle:
                data = tomllib.load(handle)
            return dict(data.get("filesystems", data))
        raise InvalidConfiguration(f"configuration file {file}: TOML needs Python 3.11 or newer")
    spec = importlib.util.spec_from_file_location(f"_flystore_config_{abs(hash(str(file)))}", file)
    if spec is None or spec.loader is None:
        raise InvalidConfiguration(f"configuration file {file} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as cause:  # the user's file may raise anything; say which file
        raise InvalidConfiguration(f"configuration file {file} failed to load: {cause}") from cause
    config = getattr(module, "FILESYSTEMS", None)
    if not isinstance(config, Mapping):
        raise InvalidConfiguration(f"configuration file {file} defines no FILESYSTEMS dict")
    return dict(config)


def default_config() -> dict[str, Any]:
    """``$FLYSTORE_CONFIG``, else ``./config/filesystems.py``, else the built-in local disks."""
    named = os.environ.get("FLYSTORE_CONFIG")
    if named:
        return load_config_file(named)
    conventional = Path.cwd() / "config" / "filesystems.py"
    if conventional.is_file():
        return load_config_file(conventional)
    return {"default": DEFAULT_CONFIG["default"], "disks": {k: dict(v) for k, v in DEFAULT_CONFIG["disks"].items()}}

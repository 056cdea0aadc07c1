"""``create``: an ftp disk from its options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...config import COMMON_OPTIONS, string_option
from ...errors import (
    DriverNotInstalled,
    InvalidConfiguration,
)
from .._remote import checked_options, retries_option, timeout_option
from .backend import FtpBackend
from .connection import FtpSettings, _filesystem_class

_FTP_OPTIONS = frozenset({"host", "port", "username", "password", "root", "tls", "ssl", "verify", "passive"})


def _port(name: str, value: Any, default: int) -> int:
    if value is None:
        return default
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if isinstance(value, bool) or not 0 < port < 65536:
        raise InvalidConfiguration(f"must be a port number (1-65535), not {value!r}", option="port", disk=name)
    return port


def _flag(name: str, options: Mapping[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if not isinstance(value, bool):
        raise InvalidConfiguration(f"must be true or false, not {value!r}", option=key, disk=name)
    return value


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """Build an ftp disk: ``host`` (required), ``port``, ``username`` (alias ``user``), ``password``,
    ``root`` (alias ``base_path``), ``tls`` (or ``ssl``), ``verify``, ``timeout``, ``retries``, ``passive``.

    Raises:
        InvalidConfiguration: an unknown or malformed option.
        DriverNotInstalled: fsspec's ftp module is missing.
    """
    from ...disk import FilesystemAdapter

    options = checked_options(name, options, _FTP_OPTIONS)
    try:
        filesystem_class = _filesystem_class()
    except ImportError as cause:
        raise DriverNotInstalled.for_extra("ftp", "the ftp driver", disk=name, cause=cause) from cause
    host = string_option(name, options, "host", required=True, driver="ftp")
    assert host is not None
    tls = _flag(name, options, "tls", False) or _flag(name, options, "ssl", False)
    verify = options.get("verify", True)
    if not isinstance(verify, (bool, str)):
        raise InvalidConfiguration("must be true, false or a CA bundle path", option="verify", disk=name)
    settings = FtpSettings(
        host=host,
        port=_port(name, options.get("port"), 21),
        username=string_option(name, options, "username") or "anonymous",
        password=string_option(name, options, "password") or "",
        tls=tls,
        verify=verify,
        timeout=timeout_option(name, options),
        passive=_flag(name, options, "passive", True),
        retries=retries_option(name, options),
    )
    root = options.get("root") or ""
    if not isinstance(root, str):
        raise InvalidConfiguration("must be a string (a directory on the server)", option="root", disk=name)
    backend = FtpBackend(settings, root, filesystem_class=filesystem_class)
    config = {key: value for key, value in options.items() if key in COMMON_OPTIONS}
    return FilesystemAdapter(backend, name=name, config=config, manager=manager)


"""``create``: an sftp disk from its options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ...config import COMMON_OPTIONS, string_option
from ...errors import (
    DriverNotInstalled,
    InvalidConfiguration,
)
from .._remote import checked_options, retries_option, timeout_option
from .backend import SftpBackend
from .settings import DEFAULT_PERMISSIONS, SftpSettings

_SFTP_OPTIONS = frozenset(
    {
        "host",
        "port",
        "username",
        "password",
        "private_key",
        "passphrase",
        "root",
        "known_hosts",
        "host_key_check",
        "permissions",
    }
)


def _known_hosts(name: str, options: Mapping[str, Any]) -> Any:
    check = options.get("host_key_check", True)
    if not isinstance(check, bool):
        raise InvalidConfiguration(f"must be true or false, not {check!r}", option="host_key_check", disk=name)
    if "known_hosts" in options and options["known_hosts"] is None:
        return None
    if not check:
        return None
    value = options.get("known_hosts", ())
    if isinstance(value, (str, os.PathLike)):
        return [os.path.expanduser(os.fspath(value))]
    if isinstance(value, (list, tuple)) and all(isinstance(item, (str, os.PathLike)) for item in value):
        return [os.path.expanduser(os.fspath(item)) for item in value] if value else ()
    raise InvalidConfiguration(
        "must be a known_hosts file path, a list of paths, or None to skip host key checks",
        option="known_hosts",
        disk=name,
    )


def _permissions(name: str, value: Any) -> dict[str, dict[str, int]]:
    merged = {kind: dict(modes) for kind, modes in DEFAULT_PERMISSIONS.items()}
    if value is None:
        return merged
    if not isinstance(value, Mapping):
        raise InvalidConfiguration("must map 'file'/'dir' to {'public': mode, 'private': mode}",
                                   option="permissions", disk=name)
    for kind, modes in value.items():
        if kind not in merged or not isinstance(modes, Mapping):
            raise InvalidConfiguration(f"unknown kind {kind!r} (use 'file' or 'dir')", option="permissions", disk=name)
        for visibility, mode in modes.items():
            if visibility not in ("public", "private") or isinstance(mode, bool) or not isinstance(mode, int):
                raise InvalidConfiguration(f"bad entry {visibility!r}: {mode!r}", option="permissions", disk=name)
            merged[kind][visibility] = mode
    return merged


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """Build an sftp disk: ``host`` (required), ``port``, ``username``, ``password``,
    ``private_key``, ``passphrase``, ``root``, ``known_hosts``, ``host_key_check``,
    ``timeout``, ``retries``, ``permissions`` (``user`` and ``base_path`` are aliases).

    Raises:
        InvalidConfiguration: an unknown or malformed option, or a missing key file.
        DriverNotInstalled: sshfs or asyncssh is missing.
    """
    from ...disk import FilesystemAdapter

    options = checked_options(name, options, _SFTP_OPTIONS)
    try:
        import asyncssh  # noqa: F401  # sshfs needs it; fail here, not on first use
        from sshfs import SSHFileSystem
    except ImportError as cause:
        raise DriverNotInstalled.for_extra("sftp", "the sftp driver", disk=name, cause=cause) from cause

    host = string_option(name, options, "host", required=True, driver="sftp")
    assert host is not None
    port = options.get("port", 22)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise InvalidConfiguration(f"must be a port number (1-65535), not {port!r}", option="port", disk=name)
    timeout = timeout_option(name, options)
    private_key = string_option(name, options, "private_key")
    if private_key is not None:
        private_key = os.path.expanduser(private_key)
        if not os.path.isfile(private_key):
            raise InvalidConfiguration(f"no key file at {private_key}", option="private_key", disk=name)
    root = options.get("root") or ""
    if not isinstance(root, str):
        raise InvalidConfiguration("must be a string (a directory on the server)", option="root", disk=name)
    settings = SftpSettings(
        host=host,
        port=port,
        username=string_option(name, options, "username"),
        password=string_option(name, options, "password"),
        private_key=private_key,
        passphrase=string_option(name, options, "passphrase"),
        known_hosts=_known_hosts(name, options),
        timeout=timeout,
        retries=retries_option(name, options),
        permissions=_permissions(name, options.get("permissions")),
    )
    backend = SftpBackend(settings, root, filesystem_class=SSHFileSystem)
    config = {key: value for key, value in options.items() if key in COMMON_OPTIONS}
    return FilesystemAdapter(backend, name=name, config=config, manager=manager)


"""How to reach an SFTP server, and how its failures read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .._remote import DEFAULT_RETRIES, DEFAULT_TIMEOUT

_T = TypeVar("_T")


_CHUNK = 1024 * 1024


_READ_BUFFER = 256 * 1024


DEFAULT_PERMISSIONS: dict[str, dict[str, int]] = {
    "file": {"public": 0o644, "private": 0o600},
    "dir": {"public": 0o755, "private": 0o700},
}


@dataclass(frozen=True)
class SftpSettings:
    """How to reach the server (validated options of an ``sftp`` disk).

    ``known_hosts`` is asyncssh's: ``()`` for ``~/.ssh/known_hosts``, a path or a
    list of paths, or ``None`` to skip host key verification.
    """

    host: str
    port: int = 22
    username: str | None = None
    password: str | None = None
    private_key: str | None = None
    passphrase: str | None = None
    known_hosts: Any = ()
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    permissions: Mapping[str, Mapping[str, int]] = field(default_factory=lambda: DEFAULT_PERMISSIONS)

    @property
    def address(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"sftp://{user}{self.host}:{self.port}"

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for ``SSHFileSystem`` (and so ``asyncssh.connect``)."""
        options: dict[str, Any] = {
            "port": self.port,
            "known_hosts": self.known_hosts,
            "connect_timeout": self.timeout,
            "timeout": self.timeout,
        }
        if self.username:
            options["username"] = self.username
        if self.private_key:
            options["client_keys"] = [self.private_key]
            if self.passphrase is not None:
                options["passphrase"] = self.passphrase
        elif self.password is not None:
            # A password was configured: use it alone, not whatever keys or agent this machine has.
            options["client_keys"] = None
            options["agent_path"] = None
        if self.password is not None:
            options["password"] = self.password
        return options


def _describe(cause: BaseException) -> str:
    reason = getattr(cause, "reason", None)
    text = str(reason or cause).strip() or type(cause).__name__
    name = type(cause).__name__
    return text if name in text else f"{name}: {text}"


def _transient_connect_failure(error: BaseException) -> bool:
    """A refused or reset connection is worth another attempt; a timeout or a refused login is not."""
    return isinstance(error, OSError) and not isinstance(error, (TimeoutError, PermissionError))


def _connection_lost(fs: Any) -> bool:
    client = getattr(fs, "_client", None)
    is_closed = getattr(client, "is_closed", None)
    return bool(is_closed()) if callable(is_closed) else False


def _as_os_error(error: Exception) -> Exception:
    """asyncssh's SFTP errors as the OSErrors fsspec code expects (others unchanged)."""
    import errno

    from asyncssh import sftp

    if isinstance(error, sftp.SFTPNoSuchFile):
        return FileNotFoundError(errno.ENOENT, error.reason)
    if isinstance(error, sftp.SFTPPermissionDenied):
        return PermissionError(errno.EACCES, error.reason)
    return error


"""Connections to an FTP server: settings, login with retries, the transfer pool."""

from __future__ import annotations

import contextlib
import ftplib
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, TypeVar

from .._remote import DEFAULT_RETRIES, DEFAULT_TIMEOUT, retrying

_T = TypeVar("_T")


_CHUNK = 1024 * 1024


_READ_BUFFER = 256 * 1024


# A pooled connection idle for longer than this is checked with NOOP before reuse.
_FRESH_SECONDS = 15.0


_MAX_IDLE_CONNECTIONS = 4


# Replies meaning "this server does not implement the command".
_NOT_IMPLEMENTED = ("500", "502", "504")


# Replies meaning "no such file or directory" (pyftpdlib answers 501 for a missing directory).
_MISSING = ("550", "501", "450")


# Servers refuse command lines past about 2 KiB (pyftpdlib: "500 Command too long", then it reads
# the rest of the line as another command): longer paths are refused before they are sent.
MAX_COMMAND_PATH = 2000


@dataclass(frozen=True)
class FtpSettings:
    """How to reach the server (validated options of an ``ftp`` disk)."""

    host: str
    port: int = 21
    username: str = "anonymous"
    password: str = ""
    tls: bool = False
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT
    passive: bool = True
    retries: int = DEFAULT_RETRIES

    @property
    def address(self) -> str:
        scheme = "ftps" if self.tls else "ftp"
        return f"{scheme}://{self.username}@{self.host}:{self.port}"

    def connect(self) -> ftplib.FTP:
        """A logged-in control connection (binary transfers, passive mode, TLS-protected data on FTPS).

        A refused or dropped connection and a ``421`` greeting are tried again ``retries`` times;
        a timeout or a refused login is not (the first already took its time or will not change).

        Raises:
            ConnectionError: the server could not be reached or refused the login.
        """
        return retrying(self._connect_once, self.retries, _transient_connect_failure)

    def _connect_once(self) -> ftplib.FTP:
        connection: ftplib.FTP
        if self.tls:
            connection = ftplib.FTP_TLS(context=self._tls_context(), timeout=self.timeout, encoding="utf-8")
        else:
            connection = ftplib.FTP(timeout=self.timeout, encoding="utf-8")
        try:
            connection.connect(self.host, self.port)
            connection.login(self.username, self.password)
            if isinstance(connection, ftplib.FTP_TLS):
                connection.prot_p()
            connection.set_pasv(self.passive)
        except (OSError, EOFError, ftplib.Error) as cause:
            _close_quietly(connection)
            raise ConnectionError(f"cannot log in to {self.address}: {_describe(cause)}") from cause
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        if isinstance(self.verify, str):
            return ssl.create_default_context(cafile=self.verify)
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _transient_connect_failure(error: BaseException) -> bool:
    cause = error.__cause__ if isinstance(error, ConnectionError) and error.__cause__ is not None else error
    if isinstance(cause, TimeoutError):
        return False
    if isinstance(cause, ftplib.error_temp):
        return _reply_code(cause) == "421"
    return isinstance(cause, (OSError, EOFError)) and not isinstance(cause, ssl.SSLError)


def _describe(cause: BaseException) -> str:
    text = str(cause).strip() or type(cause).__name__
    return text if isinstance(cause, ftplib.Error) else f"{type(cause).__name__}: {text}"


def _close_quietly(connection: ftplib.FTP) -> None:
    with contextlib.suppress(Exception):
        connection.close()


def _reply_code(error: BaseException) -> str:
    return str(error)[:3]


def _is_stale(error: BaseException) -> bool:
    """Whether ``error`` means the connection died (worth one reconnect), not that the command failed."""
    if isinstance(error, (EOFError, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
        return True
    return isinstance(error, ftplib.error_temp) and _reply_code(error) == "421"


class _ConnectionPool:
    """Idle logged-in connections for transfers; a connection in use belongs to its caller."""

    def __init__(self, settings: FtpSettings, max_idle: int = _MAX_IDLE_CONNECTIONS) -> None:
        self._settings = settings
        self._max_idle = max_idle
        self._idle: list[tuple[ftplib.FTP, float]] = []
        self._lock = threading.Lock()

    def acquire(self) -> ftplib.FTP:
        while True:
            with self._lock:
                if not self._idle:
                    break
                connection, since = self._idle.pop()
            if time.monotonic() - since < _FRESH_SECONDS:
                return connection
            try:
                connection.voidcmd("NOOP")
                return connection
            except (OSError, EOFError, ftplib.Error):
                _close_quietly(connection)
        return self._settings.connect()

    def release(self, connection: ftplib.FTP) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append((connection, time.monotonic()))
                return
        _close_quietly(connection)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            _close_quietly(connection)


def _filesystem_class() -> Any:
    """fsspec's ``FTPFileSystem`` whose connections are made by flystore (TLS context, timeouts)."""
    from fsspec.implementations.ftp import FTPFileSystem

    class FlystoreFTPFileSystem(FTPFileSystem):  # type: ignore[misc]  # fsspec is untyped
        def __init__(self, settings: FtpSettings, **kwargs: Any) -> None:
            self._flystore_settings = settings
            super().__init__(
                host=settings.host,
                port=settings.port,
                username=settings.username,
                password=settings.password,
                timeout=settings.timeout,
                **kwargs,
            )

        def _connect(self) -> None:
            self.ftp = self._flystore_settings.connect()

        def __del__(self) -> None:
            # fsspec closes ``self.ftp`` here, which is missing when connecting failed.
            connection = self.__dict__.get("ftp")
            if connection is not None:
                _close_quietly(connection)

    return FlystoreFTPFileSystem


def _await_reply(connection: ftplib.FTP) -> bool | BaseException:
    """Read the reply closing a transfer: True when it is a success, else what went wrong.

    An ``ftplib.Error`` means the server refused (the connection is still in step);
    an ``OSError``/``EOFError`` means the connection itself broke.
    """
    try:
        connection.voidresp()
    except (OSError, EOFError, ftplib.Error) as error:
        return error
    return True


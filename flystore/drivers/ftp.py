"""The ``ftp`` driver: a directory on an FTP (or explicit FTPS) server.

Built on fsspec's ``FTPFileSystem`` (no extra dependency) and ``ftplib``:

- One control connection (the fsspec filesystem) answers metadata calls:
  existence, listings, renames, deletes, ``mkdir``. An FTP control
  connection is strictly one command at a time, so it is guarded by a lock
  and the disk can be used from several threads. A connection the server
  dropped (idle timeout) is reopened once, transparently.
- Transfers run on their own connections from a small pool: a download and an
  upload can run at once (a same-disk copy streams from one to the other)
  without blocking metadata calls.
- Writes are atomic: bytes go to a hidden ``.flystore-tmp-*`` sibling that is
  renamed over the target when complete; a failed upload deletes it. Temporary
  names never appear in listings.
- Existence and ``stat`` use ``MLST`` (one command, whatever the directory
  size); servers without it fall back to listing the parent. Listings use
  ``MLSD`` (falling back to ``LIST`` parsing). A missing directory lists empty
  (pyftpdlib answers 501, others 550).
- FTP has no portable notion of visibility, custom metadata or stored MIME
  types: those raise ``UnsupportedOperation``.
"""

from __future__ import annotations

import contextlib
import ftplib
import io
import posixpath
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

from ..attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ..backend import Readable
from ..config import COMMON_OPTIONS, string_option
from ..errors import (
    DriverNotInstalled,
    FileNotFound,
    InvalidConfiguration,
    StorageError,
    UnableToCheckExistence,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToListContents,
    UnableToMoveFile,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToWriteFile,
)
from ._names import check_name_length
from ._readers import PositionedReader
from ._remote import DEFAULT_RETRIES, DEFAULT_TIMEOUT, checked_options, retries_option, retrying, timeout_option
from .generic import TEMP_PREFIX, FsspecBackend, parse_time, translate_errors

__all__ = ["FtpBackend", "FtpSettings", "create"]

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


class FtpBackend(FsspecBackend):
    """Files under ``root`` on an FTP server.

    Args:
        settings: how to connect.
        root: the disk's directory on the server (absolute; created on demand).
        filesystem_class: the fsspec filesystem class to build lazily.
    """

    unsupported = frozenset({"visibility", "metadata", "mimetype"})

    def __init__(self, settings: FtpSettings, root: str = "", *, filesystem_class: Any = None) -> None:
        self._settings = settings
        self._filesystem_class = filesystem_class or _filesystem_class()
        self._fs: Any = None
        self._lock = threading.RLock()
        self._pool = _ConnectionPool(settings)
        self._mlst = True
        root = "/".join(segment for segment in str(root).split("/") if segment)
        super().__init__(None, f"/{root}" if root else "", protocol_name="ftp", atomic_writes=True)

    # -- connection ----------------------------------------------------------------

    @property
    def fs(self) -> Any:
        """The fsspec ``FTPFileSystem`` of the control connection (connects on first use)."""
        with self._lock:
            if self._fs is None:
                self._fs = self._filesystem_class(
                    self._settings, skip_instance_cache=True, use_listings_cache=False
                )
            return self._fs

    @fs.setter
    def fs(self, value: Any) -> None:
        self._fs = value

    def _drop_control_connection(self) -> None:
        with self._lock:
            fs, self._fs = self._fs, None
        if fs is not None:
            _close_quietly(fs.ftp)

    def _run(self, action: Callable[[Any], _T]) -> _T:
        """Run ``action(fs)`` on the control connection, reconnecting once if it went stale."""
        with self._lock:
            try:
                return action(self.fs)
            except (OSError, EOFError, ftplib.Error) as error:
                if not _is_stale(error):
                    raise
                self._drop_control_connection()
            return action(self.fs)

    # -- keys and metadata ---------------------------------------------------------

    def _key(self, path: str) -> str:
        """The absolute path of ``path`` on the server.

        Raises:
            NameTooLong: a name over 255 bytes, or a command line the server would refuse.
        """
        if not path:
            return self.root or "/"
        return check_name_length(f"{self.root}/{path}", max_path=MAX_COMMAND_PATH)

    def _stat_key(self, fs: Any, key: str) -> dict[str, Any] | None:
        """``{"type", "size", "modify"}`` of ``key``, or None when nothing is there."""
        if key in ("", "/"):
            return {"type": "directory", "size": 0}
        if self._mlst:
            try:
                reply = fs.ftp.sendcmd(f"MLST {key}")
            except ftplib.error_perm as error:
                code = _reply_code(error)
                if code in _MISSING:
                    return None
                if code not in _NOT_IMPLEMENTED:
                    raise
                self._mlst = False
            else:
                for line in reply.splitlines()[1:]:
                    if "=" in line and not line[:3].isdigit():
                        facts, _, _ = line.strip().partition(" ")
                        return _entry(_parse_facts(facts))
                return None
        try:
            info = fs.info(key)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return _entry(dict(info))

    def _info(self, path: str) -> dict[str, Any] | None:
        key = self._key(path)
        return self._run(lambda fs: self._stat_key(fs, key))

    def attributes(self, path: str, info: Mapping[str, Any]) -> FileAttributes:
        modified = parse_time(info.get("modify"))
        if modified is None:
            # LIST output ("Nov 22 03:43") has no year or zone: ask MDTM, which is UTC.
            key = self._key(path)
            with contextlib.suppress(ftplib.Error):
                modified = parse_time(self._run(lambda fs: fs.ftp.sendcmd(f"MDTM {key}"))[4:])
        return FileAttributes(path, size=int(info.get("size") or 0), last_modified=modified)

    def stat(self, path: str) -> FileAttributes:
        with translate_errors(UnableToRetrieveMetadata, path):
            info = self._info(path)
            if info is None or info.get("type") != "file":
                raise FileNotFound.at(path, "no file exists at this path")
            return self.attributes(path, info)

    def _listdir(self, fs: Any, key: str) -> list[tuple[str, dict[str, Any]]]:
        """``(name, entry)`` of the directory's children; a missing directory is empty."""
        try:
            found = [(posixpath.basename(name.rstrip("/")), _entry(facts)) for name, facts in fs.ftp.mlsd(key)]
        except ftplib.error_perm as error:
            code = _reply_code(error)
            if code in _MISSING:
                return []
            if code not in _NOT_IMPLEMENTED:
                raise
            try:
                found = [
                    (posixpath.basename(str(info["name"]).rstrip("/")), _entry(dict(info)))
                    for info in fs.ls(key, detail=True)
                ]
            except FileNotFoundError:
                return []
        return [(name, entry) for name, entry in found if name not in ("", ".", "..") and entry["type"] != "skip"]

    # -- reading -------------------------------------------------------------------

    def read(self, path: str) -> bytes:
        with self.open_read(path) as handle:
            return handle.read()

    def open_read(self, path: str) -> BinaryIO:
        with translate_errors(UnableToReadFile, path):
            info = self._info(path)
            key = self._key(path)
        if info is None or info.get("type") != "file":
            raise FileNotFound.at(path, "no file exists at this path")
        raw = _FtpReader(self, key, path, size=int(info.get("size") or 0))
        return io.BufferedReader(raw, _READ_BUFFER)  # type: ignore[return-value]

    def _walk(self, path: str, deep: bool) -> Iterator[Entry]:
        with translate_errors(UnableToListContents, path, missing_is=UnableToListContents):
            key = self._key(path)
            children = self._run(lambda fs: self._listdir(fs, key))
        prefix = f"{path}/" if path else ""
        for name, entry in children:
            if name.startswith(TEMP_PREFIX):
                continue
            if entry["type"] == "directory":
                yield DirectoryAttributes(prefix + name, last_modified=parse_time(entry.get("modify")))
                if deep:
                    yield from self._walk(prefix + name, deep)
            elif entry["type"] == "file":
                yield FileAttributes(
                    prefix + name, size=int(entry.get("size") or 0), last_modified=parse_time(entry.get("modify"))
                )

    # -- writing -------------------------------------------------------------------

    def _ensure_directory(self, fs: Any, key: str, path: str, error: type[StorageError]) -> None:
        """Create directory ``key`` and its missing ancestors (the disk root included)."""
        missing: list[str] = []
        current = key
        while current not in ("", "/"):
            entry = self._stat_key(fs, current)
            if entry is not None:
                if entry["type"] != "directory":
                    raise error.at(path, "a file is in the way of a directory on this path")
                break
            missing.append(current)
            current = posixpath.dirname(current)
        for directory in reversed(missing):
            try:
                fs.ftp.mkd(directory)
            except ftplib.error_perm:
                entry = self._stat_key(fs, directory)  # made meanwhile by someone else?
                if entry is None or entry["type"] != "directory":
                    raise

    def _prepare_target(self, fs: Any, path: str, error: type[StorageError]) -> None:
        """Refuse a directory at ``path`` and create its parents."""
        key = self._key(path)
        entry = self._stat_key(fs, key)
        if entry is not None and entry["type"] == "directory":
            raise error.at(path, "a directory exists at this path")
        self._ensure_directory(fs, posixpath.dirname(key), path, error)

    def _replace(self, fs: Any, source: str, target: str) -> None:
        """Rename ``source`` over ``target`` (some servers refuse to overwrite: delete first)."""
        try:
            fs.ftp.rename(source, target)
        except ftplib.error_perm:
            entry = self._stat_key(fs, target)
            if entry is None or entry["type"] != "file":
                raise
            fs.ftp.delete(target)
            fs.ftp.rename(source, target)

    def _remove_quietly(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self._run(lambda fs: fs.ftp.delete(key))

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self.write_stream(path, io.BytesIO(data), options)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        with translate_errors(UnableToWriteFile, path, missing_is=UnableToWriteFile):
            key = self._key(path)
            self._run(lambda fs: self._prepare_target(fs, path, UnableToWriteFile))
            parent = posixpath.dirname(key)
            temporary = f"{parent.rstrip('/')}/{TEMP_PREFIX}{uuid.uuid4().hex}"
            self._upload(temporary, stream)
            try:
                self._run(lambda fs: self._replace(fs, temporary, key))
            except BaseException:
                self._remove_quietly(temporary)
                raise

    def _upload(self, temporary: str, stream: Readable) -> None:
        """``STOR`` ``stream`` on a pooled connection; on failure the partial upload is deleted."""
        connection = self._pool.acquire()
        try:
            connection.voidcmd("TYPE I")
            data = connection.transfercmd(f"STOR {temporary}")
        except BaseException:
            _close_quietly(connection)
            self._remove_quietly(temporary)
            raise
        failure: BaseException | None = None
        try:
            with data:
                while chunk := stream.read(_CHUNK):
                    data.sendall(chunk)
                unwrap = getattr(data, "unwrap", None)
                if unwrap is not None:  # FTPS: close the TLS layer cleanly
                    unwrap()
        except BaseException as error:
            failure = error
        # The data connection is closed: the server answers for the transfer (226, or 426/451 ...).
        # Waiting for that answer keeps the connection usable and means the server has closed
        # the partial file before it is deleted.
        in_step = _await_reply(connection)
        if isinstance(in_step, BaseException):
            failure = failure or in_step
            in_step = not isinstance(in_step, (OSError, EOFError))
        if failure is None:
            self._pool.release(connection)
            return
        if in_step:
            try:
                connection.delete(temporary)
            except (OSError, EOFError, ftplib.Error):
                _close_quietly(connection)
                self._remove_quietly(temporary)
            else:
                self._pool.release(connection)
        else:
            _close_quietly(connection)
            self._remove_quietly(temporary)
        raise failure

    def delete(self, path: str) -> bool:
        with translate_errors(UnableToDeleteFile, path, missing_is=UnableToDeleteFile):
            key = self._key(path)

        def remove(fs: Any) -> bool:
            entry = self._stat_key(fs, key)
            if entry is None or entry["type"] != "file":
                return False
            try:
                fs.ftp.delete(key)
            except ftplib.error_perm:
                if self._stat_key(fs, key) is None:
                    return False  # deleted meanwhile
                raise
            return True

        with translate_errors(UnableToDeleteFile, path, missing_is=UnableToDeleteFile):
            return self._run(remove)

    def create_directory(self, path: str, options: WriteOptions) -> None:
        if not path:
            return
        with translate_errors(UnableToCreateDirectory, path, missing_is=UnableToCreateDirectory):
            key = self._key(path)
            self._run(lambda fs: self._ensure_directory(fs, key, path, UnableToCreateDirectory))

    def delete_directory(self, path: str) -> bool:
        if not path:
            raise UnableToDeleteDirectory.at(path, "the disk root cannot be deleted")
        with translate_errors(UnableToDeleteDirectory, path, missing_is=UnableToDeleteDirectory):
            key = self._key(path)

        def remove_tree(fs: Any, directory: str) -> None:
            for name, entry in self._listdir(fs, directory):
                child = f"{directory}/{name}"
                if entry["type"] == "directory":
                    remove_tree(fs, child)
                else:
                    fs.ftp.delete(child)
            fs.ftp.rmd(directory)

        def remove(fs: Any) -> bool:
            entry = self._stat_key(fs, key)
            if entry is None or entry["type"] != "directory":
                return False
            remove_tree(fs, key)
            return True

        with translate_errors(UnableToDeleteDirectory, path, missing_is=UnableToDeleteDirectory):
            return self._run(remove)

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        """FTP has no server-side copy: stream the file through a second connection."""
        try:
            with translate_errors(UnableToCopyFile, source):
                reader = self.open_read(source)
            with reader:
                self.write_stream(destination, reader, options)
        except (UnableToWriteFile, UnableToReadFile, UnableToCopyFile) as error:
            raise UnableToCopyFile.between(source, destination, error.reason) from error.__cause__

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        def rename(fs: Any) -> None:
            source_key, destination_key = self._key(source), self._key(destination)
            entry = self._stat_key(fs, source_key)
            if entry is None or entry["type"] != "file":
                raise FileNotFound.at(source, "no file exists at this path")
            self._prepare_target(fs, destination, UnableToMoveFile)
            self._replace(fs, source_key, destination_key)

        try:
            with translate_errors(UnableToMoveFile, source):
                self._run(rename)
        except UnableToMoveFile as error:
            raise UnableToMoveFile.between(source, destination, error.reason) from error.__cause__

    def file_exists(self, path: str) -> bool:
        with translate_errors(UnableToCheckExistence, path, missing_is=UnableToCheckExistence):
            info = self._info(path)
        return info is not None and info.get("type") == "file"

    def close(self) -> None:
        self._pool.close()
        self._drop_control_connection()


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


def _parse_facts(text: str) -> dict[str, str]:
    facts: dict[str, str] = {}
    for fact in text.split(";"):
        name, sep, value = fact.partition("=")
        if sep:
            facts[name.strip().lower()] = value
    return facts


def _entry(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise MLST/MLSD facts or an fsspec info dict to ``{"type", "size", "modify"}``."""
    kind = str(facts.get("type", "")).lower()
    if kind in ("file",):
        normalized = "file"
    elif kind in ("dir", "directory"):
        normalized = "directory"
    elif kind in ("cdir", "pdir"):
        normalized = "skip"
    else:
        normalized = "other"  # links, devices: neither a file nor a directory here
    return {"type": normalized, "size": facts.get("size") or 0, "modify": facts.get("modify")}


class _FtpReader(PositionedReader):
    """A seekable download over its own connection (``RETR`` with ``REST`` for offsets)."""

    def __init__(self, backend: FtpBackend, key: str, path: str, *, size: int) -> None:
        super().__init__(size)
        self._pool = backend._pool
        self._timeout = backend._settings.timeout
        self._key = key
        self._path = path
        self._connection: ftplib.FTP | None = None
        self._socket: Any = None
        self._eof = False

    def _moved(self, target: int) -> None:
        self._abandon()
        self._eof = False

    def readinto(self, buffer: Any) -> int:
        if self._eof or self.closed:
            return 0
        try:
            if self._socket is None:
                self._start()
            received = int(self._socket.recv_into(buffer))
            if received == 0:
                self._finish()
        except (OSError, EOFError, ftplib.Error) as cause:
            self._abandon()
            raise UnableToReadFile.at(self._path, _describe(cause), cause=cause) from cause
        self._position += received
        return received

    def readall(self) -> bytes:
        chunks = []
        buffer = bytearray(_CHUNK)
        while received := self.readinto(buffer):
            chunks.append(bytes(buffer[:received]))
        return b"".join(chunks)

    def _start(self) -> None:
        connection = self._pool.acquire()
        self._connection = connection
        connection.voidcmd("TYPE I")
        self._socket = connection.transfercmd(f"RETR {self._key}", rest=self._position or None)

    def _finish(self) -> None:
        self._eof = True
        connection, sock = self._connection, self._socket
        self._connection = self._socket = None
        if sock is not None:
            with contextlib.suppress(Exception):
                unwrap = getattr(sock, "unwrap", None)
                if unwrap is not None:
                    unwrap()
            sock.close()
        if connection is not None:
            try:
                connection.voidresp()
            except (OSError, EOFError, ftplib.Error):
                _close_quietly(connection)
                return
            self._pool.release(connection)

    def _abandon(self) -> None:
        """Stop a transfer mid-way: close its data connection and read the server's reply.

        The server answers a cut-short download with 426 (or 226 when it had sent
        everything): once read, the connection is in step again and goes back to the
        pool. A server slow to answer costs at most two seconds, then the connection
        is dropped.
        """
        connection, sock = self._connection, self._socket
        self._connection = self._socket = None
        if sock is not None:
            with contextlib.suppress(Exception):
                sock.close()
        if connection is None:
            return
        if sock is None:
            _close_quietly(connection)  # failed before the transfer began: state unknown
            return
        control = connection.sock
        try:
            if control is not None:
                control.settimeout(min(2.0, self._timeout))
            reply = _await_reply(connection)
            if control is not None:
                control.settimeout(self._timeout)
        except OSError:
            reply = False
        if reply is True or isinstance(reply, ftplib.Error):
            self._pool.release(connection)
        else:
            _close_quietly(connection)

    def close(self) -> None:
        if not self.closed:
            if self._eof:
                self._finish()
            else:
                self._abandon()
        super().close()


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
    from ..disk import FilesystemAdapter

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

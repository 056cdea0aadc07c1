"""The ``sftp`` driver: a directory on an SSH server, over sshfs and asyncssh.

- Connects on first use (building a disk never touches the network); the
  connection, its SFTP channels and flystore's own control channel are closed
  by ``disk.close()``.
- Host keys are verified by default against ``~/.ssh/known_hosts`` (or the
  ``known_hosts`` files given). Verification is off only when asked for
  explicitly: ``known_hosts: None`` or ``host_key_check: false``.
- Writes are atomic: bytes go to a hidden ``.flystore-tmp-*`` sibling that gets
  its mode and is then renamed over the target (``posix-rename@openssh.com``
  where the server has it). A failed write deletes the temporary file.
- Copies stream through the client: sshfs would run ``cp`` over an exec
  channel, which SFTP-only servers refuse. Moves are server-side renames.
- Visibility is the POSIX mode (public 0o644/0o755, private 0o600/0o700,
  overridable with ``permissions``), set with SFTP ``chmod`` and read back
  from ``stat``. Custom metadata and stored MIME types are unsupported.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import stat as stat_module
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, TypeVar

from ..attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ..backend import Readable
from ..config import COMMON_OPTIONS, string_option
from ..errors import (
    DriverNotInstalled,
    FileNotFound,
    InvalidConfiguration,
    StorageError,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToListContents,
    UnableToMoveFile,
    UnableToReadFile,
    UnableToSetVisibility,
    UnableToWriteFile,
)
from ._names import check_name_length
from ._readers import TranslatingReader
from ._remote import DEFAULT_RETRIES, DEFAULT_TIMEOUT, checked_options, retries_option, retrying, timeout_option
from .generic import TEMP_PREFIX, FsspecBackend, translate_errors

__all__ = ["DEFAULT_PERMISSIONS", "SftpBackend", "SftpSettings", "create"]

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


class SftpBackend(FsspecBackend):
    """Files under ``root`` on an SFTP server.

    Args:
        settings: how to connect.
        root: the disk's directory on the server: absolute, or relative to the
            login directory (``""`` is the login directory). Created on demand.
        filesystem_class: sshfs's ``SSHFileSystem`` (imported by ``create``).
    """

    unsupported = frozenset({"metadata", "mimetype"})

    def __init__(self, settings: SftpSettings, root: str = "", *, filesystem_class: Any) -> None:
        self._settings = settings
        self._filesystem_class = filesystem_class
        self._fs: Any = None
        self._sftp: Any = None
        self._lock = threading.RLock()
        self.file_modes = dict(settings.permissions["file"])
        self.dir_modes = dict(settings.permissions["dir"])
        text = str(root)
        root = "/".join(segment for segment in text.split("/") if segment and segment != ".")
        super().__init__(None, root, protocol_name="sftp")
        if text.startswith("/"):
            self.root = f"/{root}"  # absolute; "/" itself is the server's root

    # -- connection ----------------------------------------------------------------

    @property
    def fs(self) -> Any:
        """The sshfs ``SSHFileSystem`` (connects on first use)."""
        with self._lock:
            if self._fs is not None and _connection_lost(self._fs):
                # The server hung up (restart, idle timeout): start over with a new connection.
                stale, channel = self._fs, self._sftp
                self._fs = self._sftp = None
                self._shutdown(stale, channel)
            if self._fs is None:
                try:
                    self._fs = retrying(self._connect, self._settings.retries, _transient_connect_failure)
                except Exception as cause:
                    hint = ""
                    if type(cause).__name__ == "HostKeyNotVerifiable":
                        hint = (
                            " (add the server's key to known_hosts, or set known_hosts: None to skip the check;"
                            " skipping it is unsafe outside tests)"
                        )
                    raise ConnectionError(
                        f"cannot connect to {self._settings.address}: {_describe(cause)}{hint}"
                    ) from cause
            return self._fs

    @fs.setter
    def fs(self, value: Any) -> None:
        self._fs = value

    def _connect(self) -> Any:
        return self._filesystem_class(self._settings.host, skip_instance_cache=True, **self._settings.connect_options())

    def _call(self, function: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        """Run ``function(sftp_client, *args)`` on sshfs's event loop, with SFTP errors as OSErrors."""
        from fsspec.asyn import sync

        fs = self.fs
        client = self._control_channel(fs)

        async def run() -> _T:
            try:
                return await function(client, *args)
            except Exception as error:
                raise _as_os_error(error) from error

        return sync(fs.loop, run)  # type: ignore[no-any-return]

    def _control_channel(self, fs: Any) -> Any:
        """flystore's own SFTP channel for renames and modes (sshfs has no chmod)."""
        with self._lock:
            if self._sftp is None:
                from fsspec.asyn import sync

                async def start() -> Any:
                    return await fs.client.start_sftp_client()

                self._sftp = sync(fs.loop, start)
            return self._sftp

    def close(self) -> None:
        with self._lock:
            fs, self._fs = self._fs, None
            channel, self._sftp = self._sftp, None
        if fs is not None:
            self._shutdown(fs, channel)

    def _shutdown(self, fs: Any, channel: Any) -> None:
        """Close flystore's channel, sshfs's channel pool and the SSH connection of ``fs``."""
        from fsspec.asyn import sync

        async def shutdown() -> None:
            if channel is not None:
                channel.exit()
                with contextlib.suppress(Exception):
                    await channel.wait_closed()
            pool, stack = getattr(fs, "_pool", None), getattr(fs, "_stack", None)
            if pool is not None and stack is not None:
                with contextlib.suppress(Exception):
                    await pool.close()
                await stack.aclose()  # leaves asyncssh.connect(): closes and awaits the connection
            else:  # pragma: no cover - an sshfs without those internals
                fs.client.close()
                await fs.client.wait_closed()

        with contextlib.suppress(Exception):
            sync(fs.loop, shutdown, timeout=self._settings.timeout)

    # -- keys, modes, metadata -------------------------------------------------------

    def _key(self, path: str) -> str:
        """The path of ``path`` on the server.

        Raises:
            NameTooLong: a name over 255 bytes or a path over 4,096 (asyncssh would send it,
                and the server's answer differs from server to server).
        """
        if not path:
            return self.root or "."
        return check_name_length(f"{self.root.rstrip('/')}/{path}" if self.root else path)

    def _mode_for(self, visibility: str, kind: str = "file") -> int:
        modes = self.file_modes if kind == "file" else self.dir_modes
        return modes.get(visibility, modes["public"])

    def _visibility_of(self, permissions: Any, kind: str = "file") -> str | None:
        if permissions is None:
            return None
        modes = self.file_modes if kind == "file" else self.dir_modes
        mode = stat_module.S_IMODE(int(permissions))
        for visibility, expected in modes.items():
            if mode == expected:
                return visibility
        return "public" if mode & 0o004 else "private"

    def _info_key(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(self.fs.info(key))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _info(self, path: str) -> dict[str, Any] | None:
        return self._info_key(self._key(path))

    def attributes(self, path: str, info: Mapping[str, Any]) -> FileAttributes:
        base = super().attributes(path, info)
        return replace(base, visibility=self._visibility_of(info.get("permissions")))

    # -- reading -------------------------------------------------------------------

    def open_read(self, path: str) -> BinaryIO:
        with translate_errors(UnableToReadFile, path):
            info = self._info(path)
            if info is None or info.get("type") != "file":
                raise FileNotFound.at(path, "no file exists at this path")
            handle = self.fs.open(self._key(path), "rb")
        return io.BufferedReader(TranslatingReader(handle, path, _describe), _READ_BUFFER)  # type: ignore[return-value]

    def _walk(self, path: str, deep: bool) -> Iterator[Entry]:
        with translate_errors(UnableToListContents, path, missing_is=UnableToListContents):
            key = self._key(path)
            try:
                children = list(self.fs.ls(key, detail=True))
            except (FileNotFoundError, NotADirectoryError):
                return
        prefix = f"{path}/" if path else ""
        for info in children:
            name = posixpath.basename(str(info["name"]).rstrip("/"))
            if not name or name in (".", "..") or name.startswith(TEMP_PREFIX):
                continue
            if info.get("type") not in ("file", "directory"):  # a link: what does it point to?
                with translate_errors(UnableToListContents, path, missing_is=UnableToListContents):
                    resolved = self._info_key(f"{key.rstrip('/')}/{name}")
                if resolved is None:
                    continue  # a dangling link
                info = resolved
            if info.get("type") == "directory":
                yield DirectoryAttributes(prefix + name, last_modified=info.get("mtime"),
                                          visibility=self._visibility_of(info.get("permissions"), "dir"))
                if deep:
                    yield from self._walk(prefix + name, deep)
            elif info.get("type") == "file":
                yield self.attributes(prefix + name, info)

    # -- writing -------------------------------------------------------------------

    def _ensure_directory(self, key: str, path: str, error: type[StorageError]) -> None:
        """Create directory ``key`` and its missing ancestors (the disk root included)."""
        if key in ("", ".", "/"):
            return
        info = self._info_key(key)
        if info is not None:
            if info.get("type") != "directory":
                raise error.at(path, "a file is in the way of a directory on this path")
            return
        self._ensure_directory(posixpath.dirname(key), path, error)
        try:
            self.fs.mkdir(key, create_parents=False)
        except Exception:  # servers word "exists" differently (asyncssh: SFTPFailure "File exists")
            info = self._info_key(key)  # made meanwhile by someone else?
            if info is None or info.get("type") != "directory":
                raise

    def _prepare_target(self, path: str, error: type[StorageError]) -> None:
        """Refuse a directory at ``path`` and create its parents."""
        key = self._key(path)
        info = self._info_key(key)
        if info is not None and info.get("type") == "directory":
            raise error.at(path, "a directory exists at this path")
        self._ensure_directory(posixpath.dirname(key), path, error)

    def _replace(self, source: str, target: str) -> None:
        """Rename ``source`` over ``target`` atomically where the server allows it."""

        async def rename(client: Any, source: str, target: str) -> None:
            from asyncssh.sftp import SFTPOpUnsupported

            try:
                await client.posix_rename(source, target)
                return
            except SFTPOpUnsupported:
                pass
            # Plain SFTP v3 rename refuses an existing target: remove it first.
            with contextlib.suppress(Exception):
                await client.remove(target)
            await client.rename(source, target)

        self._call(rename, source, target)

    def _chmod(self, key: str, mode: int) -> None:
        async def chmod(client: Any, key: str, mode: int) -> None:
            await client.chmod(key, mode)

        self._call(chmod, key, mode)

    def _remove_quietly(self, key: str) -> None:
        async def remove(client: Any, key: str) -> None:
            await client.remove(key)

        with contextlib.suppress(Exception):
            self._call(remove, key)

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self.write_stream(path, io.BytesIO(data), options)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        mode = self._mode_for(options.visibility) if options.visibility is not None else None
        with translate_errors(UnableToWriteFile, path, missing_is=UnableToWriteFile):
            self._prepare_target(path, UnableToWriteFile)
            self._upload(self._key(path), stream, mode)

    def _upload(self, key: str, stream: Readable, mode: int | None) -> None:
        """Write ``stream`` to a temporary sibling of ``key``, give it ``mode`` and rename it into place."""
        parent = posixpath.dirname(key)
        temporary = f"{parent.rstrip('/')}/{TEMP_PREFIX}{uuid.uuid4().hex}" if parent else (
            f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        )
        try:
            handle = self.fs.open(temporary, "wb")
            try:
                while chunk := stream.read(_CHUNK):
                    handle.write(chunk)
            finally:
                handle.close()
            if mode is not None:
                self._chmod(temporary, mode)
            self._replace(temporary, key)
        except BaseException:
            self._remove_quietly(temporary)
            raise

    def create_directory(self, path: str, options: WriteOptions) -> None:
        if not path:
            return
        with translate_errors(UnableToCreateDirectory, path, missing_is=UnableToCreateDirectory):
            key = self._key(path)
            self._ensure_directory(key, path, UnableToCreateDirectory)
            if options.visibility is not None:
                self._chmod(key, self._mode_for(options.visibility, "dir"))

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        """Stream the file through the client (server-side ``cp`` needs a shell, SFTP-only servers have none)."""
        try:
            with translate_errors(UnableToCopyFile, source):
                info = self._info(source)
                if info is None or info.get("type") != "file":
                    raise FileNotFound.at(source, "no file exists at this path")
                if options.visibility is not None:
                    mode = self._mode_for(options.visibility)
                else:
                    mode = stat_module.S_IMODE(int(info.get("permissions") or 0o644))
                reader = self.open_read(source)
            with reader:
                with translate_errors(UnableToCopyFile, destination, missing_is=UnableToCopyFile):
                    self._prepare_target(destination, UnableToCopyFile)
                    self._upload(self._key(destination), reader, mode)
        except (UnableToCopyFile, UnableToReadFile) as error:
            raise UnableToCopyFile.between(source, destination, error.reason) from error.__cause__

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        try:
            with translate_errors(UnableToMoveFile, source):
                info = self._info(source)
                if info is None or info.get("type") != "file":
                    raise FileNotFound.at(source, "no file exists at this path")
                self._prepare_target(destination, UnableToMoveFile)
                self._replace(self._key(source), self._key(destination))
                if options.visibility is not None:
                    self._chmod(self._key(destination), self._mode_for(options.visibility))
        except UnableToMoveFile as error:
            raise UnableToMoveFile.between(source, destination, error.reason) from error.__cause__

    def set_visibility(self, path: str, visibility: str) -> None:
        with translate_errors(UnableToSetVisibility, path):
            info = self._info(path)
            if info is None:
                raise FileNotFound.at(path, "no file exists at this path")
            kind = "dir" if info.get("type") == "directory" else "file"
            self._chmod(self._key(path), self._mode_for(visibility, kind))


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
    from ..disk import FilesystemAdapter

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

"""``SftpBackend``: the disk primitives over sshfs and flystore's own SFTP channel."""

from __future__ import annotations

import contextlib
import io
import posixpath
import stat as stat_module
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any, BinaryIO

from ...attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ...backend import Readable
from ...errors import (
    FileNotFound,
    StorageError,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteFile,
    UnableToListContents,
    UnableToMoveFile,
    UnableToReadFile,
    UnableToSetVisibility,
    UnableToWriteFile,
)
from .._names import check_name_length
from .._readers import TranslatingReader
from .._remote import retrying
from ..generic import TEMP_PREFIX, FsspecBackend, translate_errors
from .settings import (
    _CHUNK,
    _READ_BUFFER,
    _T,
    SftpSettings,
    _as_os_error,
    _connection_lost,
    _describe,
    _transient_connect_failure,
)


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

    def read(self, path: str) -> bytes:
        with self.open_read(path) as handle:
            return handle.read()

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        """Entries under ``path``; a missing directory (or a file) lists empty.

        Raises:
            UnableToListContents: the server could not be asked (checking included).
        """
        with translate_errors(UnableToListContents, path, missing_is=UnableToListContents):
            info = self._info(path) if path else {"type": "directory"}
        if info is None or info.get("type") != "directory":
            return
        yield from self._walk(path, deep)

    def delete(self, path: str) -> bool:
        with translate_errors(UnableToDeleteFile, path, missing_is=UnableToDeleteFile):
            info = self._info(path)
            if info is None or info.get("type") != "file":
                return False
            try:
                self.fs.rm_file(self._key(path))
            except FileNotFoundError:
                return False  # deleted meanwhile
        return True

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


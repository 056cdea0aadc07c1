"""``FtpBackend``: the disk primitives over one control connection and pooled transfers."""

from __future__ import annotations

import contextlib
import ftplib
import io
import posixpath
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

from ...attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ...backend import Readable
from ...errors import (
    FileNotFound,
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
from .._names import check_name_length
from ..generic import TEMP_PREFIX, FsspecBackend, parse_time, translate_errors
from .connection import (
    _MISSING,
    _NOT_IMPLEMENTED,
    _READ_BUFFER,
    _T,
    MAX_COMMAND_PATH,
    FtpSettings,
    _close_quietly,
    _ConnectionPool,
    _filesystem_class,
    _is_stale,
    _reply_code,
)
from .facts import _entry, list_directory, mlst_entry
from .reader import FtpReader as _FtpReader
from .upload import store


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
                return mlst_entry(reply)
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

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        """Entries under ``path`` (``MLSD`` answers for a missing directory too: it lists empty).

        Raises:
            UnableToListContents: the server could not be asked.
        """
        return self._walk(path, deep)

    def _walk(self, path: str, deep: bool) -> Iterator[Entry]:
        with translate_errors(UnableToListContents, path, missing_is=UnableToListContents):
            key = self._key(path)
            children = self._run(lambda fs: list_directory(fs, key))
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
            store(self._pool, temporary, stream, self._remove_quietly)
            try:
                self._run(lambda fs: self._replace(fs, temporary, key))
            except BaseException:
                self._remove_quietly(temporary)
                raise

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
            for name, entry in list_directory(fs, directory):
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


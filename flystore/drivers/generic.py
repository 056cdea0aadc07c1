"""``FsspecBackend``: the primitives over any fsspec filesystem, and the ``fsspec`` driver.

Remote drivers (s3, gcs, azure, ftp, sftp, webdav) subclass it and override
what their backend does better (one-request existence checks, server-side
copies, ACLs). All error translation happens here, in ``translate_errors``:
no fsspec or SDK exception leaves a disk.
"""

from __future__ import annotations

import contextlib
import posixpath
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, BinaryIO

from ..attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ..backend import Backend, Readable
from ..errors import (
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
    UnsupportedOperation,
)

__all__ = ["DIRECTORY_MARKER", "FsspecBackend", "create", "parse_time", "translate_errors"]

_CHUNK = 1024 * 1024
TEMP_PREFIX = ".flystore-tmp-"
DIRECTORY_MARKER = ".flystore-directory"
_MTIME_KEYS = ("mtime", "LastModified", "last_modified", "modified", "updated", "modify", "created", "timeCreated")
_MIME_KEYS = ("ContentType", "content_type", "contentType", "mimetype")


def parse_time(value: Any) -> datetime | None:
    """A backend's timestamp (datetime, epoch number, ISO 8601 or FTP's YYYYMMDDHHMMSS) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), timezone.utc)
    text = str(value).strip()
    if len(text) >= 14 and text[:14].isdigit():
        return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    try:
        return parse_time(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return parse_time(parsedate_to_datetime(text))
        except (TypeError, ValueError):
            return None


@contextlib.contextmanager
def translate_errors(error: type[StorageError], path: str, *, missing_is: type[StorageError] = FileNotFound
                     ) -> Iterator[None]:
    """Turn whatever the backend raises into flystore errors about ``path``.

    ``FileNotFoundError`` (and ``IsADirectoryError`` for file operations) becomes
    ``missing_is``; everything else becomes ``error`` with the original as cause.
    """
    try:
        yield
    except StorageError:
        raise
    except (FileNotFoundError, IsADirectoryError) as cause:
        raise missing_is.at(path, "no file exists at this path", cause=cause) from cause
    except Exception as cause:  # the one boundary where any backend exception is mapped
        raise error.at(path, _reason(cause), cause=cause) from cause


def _reason(cause: BaseException) -> str:
    text = str(cause) or type(cause).__name__
    return f"{type(cause).__name__}: {text}" if type(cause).__name__ not in text else text


class FsspecBackend(Backend):
    """Every primitive over an fsspec filesystem, rooted at ``root``.

    Args:
        fs: the fsspec filesystem.
        root: where the disk lives inside it (a bucket, a directory ...).
        protocol_name: the word used in messages.
        directory_markers: keep empty directories as hidden marker objects
            (object stores, which have no directories of their own).
        atomic_writes: write to a hidden temporary name and rename it into place
            (filesystems whose writes are visible while in flight: FTP, SFTP,
            WebDAV, fsspec memory). Object stores publish on completion already.
    """

    unsupported = frozenset({"visibility", "metadata", "mimetype"})

    def __init__(
        self,
        fs: Any,
        root: str = "",
        *,
        protocol_name: str | None = None,
        directory_markers: bool = False,
        atomic_writes: bool = True,
    ) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.name = protocol_name or _protocol(fs)
        self.directory_markers = directory_markers
        self.atomic_writes = atomic_writes

    # -- keys --------------------------------------------------------------------

    def _key(self, path: str) -> str:
        if not path:
            return self.root
        return f"{self.root}/{path}" if self.root else path

    def _relative(self, key: str) -> str:
        key = self.fs._strip_protocol(key).rstrip("/") if "://" in key else key.rstrip("/")
        root = self.fs._strip_protocol(self.root).rstrip("/") if self.root else ""
        if root and key.startswith(root + "/"):
            return key[len(root) + 1 :]
        if root and key == root:
            return ""
        return key.lstrip("/") if not root else key

    def _info(self, path: str) -> dict[str, Any] | None:
        try:
            return dict(self.fs.info(self._key(path)))
        except (FileNotFoundError, NotADirectoryError):
            return None

    # -- existence -----------------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        with translate_errors(UnableToCheckExistence, path, missing_is=UnableToCheckExistence):
            info = self._info(path)
        return info is not None and info.get("type") == "file" and posixpath.basename(path) != DIRECTORY_MARKER

    def directory_exists(self, path: str) -> bool:
        if not path:
            return True
        with translate_errors(UnableToCheckExistence, path, missing_is=UnableToCheckExistence):
            info = self._info(path)
        return info is not None and info.get("type") == "directory"

    # -- reading -------------------------------------------------------------------

    def read(self, path: str) -> bytes:
        with translate_errors(UnableToReadFile, path):
            if not self.file_exists(path):
                raise FileNotFound.at(path, "no file exists at this path")
            return bytes(self.fs.cat_file(self._key(path)))

    def open_read(self, path: str) -> BinaryIO:
        with translate_errors(UnableToReadFile, path):
            if not self.file_exists(path):
                raise FileNotFound.at(path, "no file exists at this path")
            return self.fs.open(self._key(path), "rb")  # type: ignore[no-any-return]

    def stat(self, path: str) -> FileAttributes:
        with translate_errors(UnableToRetrieveMetadata, path):
            info = self._info(path)
        if info is None or info.get("type") != "file":
            raise FileNotFound.at(path, "no file exists at this path")
        return self.attributes(path, info)

    def attributes(self, path: str, info: Mapping[str, Any]) -> FileAttributes:
        """Map an fsspec ``info`` dict to ``FileAttributes`` (drivers refine it)."""
        modified = None
        for key in _MTIME_KEYS:
            if info.get(key) is not None:
                modified = parse_time(info[key])
                if modified is not None:
                    break
        mime_type = next((str(info[key]) for key in _MIME_KEYS if info.get(key)), None)
        return FileAttributes(
            path,
            size=int(info.get("size") or 0),
            last_modified=modified,
            mime_type=mime_type,
            visibility=None,
            metadata={},
        )

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        with translate_errors(UnableToListContents, path, missing_is=UnableToListContents):
            if not self.directory_exists(path):
                return
        yield from self._walk(path, deep)

    def _walk(self, path: str, deep: bool) -> Iterator[Entry]:
        """Entries under the existing directory ``path``; drivers with a better listing override it."""
        with translate_errors(UnableToListContents, path, missing_is=UnableToListContents):
            key = self._key(path)
            try:
                if deep:
                    found = self.fs.find(key, withdirs=True, detail=True)
                    infos = list(found.values()) if isinstance(found, Mapping) else list(found)
                else:
                    infos = list(self.fs.ls(key, detail=True))
            except FileNotFoundError:
                return
        seen: set[str] = set()
        for info in infos:
            relative = self._relative(str(info["name"]))
            if relative == path or relative in seen or not relative:
                continue
            seen.add(relative)
            if posixpath.basename(relative) == DIRECTORY_MARKER or posixpath.basename(relative).startswith(
                TEMP_PREFIX
            ):
                continue
            if info.get("type") == "directory":
                yield DirectoryAttributes(relative)
            else:
                yield self.attributes(relative, info)

    # -- writing -------------------------------------------------------------------

    def _prepare_parent(self, path: str) -> None:
        """Create the parent directory where the filesystem has real directories."""
        if self.directory_markers:
            return
        parent = posixpath.dirname(self._key(path))
        if parent:
            self.fs.makedirs(parent, exist_ok=True)

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self._refuse_directory(path, UnableToWriteFile)
        with translate_errors(UnableToWriteFile, path, missing_is=UnableToWriteFile):
            self._prepare_parent(path)
            with self._publishing(path) as key:
                self.fs.pipe_file(key, data, **self.write_kwargs(options))

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self._refuse_directory(path, UnableToWriteFile)
        with translate_errors(UnableToWriteFile, path, missing_is=UnableToWriteFile):
            self._prepare_parent(path)
            with self._publishing(path) as key:
                handle = self.fs.open(key, "wb", **self.write_kwargs(options))
                try:
                    while chunk := stream.read(_CHUNK):
                        handle.write(chunk)
                except BaseException:
                    _discard(handle)
                    raise
                handle.close()

    @contextlib.contextmanager
    def _publishing(self, path: str) -> Iterator[str]:
        """Yield the key to write; with ``atomic_writes`` a hidden temporary one renamed on success."""
        final = self._key(path)
        if not self.atomic_writes:
            yield final
            return
        parent, _, name = final.rpartition("/")
        temporary = f"{parent}/{TEMP_PREFIX}{uuid.uuid4().hex}" if parent else f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        try:
            yield temporary
            self.fs.mv(temporary, final)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(temporary)
            raise

    def write_kwargs(self, options: WriteOptions) -> dict[str, Any]:
        """Extra keyword arguments for ``pipe_file``/``open`` (drivers map mimetype, ACLs ...)."""
        return {}

    def _refuse_directory(self, path: str, error: type[StorageError]) -> None:
        if self.directory_exists(path):
            raise error.at(path, "a directory exists at this path")

    def delete(self, path: str) -> bool:
        with translate_errors(UnableToDeleteFile, path, missing_is=UnableToDeleteFile):
            if not self.file_exists(path):
                return False
            try:
                self.fs.rm_file(self._key(path))
            except FileNotFoundError:
                return False
        return True

    def create_directory(self, path: str, options: WriteOptions) -> None:
        if not path:
            return
        with translate_errors(UnableToCreateDirectory, path, missing_is=UnableToCreateDirectory):
            if self.file_exists(path):
                raise UnableToCreateDirectory.at(path, "a file exists at this path")
            if self.directory_markers:
                self.fs.pipe_file(self._key(f"{path}/{DIRECTORY_MARKER}"), b"")
            else:
                self.fs.makedirs(self._key(path), exist_ok=True)

    def delete_directory(self, path: str) -> bool:
        if not path:
            raise UnableToDeleteDirectory.at(path, "the disk root cannot be deleted")
        with translate_errors(UnableToDeleteDirectory, path, missing_is=UnableToDeleteDirectory):
            if not self.directory_exists(path):
                return False
            self.fs.rm(self._key(path), recursive=True)
        return True

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        with translate_errors(UnableToCopyFile, source):
            if not self.file_exists(source):
                raise FileNotFound.at(source, "no file exists at this path")
        self._refuse_directory(destination, UnableToCopyFile)
        try:
            with translate_errors(UnableToCopyFile, source):
                self._prepare_parent(destination)
                self.fs.copy(self._key(source), self._key(destination))
        except UnableToCopyFile as error:
            raise UnableToCopyFile.between(source, destination, error.reason) from error.__cause__
        if options.visibility is not None and "visibility" not in self.unsupported:
            self.set_visibility(destination, options.visibility)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        with translate_errors(UnableToMoveFile, source):
            if not self.file_exists(source):
                raise FileNotFound.at(source, "no file exists at this path")
        self._refuse_directory(destination, UnableToMoveFile)
        try:
            with translate_errors(UnableToMoveFile, source):
                self._prepare_parent(destination)
                self.fs.mv(self._key(source), self._key(destination))
        except UnableToMoveFile as error:
            raise UnableToMoveFile.between(source, destination, error.reason) from error.__cause__
        if options.visibility is not None and "visibility" not in self.unsupported:
            self.set_visibility(destination, options.visibility)

    def set_visibility(self, path: str, visibility: str) -> None:
        raise UnsupportedOperation.at(path, f"the {self.name} backend has no visibility")

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing must never mask the caller's own error
            self.fs.invalidate_cache()


def _discard(handle: Any) -> None:
    """Abandon an fsspec writer without publishing (aborts multipart uploads)."""
    discard = getattr(handle, "discard", None)
    with contextlib.suppress(Exception):
        if discard is not None:
            discard()
        # fsspec files commit in close(); mark closed so garbage collection does not flush.
        handle.closed = True


def _protocol(fs: Any) -> str:
    protocol = getattr(fs, "protocol", "fsspec")
    return str(protocol[0] if isinstance(protocol, (tuple, list)) else protocol)


_GENERIC_OPTIONS = frozenset({"protocol", "storage_options", "root", "directory_markers"})


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """``{"driver": "fsspec", "protocol": "...", "storage_options": {...}, "root": "..."}``."""
    import fsspec

    from ..config import reject_unknown_options
    from ..disk import COMMON_OPTIONS, FilesystemAdapter

    reject_unknown_options(name, options, _GENERIC_OPTIONS)
    protocol = options.get("protocol")
    if not isinstance(protocol, str) or not protocol:
        raise InvalidConfiguration("the fsspec driver needs 'protocol'", option="protocol", disk=name)
    storage_options = dict(options.get("storage_options") or {})
    try:
        fs = fsspec.filesystem(protocol, skip_instance_cache=True, **storage_options)
    except (ImportError, ValueError) as cause:
        raise InvalidConfiguration(f"fsspec cannot make a {protocol!r} filesystem: {cause}",
                                   option="protocol", disk=name) from cause
    if protocol == "memory":
        # fsspec's memory store is shared by the whole process; give this disk its own.
        fs.store = {}
        fs.pseudo_dirs = [""]
    backend = FsspecBackend(
        fs,
        root=str(options.get("root", "")),
        protocol_name=protocol,
        directory_markers=bool(options.get("directory_markers", False)),
    )
    config = {key: value for key, value in options.items() if key in COMMON_OPTIONS}
    return FilesystemAdapter(backend, name=name, config=config, manager=manager)


"""``WebdavBackend``: the disk primitives over webdav4's client."""

from __future__ import annotations

import contextlib
import io
import posixpath
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO
from urllib.parse import quote

from ...attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ...backend import Readable
from ...errors import (
    FileNotFound,
    StorageError,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToListContents,
    UnableToMoveFile,
    UnableToReadFile,
    UnableToWriteFile,
)
from .._names import check_name_length
from .._readers import TranslatingReader
from ..generic import TEMP_PREFIX, FsspecBackend, parse_time, translate_errors
from .properties import PROPERTY_NAMESPACE as PROPERTY_NAMESPACE
from .properties import describe_response, store_properties
from .transfer import _CHUNK, destination_is_safe
from .transfer import Body as _Body

_READ_BUFFER = 256 * 1024


def _describe(cause: BaseException) -> str:
    text = str(cause).strip() or type(cause).__name__
    name = type(cause).__name__
    status = getattr(cause, "status_code", None)
    if status == 401:
        text = f"{text}: the server refused the credentials"
    return text if name in text else f"{name}: {text}"


class WebdavBackend(FsspecBackend):
    """Files under ``root`` of a WebDAV server.

    Args:
        filesystem_factory: builds webdav4's ``WebdavFileSystem`` (lazily, again after ``close``).
        root: the disk's collection, relative to the base URL (created on demand).
        properties: store MIME types and metadata as dead properties.
    """

    def __init__(self, filesystem_factory: Any, root: str = "", *, properties: bool = True) -> None:
        self._factory = filesystem_factory
        self._fs: Any = None
        self._lock = threading.Lock()
        self.properties = properties
        segments = [segment for segment in str(root).split("/") if segment and segment != "."]
        super().__init__(None, "/".join(segments), protocol_name="webdav", atomic_writes=True)
        self.unsupported = (
            frozenset({"visibility"}) if properties else frozenset({"visibility", "metadata", "mimetype"})
        )

    # -- connection ----------------------------------------------------------------

    @property
    def fs(self) -> Any:
        """webdav4's ``WebdavFileSystem`` (made on first use)."""
        with self._lock:
            if self._fs is None:
                self._fs = self._factory()
            return self._fs

    @fs.setter
    def fs(self, value: Any) -> None:
        self._fs = value

    @property
    def client(self) -> Any:
        """webdav4's ``Client``."""
        return self.fs.client

    def close(self) -> None:
        with self._lock:
            fs, self._fs = self._fs, None
        if fs is not None:
            with contextlib.suppress(Exception):
                fs.client.http.close()

    # -- keys and properties ---------------------------------------------------------

    def _key(self, path: str) -> str:
        """The resource's path under the base URL, percent-encoded segment by segment.

        Raises:
            NameTooLong: a segment or the whole path is longer than a server's filesystem holds.
        """
        joined = f"{self.root}/{path}" if self.root and path else (path or self.root)
        check_name_length(joined)
        return "/".join(quote(segment, safe="") for segment in joined.split("/")) if joined else ""

    def _propfind(self, key: str, depth: str) -> list[Any]:
        """The multistatus responses of a ``PROPFIND`` (all properties)."""
        result = self.client.propfind(key, headers={"Depth": depth}, follow_redirects=True)
        return list(result.responses.values())

    def _info_key(self, key: str) -> dict[str, Any] | None:
        from webdav4.client import ResourceNotFound

        try:
            responses = self._propfind(key, "0")
        except ResourceNotFound:
            return None
        if not responses:
            return None
        return describe_response(responses[0], self.properties)

    def _info(self, path: str) -> dict[str, Any] | None:
        return self._info_key(self._key(path))

    def attributes(self, path: str, info: Mapping[str, Any]) -> FileAttributes:
        return FileAttributes(
            path,
            size=int(info.get("size") or 0),
            last_modified=parse_time(info.get("modified")),
            mime_type=info.get("mimetype") or info.get("content_type") or None,
            metadata=dict(info.get("metadata") or {}),
        )

    def _set_properties(self, key: str, options: WriteOptions) -> None:
        """Store the MIME type and metadata of ``key`` as dead properties (when the disk keeps them).

        Raises:
            Exception: the server refused the metadata.
        """
        if not self.properties or not (options.mimetype or options.metadata):
            return
        store_properties(self.client, key, options)

    # -- reading -------------------------------------------------------------------

    def read(self, path: str) -> bytes:
        with self.open_read(path) as handle:
            return handle.read()

    def open_read(self, path: str) -> BinaryIO:
        with translate_errors(UnableToReadFile, path):
            key = self._key(path)
            info = self._info_key(key)
            if info is None or info["type"] != "file":
                raise FileNotFound.at(path, "no file exists at this path")
        return self._open_key(key, path)

    def _open_key(self, key: str, path: str) -> BinaryIO:
        """A buffered stream of ``GET key`` (errors name ``path``)."""
        from webdav4.stream import IterStream

        with translate_errors(UnableToReadFile, path):
            client = self.client
            stream = IterStream(client, client.join_url(key), chunk_size=_CHUNK)
            stream.__enter__()  # sends the GET
        return io.BufferedReader(
            TranslatingReader(
                stream,
                path,
                _describe,
                read=lambda size: b"" if stream.closed else stream.read1(size),
                release=lambda: stream.__exit__(None, None, None),
            ),
            _READ_BUFFER,
        )  # type: ignore[return-value]

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        from webdav4.client import ResourceNotFound
        from webdav4.urls import strip_trailing_slash

        key = self._key(path)
        with translate_errors(UnableToListContents, path, missing_is=UnableToListContents):
            try:
                responses = self._propfind(key, "1")
            except ResourceNotFound:
                return
            own = strip_trailing_slash(self.client.join_url(key).path)
        children = []
        below = own.rstrip("/") + "/"
        for response in responses:
            if response.path_norm == own:
                if not response.properties.collection:
                    return  # a file, not a directory
                continue
            if not response.path_norm.startswith(below):
                continue  # not a child (some servers list odd extras)
            name = posixpath.basename(response.path_norm)
            if not name or name.startswith(TEMP_PREFIX):
                continue
            children.append((name, describe_response(response, self.properties)))
        prefix = f"{path}/" if path else ""
        for name, info in children:
            if info["type"] == "directory":
                yield DirectoryAttributes(prefix + name, last_modified=parse_time(info.get("modified")))
                if deep:
                    yield from self.list_contents(prefix + name, deep)
            else:
                yield self.attributes(prefix + name, info)

    # -- writing -------------------------------------------------------------------

    def _ensure_directory(self, key: str, path: str, error: type[StorageError]) -> None:
        """Create collection ``key`` and its missing ancestors (the disk root included)."""
        from webdav4.client import ResourceAlreadyExists

        if not key:
            return
        info = self._info_key(key)
        if info is not None:
            if info["type"] != "directory":
                raise error.at(path, "a file is in the way of a directory on this path")
            return
        self._ensure_directory(posixpath.dirname(key), path, error)
        try:
            self.client.mkdir(key)
        except ResourceAlreadyExists:
            info = self._info_key(key)  # made meanwhile by someone else?
            if info is None or info["type"] != "directory":
                raise

    def _prepare_target(self, path: str, error: type[StorageError]) -> None:
        key = self._key(path)
        info = self._info_key(key)
        if info is not None and info["type"] == "directory":
            raise error.at(path, "a directory exists at this path")
        self._ensure_directory(posixpath.dirname(key), path, error)

    def _remove_quietly(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self.client.remove(key)

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self.write_stream(path, io.BytesIO(data), options)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        with translate_errors(UnableToWriteFile, path, missing_is=UnableToWriteFile):
            key = self._key(path)
            self._prepare_target(path, UnableToWriteFile)
            self._upload(key, stream, options)

    def _upload(self, key: str, stream: Readable, options: WriteOptions) -> None:
        """``PUT`` ``stream`` to a hidden sibling and ``MOVE`` it over ``key``, or straight to ``key``
        when the server could misread ``key`` as a ``Destination`` (see ``destination_is_safe``)."""
        headers = {"Content-Type": options.mimetype} if options.mimetype else {}
        parent = posixpath.dirname(key)
        temporary = f"{parent}/{TEMP_PREFIX}{uuid.uuid4().hex}" if parent else f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        body = _Body(stream)
        try:
            self.client.request("PUT", temporary, content=body, headers=headers)
            body.raise_failure()
            if not destination_is_safe(key):
                # The caller's stream is safely staged: a failing source cannot touch the old file.
                self._put_from(temporary, key, headers)
                self._set_properties(key, options)
                self._remove_quietly(temporary)
                return
            self._set_properties(temporary, options)
            self.client.move(temporary, key, overwrite=True)
        except BaseException:
            self._remove_quietly(temporary)
            raise
        if self._info_key(temporary) is not None:  # the server moved something else, not our upload
            self._remove_quietly(temporary)
            raise OSError("the server did not move the upload into place")

    def _put_from(self, staged: str, key: str, headers: dict[str, str]) -> None:
        """``PUT`` the staged resource's bytes to ``key`` directly (not atomic: readers may see it
        grow); a failure deletes ``key``, so no half-written file is left."""
        try:
            with self._open_key(staged, key) as reader:
                body = _Body(reader)
                self.client.request("PUT", key, content=body, headers=headers)
                body.raise_failure()
        except BaseException:
            self._remove_quietly(key)
            raise

    def delete(self, path: str) -> bool:
        return self._remove(path, "file", UnableToDeleteFile)

    def _remove(self, path: str, kind: str, error: type[StorageError]) -> bool:
        """``DELETE`` the resource at ``path`` when it is a ``kind`` (``"file"`` or ``"directory"``;
        a collection goes with everything below it); whether it was there.

        Raises:
            error: the server could not be asked or refused.
        """
        from webdav4.client import ResourceNotFound

        with translate_errors(error, path, missing_is=error):
            key = self._key(path)
            info = self._info_key(key)
            if info is None or info["type"] != kind:
                return False
            try:
                self.client.remove(key)
            except ResourceNotFound:
                return False
        return True

    def create_directory(self, path: str, options: WriteOptions) -> None:
        if not path:
            return
        with translate_errors(UnableToCreateDirectory, path, missing_is=UnableToCreateDirectory):
            self._ensure_directory(self._key(path), path, UnableToCreateDirectory)

    def delete_directory(self, path: str) -> bool:
        if not path:
            raise UnableToDeleteDirectory.at(path, "the disk root cannot be deleted")
        return self._remove(path, "directory", UnableToDeleteDirectory)

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        """Server-side ``COPY`` (dead properties travel with the file)."""
        self._transfer(source, destination, UnableToCopyFile, move=False)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        """Server-side ``MOVE``."""
        self._transfer(source, destination, UnableToMoveFile, move=True)

    def _transfer(
        self, source: str, destination: str, error: type[UnableToCopyFile] | type[UnableToMoveFile], *, move: bool
    ) -> None:
        """``COPY`` (or ``MOVE``) ``source`` over ``destination``, through the client where a
        ``Destination`` header cannot name the target safely (see ``destination_is_safe``).

        Raises:
            FileNotFound: no file is at ``source``.
            error: the destination cannot hold a file, or the server refused (naming both paths).
        """
        try:
            with translate_errors(error, source):
                info = self._info(source)
                if info is None or info["type"] != "file":
                    raise FileNotFound.at(source, "no file exists at this path")
                self._prepare_target(destination, error)
                target = self._key(destination)
                if destination_is_safe(target):
                    if move:
                        self.client.move(self._key(source), target, overwrite=True)
                    else:
                        self.client.copy(self._key(source), target, depth=0, overwrite=True)
                else:
                    self._copy_through_client(source, target, info)
                    if move:
                        self.client.remove(self._key(source))
        except error as failure:
            raise error.between(source, destination, failure.reason) from failure.__cause__

    def _copy_through_client(self, source: str, target: str, info: Mapping[str, Any]) -> None:
        """Stream ``source`` to ``target`` with ``GET`` and ``PUT``, keeping its MIME type and metadata
        (for targets a ``Destination`` header cannot name safely)."""
        options = WriteOptions(mimetype=info.get("mimetype"), metadata=info.get("metadata") or {})
        with self.open_read(source) as reader:
            self._upload(target, reader, options)


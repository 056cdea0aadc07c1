"""``AzureBackend``: block blobs in one container, through the aio SDK on fsspec's I/O loop."""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO, cast

from ...attributes import Entry, FileAttributes, WriteOptions
from ...backend import Readable
from ...errors import (
    FileNotFound,
    StorageError,
    UnableToCheckExistence,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToMoveFile,
    UnableToProvideChecksum,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToWriteFile,
    UnsupportedOperation,
)
from ..generic import DIRECTORY_MARKER
from .blobs import TIERS, _attributes, _canonical_tier, _error_code, _is_folder_blob
from .container import MAX_NAME_CHARS as MAX_NAME_CHARS
from .container import BlobContainer
from .listing import _list_contents
from .options import METADATA_LIMIT
from .readers import _BlobReader
from .sas import _temporary_upload_url, _temporary_url
from .uploads import _SINGLE_PUT_LIMIT, _BlockWriter, _settings_with_md5, _upload_settings

__all__ = ["AzureBackend"]


class AzureBackend(BlobContainer):
    """Block blobs in one container (optionally under a prefix).

    The blob names, SDK calls and error mapping it is made of are ``container.BlobContainer``'s.

    Args:
        fs: the adlfs ``AzureBlobFileSystem`` (its ``service_client`` is ``client``).
        client: the aio ``BlobServiceClient`` doing the I/O.
        container: the container holding the disk.
        prefix: where the disk lives inside the container (``""`` for the whole container).
        block_size: bytes per staged block for streamed uploads and per ranged read.
        max_concurrency: blocks in flight at once while streaming an upload.
        account_key: the shared key (signs SAS URLs); ``None`` without one.
    """

    unsupported = frozenset({"visibility"})
    metadata_limit = METADATA_LIMIT

    # -- existence -----------------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        return self._is_file(path, UnableToCheckExistence)

    def _is_file(self, path: str, error: type[StorageError]) -> bool:
        """Whether a file is at ``path``; asked on behalf of a verb, so a failure is that verb's ``error``."""
        if not path or self._is_marker(path) or self._too_long(path):
            return False
        with self._errors(error, path, missing_is=error):
            properties = self._call(self._properties, self._blob(path))
        return properties is not None and not _is_folder_blob(properties.metadata)

    def directory_exists(self, path: str) -> bool:
        if not path:
            return True
        with self._errors(UnableToCheckExistence, path, missing_is=UnableToCheckExistence):
            if self._call(self._has_children, self._children_prefix(path)):
                return True
            # An empty ADLS Gen2 directory is only a blob flagged hdi_isfolder.
            properties = self._call(self._properties, self._blob(path))
        return properties is not None and _is_folder_blob(properties.metadata)

    # -- reading -------------------------------------------------------------------

    def read(self, path: str) -> bytes:
        if self._is_marker(path):
            raise FileNotFound.at(path, "no file exists at this path")
        self._refuse_long_name(path, FileNotFound)

        async def download() -> bytes | None:
            downloader = await self._blob_client(path).download_blob(max_concurrency=self.max_concurrency)
            if _is_folder_blob(downloader.properties.metadata):
                return None
            return bytes(await downloader.readall())

        with self._errors(UnableToReadFile, path):
            data = self._call(download)
        if data is None:
            raise FileNotFound.at(path, "a directory exists at this path")
        return data

    def _file_properties(self, path: str, error: type[StorageError]) -> Any:
        """The properties of the file at ``path``, asked on behalf of a verb failing with ``error``.

        Raises:
            FileNotFound: no file is at ``path`` (nothing, a directory or a directory marker).
            error: Azure could not be asked.
        """
        if not path or self._is_marker(path):
            raise FileNotFound.at(path, "no file exists at this path")
        with self._errors(error, path):
            properties = self._call(self._properties, self._blob(path))
        if properties is None or _is_folder_blob(properties.metadata):
            raise FileNotFound.at(path, "no file exists at this path")
        return properties

    def open_read(self, path: str) -> BinaryIO:
        # Not adlfs's AzureBlobFile: it makes fsspec's loop the calling thread's event loop.
        properties = self._file_properties(path, UnableToReadFile)
        raw = _BlobReader(self, path, int(properties.size or 0), properties.etag)
        return cast(BinaryIO, io.BufferedReader(raw, buffer_size=self.block_size))

    def stat(self, path: str) -> FileAttributes:
        return _attributes(path, self._file_properties(path, UnableToRetrieveMetadata))

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        yield from _list_contents(self, path, deep)

    # -- writing -------------------------------------------------------------------

    def _refuse_directory_for(self, path: str, error: type[StorageError]) -> None:
        with self._errors(error, path, missing_is=error):
            if self._call(self._has_children, self._children_prefix(path)):
                raise error.at(path, "a directory exists at this path")

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        if len(data) > _SINGLE_PUT_LIMIT:
            self.write_stream(path, io.BytesIO(data), options)
            return
        upload = _upload_settings(self, path, options)
        self._refuse_directory_for(path, UnableToWriteFile)
        arguments = _settings_with_md5(self, upload, hashlib.md5(data).digest())

        async def put() -> None:
            await self._blob_client(path).upload_blob(
                data, overwrite=True, max_concurrency=self.max_concurrency, **arguments
            )

        with self._errors(UnableToWriteFile, path, missing_is=UnableToWriteFile):
            self._call(put)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        writer = self._writer(path, options)
        try:
            while chunk := stream.read(self.block_size):
                writer.write(chunk)
        except BaseException as error:
            writer.abort()
            if isinstance(error, Exception) and not isinstance(error, StorageError):
                raise UnableToWriteFile.at(path, f"the source stream failed: {error}", cause=error) from error
            raise
        writer.close()

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        return cast(BinaryIO, self._writer(path, options))

    def _writer(self, path: str, options: WriteOptions) -> _BlockWriter:
        upload = _upload_settings(self, path, options)
        self._refuse_directory_for(path, UnableToWriteFile)
        return _BlockWriter(self, path, upload)

    def delete(self, path: str) -> bool:
        if not path or self._is_marker(path):
            return False
        with self._errors(UnableToDeleteFile, path, missing_is=UnableToDeleteFile):
            properties = self._call(self._properties, self._blob(path))
            if properties is None or _is_folder_blob(properties.metadata):
                return False
            try:
                self._call(self._blob_client(path).delete_blob)
            except self._not_found as cause:
                if _error_code(cause) == "ContainerNotFound":
                    raise
                return False
        return True

    def create_directory(self, path: str, options: WriteOptions) -> None:
        if not path:
            return
        with self._errors(UnableToCreateDirectory, path, missing_is=UnableToCreateDirectory):
            if self._is_file(path, UnableToCreateDirectory):
                raise UnableToCreateDirectory.at(path, "a file exists at this path")
            marker = self._container_client.get_blob_client(self._blob(f"{path}/{DIRECTORY_MARKER}"))
            self._call(marker.upload_blob, b"", overwrite=True)

    def delete_directory(self, path: str) -> bool:
        if not path:
            raise UnableToDeleteDirectory.at(path, "the disk root cannot be deleted")

        async def names() -> list[str]:
            return [blob.name async for blob in self._container_client.list_blobs(name_starts_with=prefix)]

        prefix = self._children_prefix(path)
        with self._errors(UnableToDeleteDirectory, path, missing_is=UnableToDeleteDirectory):
            doomed = self._call(names)
            folder = self._call(self._properties, self._blob(path))
            if folder is not None and _is_folder_blob(folder.metadata):
                doomed.append(str(folder.name))
            if not doomed:
                return False
            self._call(self._delete_blobs, doomed)
        return True

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        self._server_side_copy(source, destination, UnableToCopyFile, keep_source=True)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        self._server_side_copy(source, destination, UnableToMoveFile, keep_source=False)

    def _server_side_copy(
        self,
        source: str,
        destination: str,
        error: type[UnableToCopyFile] | type[UnableToMoveFile],
        *,
        keep_source: bool,
    ) -> None:
        """Copy blob ``source`` over ``destination`` in Azure, then delete it unless ``keep_source``.

        Raises:
            FileNotFound: no file is at ``source``.
            error: the destination cannot hold a file, or Azure refused (naming both paths).
        """
        if not self._is_file(source, error):
            raise FileNotFound.at(source, "no file exists at this path")
        self._refuse_long_name(destination, error)
        self._refuse_directory_for(destination, error)
        try:
            with self._errors(error, source):
                self._call(self._copy_blob, self._blob(source), self._blob(destination))
                if not keep_source:
                    self._call(self._blob_client(source).delete_blob)
        except error as failure:
            raise error.between(source, destination, failure.reason) from failure.__cause__

    def set_visibility(self, path: str, visibility: str) -> None:
        raise UnsupportedOperation.at(
            path,
            "Azure Blob Storage has no per-blob visibility; public access is a container setting "
            "(use a public container and the disk's url option instead)",
        )

    def set_tier(self, path: str, tier: str, *, rehydrate_priority: str | None = None) -> None:
        """Change the access tier of the blob at ``path`` (also how an archived blob is rehydrated).

        Raises:
            FileNotFound: the file is missing.
            UnableToWriteFile: an unknown tier, or Azure refused the change.
        """
        canonical = _canonical_tier(tier)
        if canonical is None:
            raise UnableToWriteFile.at(path, f"unknown access tier {tier!r}; use one of {', '.join(TIERS)}")
        if not self._is_file(path, UnableToWriteFile):
            raise FileNotFound.at(path, "no file exists at this path")
        extra = {"rehydrate_priority": rehydrate_priority} if rehydrate_priority else {}
        with self._errors(UnableToWriteFile, path):
            self._call(self._blob_client(path).set_standard_blob_tier, self._tier_type(canonical), **extra)

    # -- URLs and checksums ----------------------------------------------------------

    def public_url(self, path: str) -> str | None:
        return self._blob_url(path)

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
        return _temporary_url(self, path, expires_at, options)

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        return _temporary_upload_url(self, path, expires_at, options)

    def checksum(self, path: str, algorithm: str) -> str | None:
        if algorithm.lower() != "md5":
            return None
        properties = self._file_properties(path, UnableToProvideChecksum)
        md5 = properties.content_settings.content_md5 if properties.content_settings else None
        return bytes(md5).hex() if md5 else None

    # -- lifecycle -------------------------------------------------------------------

    def ensure_container(self, public: bool = False) -> None:
        """Create the container when it does not exist (public: anonymous read of blobs).

        Raises:
            UnableToCreateDirectory: Azure refused to create it.
        """

        async def create() -> None:
            try:
                await self._container_client.create_container(public_access="blob" if public else None)
            except self._exists_error:
                pass

        with self._errors(UnableToCreateDirectory, "", missing_is=UnableToCreateDirectory):
            self._call(create)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):  # closing must never mask the caller's own error
            self.fs.invalidate_cache()
        with contextlib.suppress(Exception):
            self._call(self.client.close)

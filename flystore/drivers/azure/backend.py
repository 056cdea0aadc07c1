"""``AzureBackend``: block blobs in one container, through the aio SDK on fsspec's I/O loop."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import posixpath
from collections.abc import Callable, Coroutine, Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO, TypeVar, cast
from urllib.parse import quote, urlsplit, urlunsplit

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
from ..generic import DIRECTORY_MARKER, FsspecBackend, translate_errors
from .blobs import TIERS, _attributes, _canonical_tier, _describe, _error_code, _is_folder_blob
from .listing import _list_contents
from .options import DEFAULT_BLOCK_SIZE, DEFAULT_MAX_CONCURRENCY, METADATA_LIMIT
from .readers import _BlobReader
from .sas import _temporary_upload_url, _temporary_url
from .uploads import _SINGLE_PUT_LIMIT, _BlockWriter, _settings_with_md5, _upload_settings

__all__ = ["AzureBackend"]

_T = TypeVar("_T")

_DELETE_CONCURRENCY = 16
_COPY_POLL_SECONDS = 0.2
_COPY_POLL_LIMIT = 600.0


#: The longest blob name Azure accepts, in characters (prefix included).
MAX_NAME_CHARS = 1024


class AzureBackend(FsspecBackend):
    """Block blobs in one container (optionally under a prefix).

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

    def __init__(
        self,
        fs: Any,
        client: Any,
        container: str,
        prefix: str = "",
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        account_key: str | None = None,
    ) -> None:
        root = f"{container}/{prefix}" if prefix else container
        super().__init__(fs, root, protocol_name="azure", directory_markers=True, atomic_writes=False)
        from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
        from azure.storage.blob import BlobBlock, BlobSasPermissions, ContentSettings, StandardBlobTier

        self._not_found = ResourceNotFoundError
        self._exists_error = ResourceExistsError
        self._http_error = HttpResponseError
        self._blob_block = BlobBlock
        self._content_settings = ContentSettings
        self._tier_type = StandardBlobTier
        self._sas_permissions = BlobSasPermissions
        self.client = client
        self.container = container
        self.prefix = prefix
        self.block_size = block_size
        self.max_concurrency = max_concurrency
        self.account_name = str(client.account_name)
        self.account_key = account_key
        self._container_client = client.get_container_client(container)
        self._closed = False
        parts = urlsplit(str(client.url))
        self.account_url = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))

    # -- plumbing ------------------------------------------------------------------

    def _call(self, function: Callable[..., Coroutine[Any, Any, _T]], *args: Any, **kwargs: Any) -> _T:
        """Run a coroutine function on fsspec's I/O loop and wait for its result."""
        from fsspec.asyn import sync

        return cast(_T, sync(self.fs.loop, function, *args, **kwargs))

    def _blob(self, path: str) -> str:
        if not path:
            return self.prefix
        return f"{self.prefix}/{path}" if self.prefix else path

    def _relative_blob(self, name: str) -> str:
        name = name.rstrip("/")
        if self.prefix:
            return name[len(self.prefix) + 1 :] if name.startswith(self.prefix + "/") else ""
        return name

    def _children_prefix(self, path: str) -> str | None:
        blob = self._blob(path)
        return f"{blob}/" if blob else None

    def _blob_client(self, path: str) -> Any:
        return self._container_client.get_blob_client(self._blob(path))

    @contextlib.contextmanager
    def _errors(
        self, error: type[StorageError], path: str, *, missing_is: type[StorageError] = FileNotFound
    ) -> Iterator[None]:
        """Map Azure SDK errors to flystore errors about ``path`` (then the generic mapping)."""
        with translate_errors(error, path, missing_is=missing_is):
            try:
                yield
            except StorageError:
                raise
            except self._not_found as cause:
                if _error_code(cause) == "ContainerNotFound":
                    raise error.at(
                        path, f"the container {self.container!r} does not exist", cause=cause
                    ) from cause
                raise missing_is.at(path, "no file exists at this path", cause=cause) from cause
            except self._http_error as cause:
                if _error_code(cause) == "BlobArchived":
                    raise error.at(
                        path,
                        "the blob is in the Archive tier: rehydrate it first "
                        "(set_tier(path, 'Hot') or 'Cool', which Azure completes within hours)",
                        cause=cause,
                    ) from cause
                raise error.at(path, _describe(cause), cause=cause) from cause

    def _too_long(self, path: str) -> bool:
        return len(self._blob(path)) > MAX_NAME_CHARS

    def _refuse_long_name(self, path: str, error: type[StorageError]) -> None:
        """Refuse a blob name Azure cannot hold, before asking.

        Raises:
            error: the name is longer than ``MAX_NAME_CHARS``.
        """
        if self._too_long(path):
            raise error.at(
                path, f"the blob name is {len(self._blob(path)):,} characters; Azure allows {MAX_NAME_CHARS:,}"
            )

    def _is_marker(self, path: str) -> bool:
        return posixpath.basename(path) == DIRECTORY_MARKER

    # -- async primitives (run on fsspec's loop) -------------------------------------

    async def _properties(self, blob: str) -> Any | None:
        try:
            return await self._container_client.get_blob_client(blob).get_blob_properties()
        except self._not_found as cause:
            if _error_code(cause) == "ContainerNotFound":
                raise
            return None

    async def _has_children(self, prefix: str | None) -> bool:
        async for _ in self._container_client.list_blobs(name_starts_with=prefix, results_per_page=1):
            return True
        return False

    async def _list_page(self, pages: Any) -> list[Any] | None:
        try:
            page = await pages.__anext__()
        except StopAsyncIteration:
            return None
        return [item async for item in page]

    async def _delete_blobs(self, names: list[str]) -> None:
        semaphore = asyncio.Semaphore(_DELETE_CONCURRENCY)

        async def delete_one(name: str) -> None:
            async with semaphore:
                try:
                    await self._container_client.delete_blob(name)
                except self._not_found:
                    pass  # deleted meanwhile: the goal is reached

        await asyncio.gather(*(delete_one(name) for name in names))

    async def _copy_blob(self, source: str, destination: str) -> None:
        target = self._container_client.get_blob_client(destination)
        result = await target.start_copy_from_url(self._container_client.get_blob_client(source).url)
        status = result.get("copy_status")
        waited = 0.0
        while status == "pending" and waited < _COPY_POLL_LIMIT:
            await asyncio.sleep(_COPY_POLL_SECONDS)
            waited += _COPY_POLL_SECONDS
            status = (await target.get_blob_properties()).copy.status
        if status != "success":
            with contextlib.suppress(Exception):
                await target.abort_copy(result.get("copy_id"))
            raise RuntimeError(f"the server-side copy ended as {status!r}")

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

    def open_read(self, path: str) -> BinaryIO:
        # Not adlfs's AzureBlobFile: it makes fsspec's loop the calling thread's event loop.
        if not path or self._is_marker(path):
            raise FileNotFound.at(path, "no file exists at this path")
        with self._errors(UnableToReadFile, path):
            properties = self._call(self._properties, self._blob(path))
        if properties is None or _is_folder_blob(properties.metadata):
            raise FileNotFound.at(path, "no file exists at this path")
        raw = _BlobReader(self, path, int(properties.size or 0), properties.etag)
        return cast(BinaryIO, io.BufferedReader(raw, buffer_size=self.block_size))

    def stat(self, path: str) -> FileAttributes:
        if not path or self._is_marker(path):
            raise FileNotFound.at(path, "no file exists at this path")
        with self._errors(UnableToRetrieveMetadata, path):
            properties = self._call(self._properties, self._blob(path))
        if properties is None or _is_folder_blob(properties.metadata):
            raise FileNotFound.at(path, "no file exists at this path")
        return _attributes(path, properties)

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
        if not self._is_file(source, UnableToCopyFile):
            raise FileNotFound.at(source, "no file exists at this path")
        self._refuse_long_name(destination, UnableToCopyFile)
        self._refuse_directory_for(destination, UnableToCopyFile)
        try:
            with self._errors(UnableToCopyFile, source):
                self._call(self._copy_blob, self._blob(source), self._blob(destination))
        except UnableToCopyFile as error:
            raise UnableToCopyFile.between(source, destination, error.reason) from error.__cause__

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        if not self._is_file(source, UnableToMoveFile):
            raise FileNotFound.at(source, "no file exists at this path")
        self._refuse_long_name(destination, UnableToMoveFile)
        self._refuse_directory_for(destination, UnableToMoveFile)
        try:
            with self._errors(UnableToMoveFile, source):
                self._call(self._copy_blob, self._blob(source), self._blob(destination))
                self._call(self._blob_client(source).delete_blob)
        except UnableToMoveFile as error:
            raise UnableToMoveFile.between(source, destination, error.reason) from error.__cause__

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

    def _blob_url(self, path: str) -> str:
        return f"{self.account_url}/{quote(self.container)}/{quote(self._blob(path), safe='/')}"

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
        if not path or self._is_marker(path):
            raise FileNotFound.at(path, "no file exists at this path")
        with self._errors(UnableToProvideChecksum, path):
            properties = self._call(self._properties, self._blob(path))
        if properties is None or _is_folder_blob(properties.metadata):
            raise FileNotFound.at(path, "no file exists at this path")
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

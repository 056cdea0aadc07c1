"""The ``azure`` driver: Azure Blob Storage through adlfs and azure-storage-blob.

One asynchronous ``BlobServiceClient`` (azure-storage-blob's aio client) does
all the I/O; it is also the client of the adlfs filesystem behind the disk, so
both run on fsspec's I/O loop and share one connection pool, closed by
``close()``. The hot primitives call the SDK directly because adlfs cannot do
what a disk needs there:

- writes carry Content-Type, Content-MD5, custom metadata and the access tier
  in the same request (adlfs ``pipe`` refuses ``metadata=``);
- streams go up as staged blocks committed on success (``stage_block`` +
  ``commit_block_list``), so memory stays bounded and a failed or aborted
  stream publishes nothing and leaves the old blob intact;
- existence checks, listings and deletes are one request (or one page) each.

Directories are implied by blob names; an empty directory is a hidden marker
blob ``<dir>/.flystore-directory``. Blobs flagged ``hdi_isfolder=true`` (how
ADLS Gen2 accounts show directories through the Blob API) are directories too.

Azure has no per-blob ACL (public access is a container setting), so
``visibility`` is listed as unsupported: ``set_visibility``/``get_visibility``
raise ``UnsupportedOperation``. A disk configured with ``visibility: public``
and ``create_container: true`` creates its container with anonymous read
access to blobs, which makes ``url()`` links work.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import hashlib
import io
import mimetypes
import posixpath
import re
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO, TypeVar, cast
from urllib.parse import quote, urlsplit, urlunsplit

from ..attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ..backend import Readable
from ..config import reject_unknown_options
from ..disk import FilesystemAdapter
from ..errors import (
    DriverNotInstalled,
    FileNotFound,
    InvalidConfiguration,
    ReadOnlyDisk,
    StorageError,
    UnableToCheckExistence,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToGenerateTemporaryUrl,
    UnableToListContents,
    UnableToMoveFile,
    UnableToProvideChecksum,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToWriteFile,
    UnsupportedOperation,
)
from ..paths import normalize
from ._readers import PositionedReader
from .generic import DIRECTORY_MARKER, FsspecBackend, translate_errors

__all__ = ["AZURE_OPTIONS", "TIERS", "AzureBackend", "AzureBlobStorageAdapter", "create"]

_T = TypeVar("_T")

#: Access tiers a block blob can be written with (``put_with_tier``, ``put(..., tier=...)``).
TIERS = ("Hot", "Cool", "Cold", "Archive")

#: Driver options on top of ``flystore.disk.COMMON_OPTIONS``.
AZURE_OPTIONS = frozenset(
    {
        "container",
        "connection_string",
        "account_name",
        "account_key",
        "sas_token",
        "endpoint",
        "prefix",
        "create_container",
        "block_size",
        "max_concurrency",
        "timeout",
        "retries",
    }
)

DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
DEFAULT_MAX_CONCURRENCY = 2
_MIN_BLOCK_SIZE = 64 * 1024
_MAX_BLOCK_SIZE = 4000 * 1024 * 1024
_DELETE_CONCURRENCY = 16
# Up to this size a file goes up in one Put Blob request. The SDK sends a single put as raw
# bytes, which aiohttp warns about above 1 MiB; larger files go up as staged blocks (streams).
_SINGLE_PUT_LIMIT = 1024 * 1024
_COPY_POLL_SECONDS = 0.2
_COPY_POLL_LIMIT = 600.0

# Write options (``put(..., **options)``) this driver understands, mapped to ContentSettings fields.
_CONTENT_OPTIONS = {
    "cache_control": "cache_control",
    "content_disposition": "content_disposition",
    "content_encoding": "content_encoding",
    "content_language": "content_language",
}
_WRITE_EXTRAS = frozenset({"tier", *_CONTENT_OPTIONS})
# Options of ``temporary_url`` (SAS response-header overrides).
_URL_OPTIONS = frozenset({"content_type", *_CONTENT_OPTIONS})
_UPLOAD_URL_OPTIONS = frozenset({"content_type"})

# Metadata names are C# identifiers on Azure; values travel as HTTP header values.
_METADATA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_METADATA_VALUE = re.compile(r"^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$")
# Keys adlfs and ADLS Gen2 use to tell directories from files: never user metadata.
_RESERVED_METADATA = frozenset({"is_directory", "hdi_isfolder"})
_CONTAINER_NAME = re.compile(r"^(?:\$root|\$web|[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9])$")


def _is_folder_blob(metadata: Mapping[str, str] | None) -> bool:
    """Whether blob metadata marks a directory (adlfs ``is_directory`` or ADLS Gen2 ``hdi_isfolder``)."""
    return any(
        key.lower() in _RESERVED_METADATA and str(value).lower() == "true" for key, value in (metadata or {}).items()
    )


def _user_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    # Listings return an empty value as None; properties return "".
    return {
        key: "" if value is None else str(value)
        for key, value in (metadata or {}).items()
        if key.lower() not in _RESERVED_METADATA
    }


def _canonical_tier(tier: Any) -> str | None:
    """``"cool"`` -> ``"Cool"``; ``None`` for anything that is not an Azure access tier."""
    text = str(getattr(tier, "value", tier) or "")
    for known in TIERS:
        if text.lower() == known.lower():
            return known
    return None


def _guess_mimetype(path: str) -> str:
    guessed, _ = mimetypes.guess_type(posixpath.basename(path), strict=False)
    return guessed or "application/octet-stream"


def _error_code(cause: BaseException) -> str:
    return str(getattr(cause, "error_code", None) or "")


def _describe(cause: BaseException) -> str:
    """A one-line reason from an Azure SDK error (status, error code, first message line)."""
    status = getattr(cause, "status_code", None)
    code = _error_code(cause)
    text = str(cause).strip()
    first = text.splitlines()[0] if text else type(cause).__name__
    label = " ".join(part for part in (f"HTTP {status}" if status else "", code) if part)
    return f"Azure refused the request ({label}): {first}" if label else f"{type(cause).__name__}: {first}"


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
        if not path or self._is_marker(path):
            return False
        with self._errors(UnableToCheckExistence, path, missing_is=UnableToCheckExistence):
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
        return self._attributes(path, properties)

    def _attributes(self, path: str, blob: Any) -> FileAttributes:
        settings = blob.content_settings
        md5 = bytes(settings.content_md5).hex() if settings is not None and settings.content_md5 else None
        extra: dict[str, Any] = {
            "tier": _canonical_tier(blob.blob_tier),
            "etag": f'"{str(blob.etag).strip(chr(34))}"' if blob.etag else None,  # listings drop the quotes
            "blob_type": str(getattr(blob.blob_type, "value", blob.blob_type) or "") or None,
        }
        if blob.archive_status:
            extra["archive_status"] = blob.archive_status
        if settings is not None:
            for option, field_name in _CONTENT_OPTIONS.items():
                value = getattr(settings, field_name, None)
                if value:
                    extra[option] = value
        return FileAttributes(
            path,
            size=int(blob.size or 0),
            last_modified=blob.last_modified,
            mime_type=(settings.content_type if settings is not None else None) or None,
            visibility=None,
            checksum=f"md5:{md5}" if md5 else None,
            metadata=_user_metadata(blob.metadata),
            extra=extra,
        )

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        prefix = self._children_prefix(path)
        container = self._container_client
        with self._errors(UnableToListContents, path, missing_is=UnableToListContents):
            if deep:
                pager = container.list_blobs(name_starts_with=prefix, include=["metadata"])
            else:
                pager = container.walk_blobs(name_starts_with=prefix, include=["metadata"], delimiter="/")
            pages = pager.by_page()
        seen: set[str] = set()
        while True:
            with self._errors(UnableToListContents, path, missing_is=UnableToListContents):
                items = self._call(self._list_page, pages)
            if items is None:
                return
            for item in items:
                yield from self._entries_for(item, path, deep, seen)

    def _entries_for(self, item: Any, listed: str, deep: bool, seen: set[str]) -> Iterator[Entry]:
        """The entries one listed blob or prefix stands for; ``seen`` holds the directories already yielded."""
        relative = self._relative_blob(str(item.name))
        if not relative or relative == listed:
            return
        if deep:
            # Every directory between the listed one and the blob is implied by it.
            start = len(listed) + 1 if listed else 0
            index = relative.find("/", start)
            while index != -1:
                directory = relative[:index]
                if directory not in seen:
                    seen.add(directory)
                    yield DirectoryAttributes(directory)
                index = relative.find("/", index + 1)
        is_directory = not hasattr(item, "size") or _is_folder_blob(getattr(item, "metadata", None))
        if is_directory:
            if relative not in seen:
                seen.add(relative)
                yield DirectoryAttributes(relative)
            return
        if not self._is_marker(relative):
            yield self._attributes(relative, item)

    # -- writing -------------------------------------------------------------------

    def _upload_settings(self, path: str, options: WriteOptions) -> dict[str, Any]:
        """Validated keyword arguments every upload of ``path`` carries (no Content-MD5 yet)."""
        unknown = set(options.extra) - _WRITE_EXTRAS
        if unknown:
            raise UnableToWriteFile.at(
                path,
                f"unknown write option {sorted(unknown)[0]!r}; the azure driver understands "
                + ", ".join(sorted(_WRITE_EXTRAS)),
            )
        if self._is_marker(path):
            raise UnableToWriteFile.at(path, f"{DIRECTORY_MARKER!r} is reserved for directory markers")
        for key, value in options.metadata.items():
            if not _METADATA_NAME.match(key) or key.lower() in _RESERVED_METADATA:
                raise UnableToWriteFile.at(
                    path,
                    f"metadata name {key!r} is not allowed on Azure: use letters, digits and underscores, "
                    "not starting with a digit (and not is_directory/hdi_isfolder)",
                )
            if not _METADATA_VALUE.match(value):
                raise UnableToWriteFile.at(
                    path,
                    f"metadata value of {key!r} must be printable ASCII without surrounding spaces "
                    "(Azure sends metadata as HTTP headers)",
                )
        settings: dict[str, Any] = {
            "content_type": options.mimetype or _guess_mimetype(path),
        }
        for option, field_name in _CONTENT_OPTIONS.items():
            if options.extra.get(option) is not None:
                settings[field_name] = str(options.extra[option])
        upload: dict[str, Any] = {"metadata": dict(options.metadata), "content_settings": settings}
        tier = options.extra.get("tier")
        if tier is not None:
            canonical = _canonical_tier(tier)
            if canonical is None:
                raise UnableToWriteFile.at(path, f"unknown access tier {tier!r}; use one of {', '.join(TIERS)}")
            upload["standard_blob_tier"] = self._tier_type(canonical)
        return upload

    def _settings_with_md5(self, upload: Mapping[str, Any], md5: bytes) -> dict[str, Any]:
        settings = self._content_settings(content_md5=bytearray(md5), **upload["content_settings"])
        return {**upload, "content_settings": settings}

    def _refuse_directory_for(self, path: str, error: type[StorageError]) -> None:
        with self._errors(error, path, missing_is=error):
            if self._call(self._has_children, self._children_prefix(path)):
                raise error.at(path, "a directory exists at this path")

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        if len(data) > _SINGLE_PUT_LIMIT:
            self.write_stream(path, io.BytesIO(data), options)
            return
        upload = self._upload_settings(path, options)
        self._refuse_directory_for(path, UnableToWriteFile)
        arguments = self._settings_with_md5(upload, hashlib.md5(data).digest())

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
        upload = self._upload_settings(path, options)
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
            if self.file_exists(path):
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
        if not self.file_exists(source):
            raise FileNotFound.at(source, "no file exists at this path")
        self._refuse_directory_for(destination, UnableToCopyFile)
        try:
            with self._errors(UnableToCopyFile, source):
                self._call(self._copy_blob, self._blob(source), self._blob(destination))
        except UnableToCopyFile as error:
            raise UnableToCopyFile.between(source, destination, error.reason) from error.__cause__

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        if not self.file_exists(source):
            raise FileNotFound.at(source, "no file exists at this path")
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
        if not self.file_exists(path):
            raise FileNotFound.at(path, "no file exists at this path")
        extra = {"rehydrate_priority": rehydrate_priority} if rehydrate_priority else {}
        with self._errors(UnableToWriteFile, path):
            self._call(self._blob_client(path).set_standard_blob_tier, self._tier_type(canonical), **extra)

    # -- URLs and checksums ----------------------------------------------------------

    def _blob_url(self, path: str) -> str:
        return f"{self.account_url}/{quote(self.container)}/{quote(self._blob(path), safe='/')}"

    def public_url(self, path: str) -> str | None:
        return self._blob_url(path)

    def _sas(self, path: str, expires_at: datetime, permission: Any, overrides: Mapping[str, Any]) -> str:
        from azure.storage.blob import generate_blob_sas

        sign: Callable[..., str] = generate_blob_sas
        if not self.account_key:
            raise UnableToGenerateTemporaryUrl.at(
                path,
                "Azure SAS URLs are signed with the account key: configure account_key "
                "(or a connection string with AccountKey)",
            )
        with self._errors(UnableToGenerateTemporaryUrl, path, missing_is=UnableToGenerateTemporaryUrl):
            token = sign(
                self.account_name,
                self.container,
                self._blob(path),
                account_key=self.account_key,
                permission=permission,
                expiry=expires_at,
                **{key: str(value) for key, value in overrides.items() if value is not None},
            )
        return f"{self._blob_url(path)}?{token}"

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
        unknown = set(options) - _URL_OPTIONS
        if unknown:
            raise UnableToGenerateTemporaryUrl.at(
                path,
                f"unknown option {sorted(unknown)[0]!r}; Azure SAS URLs take " + ", ".join(sorted(_URL_OPTIONS)),
            )
        return self._sas(path, expires_at, self._sas_permissions(read=True), options)

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        unknown = set(options) - _UPLOAD_URL_OPTIONS
        if unknown:
            raise UnableToGenerateTemporaryUrl.at(
                path, f"unknown option {sorted(unknown)[0]!r}; Azure upload URLs take content_type"
            )
        url = self._sas(path, expires_at, self._sas_permissions(create=True, write=True), {})
        headers = {"x-ms-blob-type": "BlockBlob"}
        if options.get("content_type"):
            headers["Content-Type"] = str(options["content_type"])
        return url, headers

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


class _BlobReader(PositionedReader):
    """A seekable read-only view of one blob version: each ``readinto`` is one ranged GET.

    Wrapped in ``io.BufferedReader(buffer_size=block_size)`` by ``open_read``, so small
    reads are served from one block-sized range at a time. Every range is requested
    with ``If-Match: <etag>``: a blob replaced mid-read fails the read instead of
    mixing two versions.
    """

    def __init__(self, backend: AzureBackend, path: str, size: int, etag: str) -> None:
        super().__init__(size)
        self._backend = backend
        self._path = path
        self._etag = etag
        self._client = backend._blob_client(path)

    async def _fetch(self, offset: int, length: int) -> bytes:
        from azure.core import MatchConditions

        downloader = await self._client.download_blob(
            offset=offset, length=length, etag=self._etag, match_condition=MatchConditions.IfNotModified
        )
        return bytes(await downloader.readall())

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("read from a closed file")
        length = min(len(buffer), self._size - self._position)
        if length <= 0:
            return 0
        with self._backend._errors(UnableToReadFile, self._path):
            try:
                data = self._backend._call(self._fetch, self._position, length)
            except self._backend._http_error as cause:
                if getattr(cause, "status_code", None) == 412:
                    raise UnableToReadFile.at(
                        self._path, "the file was replaced while it was being read", cause=cause
                    ) from cause
                raise
        if not data:
            raise UnableToReadFile.at(self._path, "the file ended early (it may have been truncated)")
        count = len(data)
        buffer[:count] = data
        self._position += count
        return count


class _BlockWriter(io.RawIOBase):
    """A streamed block-blob upload: staged blocks, committed by ``close()``, dropped by ``abort()``.

    Holds at most ``max_concurrency + 1`` blocks in memory. Small files (up to
    1 MiB) go up in a single Put Blob request. The Content-MD5 of the whole file
    is computed on the way and stored with the commit.
    """

    def __init__(self, backend: AzureBackend, path: str, upload: dict[str, Any]) -> None:
        super().__init__()
        self._backend = backend
        self._path = path
        self._upload = upload
        self._client = backend._blob_client(path)
        self._buffer = bytearray()
        self._blocks: list[str] = []
        self._pending: collections.deque[concurrent.futures.Future[Any]] = collections.deque()
        self._md5 = hashlib.md5()
        self._size = 0
        self._done = False

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._size

    def write(self, data: Any) -> int:
        if self._done:
            raise ValueError("write to a closed file")
        view = memoryview(data).cast("B")
        self._md5.update(view)
        self._size += len(view)
        block_size = self._backend.block_size
        offset = 0
        if not self._buffer:
            # Whole blocks go straight up, without a trip through the buffer (no copy for
            # the usual case: a bytes object of exactly one block).
            while len(view) - offset >= block_size:
                exact = offset == 0 and len(view) == block_size and isinstance(data, bytes)
                self._stage(data if exact else bytes(view[offset : offset + block_size]))
                offset += block_size
        self._buffer += view[offset:]
        while len(self._buffer) >= block_size:
            with memoryview(self._buffer) as whole:
                block = bytes(whole[:block_size])
            del self._buffer[:block_size]
            self._stage(block)
        return len(view)

    def _stage(self, block: bytes) -> None:
        with self._backend._errors(UnableToWriteFile, self._path, missing_is=UnableToWriteFile):
            while len(self._pending) >= self._backend.max_concurrency:
                self._pending.popleft().result()
            block_id = uuid.uuid4().hex
            self._blocks.append(block_id)
            staged = self._client.stage_block(block_id, io.BytesIO(block), length=len(block))
            self._pending.append(asyncio.run_coroutine_threadsafe(staged, self._backend.fs.loop))

    def close(self) -> None:
        if self._done:
            return
        try:
            arguments = self._backend._settings_with_md5(self._upload, self._md5.digest())
            if not self._blocks and len(self._buffer) <= _SINGLE_PUT_LIMIT:
                data = bytes(self._buffer)
                self._buffer = bytearray()
                with self._backend._errors(UnableToWriteFile, self._path, missing_is=UnableToWriteFile):
                    self._backend._call(self._client.upload_blob, data, overwrite=True, **arguments)
            else:
                if self._buffer:
                    block = bytes(self._buffer)
                    self._buffer = bytearray()
                    self._stage(block)
                with self._backend._errors(UnableToWriteFile, self._path, missing_is=UnableToWriteFile):
                    while self._pending:
                        self._pending.popleft().result()
                    blocks = [self._backend._blob_block(block_id) for block_id in self._blocks]
                    self._backend._call(self._client.commit_block_list, blocks, **arguments)
        except BaseException:
            self.abort()
            raise
        self._done = True
        super().close()

    def abort(self) -> None:
        """Drop everything: staged blocks are never committed (Azure discards them)."""
        if self._done:
            return
        self._done = True
        while self._pending:
            future = self._pending.popleft()
            future.cancel()
            with contextlib.suppress(BaseException):
                future.result(timeout=30)
        self._buffer = bytearray()
        super().close()

    def __del__(self) -> None:
        # Dropped without close(): never publish a partial file.
        if not getattr(self, "_done", True):
            self.abort()


class AzureBlobStorageAdapter(FilesystemAdapter):
    """A disk on an Azure Blob Storage container.

    Args:
        container: the container (3-63 lowercase letters, digits and single hyphens).
        connection_string: a full connection string (alternative to the account options).
        account_name: the storage account.
        account_key: the account's shared key (needed for temporary URLs).
        sas_token: a SAS token instead of the key (no temporary URLs then).
        endpoint: the blob service URL, default ``https://<account>.blob.core.windows.net``.
        prefix: keep every file under this folder of the container.
        url: base of public URLs (default: the blob's own URL).
        visibility: ``"public"`` makes ``create_container`` create a public (blob-level) container.
        create_container: create the container when the disk is built, if missing.
        block_size: bytes per block for streamed uploads and ranged reads (default 4 MiB).
        max_concurrency: blocks uploaded at once while streaming (default 2).
        timeout: connection and read timeout in seconds for every request.
        retries: how many times a failed request is retried (Azure SDK default when unset).
        name: the disk's name.
        manager: the manager the disk belongs to.
        **options: the common disk options (``signing_key``, ``serve_prefix``, ...).

    Raises:
        DriverNotInstalled: adlfs / azure-storage-blob are missing.
        InvalidConfiguration: a missing, conflicting or bad option.
    """

    def __init__(
        self,
        *,
        container: str,
        connection_string: str | None = None,
        account_name: str | None = None,
        account_key: str | None = None,
        sas_token: str | None = None,
        endpoint: str | None = None,
        prefix: str = "",
        url: str | None = None,
        visibility: str | None = None,
        create_container: bool = False,
        block_size: int = DEFAULT_BLOCK_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        timeout: float | None = None,
        retries: int | None = None,
        name: str = "azure",
        manager: Any = None,
        **options: Any,
    ) -> None:
        reject_unknown_options(name, options, frozenset())
        settings = _validated(
            name,
            container=container,
            connection_string=connection_string,
            account_name=account_name,
            account_key=account_key,
            sas_token=sas_token,
            endpoint=endpoint,
            prefix=prefix,
            block_size=block_size,
            max_concurrency=max_concurrency,
            timeout=timeout,
            retries=retries,
        )
        try:
            import adlfs
            from azure.storage.blob.aio import BlobServiceClient
        except ImportError as cause:
            raise DriverNotInstalled.for_extra("azure", "the azure driver", disk=name, cause=cause) from cause

        client_options: dict[str, Any] = {}
        if timeout is not None:
            client_options["connection_timeout"] = timeout
            client_options["read_timeout"] = timeout
        if retries is not None:
            client_options["retry_total"] = retries
        try:
            if connection_string:
                client = BlobServiceClient.from_connection_string(connection_string, **client_options)
            else:
                account_url = (endpoint or f"https://{account_name}.blob.core.windows.net").rstrip("/")
                credential: Any = None
                if account_key:
                    credential = {"account_name": account_name, "account_key": account_key}
                elif sas_token:
                    credential = sas_token.lstrip("?")
                client = BlobServiceClient(account_url, credential=credential, **client_options)
        except (ValueError, TypeError) as cause:
            option = "connection_string" if connection_string else "endpoint"
            raise InvalidConfiguration(f"Azure cannot use it: {cause}", option=option, disk=name) from cause
        key = account_key or getattr(client.credential, "account_key", None)

        # adlfs gets the same client, so disk I/O and the fsspec view share one connection pool.
        fs = adlfs.AzureBlobFileSystem(
            account_name=client.account_name,
            account_key=key,
            sas_token=None if key else sas_token,
            anon=not (key or sas_token),
            skip_instance_cache=True,
            use_listings_cache=False,
            blocksize=block_size,
            max_concurrency=max_concurrency,
            assume_container_exists=True,
        )
        from fsspec.asyn import sync

        original = fs.service_client
        fs.service_client = client
        with contextlib.suppress(Exception):
            sync(fs.loop, original.close)

        backend = AzureBackend(
            fs,
            client,
            container,
            settings["prefix"],
            block_size=block_size,
            max_concurrency=max_concurrency,
            account_key=key,
        )
        config = {**options, "url": url, "visibility": visibility, "container": container, "prefix": prefix}
        try:
            super().__init__(backend, name=name, config=config, manager=manager)
            if create_container:
                backend.ensure_container(public=visibility == "public")
        except BaseException:
            backend.close()
            raise

    @property
    def container(self) -> str:
        """The container this disk lives in."""
        return str(self.config["container"])

    def _azure_backend(self, path: str) -> AzureBackend:
        backend = self.backend
        if isinstance(backend, AzureBackend):
            return backend
        if type(backend).__name__ == "ReadOnlyBackend":
            raise ReadOnlyDisk.at(path, "the disk is read-only; changing the access tier is not allowed")
        raise UnsupportedOperation.at(path, "the access tier can only be changed on the Azure disk itself")

    def put_with_tier(
        self, path: str, data: Any, tier: str, *, mimetype: str | None = None, metadata: Mapping[str, Any] | None = None
    ) -> str:
        """``put`` with an access tier: ``"Hot"``, ``"Cool"``, ``"Cold"`` or ``"Archive"``.

        The tier is shown by ``metadata(path)["tier"]``. An archived blob cannot be
        read until it is rehydrated with ``set_tier(path, "Hot")``.

        Raises:
            UnableToWriteFile: an unknown tier, or the write failed.
        """
        if _canonical_tier(tier) is None:
            raise UnableToWriteFile(
                f"unknown access tier {tier!r}; use one of {', '.join(TIERS)}", path=normalize(path), disk=self.name
            )
        return self.put(path, data, mimetype=mimetype, metadata=metadata, tier=tier)

    def set_tier(self, path: str, tier: str, *, rehydrate_priority: str | None = None) -> None:
        """Move the blob to another access tier (``rehydrate_priority``: ``"Standard"`` or ``"High"``).

        Raises:
            FileNotFound: the file is missing.
            UnableToWriteFile: an unknown tier, or Azure refused the change.
        """
        target = normalize(path)
        try:
            self._azure_backend(target).set_tier(target, tier, rehydrate_priority=rehydrate_priority)
        except StorageError as error:
            if error.disk is None:
                error.disk = self.name
            raise


def _validated(name: str, **options: Any) -> dict[str, Any]:
    """Check the driver options; returns the normalised ones. Raises ``InvalidConfiguration``."""
    container = options["container"]
    if not isinstance(container, str) or not container:
        raise InvalidConfiguration("the azure driver needs 'container'", option="container", disk=name)
    if not _CONTAINER_NAME.match(container):
        raise InvalidConfiguration(
            f"{container!r} is not a valid container name (3-63 lowercase letters, digits and single hyphens)",
            option="container",
            disk=name,
        )
    connection_string = options["connection_string"]
    if connection_string:
        for other in ("account_name", "account_key", "sas_token", "endpoint"):
            if options[other]:
                raise InvalidConfiguration(
                    "give either connection_string or account_name/account_key/sas_token/endpoint, not both",
                    option=other,
                    disk=name,
                )
    elif not options["account_name"]:
        raise InvalidConfiguration(
            "the azure driver needs connection_string, or account_name with account_key or sas_token",
            option="account_name",
            disk=name,
        )
    if options["account_key"] and options["sas_token"]:
        raise InvalidConfiguration("give account_key or sas_token, not both", option="sas_token", disk=name)
    endpoint = options["endpoint"]
    if endpoint is not None and (not isinstance(endpoint, str) or urlsplit(endpoint).scheme not in ("http", "https")):
        raise InvalidConfiguration("must be an http(s) URL of the blob service", option="endpoint", disk=name)
    try:
        prefix = normalize(options["prefix"] or "")
    except (StorageError, TypeError) as cause:
        raise InvalidConfiguration(f"not a valid folder: {cause}", option="prefix", disk=name) from cause
    block_size = options["block_size"]
    if isinstance(block_size, bool) or not isinstance(block_size, int) or not (
        _MIN_BLOCK_SIZE <= block_size <= _MAX_BLOCK_SIZE
    ):
        raise InvalidConfiguration(
            f"must be a whole number of bytes from {_MIN_BLOCK_SIZE} to {_MAX_BLOCK_SIZE}",
            option="block_size",
            disk=name,
        )
    concurrency = options["max_concurrency"]
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidConfiguration("must be a whole number of at least 1", option="max_concurrency", disk=name)
    timeout = options["timeout"]
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise InvalidConfiguration("must be a positive number of seconds", option="timeout", disk=name)
    retries = options["retries"]
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        raise InvalidConfiguration("must be a whole number of at least 0", option="retries", disk=name)
    return {"prefix": prefix}


def create(name: str, options: dict[str, Any], manager: Any) -> AzureBlobStorageAdapter:
    """Build an azure disk from its configuration (``options`` without ``driver``)."""
    reject_unknown_options(name, options, AZURE_OPTIONS)
    if not options.get("container"):
        raise InvalidConfiguration("the azure driver needs 'container'", option="container", disk=name)
    body = {key: value for key, value in options.items() if key not in ("driver", "name")}
    return AzureBlobStorageAdapter(name=name, manager=manager, **body)


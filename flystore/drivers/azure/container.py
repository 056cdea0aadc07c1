"""The container an ``AzureBackend`` lives in: blob names, and requests run on fsspec's I/O loop."""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlsplit, urlunsplit

from ...errors import FileNotFound, StorageError
from ..generic import DIRECTORY_MARKER, FsspecBackend
from .blobs import _error_code
from .errors import sdk_errors
from .options import DEFAULT_BLOCK_SIZE, DEFAULT_MAX_CONCURRENCY

__all__ = ["MAX_NAME_CHARS", "BlobContainer"]

_T = TypeVar("_T")

_DELETE_CONCURRENCY = 16
_COPY_POLL_SECONDS = 0.2
_COPY_POLL_LIMIT = 600.0


#: The longest blob name Azure accepts, in characters (prefix included).
MAX_NAME_CHARS = 1024


class BlobContainer(FsspecBackend):
    """The plumbing under ``AzureBackend`` (which documents the arguments): where a path's blob
    is, the SDK calls the disk verbs are made of, and their errors in flystore's terms."""

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

    def _errors(
        self, error: type[StorageError], path: str, *, missing_is: type[StorageError] = FileNotFound
    ) -> contextlib.AbstractContextManager[None]:
        """Map Azure SDK errors to flystore errors about ``path`` (see ``errors.sdk_errors``)."""
        return sdk_errors(self, error, path, missing_is=missing_is)

    # -- names -----------------------------------------------------------------------

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

    def _blob_url(self, path: str) -> str:
        return f"{self.account_url}/{quote(self.container)}/{quote(self._blob(path), safe='/')}"

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

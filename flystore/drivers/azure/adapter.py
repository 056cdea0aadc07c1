"""``AzureBlobStorageAdapter``: the azure disk (with access tiers), and ``create``, its registry factory."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ...config import reject_unknown_options
from ...disk import FilesystemAdapter
from ...errors import (
    DriverNotInstalled,
    InvalidConfiguration,
    ReadOnlyDisk,
    StorageError,
    UnableToWriteFile,
    UnsupportedOperation,
)
from ...paths import normalize
from .backend import AzureBackend
from .blobs import TIERS, _canonical_tier
from .options import AZURE_OPTIONS, DEFAULT_BLOCK_SIZE, DEFAULT_MAX_CONCURRENCY, _validated

__all__ = ["AzureBlobStorageAdapter", "create"]


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


def create(name: str, options: dict[str, Any], manager: Any) -> AzureBlobStorageAdapter:
    """Build an azure disk from its configuration (``options`` without ``driver``)."""
    reject_unknown_options(name, options, AZURE_OPTIONS)
    if not options.get("container"):
        raise InvalidConfiguration("the azure driver needs 'container'", option="container", disk=name)
    body = {key: value for key, value in options.items() if key not in ("driver", "name")}
    return AzureBlobStorageAdapter(name=name, manager=manager, **body)

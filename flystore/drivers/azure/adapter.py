"""``AzureBlobStorageAdapter``: the azure disk (with access tiers), and ``create``, its registry factory."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ...config import apply_aliases, reject_unknown_options
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
from .options import (
    AZURE_ALIASES,
    AZURE_OPTIONS,
    DEFAULT_BLOCK_SIZE,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    _check_account_key,
    _validated,
)

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
        timeout: connection and read timeout in seconds for every request attempt (default 3).
        retries: how many times a failed request is retried, with a short backoff (default 2).
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
        # Direct construction takes the seed's spellings too (``create`` renamed them already).
        for alias, canonical, given in (("base_path", "prefix", prefix), ("key", "account_key", account_key)):
            if alias in options and given:
                raise InvalidConfiguration(
                    f"'{alias}' is another name for '{canonical}'; give one of them, not both", option=alias, disk=name
                )
        prefix = options.pop("base_path", prefix)
        account_key = options.pop("key", account_key)
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

        from azure.storage.blob.aio import ExponentialRetry

        # The SDK's own default waits 15 s before the first retry and retries 10 times (82 s to fail
        # on a closed port); this policy fails within (retries + 1) * timeout plus a few seconds.
        attempts = DEFAULT_RETRIES if retries is None else retries
        seconds = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        client_options: dict[str, Any] = {
            "connection_timeout": seconds,
            "read_timeout": seconds,
            "retry_policy": ExponentialRetry(
                initial_backoff=0.2, increment_base=1, retry_total=attempts,  # type: ignore[arg-type]
                random_jitter_range=0.2,  # type: ignore[arg-type]
            ),
        }
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
        if connection_string and key:
            try:
                _check_account_key(name, key)
            except InvalidConfiguration as bad:
                raise InvalidConfiguration(
                    f"its AccountKey {bad.reason}", option="connection_string", disk=name
                ) from bad.__cause__

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
    """Build an azure disk from its configuration (``options`` without ``driver``).

    Raises:
        InvalidConfiguration: an unknown option, both spellings of one, or a bad value.
        DriverNotInstalled: adlfs / azure-storage-blob are missing.
    """
    options = apply_aliases(name, options, AZURE_ALIASES)
    reject_unknown_options(name, options, AZURE_OPTIONS)
    if not options.get("container"):
        raise InvalidConfiguration("the azure driver needs 'container'", option="container", disk=name)
    body = {key: value for key, value in options.items() if key not in ("driver", "name")}
    return AzureBlobStorageAdapter(name=name, manager=manager, **body)

"""The azure driver's SAS URLs: read links (``temporary_url``) and upload links (``temporary_upload_url``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...errors import UnableToGenerateTemporaryUrl
from .blobs import _CONTENT_OPTIONS

if TYPE_CHECKING:
    from .backend import AzureBackend

# Options of ``temporary_url`` (SAS response-header overrides).
_URL_OPTIONS = frozenset({"content_type", *_CONTENT_OPTIONS})
_UPLOAD_URL_OPTIONS = frozenset({"content_type"})


def _sas(backend: AzureBackend, path: str, expires_at: datetime, permission: Any, overrides: Mapping[str, Any]) -> str:
    from azure.storage.blob import generate_blob_sas

    sign: Callable[..., str] = generate_blob_sas
    if not backend.account_key:
        raise UnableToGenerateTemporaryUrl.at(
            path,
            "Azure SAS URLs are signed with the account key: configure account_key "
            "(or a connection string with AccountKey)",
        )
    with backend._errors(UnableToGenerateTemporaryUrl, path, missing_is=UnableToGenerateTemporaryUrl):
        token = sign(
            backend.account_name,
            backend.container,
            backend._blob(path),
            account_key=backend.account_key,
            permission=permission,
            expiry=expires_at,
            **{key: str(value) for key, value in overrides.items() if value is not None},
        )
    return f"{backend._blob_url(path)}?{token}"


def _temporary_url(backend: AzureBackend, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
    unknown = set(options) - _URL_OPTIONS
    if unknown:
        raise UnableToGenerateTemporaryUrl.at(
            path,
            f"unknown option {sorted(unknown)[0]!r}; Azure SAS URLs take " + ", ".join(sorted(_URL_OPTIONS)),
        )
    return _sas(backend, path, expires_at, backend._sas_permissions(read=True), options)


def _temporary_upload_url(
    backend: AzureBackend, path: str, expires_at: datetime, options: Mapping[str, Any]
) -> tuple[str, dict[str, str]] | None:
    unknown = set(options) - _UPLOAD_URL_OPTIONS
    if unknown:
        raise UnableToGenerateTemporaryUrl.at(
            path, f"unknown option {sorted(unknown)[0]!r}; Azure upload URLs take content_type"
        )
    url = _sas(backend, path, expires_at, backend._sas_permissions(create=True, write=True), {})
    headers = {"x-ms-blob-type": "BlockBlob"}
    if options.get("content_type"):
        headers["Content-Type"] = str(options["content_type"])
    return url, headers

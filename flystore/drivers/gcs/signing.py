"""Signed URLs: V4, made with service-account credentials (``key_file``) and signed locally."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ...errors import UnableToGenerateTemporaryUrl
from .base import _GcsBase

_MAX_SIGNED_SECONDS = 7 * 24 * 3600  # V4 signatures live at most 7 days
_SIGNING_OPTIONS = frozenset(
    {"response_disposition", "response_type", "content_type", "headers", "query_parameters"}
)


class _GcsSigning(_GcsBase):
    """``temporary_url`` and ``temporary_upload_url`` of ``GcsBackend`` (a mixin over ``_GcsBase``)."""

    def _sign(self, path: str, expires_at: datetime, method: str, options: Mapping[str, Any]) -> str:
        unknown = set(options) - _SIGNING_OPTIONS
        if unknown:
            known = ", ".join(sorted(_SIGNING_OPTIONS))
            raise UnableToGenerateTemporaryUrl.at(
                path, f"unknown option {sorted(unknown)[0]!r}; GCS signed URLs take {known}"
            )
        seconds = round((expires_at - datetime.now(timezone.utc)).total_seconds())
        if seconds < 1:
            raise UnableToGenerateTemporaryUrl.at(path, "the expiry must be in the future")
        if seconds > _MAX_SIGNED_SECONDS:
            raise UnableToGenerateTemporaryUrl.at(path, "GCS signed URLs expire within 7 days (604800 seconds)")
        signer = self.signer if self.signer is not None else self.fs
        if not _can_sign(signer):
            raise UnableToGenerateTemporaryUrl.at(
                path,
                "signed URLs need service-account credentials: set the disk's 'key_file' to a service-account JSON",
            )
        arguments = {"version": "v4", **options, "method": method}
        with self._translated(UnableToGenerateTemporaryUrl, path):
            return str(signer.sign(f"{self.bucket}/{self._name(path)}", expiration=seconds, **arguments))

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str:
        return self._sign(path, expires_at, "GET", options)

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]]:
        url = self._sign(path, expires_at, "PUT", options)
        content_type = options.get("content_type")
        return url, ({"Content-Type": str(content_type)} if content_type else {})


def _can_sign(fs: Any) -> bool:
    try:
        from google.auth.credentials import Signing
    except ImportError:  # pragma: no cover - google-auth comes with gcsfs
        return False
    return isinstance(getattr(getattr(fs, "credentials", None), "credentials", None), Signing)

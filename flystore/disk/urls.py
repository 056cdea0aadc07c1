"""URL verbs: public URLs, temporary (presigned or HMAC-signed) URLs, and local paths."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..errors import UnableToGeneratePublicUrl, UnableToGenerateTemporaryUrl, UnsupportedOperation
from ..paths import normalize
from ..signing import expiry_to_datetime, sign_url
from ._verbs import _verb
from .core import DiskCore, Expiry


class UrlVerbs(DiskCore):
    """The verbs that say where a file can be fetched from (or put to) without the disk."""

    @_verb(UnableToGeneratePublicUrl)
    def url(self, path: str) -> str:
        """The public URL: the disk's ``url`` option joined with the path, else the backend's.

        Raises:
            UnableToGeneratePublicUrl: no ``url`` option and no public URL on the backend.
        """
        target = normalize(path)
        base = self.config.get("url")
        if base:
            return f"{str(base).rstrip('/')}/{quote(target)}"
        native = self._backend.public_url(target)
        if native is None:
            raise UnableToGeneratePublicUrl.at(
                target, "the disk has no 'url' option and its backend has no public URLs"
            )
        return native

    def signing_key(self) -> bytes:
        """The key signing this disk's temporary URLs: ``signing_key``, else the app key.

        Raises:
            UnableToGenerateTemporaryUrl: neither is set.
        """
        if self._signing_key is not None:
            return self._signing_key
        app_key = self.manager.app_key if self.manager is not None else None
        if not app_key:
            raise UnableToGenerateTemporaryUrl(
                "no signing key: set the disk's 'signing_key' option or the APP_KEY environment variable",
                disk=self.name,
            )
        return app_key

    @_verb(UnableToGenerateTemporaryUrl)
    def temporary_url(self, path: str, expires: Expiry = 3600, **options: Any) -> str:
        """A URL that works until ``expires`` (seconds, ``timedelta`` or ``datetime``).

        Presigned by the backend where it can (S3, GCS, Azure); otherwise an
        HMAC-signed link to flystore's HTTP route, checked by ``verify_temporary_url``.

        Raises:
            UnableToGenerateTemporaryUrl: a bad expiry, no signing key, or the backend failed.
        """
        target = self._file_path(path, UnableToGenerateTemporaryUrl)
        expires_at = expiry_to_datetime(expires)
        native = self._backend.temporary_url(target, expires_at, options)
        if native is not None:
            return native
        return self._signed(target, expires_at, "GET")

    @_verb(UnableToGenerateTemporaryUrl)
    def temporary_upload_url(self, path: str, expires: Expiry = 3600, **options: Any) -> tuple[str, dict[str, str]]:
        """``(url, headers)`` a client can PUT the file to until ``expires``.

        Raises:
            UnableToGenerateTemporaryUrl: a bad expiry, no signing key, or the backend failed.
        """
        target = self._file_path(path, UnableToGenerateTemporaryUrl)
        expires_at = expiry_to_datetime(expires)
        native = self._backend.temporary_upload_url(target, expires_at, options)
        if native is not None:
            return native
        headers = {"Content-Type": options["content_type"]} if options.get("content_type") else {}
        return self._signed(target, expires_at, "PUT"), headers

    def _signed(self, target: str, expires_at: datetime, method: str) -> str:
        base_url = ""
        if self.manager is not None:
            base_url = self.manager.app_url or ""
        return sign_url(
            disk=self.name,
            path=target,
            expires_at=expires_at,
            key=self.signing_key(),
            serve_prefix=self.serve_prefix,
            method=method,
            base_url=base_url,
        )

    @_verb(None)
    def path(self, path: str) -> str:
        """The absolute local path of ``path`` (local disks only).

        Raises:
            UnsupportedOperation: the disk is not on the local filesystem.
        """
        target = normalize(path)
        local = self._backend.local_path(target)
        if local is None:
            raise UnsupportedOperation.at(target, f"path() needs a local disk; this one is {self._backend.name}")
        return local

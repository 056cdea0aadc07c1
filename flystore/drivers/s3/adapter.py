"""``S3FilesystemAdapter``: the s3 disk, with its S3-only methods (presigned URLs, client-driven uploads)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ...attributes import FileAttributes
from ...config import COMMON_OPTIONS
from ...disk import FilesystemAdapter, _names_the_disk, _verb
from ...errors import (
    FileNotFound,
    ReadOnlyDisk,
    UnableToGenerateTemporaryUrl,
    UnableToRetrieveMetadata,
    UnableToWriteFile,
)
from ...paths import normalize
from .backend import S3Backend
from .build import _build_backend
from .common import _guess_type
from .options import _option_error

if TYPE_CHECKING:
    from ...manager import StorageManager

_PRESIGN_METHODS = {
    "GET": "get_object",
    "PUT": "put_object",
    "HEAD": "head_object",
    "DELETE": "delete_object",
    "get_object": "get_object",
    "put_object": "put_object",
    "head_object": "head_object",
    "delete_object": "delete_object",
}


class S3FilesystemAdapter(FilesystemAdapter):
    """A disk on an S3 bucket (AWS or any S3-compatible service through ``endpoint``).

    Usable directly::

        S3FilesystemAdapter(bucket="media", key="...", secret="...", endpoint="http://127.0.0.1:9000")

    or through a manager with ``{"driver": "s3", "bucket": ..., ...}``. See
    ``docs/drivers/s3.md`` for every option.
    """

    def __init__(
        self,
        bucket: str | None = None,
        *,
        name: str = "s3",
        manager: StorageManager | None = None,
        region: str | None = None,
        key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        endpoint: str | None = None,
        url: str | None = None,
        visibility: str | None = None,
        prefix: str | None = None,
        use_ssl: bool = True,
        options: Mapping[str, Any] | None = None,
        **more: Any,
    ) -> None:
        settings: dict[str, Any] = {
            "bucket": bucket,
            "region": region,
            "key": key,
            "secret": secret,
            "token": token,
            "endpoint": endpoint,
            "url": url,
            "visibility": visibility,
            "prefix": prefix,
            "use_ssl": use_ssl,
            "options": dict(options or {}),
            **more,
        }
        if visibility is not None and visibility not in ("public", "private"):
            raise _option_error(name, "visibility", "must be 'public' or 'private'")
        backend, _ = _build_backend(name, settings)
        config = {key_: value for key_, value in settings.items() if key_ in COMMON_OPTIONS}
        if config.get("url") and backend.prefix:  # a public base for the bucket: the prefix is part of every URL
            config["url"] = f"{str(config['url']).rstrip('/')}/{quote(backend.prefix, safe='/~')}"
        config["bucket"] = backend.bucket
        config["prefix"] = backend.prefix
        try:
            super().__init__(backend, name=name, config=config, manager=manager)
        except BaseException:
            backend.close()
            raise

    # -- internals -------------------------------------------------------------------

    def _s3(self, *, writing: bool) -> S3Backend:
        """The S3 backend under this disk's wrappers (a read-only disk refuses writes)."""
        backend: Any = self._backend
        while not isinstance(backend, S3Backend):
            if writing and type(backend).__name__ == "ReadOnlyBackend":
                raise ReadOnlyDisk("the disk is read-only; uploads are not allowed")
            inner = getattr(backend, "inner", None)
            if inner is None:
                raise UnableToWriteFile(f"the disk's backend is not S3 ({type(backend).__name__})")
            backend = inner
        return backend

    def _light(self, path: str) -> FileAttributes:
        target = self._file_path(path, FileNotFound)
        if isinstance(self._backend, S3Backend):
            return self._backend.head(target)
        return self._backend.stat(target)

    # -- one HEAD instead of HEAD + ACL where visibility is not asked ---------------------

    @_verb(UnableToRetrieveMetadata)
    def size(self, path: str) -> int:
        """Size in bytes (one HEAD).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        return int(self._light(path).size or 0)

    @_verb(UnableToRetrieveMetadata)
    def last_modified(self, path: str) -> datetime:
        """When the object was last written, as aware UTC (one HEAD).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        modified = self._light(path).last_modified
        if modified is None:
            raise UnableToRetrieveMetadata.at(normalize(path), "S3 did not report a time")
        return modified

    @_verb(UnableToRetrieveMetadata)
    def mime_type(self, path: str) -> str:
        """The stored Content-Type, else a guess from the extension (one HEAD).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        attributes = self._light(path)
        return attributes.mime_type or _guess_type(attributes.path)

    @_names_the_disk
    def temporary_upload_url(self, path: str, expires: Any = 3600, **options: Any) -> tuple[str, dict[str, str]]:
        """``(url, headers)`` of a presigned PUT; send exactly these headers with the body.

        ``content_type``, ``visibility`` (default: the disk's) and ``metadata`` are signed in.

        Raises:
            UnableToGenerateTemporaryUrl: a bad expiry or option, or signing failed.
        """
        if self.visibility is not None:
            options.setdefault("visibility", self.visibility)
        return super().temporary_upload_url(path, expires, **options)

    # -- presigned URLs and client-driven multipart uploads ---------------------------------

    @_names_the_disk
    def get_presigned_url(self, path: str, expires_in: int = 3600, method: str = "get_object") -> str:
        """A presigned URL for ``method`` (``get_object``/``GET``, ``put_object``/``PUT``,
        ``head_object``/``HEAD``, ``delete_object``/``DELETE``) valid ``expires_in`` seconds.

        Raises:
            UnableToGenerateTemporaryUrl: an unknown method, a bad expiry, or signing failed.
            ReadOnlyDisk: a PUT or DELETE URL on a read-only disk.
        """
        target = self._file_path(path, UnableToGenerateTemporaryUrl)
        client_method = _PRESIGN_METHODS.get(method) or _PRESIGN_METHODS.get(method.upper())
        if client_method is None:
            raise UnableToGenerateTemporaryUrl.at(
                target, f"method must be one of {', '.join(sorted(_PRESIGN_METHODS))}, not {method!r}"
            )
        writing = client_method in ("put_object", "delete_object")
        return self._s3(writing=writing).presign(target, client_method, int(expires_in))

    @_names_the_disk
    def create_multipart_upload(
        self,
        path: str,
        *,
        mimetype: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        visibility: str | None = None,
    ) -> str:
        """Start a multipart upload a client will fill through presigned part URLs; returns its id.

        Raises:
            UnableToWriteFile: S3 refused.
        """
        target = self._file_path(path, UnableToWriteFile)
        options = self._options(visibility, mimetype, metadata, {}, target)
        return self._s3(writing=True).create_multipart_upload(target, options)

    @_names_the_disk
    def generate_presigned_post_urls(
        self, upload_id: str, num_parts: int, *, path: str | None = None, expires_in: int = 3600
    ) -> list[str]:
        """Presigned ``PUT`` URLs for parts ``1..num_parts`` of ``upload_id`` (each returns an ETag header).

        Raises:
            UnableToWriteFile: the upload id is unknown.
            UnableToGenerateTemporaryUrl: a bad part count or expiry.
        """
        backend = self._s3(writing=True)
        target = self._file_path(path, UnableToWriteFile) if path is not None else backend.upload_path(upload_id)
        return backend.presign_parts(target, upload_id, int(num_parts), int(expires_in))

    @_names_the_disk
    def complete_multipart_upload(self, upload_id: str, parts: Sequence[Any], *, path: str | None = None) -> str:
        """Publish the upload from its parts' ETags (a list in part order, ``(number, etag)`` pairs
        or ``{"PartNumber", "ETag"}`` dicts); returns the file's path.

        Raises:
            UnableToWriteFile: S3 refused (missing parts, a part too small ...).
        """
        backend = self._s3(writing=True)
        target = self._file_path(path, UnableToWriteFile) if path is not None else backend.upload_path(upload_id)
        backend.complete_multipart_upload(target, upload_id, parts)
        self._fire("file_updated", target)
        return target

    @_names_the_disk
    def abort_multipart_upload(self, upload_id: str, *, path: str | None = None) -> None:
        """Abandon the upload and free its parts.

        Raises:
            UnableToWriteFile: the upload id is unknown or S3 refused.
        """
        backend = self._s3(writing=True)
        target = self._file_path(path, UnableToWriteFile) if path is not None else backend.upload_path(upload_id)
        backend.abort_multipart_upload(target, upload_id)

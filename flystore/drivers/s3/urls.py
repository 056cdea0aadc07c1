"""URLs of the S3 backend: public and presigned URLs, and the multipart uploads clients drive with them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote

from ...attributes import WriteOptions
from ...errors import UnableToGenerateTemporaryUrl, UnableToWriteFile
from .common import _MAX_PARTS, _canned_acl, _encode_metadata, _guess_type, _seconds_until
from .errors import _fail
from .multipart import _parts_list
from .writing import _S3Writing

_MAX_PRESIGN_SECONDS = 7 * 24 * 3600
# ``disk.temporary_url(..., response_content_disposition=...)``.
_URL_EXTRAS = {
    "response_content_type": "ResponseContentType",
    "response_content_disposition": "ResponseContentDisposition",
    "response_content_encoding": "ResponseContentEncoding",
    "response_content_language": "ResponseContentLanguage",
    "response_cache_control": "ResponseCacheControl",
    "response_expires": "ResponseExpires",
    "version_id": "VersionId",
}


class _S3Urls(_S3Writing):
    """Public and presigned URLs, and multipart uploads a client fills through presigned part URLs."""

    # -- URLs ---------------------------------------------------------------------------

    def public_url(self, path: str) -> str | None:
        if self.public_base is None:
            return None
        return f"{self.public_base}/{quote(self._key(path), safe='/~')}"

    def presign(
        self, path: str, client_method: str, expires_in: int, params: Mapping[str, Any] | None = None
    ) -> str:
        """A presigned URL for ``client_method`` on ``path`` (plus extra operation parameters)."""
        if not 1 <= expires_in <= _MAX_PRESIGN_SECONDS:
            raise UnableToGenerateTemporaryUrl.at(
                path, f"S3 presigned URLs live 1 s to 7 days; {expires_in} s was asked"
            )
        arguments = {"Bucket": self.bucket, "Key": self._key(path), **(params or {})}
        try:
            return cast(
                str, self.client.generate_presigned_url(client_method, Params=arguments, ExpiresIn=int(expires_in))
            )
        except Exception as cause:
            _fail(cause, UnableToGenerateTemporaryUrl, path, missing_is=None)

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
        params: dict[str, Any] = {}
        for name, value in options.items():
            target = _URL_EXTRAS.get(name) or (name if name[:1].isupper() else None)
            if target is None:
                known = ", ".join(sorted(_URL_EXTRAS))
                raise UnableToGenerateTemporaryUrl.at(path, f"unknown option {name!r}; the s3 driver knows {known}")
            params[target] = value
        return self.presign(path, "get_object", _seconds_until(expires_at), params)

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        params, headers = self.upload_headers(path, options)
        return self.presign(path, "put_object", _seconds_until(expires_at), params), headers

    def upload_headers(self, path: str, options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """The signed parameters of a presigned PUT and the headers the client must send."""
        content_type = options.get("content_type") or options.get("mimetype") or _guess_type(path)
        params: dict[str, Any] = {"ContentType": content_type}
        headers = {"Content-Type": str(content_type)}
        visibility = options.get("visibility")
        if visibility is not None and self.acls:
            if visibility not in ("public", "private"):
                raise UnableToGenerateTemporaryUrl.at(
                    path, f"visibility must be 'public' or 'private', not {visibility!r}"
                )
            params["ACL"] = headers["x-amz-acl"] = _canned_acl(visibility)
        metadata = options.get("metadata")
        if metadata:
            try:
                encoded = _encode_metadata({str(k): str(v) for k, v in metadata.items()}, path)
            except UnableToWriteFile as error:
                raise UnableToGenerateTemporaryUrl.at(path, error.reason) from error
            params["Metadata"] = encoded
            headers.update({f"x-amz-meta-{key}": value for key, value in encoded.items()})
        return params, headers

    # -- multipart uploads driven by a client ---------------------------------------------

    def create_multipart_upload(self, path: str, options: WriteOptions) -> str:
        upload_id = self._start_upload(path, self._root_key + path, self._write_params(path, options))
        with self._uploads_lock:
            self._uploads[upload_id] = path
        return upload_id

    def upload_path(self, upload_id: str) -> str:
        """The disk path of an open multipart upload (remembered, else looked up on S3)."""
        with self._uploads_lock:
            known = self._uploads.get(upload_id)
        if known is not None:
            return known
        try:
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._root_key, **self._small_params):
                for upload in page.get("Uploads", ()):
                    if upload.get("UploadId") == upload_id:
                        path = self._relative(str(upload["Key"]))
                        with self._uploads_lock:
                            self._uploads[upload_id] = path
                        return path
        except Exception as cause:
            _fail(cause, UnableToWriteFile, "", missing_is=UnableToWriteFile)
        raise UnableToWriteFile.at(None, f"no multipart upload {upload_id!r} is open on this disk")

    def presign_parts(self, path: str, upload_id: str, num_parts: int, expires_in: int) -> list[str]:
        if not 1 <= num_parts <= _MAX_PARTS:
            raise UnableToGenerateTemporaryUrl.at(path, f"num_parts must be 1 to 10,000, not {num_parts}")
        return [
            self.presign(path, "upload_part", expires_in, {"UploadId": upload_id, "PartNumber": number})
            for number in range(1, num_parts + 1)
        ]

    def complete_multipart_upload(self, path: str, upload_id: str, parts: Sequence[Any]) -> None:
        listed = _parts_list(parts, path)
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self._root_key + path,
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},
                **self._small_params,
            )
        except Exception as cause:
            _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)
        with self._uploads_lock:
            self._uploads.pop(upload_id, None)

    def abort_multipart_upload(self, path: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self._root_key + path, UploadId=upload_id, **self._small_params
            )
        except Exception as cause:
            _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)
        with self._uploads_lock:
            self._uploads.pop(upload_id, None)


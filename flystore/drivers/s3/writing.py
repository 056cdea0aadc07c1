"""Writes, deletes, copies and moves of the S3 backend."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from ...attributes import WriteOptions
from ...backend import Readable
from ...errors import (
    FileAlreadyExists,
    FileNotFound,
    StorageError,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToMoveFile,
    UnableToSetVisibility,
    UnableToWriteFile,
)
from ..generic import DIRECTORY_MARKER
from .bodies import _ChunksBody
from .common import _MAX_PARTS, _canned_acl, _encode_metadata, _guess_type
from .errors import _MISSING_CODES, _error_code, _fail, _reason, _retried
from .multipart import _S3Multipart
from .reading import _S3Reading

# What S3 (and moto) answer a conditional write whose condition failed.
_EXISTS_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})
# The condition of an exclusive create, on a PutObject or a CompleteMultipartUpload.
_IF_ABSENT = {"IfNoneMatch": "*"}

# ``disk.put(..., cache_control=...)``: friendly names of S3 write parameters.
_WRITE_EXTRAS = {
    "cache_control": "CacheControl",
    "content_disposition": "ContentDisposition",
    "content_encoding": "ContentEncoding",
    "content_language": "ContentLanguage",
    "expires": "Expires",
    "storage_class": "StorageClass",
    "server_side_encryption": "ServerSideEncryption",
    "sse_kms_key_id": "SSEKMSKeyId",
    "tagging": "Tagging",
    "acl": "ACL",
}


class _S3Writing(_S3Multipart, _S3Reading):
    """PUTs (direct or multipart), deletes, server-side copies and ACL writes."""

    # -- writing ----------------------------------------------------------------------

    def _write_params(self, path: str, options: WriteOptions) -> dict[str, Any]:
        self._refuse_long_key(path, UnableToWriteFile)
        params: dict[str, Any] = dict(self._put_params)
        params["ContentType"] = options.mimetype or _guess_type(path)
        if options.metadata:
            params["Metadata"] = _encode_metadata(options.metadata, path)
        if self.acls and options.visibility is not None:
            params["ACL"] = _canned_acl(options.visibility)
        for name, value in options.extra.items():
            target = _WRITE_EXTRAS.get(name) or (name if name[:1].isupper() else None)
            if target is None:
                known = ", ".join(sorted(_WRITE_EXTRAS))
                raise UnableToWriteFile.at(path, f"unknown write option {name!r}; the s3 driver knows {known}")
            if target == "Tagging" and isinstance(value, Mapping):
                value = urlencode({str(k): str(v) for k, v in value.items()})
            params[target] = value
        return params

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        params = self._write_params(path, options)
        key = self._root_key + path
        if len(data) <= self.multipart_threshold:
            self._put(path, key, data, params)
            return
        view = memoryview(data)
        part = max(self.part_size, math.ceil(len(data) / _MAX_PARTS))
        bodies = (_ChunksBody([view[start : start + part]]) for start in range(0, len(data), part))
        self._multipart(path, key, params, bodies, self.max_concurrency)

    def _put(self, path: str, key: str, data: bytes, params: Mapping[str, Any]) -> None:
        """One PutObject of ``data`` (direct when the parameters allow it).

        Raises:
            FileAlreadyExists: the direct PUT carried ``If-None-Match`` and the key exists.
            UnableToWriteFile: S3 refused (its error is the cause) or could not be reached.
        """
        client = self.client
        direct = self.direct  # read once: another thread may switch the direct path off
        resent = False  # an earlier attempt may have stored ``data`` before its answer was lost
        if direct is not None:
            headers = direct.put_headers(params)
            if headers is not None:
                client = self._fallback
                try:
                    response = direct.send("PUT", key, headers, data)
                except Exception as cause:
                    self._direct_failed(cause, UnableToWriteFile, path)
                    resent = True
                else:
                    if 200 <= response.status_code < 300:
                        return
                    if response.status_code == 412 and "IfNoneMatch" in params:  # the exclusive create's refusal
                        raise _already_exists(path, None)
                    self._direct_missed(response.status_code)
        try:
            client.put_object(Bucket=self.bucket, Key=key, Body=data, **params)
        except Exception as cause:
            # A conditional PUT sent again is refused by its own first attempt: the key holding our
            # bytes (ETag) says so. Another writer's identical bytes look the same; either way the
            # key holds exactly what this create wrote.
            if (
                "IfNoneMatch" in params and _error_code(cause) in _EXISTS_CODES
                and (resent or _retried(cause)) and self._holds(key, data)
            ):
                return
            _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)

    def _holds(self, key: str, data: bytes) -> bool:
        """Whether ``key`` holds ``data`` by its ETag (the MD5 of a single PUT; False when S3 cannot tell,
        e.g. under SSE-KMS or SSE-C, whose ETags are no MD5)."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, **self._small_params)
        except Exception:
            return False
        return str(head.get("ETag", "")) == f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self._send_stream(path, stream, self._write_params(path, options), exclusive=False)

    def write_new(self, path: str, stream: Readable, options: WriteOptions) -> None:
        # If-None-Match: * makes S3 itself refuse the PUT (or the multipart completion) when the key
        # exists, so the check and the write are one step. A directory (a prefix) is checked first:
        # S3 has no condition for "no key under this prefix".
        params = self._write_params(path, options)
        if self.directory_exists(path):
            raise FileAlreadyExists.at(path, "a directory exists at this path")
        self._send_stream(path, stream, params, exclusive=True)

    def _send_stream(self, path: str, stream: Readable, params: Mapping[str, Any], *, exclusive: bool) -> None:
        """Upload ``stream``: one PUT when it fits in one part, else a multipart upload.

        ``exclusive`` sends ``If-None-Match: *`` with the PUT or the completion.

        Raises:
            FileAlreadyExists: ``exclusive`` and the key exists; nothing was written.
            UnableToWriteFile: the stream or S3 failed; nothing was written.
        """
        key = self._root_key + path
        parts = self._stream_parts(stream)
        try:
            held = [next(parts)]
        except Exception as cause:  # the source stream failed before anything was sent
            _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)
        condition = _IF_ABSENT if exclusive else {}
        try:
            if len(held[0]) < self.part_size:  # the whole stream fits in one part: one PUT
                self._put(path, key, held.pop().getvalue(), {**params, **condition})
                return

            def bodies() -> Iterator[_ChunksBody]:
                yield held.pop()  # hand the first part over without keeping a reference here
                yield from parts

            self._multipart(path, key, params, bodies(), self.max_concurrency, complete=condition)
        except UnableToWriteFile as error:
            refused = error.__cause__
            if exclusive and refused is not None and _error_code(refused) in _EXISTS_CODES:
                raise _already_exists(path, refused) from refused
            raise

    def delete(self, path: str) -> bool:
        # S3 deletes a missing key without complaint: the HEAD tells whether there was a file.
        if self._head_response(path, UnableToDeleteFile) is None:
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._root_key + path, **self._small_params)
        except Exception as cause:
            _fail(cause, UnableToDeleteFile, path, missing_is=None)
        return True

    def create_directory(self, path: str, options: WriteOptions) -> None:
        if not path:
            return
        self._refuse_long_key(f"{path}/{DIRECTORY_MARKER}", UnableToCreateDirectory)
        if self._head_response(path, UnableToCreateDirectory) is not None:
            raise UnableToCreateDirectory.at(path, "a file exists at this path")
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=f"{self._root_key}{path}/{DIRECTORY_MARKER}", Body=b"", **self._put_params
            )
        except Exception as cause:
            _fail(cause, UnableToCreateDirectory, path, missing_is=UnableToCreateDirectory)

    def delete_directory(self, path: str) -> bool:
        if not path:
            raise UnableToDeleteDirectory.at(path, "the disk root cannot be deleted")
        prefix = self._directory_key(path)
        found = False
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **self._small_params):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
                if not keys:
                    continue
                found = True
                for start in range(0, len(keys), 1000):
                    response = self.client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True},
                        **self._small_params,
                    )
                    errors = response.get("Errors") or []
                    if errors:
                        first = errors[0]
                        raise UnableToDeleteDirectory.at(
                            path, f"{len(errors)} objects were not deleted, e.g. {first.get('Key')}: "
                            f"{first.get('Code')} {first.get('Message')}"
                        )
        except Exception as cause:
            _fail(cause, UnableToDeleteDirectory, path, missing_is=UnableToDeleteDirectory)
        return found

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        self._copy(source, destination, options, UnableToCopyFile)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        self._copy(source, destination, options, UnableToMoveFile)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._root_key + source, **self._small_params)
        except Exception as cause:
            raise UnableToMoveFile.between(
                source, destination, f"copied, but the source could not be deleted: {_reason(cause)}", cause=cause
            ) from cause

    def _copy(
        self, source: str, destination: str, options: WriteOptions, error: type[UnableToCopyFile | UnableToMoveFile]
    ) -> None:
        head = self._head(source, error)  # FileNotFound when missing
        self._refuse_long_key(destination, error)
        if self._hidden(destination):
            raise error.between(source, destination, "the destination name is reserved for directory markers")
        params: dict[str, Any] = dict(self._copy_params)
        visibility = options.visibility
        if self.acls:
            if visibility is None:
                try:
                    visibility = self.visibility(source)  # keep the source's visibility, like Flysystem
                except FileNotFound:
                    raise
                except StorageError as failure:
                    raise error.between(source, destination, failure.reason) from failure.__cause__
            params["ACL"] = _canned_acl(visibility)
        source_ref = {"Bucket": self.bucket, "Key": self._root_key + source}
        target = self._root_key + destination
        try:
            if int(head.get("ContentLength") or 0) <= self.max_copy_size:
                self.client.copy_object(
                    Bucket=self.bucket, Key=target, CopySource=source_ref, MetadataDirective="COPY", **params
                )
            else:
                self._multipart_copy(source_ref, target, head, params)
        except Exception as cause:
            if _error_code(cause) in _MISSING_CODES:
                raise FileNotFound.at(source, "no file exists at this path", cause=cause) from cause
            raise error.between(source, destination, _reason(cause), cause=cause) from cause

    def set_visibility(self, path: str, visibility: str) -> None:
        if not self.acls:
            super().set_visibility(path, visibility)
        if self._hidden(path):
            raise FileNotFound.at(path, "no file exists at this path")
        try:
            self.client.put_object_acl(
                Bucket=self.bucket,
                Key=self._root_key + path,
                ACL=_canned_acl(visibility),
                **self._small_params,
            )
        except Exception as cause:
            _fail(cause, UnableToSetVisibility, path)


def _already_exists(path: str, cause: BaseException | None) -> FileAlreadyExists:
    """What an exclusive create that S3 refused raises."""
    return FileAlreadyExists.at(path, "a file already exists at this path", cause=cause)

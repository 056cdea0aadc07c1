"""Existence checks, reads, metadata and listings of the S3 backend."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, cast

from ...attributes import DirectoryAttributes, Entry, FileAttributes
from ...errors import (
    FileNotFound,
    StorageError,
    UnableToCheckExistence,
    UnableToListContents,
    UnableToReadFile,
    UnableToRetrieveMetadata,
)
from .base import _S3Base
from .bodies import _ObjectReader
from .common import MAX_KEY_BYTES, _decode_metadata, _plain_etag, _utc, _valid_relative
from .errors import _MISSING_CODES, _error_code, _fail
from .fast_path import _DirectRequests, _Miss

_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


class _S3Reading(_S3Base):
    """HEAD, GET, ACL reads and listings: one request per operation on the hot paths."""

    # -- existence --------------------------------------------------------------------

    def _head_response(self, path: str, error: type[StorageError]) -> dict[str, Any] | None:
        """One HEAD; None when nothing is there (a missing key, a marker, a directory)."""
        if not path or self._hidden(path) or len((self._root_key + path).encode()) > MAX_KEY_BYTES:
            return None  # nothing can be stored under a key S3 refuses
        key = self._root_key + path
        client = self.client
        direct = self.direct  # read once: another thread may switch the direct path off
        if direct is not None:
            client = self._fallback
            try:
                response = direct.send("HEAD", key)
            except Exception as cause:
                self._direct_failed(cause, error, path)
            else:
                if response.status_code == 200:
                    self._bucket_seen = True
                    return direct.head_fields(response.headers)
                if response.status_code == 404:
                    self._check_bucket(error, path)
                    return None
                self._direct_missed(response.status_code)
        try:
            found = cast("dict[str, Any]", client.head_object(Bucket=self.bucket, Key=key, **self._head_params))
        except Exception as cause:
            if _error_code(cause) in _MISSING_CODES:
                self._check_bucket(error, path)
                return None
            _fail(cause, error, path, missing_is=None)
        self._bucket_seen = True
        return found

    def _head(self, path: str, error: type[StorageError]) -> dict[str, Any]:
        """One HEAD; FileNotFound for a missing key, a marker or a directory."""
        head = self._head_response(path, error)
        if head is None:
            raise FileNotFound.at(path, "no file exists at this path")
        return head

    def file_exists(self, path: str) -> bool:
        return self._head_response(path, UnableToCheckExistence) is not None

    def directory_exists(self, path: str) -> bool:
        if not path:
            return True
        try:
            response = self.client.list_objects_v2(
                Bucket=self.bucket, Prefix=self._directory_key(path), MaxKeys=1, **self._small_params
            )
        except Exception as cause:
            _fail(cause, UnableToCheckExistence, path, missing_is=None)
        return bool(response.get("KeyCount") or response.get("Contents") or response.get("CommonPrefixes"))

    # -- reading ----------------------------------------------------------------------

    def read(self, path: str) -> bytes:
        if self._hidden(path):
            raise FileNotFound.at(path, "no file exists at this path")
        self._refuse_long_key(path, FileNotFound)
        key = self._root_key + path
        client = self.client
        direct = self.direct  # read once: another thread may switch the direct path off
        if direct is not None:
            client = self._fallback
            try:
                return self._direct_read(direct, key)
            except FileNotFoundError as missing:
                raise FileNotFound.at(path, "no file exists at this path", cause=missing) from missing
            except _Miss:
                pass
            except Exception as cause:
                self._direct_failed(cause, UnableToReadFile, path)
        try:
            body = client.get_object(Bucket=self.bucket, Key=key, **self._read_params)["Body"]
            try:
                return cast(bytes, body.read())
            finally:
                body.close()
        except Exception as cause:
            _fail(cause, UnableToReadFile, path)

    def _direct_read(self, direct: _DirectRequests, key: str) -> bytes:
        response = direct.send("GET", key, stream=True)
        raw = response.raw
        try:
            data = raw.read()  # the object, or a small XML error document
        finally:
            raw.release_conn()
        if response.status_code == 200:
            expected = response.headers.get("content-length")
            if expected is not None and int(expected) != len(data):
                raise _Miss("short read")
            return cast(bytes, data)
        if response.status_code == 404 and b"<Code>NoSuchKey</Code>" in data:
            raise FileNotFoundError(key)
        self._direct_missed(response.status_code)
        raise _Miss(response.status_code)

    def open_read(self, path: str) -> BinaryIO:
        if self._hidden(path):
            raise FileNotFound.at(path, "no file exists at this path")
        self._refuse_long_key(path, FileNotFound)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._root_key + path, **self._read_params)
        except Exception as cause:
            _fail(cause, UnableToReadFile, path)
        return cast(BinaryIO, _ObjectReader(self, path, response))

    def _ranged_body(self, path: str, start: int, etag: str | None) -> Any:
        extra = {"IfMatch": etag} if etag else {}
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=self._root_key + path, Range=f"bytes={start}-", **extra, **self._read_params
            )
        except Exception as cause:
            if _error_code(cause) in ("PreconditionFailed", "412"):
                raise UnableToReadFile.at(path, "the file changed while it was being read", cause=cause) from cause
            _fail(cause, UnableToReadFile, path, missing_is=UnableToReadFile)
        return response["Body"]

    def head(self, path: str) -> FileAttributes:
        """The attributes one HEAD gives (visibility left as None): size, time, type, metadata."""
        return self._attributes(path, self._head(path, UnableToRetrieveMetadata), None)

    def quick_stat(self, path: str) -> FileAttributes:
        return self.head(path)  # no GetObjectAcl: disk.fs.info shows no visibility

    def stat(self, path: str) -> FileAttributes:
        head = self._head(path, UnableToRetrieveMetadata)
        visibility = self.visibility(path) if self.acls else None
        return self._attributes(path, head, visibility)

    def _attributes(self, path: str, head: Mapping[str, Any], visibility: str | None) -> FileAttributes:
        md5 = None if head.get("ServerSideEncryption") == "aws:kms" or head.get("SSECustomerAlgorithm") else (
            _plain_etag(head.get("ETag"))
        )
        extra: dict[str, Any] = {"etag": str(head.get("ETag", "")).strip('"'),
                                 "storage_class": head.get("StorageClass") or "STANDARD"}
        for source, target in (
            ("VersionId", "version_id"),
            ("CacheControl", "cache_control"),
            ("ContentDisposition", "content_disposition"),
            ("ContentEncoding", "content_encoding"),
            ("ContentLanguage", "content_language"),
            ("ServerSideEncryption", "server_side_encryption"),
        ):
            if head.get(source):
                extra[target] = head[source]
        return FileAttributes(
            path,
            size=int(head.get("ContentLength") or 0),
            last_modified=_utc(head.get("LastModified")),
            mime_type=head.get("ContentType") or None,
            visibility=visibility,
            checksum=f"md5:{md5}" if md5 else None,
            metadata=_decode_metadata(head.get("Metadata") or {}),
            extra=extra,
        )

    def visibility(self, path: str) -> str:
        """``public`` when the ACL grants AllUsers READ, else ``private`` (one GetObjectAcl)."""
        if self._hidden(path):
            raise FileNotFound.at(path, "no file exists at this path")
        try:
            grants = self.client.get_object_acl(Bucket=self.bucket, Key=self._root_key + path, **self._small_params)
        except Exception as cause:
            _fail(cause, UnableToRetrieveMetadata, path)
        for grant in grants.get("Grants", ()):
            grantee = grant.get("Grantee", {})
            if grantee.get("URI") == _ALL_USERS and grant.get("Permission") in ("READ", "FULL_CONTROL"):
                return "public"
        return "private"

    def checksum(self, path: str, algorithm: str) -> str | None:
        if algorithm.lower() != "md5":
            return None
        attributes = self.head(path)
        if attributes.checksum and attributes.checksum.startswith("md5:"):
            return attributes.checksum[4:]
        return None

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        prefix = self._directory_key(path)
        root = self._root_key
        paginator = self.client.get_paginator("list_objects_v2")
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, **self._small_params}
        if not deep:
            arguments["Delimiter"] = "/"
        seen: set[str] = set()
        try:
            for page in paginator.paginate(**arguments):
                for common in page.get("CommonPrefixes", ()):
                    relative = str(common["Prefix"])[len(root) : -1]
                    if _valid_relative(relative) and relative not in seen:
                        seen.add(relative)
                        yield DirectoryAttributes(relative)
                for item in page.get("Contents", ()):
                    relative = str(item["Key"])[len(root) :]
                    if deep:
                        yield from self._implied_directories(relative, path, seen)
                    if relative.endswith("/") or not _valid_relative(relative) or self._hidden(relative):
                        continue
                    md5 = _plain_etag(item.get("ETag"))
                    yield FileAttributes(
                        relative,
                        size=int(item.get("Size") or 0),
                        last_modified=_utc(item.get("LastModified")),
                        checksum=f"md5:{md5}" if md5 else None,
                        extra={"storage_class": item.get("StorageClass") or "STANDARD"},
                    )
        except StorageError:
            raise
        except Exception as cause:
            _fail(cause, UnableToListContents, path, missing_is=UnableToListContents)

    @staticmethod
    def _implied_directories(relative: str, listed: str, seen: set[str]) -> Iterator[DirectoryAttributes]:
        """Directories between ``listed`` and the key ``relative`` not yet yielded."""
        parts = relative.rstrip("/").split("/")[:-1] if not relative.endswith("/") else relative.rstrip("/").split("/")
        depth = listed.count("/") + 1 if listed else 0
        for index in range(depth, len(parts)):
            directory = "/".join(parts[: index + 1])
            if directory in seen:
                continue
            if not _valid_relative(directory):
                return
            seen.add(directory)
            yield DirectoryAttributes(directory)

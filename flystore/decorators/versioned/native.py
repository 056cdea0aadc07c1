"""S3's own versions, on a bucket with versioning enabled.

Every PUT, copy and delete already makes a version (or a delete marker) on such
a bucket, so writes pass straight through; this module lists, reads, restores
and deletes versions with the bucket's version API. It reaches the S3 backend
through any ``scoped`` layers (their prefixes are pure key arithmetic) and talks
to its botocore client, the one place of this package that does.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO, cast

from ...attributes import WriteOptions
from ...backend import Backend
from ...errors import (
    StorageError,
    UnableToDeleteFile,
    UnableToListContents,
    UnableToReadFile,
    UnableToWriteFile,
    VersionNotFound,
)
from ..prefixed import PrefixedBackend
from .prune import plan_prune
from .version import Version

__all__ = ["NativeVersions", "find_s3"]

#: Keys per DeleteObjects request (S3's limit).
_DELETE_BATCH = 1000
#: S3's CopyObject limit; a larger version is restored by streaming it.
_MAX_COPY = 5 * 1024**3
_NO_VERSION = frozenset({"NoSuchVersion", "NoSuchKey", "404", "NotFound", "InvalidArgument", "400"})
_A_MARKER = frozenset({"MethodNotAllowed", "405"})


def _code(cause: BaseException) -> str:
    response = getattr(cause, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def find_s3(backend: Backend) -> tuple[Any, str] | None:
    """``(S3 backend, key prefix of the scoped layers above it)``, or None when S3 is not directly below."""
    prefix = ""
    while isinstance(backend, PrefixedBackend):
        prefix = f"{backend.prefix}/{prefix}"
        backend = backend.inner
    if getattr(backend, "name", None) == "s3" and all(
        hasattr(backend, attribute) for attribute in ("client", "bucket", "_root_key")
    ):
        return backend, prefix
    return None


def bucket_versioning(s3: Any) -> bool:
    """Whether the bucket has versioning enabled (not merely suspended).

    Raises:
        UnableToListContents: the bucket's versioning could not be read.
    """
    try:
        answer = s3.client.get_bucket_versioning(Bucket=s3.bucket)
    except Exception as cause:
        raise UnableToListContents.at("", f"could not read the versioning of bucket {s3.bucket!r}: {cause}",
                                      cause=cause) from cause
    return bool(answer.get("Status") == "Enabled")


class _Body(io.RawIOBase):
    """A version's body as a file object; transport errors become ``UnableToReadFile``."""

    def __init__(self, body: Any, path: str) -> None:
        super().__init__()
        self._body = body
        self._path = path

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._body.read(len(view))
        except Exception as cause:
            raise UnableToReadFile.at(self._path, f"reading the version failed: {cause}", cause=cause) from cause
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class NativeVersions:
    """The version API of one S3 bucket, for the paths of one disk."""

    def __init__(self, s3: Any, prefix: str) -> None:
        self.s3 = s3
        self.client = s3.client
        self.bucket: str = s3.bucket
        self._head = f"{s3._root_key}{prefix}"

    def _key(self, path: str) -> str:
        return self._head + path

    # -- listing -------------------------------------------------------------------------

    def _pages(self, prefix: str) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            try:
                page = cast("dict[str, Any]", self.client.list_object_versions(**arguments))
            except Exception as cause:
                raise UnableToListContents.at(prefix[len(self._head):], f"listing versions failed: {cause}",
                                              cause=cause) from cause
            yield page
            if not page.get("IsTruncated"):
                return
            arguments["KeyMarker"] = page.get("NextKeyMarker")
            arguments["VersionIdMarker"] = page.get("NextVersionIdMarker")

    def _grouped(self, prefix: str, exact: str | None) -> dict[str, list[Version]]:
        """Versions by key under ``prefix`` (only ``exact`` when given), newest first."""
        groups: dict[str, list[Version]] = {}
        for page in self._pages(prefix):
            passed = False
            for item in page.get("Versions") or ():
                passed |= self._add(groups, item, exact, deleted=False)
            for item in page.get("DeleteMarkers") or ():
                passed |= self._add(groups, item, exact, deleted=True)
            if passed:
                break  # keys come in order: the exact key's versions are all listed
        for versions in groups.values():
            # S3 lists versions and markers apart, each newest first; the latest leads either way.
            versions.sort(key=lambda version: (not version.is_latest, -version.last_modified.timestamp()))
        return groups

    def _add(self, groups: dict[str, list[Version]], item: dict[str, Any], exact: str | None, *,
             deleted: bool) -> bool:
        key = str(item["Key"])
        if exact is not None and key != exact:
            return key > exact
        etag = str(item.get("ETag") or "").strip('"').lower()
        checksum = f"md5:{etag}" if len(etag) == 32 and "-" not in etag else None
        groups.setdefault(key, []).append(Version(
            id=str(item["VersionId"]),
            path=key[len(self._head):],
            size=0 if deleted else int(item.get("Size") or 0),
            last_modified=cast(datetime, item["LastModified"]),
            checksum=None if deleted else checksum,
            is_deleted=deleted,
            is_latest=bool(item.get("IsLatest")),
        ))
        return False

    def versions(self, path: str) -> list[Version]:
        """Raises: UnableToListContents: the bucket could not be listed."""
        key = self._key(path)
        return self._grouped(key, key).get(key, [])

    def _find(self, path: str, version_id: str) -> Version:
        for version in self.versions(path):
            if version.id == version_id:
                return version
        raise VersionNotFound.at(path, f"no version {version_id!r} of this file")

    def _is_marker(self, path: str, version_id: str) -> bool:
        try:
            return self._find(path, version_id).is_deleted
        except StorageError:
            return False

    # -- reading ---------------------------------------------------------------------------

    def open_version(self, path: str, version_id: str) -> BinaryIO:
        """Raises: VersionNotFound: no such version of ``path`` (another path's id included), or a marker."""
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=self._key(path), VersionId=version_id, **self.s3._read_params
            )
        except Exception as cause:
            code = _code(cause)
            # S3 answers 405 for a delete marker; some S3-compatible services say "no such version".
            if code in _A_MARKER or (code in _NO_VERSION and self._is_marker(path, version_id)):
                raise VersionNotFound.at(path, f"version {version_id!r} is a delete marker; it has no content",
                                         cause=cause) from cause
            if code in _NO_VERSION:
                raise VersionNotFound.at(path, f"no version {version_id!r} of this file", cause=cause) from cause
            raise UnableToReadFile.at(path, f"reading version {version_id!r} failed: {cause}", cause=cause) from cause
        return cast(BinaryIO, io.BufferedReader(_Body(response["Body"], path), 1024 * 1024))

    def read_version(self, path: str, version_id: str) -> bytes:
        """Raises: VersionNotFound: no such version of ``path``, or it is a delete marker."""
        with self.open_version(path, version_id) as handle:
            return handle.read()

    # -- restoring and deleting ----------------------------------------------------------------

    def restore(self, path: str, version_id: str, visibility: str | None) -> None:
        """Copy the version onto the path: S3 makes it a new version, the latest.

        Raises:
            VersionNotFound: no such version of ``path``, or it is a delete marker.
            UnableToWriteFile: S3 refused the copy.
        """
        version = self._find(path, version_id)
        if version.is_deleted:
            raise VersionNotFound.at(path, f"version {version_id!r} is a delete marker; it has no content")
        if version.size > _MAX_COPY:
            with self.open_version(path, version_id) as handle:
                self._write_back(path, handle, visibility)
            return
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(path), **self.s3._copy_params,
                                     "CopySource": {"Bucket": self.bucket, "Key": self._key(path),
                                                    "VersionId": version_id}}
        if visibility is not None and self.s3.acls:
            arguments["ACL"] = "public-read" if visibility == "public" else "private"
        try:
            self.client.copy_object(**arguments)
        except Exception as cause:
            raise UnableToWriteFile.at(path, f"restoring version {version_id!r} failed: {cause}",
                                       cause=cause) from cause

    def _write_back(self, path: str, handle: BinaryIO, visibility: str | None) -> None:
        # Through the scoped layers' own key arithmetic: the S3 backend takes paths below its root.
        self.s3.write_stream(self._key(path)[len(self.s3._root_key):], handle, WriteOptions(visibility=visibility))

    def delete_version(self, path: str, version_id: str) -> Version:
        """Delete one version for good; deleting the latest makes the one before it current (S3's rule).

        Raises:
            VersionNotFound: no such version of ``path``.
            UnableToDeleteFile: S3 refused.
        """
        version = self._find(path, version_id)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(path), VersionId=version_id)
        except Exception as cause:
            raise UnableToDeleteFile.at(path, f"deleting version {version_id!r} failed: {cause}",
                                        cause=cause) from cause
        return version

    def prune(self, path: str, keep: int | None, cutoff: datetime | None, *, below: bool = False) -> int:
        """Delete what ``plan_prune`` picks for ``path`` and every path under it ("" is all);
        with ``below``, not for a file at ``path`` itself.

        Raises:
            UnableToListContents: the bucket could not be listed.
            UnableToDeleteFile: S3 refused a deletion (the batches before it are done).
        """
        key = self._key(path)
        groups = self._grouped(key, None)
        doomed: list[dict[str, str]] = []
        for name, versions in sorted(groups.items()):
            if path and (name != key or below) and not name.startswith(key + "/"):
                continue
            doomed.extend({"Key": name, "VersionId": version.id} for version in plan_prune(versions, keep, cutoff))
        for start in range(0, len(doomed), _DELETE_BATCH):
            batch = doomed[start : start + _DELETE_BATCH]
            try:
                answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except Exception as cause:
                raise UnableToDeleteFile.at(path, f"pruning versions failed: {cause}", cause=cause) from cause
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise UnableToDeleteFile.at(
                    str(first.get("Key", ""))[len(self._head):],
                    f"pruning versions failed: {first.get('Code')}: {first.get('Message')}",
                )
        return len(doomed)


"""``GcsBackend``: the primitives over one bucket (and optional key prefix).

Existence, reading, listing, deleting, copying, moving and visibility live here;
the constructor and request helpers in ``base.py``, uploads in ``uploads.py`` and
signed URLs in ``signing.py``.
"""

from __future__ import annotations

import base64
import contextlib
import posixpath
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from ...attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ...errors import (
    FileNotFound,
    StorageError,
    UnableToCheckExistence,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToListContents,
    UnableToMoveFile,
    UnableToProvideChecksum,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToSetVisibility,
)
from ..generic import DIRECTORY_MARKER, parse_time
from .common import _FIXED_FIELDS, _PREDEFINED_ACL, VISIBILITY_METADATA_KEY, _reason
from .readers import _ObjectReader
from .signing import _GcsSigning
from .uploads import _GcsUploads


class GcsBackend(_GcsUploads, _GcsSigning):
    """The primitives over one bucket (and optional key prefix) of Google Cloud Storage.

    Args:
        fs: a ``gcsfs.core.GCSFileSystem`` (listings cache off).
        bucket: the bucket name.
        prefix: a key prefix every path lives under (normalised, no slashes at the ends).
        signer: a filesystem whose credentials sign URLs (defaults to ``fs``).
        uniform_bucket_level_access: never send ACLs (the bucket has none);
            visibility is then recorded in metadata only.
        chunk_size: bytes per upload chunk and per ranged read (multiple of 256 KiB).
        public_base: base of public URLs (the endpoint, or storage.googleapis.com).
    """

    unsupported: frozenset[str] = frozenset()

    # -- existence -------------------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        with self._translated(UnableToCheckExistence, path):
            return self._get_object(path) is not None

    def directory_exists(self, path: str) -> bool:
        if not path:
            return True
        with self._translated(UnableToCheckExistence, path):
            page = next(self._pages(self._directory_prefix(path), None, max_results=1))
        return bool(page.get("items") or page.get("prefixes"))

    # -- reading ---------------------------------------------------------------------

    def _download(self, path: str, span: tuple[int, int] | None = None, generation: Any = None) -> bytes:
        """The object's bytes, or those in ``span`` (start, exclusive end), in one GET."""
        from gcsfs.core import quote

        url = f"{self.fs._location}/download/storage/v1/b/{quote(self.bucket)}/o/{quote(self._name(path))}"
        headers = {"Range": f"bytes={span[0]}-{span[1] - 1}"} if span is not None else {}
        _, content = self._call("GET", url, headers=headers, alt="media", generation=generation)
        return bytes(content)

    def read(self, path: str) -> bytes:
        if not path or posixpath.basename(path) == DIRECTORY_MARKER:
            raise FileNotFound.at(path, "no file exists at this path")
        self._refuse_long_name(path, FileNotFound)
        with self._translated(UnableToReadFile, path, missing=FileNotFound):
            return self._download(path)

    def open_read(self, path: str) -> BinaryIO:
        found = self._require_object(path, UnableToReadFile)
        return _ObjectReader(self, path, int(found.get("size") or 0), found.get("generation"))  # type: ignore[return-value]

    def stat(self, path: str) -> FileAttributes:
        return self.attributes(path, self._require_object(path, UnableToRetrieveMetadata))

    def attributes(self, path: str, info: Mapping[str, Any]) -> FileAttributes:
        metadata = {str(key): str(value) for key, value in (info.get("metadata") or {}).items() if value is not None}
        recorded = metadata.pop(VISIBILITY_METADATA_KEY, None)
        if recorded in _PREDEFINED_ACL:
            visibility = recorded
        else:  # written by something else: public when allUsers may read (if the ACL was returned)
            acl = info.get("acl") or []
            visibility = "public" if any(entry.get("entity") == "allUsers" for entry in acl) else "private"
        extra: dict[str, Any] = {
            snake: info[field] for snake, field in _FIXED_FIELDS.items() if info.get(field) is not None
        }
        md5 = _md5_hex(info.get("md5Hash"))
        if md5 is not None:
            extra["md5"] = md5
        for snake, field in (("crc32c", "crc32c"), ("etag", "etag"), ("generation", "generation"),
                             ("storage_class", "storageClass")):
            if info.get(field) is not None:
                extra[snake] = info[field]
        created = parse_time(info.get("timeCreated"))
        if created is not None:
            extra["created"] = created
        return FileAttributes(
            path,
            size=int(info.get("size") or 0),
            last_modified=parse_time(info.get("updated")) or created,
            mime_type=info.get("contentType") or None,
            visibility=visibility,
            checksum=f"md5:{md5}" if md5 else None,
            metadata=metadata,
            extra=extra,
        )

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        prefix = self._directory_prefix(path)
        seen: set[str] = set()
        with self._translated(UnableToListContents, path):
            for page in self._pages(prefix, None if deep else "/"):
                yield from self._page_entries(page, path, deep, seen)

    def _page_entries(self, page: Mapping[str, Any], path: str, deep: bool, seen: set[str]) -> Iterator[Entry]:
        for directory in page.get("prefixes") or ():
            relative = self._relative(str(directory))
            if relative and relative != path and relative not in seen:
                seen.add(relative)
                yield DirectoryAttributes(relative)
        for item in page.get("items") or ():
            name = str(item["name"])
            relative = self._relative(name)
            if not relative:
                continue  # a folder placeholder for the prefix itself
            if deep:
                # Every directory between ``path`` and the object is implied by it.
                parent = relative if name.endswith("/") else posixpath.dirname(relative)
                missing: list[str] = []
                while parent and parent != path and len(parent) > len(path) and parent not in seen:
                    missing.append(parent)
                    parent = posixpath.dirname(parent)
                for directory in reversed(missing):
                    seen.add(directory)
                    yield DirectoryAttributes(directory)
            if name.endswith("/") or relative == path or posixpath.basename(relative) == DIRECTORY_MARKER:
                continue  # folder placeholders and markers are never files
            yield self.attributes(relative, item)

    # -- writing (the uploads are in uploads.py) -------------------------------------

    def delete(self, path: str) -> bool:
        if not path or posixpath.basename(path) == DIRECTORY_MARKER:
            return False
        with self._translated(UnableToDeleteFile, path):
            try:
                self._call("DELETE", self._object_url(self._name(path)))
            except FileNotFoundError:
                if self._bucket_missing():
                    raise  # _translated: the bucket does not exist
                return False
        return True

    def create_directory(self, path: str, options: WriteOptions) -> None:
        if not path:
            return
        with self._translated(UnableToCreateDirectory, path):
            blocked = self._get_object(path) is not None
        if blocked:
            raise UnableToCreateDirectory.at(path, "a file exists at this path")
        marker = WriteOptions(mimetype="application/x-flystore-directory")
        with self._translated(UnableToCreateDirectory, path):
            self._simple_upload(self._resource(f"{path}/{DIRECTORY_MARKER}", marker), b"", None)

    def delete_directory(self, path: str) -> bool:
        if not path:
            raise UnableToDeleteDirectory.at(path, "the disk root cannot be deleted")
        import fsspec.asyn

        found = False
        with self._translated(UnableToDeleteDirectory, path):
            # Page by page: names are exact (gcsfs's rm would treat [ * ? as glob patterns).
            for page in self._pages(self._directory_prefix(path), None):
                names = [str(item["name"]) for item in page.get("items") or ()]
                found = found or bool(names)
                fsspec.asyn.sync(self.fs.loop, self._delete_objects, names)
        return found

    async def _delete_objects(self, names: list[str]) -> None:
        """Delete objects concurrently (a few at a time); already-missing ones are fine."""
        import asyncio

        limit = asyncio.Semaphore(16)

        async def delete(name: str) -> None:
            async with limit:
                try:
                    await self.fs._call("DELETE", self._object_url(name))
                except FileNotFoundError:
                    pass

        results = await asyncio.gather(*(delete(name) for name in names), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _rewrite(self, source: str, destination: str, generation: Any, acl: str | None) -> None:
        """Server-side copy (``rewriteTo``), repeated until the server says it is done."""
        from gcsfs.core import quote

        url = (
            f"b/{quote(self.bucket)}/o/{quote(self._name(source))}"
            f"/rewriteTo/b/{quote(self.bucket)}/o/{quote(self._name(destination))}"
        )
        token = None
        while True:
            out = self._call(
                "POST", url, headers={"Content-Type": "application/json"}, destinationPredefinedAcl=acl,
                sourceGeneration=generation, rewriteToken=token, json_out=True,
            )
            if out.get("done") is True:
                return
            token = out["rewriteToken"]

    def _copy_object(self, source: str, destination: str, options: WriteOptions,
                     error: type[UnableToCopyFile] | type[UnableToMoveFile]) -> dict[str, Any]:
        try:
            found = self._require_object(source, error)
            self._refuse_long_name(destination, error)
            self._refuse_directory(destination, error)
            recorded = (found.get("metadata") or {}).get(VISIBILITY_METADATA_KEY)
            visibility = options.visibility or (recorded if recorded in _PREDEFINED_ACL else None)
            with self._translated(error, source, missing=FileNotFound):
                self._rewrite(source, destination, found.get("generation"), self._acl(visibility))
                if options.visibility is not None and options.visibility != recorded:
                    self._patch_visibility(destination, found, options.visibility, acl=False)
        except FileNotFound:
            raise
        except StorageError as failure:
            raise error.between(source, destination, failure.reason) from failure.__cause__
        return found

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        self._copy_object(source, destination, options, UnableToCopyFile)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        found = self._copy_object(source, destination, options, UnableToMoveFile)
        try:
            self._call(
                "DELETE", self._object_url(self._name(source)), ifGenerationMatch=found.get("generation")
            )
        except FileNotFoundError:
            pass  # someone else deleted the source meanwhile: the move still happened
        except FileExistsError as cause:  # 412: the precondition failed
            raise UnableToMoveFile.between(
                source, destination, "the source changed during the move; it was copied but not deleted",
                cause=cause,
            ) from cause
        except Exception as cause:
            raise UnableToMoveFile.between(
                source, destination, f"copied, but the source could not be deleted: {_reason(cause)}", cause=cause
            ) from cause

    def _patch_visibility(self, path: str, found: Mapping[str, Any], visibility: str, *, acl: bool = True) -> None:
        # The whole custom-metadata map is sent: GCS merges it, some emulators replace it.
        metadata = dict(found.get("metadata") or {})
        metadata[VISIBILITY_METADATA_KEY] = visibility
        self._call(
            "PATCH", self._object_url(self._name(path)), json={"metadata": metadata},
            predefinedAcl=self._acl(visibility) if acl else None, json_out=True,
        )

    def set_visibility(self, path: str, visibility: str) -> None:
        found = self._require_object(path, UnableToSetVisibility)
        with self._translated(UnableToSetVisibility, path, missing=FileNotFound):
            self._patch_visibility(path, found, visibility)

    # -- capabilities ------------------------------------------------------------------

    def checksum(self, path: str, algorithm: str) -> str | None:
        if algorithm.lower() != "md5":
            return None
        return _md5_hex(self._require_object(path, UnableToProvideChecksum).get("md5Hash"))

    def public_url(self, path: str) -> str:
        from urllib.parse import quote

        return f"{self.public_base}/{quote(self.bucket)}/{quote(self._name(path), safe='/~')}"

    def close(self) -> None:
        """Close the aiohttp sessions gcsfs opened (safe to call twice; the disk can reopen)."""
        import fsspec.asyn

        for fs in (self.fs, self.signer):
            session = getattr(fs, "_session", None)
            if session is None:
                continue
            with contextlib.suppress(Exception):  # closing must never mask the caller's own error
                if not session.closed:
                    fsspec.asyn.sync(fs.loop, session.close, timeout=10)
            fs._session = None


def _md5_hex(value: Any) -> str | None:
    if not value:
        return None
    try:
        return base64.b64decode(str(value)).hex()
    except ValueError:
        return None

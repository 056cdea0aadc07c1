"""The ``gcs`` driver: Google Cloud Storage through gcsfs.

The primitives speak the GCS JSON API through gcsfs's authenticated, retrying
request layer (``fs.call``) instead of gcsfs's higher-level file objects,
because flystore needs things those do not do:

- **Visibility at upload time.** ``GCSFile`` accepts ``acl=`` but never sends
  it; flystore's own uploads (multipart up to ``chunk_size``, resumable above
  it) carry ``predefinedAcl`` (``publicRead``/``private``) in the upload
  request, so an object is never briefly visible with the wrong ACL. The
  visibility is also recorded as the custom metadata key
  ``flystore-visibility``, which is what ``get_visibility`` reads: it
  round-trips on emulators (which ignore ACLs) and on uniform bucket-level
  access buckets (where ACLs do not exist; set
  ``uniform_bucket_level_access: true`` and no ACL is sent).
- **Bounded memory.** Uploads hold at most one chunk (8 MiB by default) plus
  one read of the source; reads are ranged GETs of at most ``chunk_size``
  bytes, pinned to the generation seen when the file was opened.
- **Moves without ``moveTo``.** A move is a server-side rewrite and a delete
  guarded by ``ifGenerationMatch``; it works on every GCS-compatible server.
- **Empty directories** are hidden ``.flystore-directory`` marker objects.

``temporary_url`` returns a V4 signed URL made with service-account
credentials (``key_file``), signed locally.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import mimetypes
import os
import posixpath
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, BinaryIO

from ..attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ..backend import Readable
from ..disk import COMMON_OPTIONS, FilesystemAdapter
from ..errors import (
    DriverNotInstalled,
    FileNotFound,
    InvalidConfiguration,
    InvalidPath,
    StorageError,
    UnableToCheckExistence,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToGenerateTemporaryUrl,
    UnableToListContents,
    UnableToMoveFile,
    UnableToProvideChecksum,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToSetVisibility,
    UnableToWriteFile,
)
from ..paths import normalize
from ._readers import PositionedReader
from .generic import DIRECTORY_MARKER, FsspecBackend, parse_time

# gcsfs >= 2025 swaps in an experimental filesystem that tries a gRPC call per
# bucket (about 60 s against anything but Google) unless this is off. It is read
# when gcsfs is first imported, which only ever happens lazily below.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

__all__ = ["GcsBackend", "GoogleCloudStorageAdapter", "VISIBILITY_METADATA_KEY", "create"]

#: Custom-metadata key recording a file's visibility.
VISIBILITY_METADATA_KEY = "flystore-visibility"
_PREDEFINED_ACL = {"public": "publicRead", "private": "private"}
_GRANULE = 256 * 1024  # resumable chunks must be multiples of 256 KiB
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
_READ_SIZE = 1024 * 1024
_MAX_SIGNED_SECONDS = 7 * 24 * 3600  # V4 signatures live at most 7 days
GOOGLE_STORAGE_URL = "https://storage.googleapis.com"

# Writable object fields besides contentType, by the snake_case name users give.
_FIXED_FIELDS = {
    "cache_control": "cacheControl",
    "content_disposition": "contentDisposition",
    "content_encoding": "contentEncoding",
    "content_language": "contentLanguage",
    "custom_time": "customTime",
}
_CONTENT_TYPE_KEYS = frozenset({"content_type", "mimetype", "mime_type"})
_SIGNING_OPTIONS = frozenset(
    {"response_disposition", "response_type", "content_type", "headers", "query_parameters"}
)


def _snake(key: str) -> str:
    """``Cache-Control``, ``cacheControl`` and ``cache_control`` all become ``cache_control``."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).replace("-", "_").lower()


def _guess_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(posixpath.basename(path), strict=False)
    return guessed or "application/octet-stream"


def _reason(cause: BaseException) -> str:
    text = str(cause).strip() or type(cause).__name__
    return text if type(cause).__name__ in text else f"{type(cause).__name__}: {text}"


class GcsBackend(FsspecBackend):
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

    def __init__(
        self,
        fs: Any,
        bucket: str,
        prefix: str = "",
        *,
        signer: Any = None,
        uniform_bucket_level_access: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        public_base: str | None = None,
    ) -> None:
        super().__init__(
            fs,
            f"{bucket}/{prefix}" if prefix else bucket,
            protocol_name="gcs",
            directory_markers=True,
            atomic_writes=False,
        )
        self.bucket = bucket
        self.prefix = prefix
        self.signer = signer
        self.uniform_bucket_level_access = uniform_bucket_level_access
        self.chunk_size = chunk_size
        self.public_base = (public_base or GOOGLE_STORAGE_URL).rstrip("/")

    # -- names and requests ----------------------------------------------------------

    def _name(self, path: str) -> str:
        """The object name of a disk path."""
        if not path:
            return self.prefix
        return f"{self.prefix}/{path}" if self.prefix else path

    def _directory_prefix(self, path: str) -> str:
        name = self._name(path)
        return f"{name}/" if name else ""

    def _relative(self, key: str) -> str:
        """The disk path of an object name (``""`` for the prefix itself)."""
        key = key.rstrip("/")
        if not self.prefix:
            return key
        if key == self.prefix:
            return ""
        return key[len(self.prefix) + 1 :] if key.startswith(f"{self.prefix}/") else key

    def _object_url(self, name: str) -> str:
        from gcsfs.core import quote

        return f"b/{quote(self.bucket)}/o/{quote(name)}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One JSON API request through gcsfs (auth, retries, HTTP errors as exceptions)."""
        return self.fs.call(method, path, **kwargs)

    def _acl(self, visibility: str | None) -> str | None:
        if visibility is None or self.uniform_bucket_level_access:
            return None
        return _PREDEFINED_ACL[visibility]

    @contextlib.contextmanager
    def _translated(
        self, error: type[StorageError], path: str, *, missing: type[StorageError] | None = None,
        missing_reason: str | None = None,
    ) -> Iterator[None]:
        """Map gcsfs/aiohttp exceptions to ``error``; a 404 becomes ``missing`` (or ``error``)."""
        try:
            yield
        except StorageError:
            raise
        except FileNotFoundError as cause:
            if missing is not None:
                raise missing.at(path, "no file exists at this path", cause=cause) from cause
            reason = missing_reason or f"the bucket {self.bucket!r} does not exist"
            raise error.at(path, reason, cause=cause) from cause
        except Exception as cause:  # the boundary where any backend exception is mapped
            raise error.at(path, _reason(cause), cause=cause) from cause

    def _get_object(self, path: str) -> dict[str, Any] | None:
        """The object resource at ``path``, or None (markers are never files)."""
        if not path or posixpath.basename(path) == DIRECTORY_MARKER:
            return None
        try:
            return dict(self._call("GET", self._object_url(self._name(path)), json_out=True))
        except FileNotFoundError:
            return None

    def _require_object(self, path: str, error: type[StorageError]) -> dict[str, Any]:
        with self._translated(error, path):
            found = self._get_object(path)
        if found is None:
            raise FileNotFound.at(path, "no file exists at this path")
        return found

    def _pages(self, prefix: str, delimiter: str | None, max_results: int | None = None) -> Iterator[dict[str, Any]]:
        """Listing pages of the bucket under ``prefix`` (follows ``nextPageToken``)."""
        from gcsfs.core import quote

        token: str | None = None
        while True:
            page = self._call(
                "GET",
                f"b/{quote(self.bucket)}/o",
                json_out=True,
                prefix=prefix or None,
                delimiter=delimiter,
                pageToken=token,
                maxResults=max_results,
            )
            yield page
            token = page.get("nextPageToken")
            if not token or max_results is not None:
                return

    # -- existence -------------------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        with self._translated(UnableToCheckExistence, path):
            return self._get_object(path) is not None

    def directory_exists(self, path: str) -> bool:
        if not path:
            return True
        with self._translated(UnableToCheckExistence, path):
            try:
                page = next(self._pages(self._directory_prefix(path), None, max_results=1))
            except FileNotFoundError:
                return False  # no bucket: nothing exists in it
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

    # -- writing ---------------------------------------------------------------------

    def _resource(self, path: str, options: WriteOptions) -> dict[str, Any]:
        """The object resource sent with an upload: name, type, ACL tag, custom and fixed metadata."""
        resource: dict[str, Any] = {
            "name": self._name(path),
            "contentType": options.mimetype or _guess_type(path),
        }
        metadata = {key: value for key, value in options.metadata.items() if key != VISIBILITY_METADATA_KEY}
        if options.visibility is not None:
            metadata[VISIBILITY_METADATA_KEY] = options.visibility
        if metadata:
            resource["metadata"] = metadata
        for key, value in options.extra.items():
            field = _FIXED_FIELDS.get(_snake(str(key)))
            if field is not None and value is not None:
                resource[field] = value.isoformat() if isinstance(value, datetime) else str(value)
        return resource

    def _simple_upload(self, resource: Mapping[str, Any], data: bytes | memoryview, acl: str | None) -> dict[str, Any]:
        """One multipart request: metadata and bytes together (files up to ``chunk_size``)."""
        from gcsfs.core import quote

        boundary = f"flystore-{uuid.uuid4().hex}"
        body = _chunk_buffer()
        body.write(
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{json.dumps(resource)}\r\n"
            f"--{boundary}\r\nContent-Type: {resource['contentType']}\r\n\r\n".encode()
        )
        body.write(data)
        body.write(f"\r\n--{boundary}--\r\n".encode())
        result = self._call(
            "POST",
            f"{self.fs._location}/upload/storage/v1/b/{quote(self.bucket)}/o",
            uploadType="multipart",
            predefinedAcl=acl,
            headers={"Content-Type": f'multipart/related; boundary="{boundary}"'},
            data=body,
            json_out=True,
        )
        return dict(result)

    def _upload(self, path: str, options: WriteOptions) -> _Upload:
        return _Upload(self, path, self._resource(path, options), self._acl(options.visibility))

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self._refuse_directory(path, UnableToWriteFile)
        if len(data) <= self.chunk_size:
            with self._translated(UnableToWriteFile, path):
                self._simple_upload(self._resource(path, options), data, self._acl(options.visibility))
            return
        upload = self._upload(path, options)
        try:
            view = memoryview(data)
            for offset in range(0, len(data), self.chunk_size):
                upload.write(view[offset : offset + self.chunk_size])
            upload.finish()
        except BaseException:
            upload.abort()
            raise

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self._refuse_directory(path, UnableToWriteFile)
        upload = self._upload(path, options)
        try:
            while chunk := stream.read(_READ_SIZE):
                upload.write(chunk)
            upload.finish()
        except BaseException:
            upload.abort()
            raise

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO:
        self._refuse_directory(path, UnableToWriteFile)
        return _UploadWriter(self._upload(path, options))  # type: ignore[return-value]

    def delete(self, path: str) -> bool:
        if not path or posixpath.basename(path) == DIRECTORY_MARKER:
            return False
        with self._translated(UnableToDeleteFile, path):
            try:
                self._call("DELETE", self._object_url(self._name(path)))
            except FileNotFoundError:
                return False
        return True

    def create_directory(self, path: str, options: WriteOptions) -> None:
        if not path:
            return
        if self.file_exists(path):
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
            try:
                # Page by page: names are exact (gcsfs's rm would treat [ * ? as glob patterns).
                for page in self._pages(self._directory_prefix(path), None):
                    names = [str(item["name"]) for item in page.get("items") or ()]
                    found = found or bool(names)
                    fsspec.asyn.sync(self.fs.loop, self._delete_objects, names)
            except FileNotFoundError:
                return False  # no bucket
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


def _can_sign(fs: Any) -> bool:
    try:
        from google.auth.credentials import Signing
    except ImportError:  # pragma: no cover - google-auth comes with gcsfs
        return False
    return isinstance(getattr(getattr(fs, "credentials", None), "credentials", None), Signing)


class _Upload:
    """One object upload in bounded memory.

    Up to ``chunk_size`` bytes it is a single multipart request; beyond that a
    resumable session that sends ``chunk_size`` pieces as they fill. The object
    appears only when ``finish()`` succeeds; ``abort()`` cancels the session.

    Bytes collect in a ``BytesIO`` that owns its buffer, so a chunk is handed to
    aiohttp without another copy: memory stays near one chunk plus one write.
    """

    def __init__(self, backend: GcsBackend, path: str, resource: dict[str, Any], acl: str | None) -> None:
        self.backend = backend
        self.path = path
        self.resource = resource
        self.acl = acl
        self.chunk = _chunk_buffer()
        self.offset = 0
        self.location: str | None = None
        self.done = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.done:
            raise UnableToWriteFile.at(self.path, "the upload is already finished")
        view = memoryview(data).cast("B")
        size = self.backend.chunk_size
        while view:
            room = size - self.chunk.tell()
            if room == 0:
                # A full chunk with more bytes behind it: it is not the last one.
                self._send(final=False)
                continue
            self.chunk.write(view[:room])
            view = view[room:]

    def finish(self) -> None:
        if self.done:
            return
        with self.backend._translated(UnableToWriteFile, self.path):
            if self.location is None:
                with self.chunk.getbuffer() as collected:
                    self.backend._simple_upload(self.resource, collected, self.acl)
            else:
                while not self._send(final=True):
                    pass
        self.done = True
        self.chunk = _chunk_buffer()

    def _start(self) -> str:
        from gcsfs.core import quote

        backend = self.backend
        headers, _ = backend._call(
            "POST",
            f"{backend.fs._location}/upload/storage/v1/b/{quote(backend.bucket)}/o",
            uploadType="resumable",
            name=self.resource["name"],
            predefinedAcl=self.acl,
            json=self.resource,
            headers={"X-Upload-Content-Type": self.resource["contentType"]},
        )
        location = headers["Location"]
        return str(location[0] if isinstance(location, list) else location)

    def _send(self, *, final: bool) -> bool:
        """Send the collected chunk; True once the object is complete."""
        size = self.chunk.seek(0, io.SEEK_END)
        with self.backend._translated(UnableToWriteFile, self.path):
            if self.location is None:
                self.location = self._start()
            if final:
                total = self.offset + size
                content_range = f"bytes {self.offset}-{total - 1}/{total}" if size else f"bytes */{total}"
            else:
                content_range = f"bytes {self.offset}-{self.offset + size - 1}/*"
            self.chunk.seek(0)
            headers, _ = self.backend._call(
                "PUT",
                self.location,
                headers={"Content-Range": content_range, "Content-Type": self.resource["contentType"]},
                data=self.chunk,
            )
        if final and "Range" not in headers:
            return True  # 200/201: the object is published
        # 308: the server says how much it holds; keep (and resend) whatever it does not.
        received = headers.get("Range")
        committed = int(str(received).rsplit("-", 1)[1]) + 1 if received else 0
        accepted = committed - self.offset
        if accepted <= 0 or accepted > size or (final and accepted == size):
            raise UnableToWriteFile.at(self.path, f"the server reported an unexpected upload offset ({received})")
        rest = self.chunk.getbuffer()[accepted:size]
        try:
            self.chunk = _chunk_buffer(rest)
        finally:
            rest.release()
        self.offset = committed
        return False

    def abort(self) -> None:
        """Give up: nothing is published; the resumable session (if any) is cancelled."""
        if self.done:
            return
        self.done = True
        self.chunk = _chunk_buffer()
        location, self.location = self.location, None
        if location is not None:
            with contextlib.suppress(Exception):
                _cancel_session(self.backend.fs, location)


def _chunk_buffer(initial: memoryview | None = None) -> io.BytesIO:
    """An upload buffer aiohttp can send without copying and gcsfs can rewind for a retry."""
    from gcsfs.core import UnclosableBytesIO

    buffer: io.BytesIO = UnclosableBytesIO()
    if initial is not None:
        buffer.write(initial)
    return buffer


def _cancel_session(fs: Any, location: str) -> None:
    """DELETE a resumable session once, without gcsfs's retries (servers answer 499)."""
    import aiohttp
    import fsspec.asyn

    async def cancel() -> None:
        session = await fs._set_session()
        async with session.request(
            "DELETE", location, headers=fs._get_headers(None), timeout=aiohttp.ClientTimeout(total=10)
        ) as response:
            await response.read()

    fsspec.asyn.sync(fs.loop, cancel, timeout=15)


class _UploadWriter(io.RawIOBase):
    """The native writer behind ``disk.open(path, "wb")``: publishes on ``close()``."""

    def __init__(self, upload: _Upload) -> None:
        super().__init__()
        self._upload = upload

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._upload.write(view)
        return len(view)

    def abort(self) -> None:
        """Discard everything written; the stored file stays as it was."""
        if not self.closed:
            self._upload.abort()
            super().close()

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._upload.finish()
        except BaseException:
            self._upload.abort()
            raise
        finally:
            super().close()

    def __del__(self) -> None:
        # An abandoned writer must not publish half a file.
        if not getattr(self, "closed", True):
            self.abort()


class _ObjectReader(PositionedReader):
    """A seekable reader of one object generation, fetched in ranged GETs of ``chunk_size``.

    It keeps one block at a time (dropped before the next is fetched), so memory
    stays near two blocks however large the object is; ``read(n)`` returns
    ``n`` bytes unless the end of the file comes first.
    """

    def __init__(self, backend: GcsBackend, path: str, size: int, generation: Any) -> None:
        super().__init__(size)
        self._backend = backend
        self._path = path
        self._generation = generation
        self._block = b""
        self._block_start = 0

    def _piece(self, limit: int) -> bytes:
        """Up to ``limit`` bytes at the current position, from the cached block or a new one."""
        offset = self._position - self._block_start
        if not 0 <= offset < len(self._block):
            if self._position >= self._size:
                return b""
            self._block = b""  # let the old block go before the next one arrives
            end = min(self._size, self._position + self._backend.chunk_size)
            with self._backend._translated(UnableToReadFile, self._path, missing=FileNotFound):
                self._block = self._backend._download(self._path, (self._position, end), self._generation)
            self._block_start = self._position
            offset = 0
            if not self._block:
                raise UnableToReadFile.at(self._path, "the file changed while it was being read")
        piece = self._block[offset : offset + limit]
        self._position += len(piece)
        return piece

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed file")
        if size is None or size < 0:
            size = max(0, self._size - self._position)
        first = self._piece(size)
        if len(first) == size or not first:
            return first
        pieces = [first]
        wanted = size - len(first)
        while wanted and (piece := self._piece(wanted)):
            pieces.append(piece)
            wanted -= len(piece)
        return b"".join(pieces)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._block = b""
        super().close()


# -- configuration -----------------------------------------------------------------------

_GCS_OPTIONS = frozenset(
    {
        "bucket",
        "project_id",
        "key_file",
        "credentials_path",
        "token",
        "endpoint",
        "prefix",
        "path_prefix",
        "create_bucket",
        "uniform_bucket_level_access",
        "timeout",
        "chunk_size",
    }
)


def _option(options: Mapping[str, Any], name: str, key: str, types: type | tuple[type, ...], what: str) -> Any:
    value = options.get(key)
    if value is None:
        return None
    allowed = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        raise InvalidConfiguration(f"must be {what}, not {type(value).__name__}", option=key, disk=name)
    return value


def _aliased(options: Mapping[str, Any], name: str, key: str, alias: str) -> Any:
    value, other = options.get(key), options.get(alias)
    if value is not None and other is not None and value != other:
        raise InvalidConfiguration(f"'{key}' and its alias '{alias}' disagree; give one", option=alias, disk=name)
    return value if value is not None else other


def _build(name: str, options: Mapping[str, Any]) -> tuple[GcsBackend, dict[str, Any]]:
    """Validate the options and build the backend; returns it with the disk's common config."""
    unknown = set(options) - _GCS_OPTIONS - COMMON_OPTIONS
    if unknown:
        raise InvalidConfiguration(
            f"unknown option for the gcs driver (known: {', '.join(sorted(_GCS_OPTIONS))})",
            option=sorted(unknown)[0], disk=name,
        )
    bucket = options.get("bucket")
    if not isinstance(bucket, str) or not bucket or "/" in bucket:
        raise InvalidConfiguration("a gcs disk needs 'bucket', a bucket name without '/'", option="bucket", disk=name)
    raw_prefix = _aliased(options, name, "prefix", "path_prefix")
    if raw_prefix is not None and not isinstance(raw_prefix, str):
        raise InvalidConfiguration("must be a string", option="prefix", disk=name)
    try:
        prefix = normalize(raw_prefix or "")
    except InvalidPath as cause:
        raise InvalidConfiguration(f"not a valid key prefix: {cause.reason}", option="prefix", disk=name) from cause
    key_file = _aliased(options, name, "key_file", "credentials_path")
    if key_file is not None and not isinstance(key_file, (str, os.PathLike, dict)):
        raise InvalidConfiguration("must be a path to a service-account JSON file, or its contents as a dict",
                                   option="key_file", disk=name)
    endpoint = _option(options, name, "endpoint", str, "a URL such as http://127.0.0.1:9023")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise InvalidConfiguration("must start with http:// or https://", option="endpoint", disk=name)
    endpoint = endpoint.rstrip("/") if endpoint else None
    project = _option(options, name, "project_id", str, "a string")
    timeout = _option(options, name, "timeout", (int, float), "a number of seconds")
    if timeout is not None and timeout <= 0:
        raise InvalidConfiguration("must be a positive number of seconds", option="timeout", disk=name)
    chunk_size = _option(options, name, "chunk_size", int, "a number of bytes")
    chunk_size = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
    if chunk_size < _GRANULE or chunk_size % _GRANULE:
        raise InvalidConfiguration("must be a positive multiple of 256 KiB (262144 bytes)", option="chunk_size",
                                   disk=name)
    for flag in ("create_bucket", "uniform_bucket_level_access"):
        _option(options, name, flag, bool, "true or false")

    try:
        import aiohttp
        from gcsfs.core import GCSFileSystem
    except ImportError as cause:
        raise DriverNotInstalled.for_extra("gcs", "the gcs driver", disk=name, cause=cause) from cause

    common: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    if endpoint is not None:
        common["endpoint_url"] = endpoint
    if project is not None:
        common["project"] = project
    if timeout is not None:
        common["requests_timeout"] = aiohttp.ClientTimeout(total=float(timeout))
    credential = os.fspath(key_file) if isinstance(key_file, os.PathLike) else key_file
    token = options.get("token")
    try:
        fs = GCSFileSystem(token=token if token is not None else credential, **common)
        signer = GCSFileSystem(token=credential, **common) if token is not None and credential is not None else None
    except Exception as cause:  # gcsfs raises whatever loading the credentials raised
        option = "key_file" if credential is not None else "token"
        raise InvalidConfiguration(f"the credentials could not be loaded: {_reason(cause)}",
                                   option=option, disk=name) from cause
    backend = GcsBackend(
        fs,
        bucket,
        prefix,
        signer=signer,
        uniform_bucket_level_access=bool(options.get("uniform_bucket_level_access")),
        chunk_size=chunk_size,
        public_base=endpoint,
    )
    if options.get("create_bucket"):
        try:
            _ensure_bucket(backend)
        except BaseException:
            backend.close()
            raise
    config = {key: value for key, value in options.items() if key in COMMON_OPTIONS}
    return backend, config


def _ensure_bucket(backend: GcsBackend) -> None:
    """Create the bucket when it does not exist (``create_bucket: true``; tests, emulators)."""
    from gcsfs.core import quote
    from gcsfs.retry import HttpError

    with backend._translated(UnableToCreateDirectory, "", missing_reason="the bucket could not be created"):
        try:
            backend._call("GET", f"b/{quote(backend.bucket)}", json_out=True)
            return
        except FileNotFoundError:
            pass
        try:
            backend._call("POST", "b", json={"name": backend.bucket}, project=backend.fs.project or None)
        except HttpError as cause:
            if getattr(cause, "code", None) != 409:  # 409: someone else just made it
                raise


class GoogleCloudStorageAdapter(FilesystemAdapter):
    """A disk on a Google Cloud Storage bucket.

    Args:
        bucket: the bucket name (or give it in ``options``).
        name: the disk's name.
        manager: the manager this disk belongs to.
        **options: the gcs driver options (``project_id``, ``key_file``/``credentials_path``,
            ``token``, ``endpoint``, ``prefix``, ``create_bucket``,
            ``uniform_bucket_level_access``, ``timeout``, ``chunk_size``) and the
            common disk options (``url``, ``visibility``, ...).

    Raises:
        InvalidConfiguration: a missing bucket or a bad option.
        DriverNotInstalled: gcsfs is missing (``pip install "flystore[gcs]"``).
    """

    def __init__(self, bucket: str | None = None, *, name: str = "gcs", manager: Any = None, **options: Any) -> None:
        if bucket is not None:
            options["bucket"] = bucket
        backend, config = _build(name, options)
        super().__init__(backend, name=name, config=config, manager=manager)

    def put_with_metadata(self, path: str, data: Any, metadata: Mapping[str, Any]) -> str:
        """``put`` with GCS object metadata in one mapping; returns the path.

        ``content_type``/``Content-Type``, ``cache_control``/``Cache-Control``,
        ``content_disposition``, ``content_encoding``, ``content_language``,
        ``custom_time`` and ``visibility`` are GCS fields (any spelling:
        snake_case, camelCase or header form); every other key is custom
        metadata, returned by ``metadata(path)["metadata"]``.

        Raises:
            UnableToWriteFile: nothing was written.
        """
        mimetype: str | None = None
        visibility: str | None = None
        fixed: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for key, value in metadata.items():
            snake = _snake(str(key))
            if snake in _CONTENT_TYPE_KEYS:
                mimetype = None if value is None else str(value)
            elif snake == "visibility":
                visibility = None if value is None else str(value)
            elif snake in _FIXED_FIELDS:
                fixed[snake] = value
            else:
                custom[str(key)] = value
        return self.put(path, data, mimetype=mimetype, visibility=visibility, metadata=custom or None, **fixed)


def create(name: str, options: dict[str, Any], manager: Any) -> GoogleCloudStorageAdapter:
    """Build a gcs disk from its options (``bucket`` required)."""
    # The disk's name is the configured one, whatever a ``name`` option says.
    options = {key: value for key, value in options.items() if key != "name"}
    return GoogleCloudStorageAdapter(name=name, manager=manager, **options)

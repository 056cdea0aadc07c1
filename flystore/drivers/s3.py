"""The ``s3`` driver: Amazon S3 and every S3-compatible service (MinIO, R2, Spaces ...).

Every primitive speaks to S3 through one thread-safe botocore client, with one
request per operation on the hot paths:

- ``read`` is a single GET (a missing key or a "directory" is ``NoSuchKey``,
  which is ``FileNotFound`` either way: no HEAD first);
- ``file_exists`` and ``stat`` are a single HEAD (``stat`` adds the ACL read
  when visibility is on);
- ``open_read`` streams the body of one GET and re-opens with a ``Range``
  (guarded by ``If-Match``) only after a seek;
- ``write`` is one PUT up to ``multipart_threshold``, a concurrent multipart
  upload above it; ``write_stream`` buffers one part at a time and goes
  multipart only when the stream is longer than one part, so memory stays
  at ``part_size * max_concurrency`` whatever the size.

Where botocore would add nothing to the request (``checksums:
when_required``, the default for custom endpoints, and no SSE-C or
requester-pays parameters), single-object GET/HEAD/PUT skip botocore's
per-call pipeline: they are signed with botocore's SigV4 signer and sent on
the client's own connection pool (``_DirectRequests``); any answer but a
plain success or "not found" is handed back to botocore, which retries and
reports as usual. ``fast_path: false`` turns this off.

The s3fs filesystem built from the same options stays available as
``backend.fs`` for fsspec consumers and async callers. Visibility is the
object ACL (``public-read``/``private``); custom metadata is ``x-amz-meta-*``.
"""

from __future__ import annotations

import base64
import contextlib
import io
import math
import mimetypes
import posixpath
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from email.header import decode_header, make_header
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, cast
from urllib.parse import quote, urlencode, urlsplit

from ..attributes import DirectoryAttributes, Entry, FileAttributes, WriteOptions
from ..backend import Readable
from ..disk import COMMON_OPTIONS, FilesystemAdapter, _names_the_disk
from ..errors import (
    DriverNotInstalled,
    FileNotFound,
    InvalidConfiguration,
    InvalidPath,
    ReadOnlyDisk,
    StorageError,
    UnableToCheckExistence,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToGenerateTemporaryUrl,
    UnableToListContents,
    UnableToMoveFile,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToSetVisibility,
    UnableToWriteFile,
)
from ..paths import normalize
from ._readers import PositionedReader
from .generic import DIRECTORY_MARKER, TEMP_PREFIX, FsspecBackend

if TYPE_CHECKING:
    from ..manager import StorageManager

__all__ = ["S3Backend", "S3FilesystemAdapter", "create"]

MiB = 1024 * 1024
_READ_CHUNK = MiB
_MAX_PARTS = 10_000
_MIN_PART = 5 * MiB
_MAX_PRESIGN_SECONDS = 7 * 24 * 3600
_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchVersion"})

# Options of this driver (on top of flystore.disk.COMMON_OPTIONS).
S3_OPTIONS = frozenset(
    {
        "bucket",
        "region",
        "key",
        "secret",
        "token",
        "endpoint",
        "prefix",
        "use_ssl",
        "options",
        "use_path_style_endpoint",
        "create_bucket",
        "retries",
        "retry_mode",
        "timeout",
        "connect_timeout",
        "read_timeout",
        "part_size",
        "multipart_threshold",
        "max_concurrency",
        "acls",
        "checksums",
        "anonymous",
        "fast_path",
    }
)

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
# What a server-side copy may carry (metadata and Content-Type are copied from the source).
_COPY_PARAMS = frozenset(
    {
        "ServerSideEncryption",
        "SSEKMSKeyId",
        "SSEKMSEncryptionContext",
        "BucketKeyEnabled",
        "StorageClass",
        "SSECustomerAlgorithm",
        "SSECustomerKey",
        "SSECustomerKeyMD5",
        "RequestPayer",
        "ExpectedBucketOwner",
    }
)
_SSE_C = ("SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5")
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


# -- errors ---------------------------------------------------------------------------


def _error_code(cause: BaseException) -> str:
    response = getattr(cause, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _reason(cause: BaseException) -> str:
    code = _error_code(cause)
    if code == "NoSuchBucket":
        return f"the bucket does not exist ({cause})"
    text = str(cause) or type(cause).__name__
    return text if type(cause).__name__ in text else f"{type(cause).__name__}: {text}"


def _fail(
    cause: BaseException,
    error: type[StorageError],
    path: str,
    missing_is: type[StorageError] | None = FileNotFound,
) -> NoReturn:
    """Raise the flystore error for ``cause`` (a botocore/urllib3/OS error)."""
    if isinstance(cause, StorageError):
        raise cause
    if missing_is is not None and _error_code(cause) in _MISSING_CODES:
        raise missing_is.at(path, "no file exists at this path", cause=cause) from cause
    raise error.at(path, _reason(cause), cause=cause) from cause


# -- metadata encoding --------------------------------------------------------------------


def _encode_metadata(metadata: Mapping[str, str], path: str) -> dict[str, str]:
    """User metadata as x-amz-meta-* values: non-ASCII values as RFC 2047 words (what S3 itself returns)."""
    encoded: dict[str, str] = {}
    for key, value in metadata.items():
        if not key.isascii() or not key or any(ch in key for ch in " :\r\n\t"):
            raise UnableToWriteFile.at(path, f"metadata key {key!r} must be a non-empty ASCII token")
        text = str(value)
        if text.isascii() and "\r" not in text and "\n" not in text:
            encoded[key] = text
        else:
            encoded[key] = "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="
    return encoded


def _decode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    decoded: dict[str, str] = {}
    for key, value in metadata.items():
        if value.startswith("=?") and value.endswith("?="):
            with contextlib.suppress(Exception):
                value = str(make_header(decode_header(value)))
        decoded[key] = value
    return decoded


def _guess_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(posixpath.basename(path), strict=False)
    return guessed or "application/octet-stream"


def _plain_etag(etag: str | None) -> str | None:
    """The ETag as a hex MD5 when it is one (not multipart ``-N``), else None."""
    if not etag:
        return None
    value = etag.strip('"').lower()
    return value if _PLAIN_MD5.match(value) else None


def _valid_relative(path: str) -> bool:
    """Whether an S3 key (relative to the root) is a path flystore can address."""
    if not path:
        return False
    return all(segment not in ("", ".", "..") for segment in path.split("/"))


# -- upload bodies ----------------------------------------------------------------------


class _ChunksBody(io.RawIOBase):
    """A seekable read-only file over a list of byte chunks: no copy into one buffer.

    botocore needs seek/tell (content length, retries, payload hashing); this
    gives them without joining the chunks, so a part never exists twice in memory.
    """

    def __init__(self, chunks: Sequence[bytes | memoryview]) -> None:
        super().__init__()
        self._chunks = list(chunks)
        self._starts: list[int] = []
        total = 0
        for chunk in self._chunks:
            self._starts.append(total)
            total += len(chunk)
        self._size = total
        self._position = 0
        self._index = 0

    def __len__(self) -> int:
        return self._size

    def getvalue(self) -> bytes:
        """All the bytes as one object (for small bodies)."""
        return b"".join(bytes(chunk) for chunk in self._chunks)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        else:
            target = self._size + offset
        self._position = max(0, min(target, self._size))
        self._index = 0
        for index, start in enumerate(self._starts):
            if start <= self._position:
                self._index = index
            else:
                break
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._position
        pieces: list[bytes] = []
        while size > 0 and self._position < self._size:
            chunk = self._chunks[self._index]
            offset = self._position - self._starts[self._index]
            take = min(size, len(chunk) - offset)
            if take <= 0:
                self._index += 1
                continue
            pieces.append(bytes(chunk[offset : offset + take]))
            self._position += take
            size -= take
            if offset + take >= len(chunk):
                self._index += 1
        if len(pieces) == 1:
            return pieces[0]
        return b"".join(pieces)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# -- reading ----------------------------------------------------------------------------


class _ObjectReader(PositionedReader):
    """A file object over one GET's body; seeking re-opens with a Range guarded by If-Match."""

    def __init__(self, backend: S3Backend, path: str, response: Mapping[str, Any]) -> None:
        super().__init__(int(response.get("ContentLength") or 0))
        self._backend = backend
        self._path = path
        self._body: Any = response["Body"]
        self._etag = response.get("ETag")

    @property
    def size(self) -> int:
        return self._size

    def _moved(self, target: int) -> None:
        self._drop_body()

    def _drop_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            with contextlib.suppress(Exception):
                body.close()

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        remaining = self._size - self._position
        if remaining <= 0:
            return b""
        if size is None or size < 0 or size > remaining:
            size = remaining
        if size == 0:
            return b""
        try:
            if self._body is None:
                self._body = self._backend._ranged_body(self._path, self._position, self._etag)
            data = self._body.read(size)
        except Exception as cause:
            _fail(cause, UnableToReadFile, self._path, missing_is=UnableToReadFile)
        if not data:
            raise UnableToReadFile.at(self._path, "the connection ended before the whole file was read")
        self._position += len(data)
        return cast(bytes, data)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._drop_body()
        super().close()


# -- the direct path ----------------------------------------------------------------------

# PutObject parameters the direct path can send as plain headers.
_PUT_HEADERS = {
    "ContentType": "Content-Type",
    "CacheControl": "Cache-Control",
    "ContentDisposition": "Content-Disposition",
    "ContentEncoding": "Content-Encoding",
    "ContentLanguage": "Content-Language",
    "ACL": "x-amz-acl",
    "StorageClass": "x-amz-storage-class",
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
    "Tagging": "x-amz-tagging",
}
# HEAD response headers -> the HeadObject output keys ``_attributes`` reads.
_HEAD_FIELDS = {
    "x-amz-storage-class": "StorageClass",
    "x-amz-version-id": "VersionId",
    "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition",
    "content-encoding": "ContentEncoding",
    "content-language": "ContentLanguage",
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-server-side-encryption-customer-algorithm": "SSECustomerAlgorithm",
}


class _Miss(Exception):
    """The direct path did not settle the request: let botocore do it."""


class _DirectRequests:
    """Signed single-object GET/HEAD/PUT sent on the botocore client's own connection pool.

    A botocore call spends about a millisecond of CPU in its generic pipeline
    (parameter handling, event hooks, endpoint rules, response parsing) around
    each request; for a 4 KiB object that is a third of the wall time on a
    local server. The direct path signs the request with botocore's SigV4
    signer and sends it through the client's own HTTP session (same pool,
    TLS settings, proxies and timeouts), and handles only the plain answers:
    2xx, and 404 for GET/HEAD. Anything else (redirects, throttling, errors,
    connection failures) raises ``_Miss`` and the caller repeats the call
    through a botocore client, which retries and parses errors as usual.
    """

    def __init__(self, client: Any, base_url: str, credentials: Any, region: str) -> None:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        self._send = client._endpoint.http_session.send
        self._request = AWSRequest
        self._signer = S3SigV4Auth
        self.base_url = base_url
        self._credentials = credentials
        self._region = region

    def send(self, method: str, key: str, headers: dict[str, str] | None = None, body: bytes | None = None,
             *, stream: bool = False) -> Any:
        """Send one request; transport errors propagate (the caller decides about retrying)."""
        request = self._request(method=method, url=f"{self.base_url}/{quote(key, safe='/~')}", headers=headers or {},
                                data=body)
        if body is not None:
            request.headers["Content-Length"] = str(len(body))
        if self._credentials is not None:
            self._signer(self._credentials.get_frozen_credentials(), "s3", self._region).add_auth(request)
        prepared = request.prepare()
        prepared.stream_output = stream
        return self._send(prepared)

    @staticmethod
    def put_headers(params: Mapping[str, Any]) -> dict[str, str] | None:
        """The PUT headers for ``params``, or None when one of them needs botocore."""
        headers: dict[str, str] = {}
        for name, value in params.items():
            if name == "Metadata":
                headers.update({f"x-amz-meta-{key}": str(item) for key, item in value.items()})
                continue
            header = _PUT_HEADERS.get(name)
            if header is None or not isinstance(value, str):
                return None
            headers[header] = value
        return headers

    @staticmethod
    def head_fields(headers: Mapping[str, str]) -> dict[str, Any]:
        """HEAD response headers in the shape of botocore's HeadObject output."""
        from email.utils import parsedate_to_datetime

        fields: dict[str, Any] = {"Metadata": {}}
        for name, value in headers.items():
            lower = name.lower()
            if lower.startswith("x-amz-meta-"):
                fields["Metadata"][lower[len("x-amz-meta-") :]] = value
            elif lower == "content-length":
                fields["ContentLength"] = int(value)
            elif lower == "etag":
                fields["ETag"] = value
            elif lower == "content-type":
                fields["ContentType"] = value
            elif lower == "last-modified":
                with contextlib.suppress(TypeError, ValueError):
                    fields["LastModified"] = parsedate_to_datetime(value)
            elif lower in _HEAD_FIELDS:
                fields[_HEAD_FIELDS[lower]] = value
        return fields


# -- the backend --------------------------------------------------------------------------


class S3Backend(FsspecBackend):
    """The primitives over one bucket (and optional key prefix).

    Args:
        fs: the s3fs filesystem (kept for fsspec consumers; primitives use ``client``).
        client: a botocore S3 client (thread-safe; closed by ``close()``).
        bucket: the bucket.
        prefix: the key prefix the disk lives under ("" for the bucket root).
        acls: whether visibility maps to object ACLs (False for buckets with ACLs disabled).
        public_base: base URL of public object URLs (bucket root, no trailing slash).
        part_size: multipart part size in bytes (>= 5 MiB).
        multipart_threshold: in-memory writes up to this size go in one PUT.
        max_concurrency: parts in flight at once.
        upload_params: extra S3 parameters for every upload (``ServerSideEncryption`` ...).
    """

    name = "s3"
    max_copy_size = 5 * 1024 * MiB  # larger objects are copied part by part ...
    copy_part_size = 256 * MiB  # ... in parts of this size

    def __init__(
        self,
        fs: Any,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        acls: bool = True,
        public_base: str | None = None,
        part_size: int = 8 * MiB,
        multipart_threshold: int = 64 * MiB,
        max_concurrency: int = 2,
        upload_params: Mapping[str, Any] | None = None,
        direct: _DirectRequests | None = None,
        fallback_client: Any = None,
        retries: int = 2,
    ) -> None:
        super().__init__(
            fs,
            root=f"{bucket}/{prefix}" if prefix else bucket,
            protocol_name="s3",
            directory_markers=True,
            atomic_writes=False,
        )
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self._root_key = f"{prefix}/" if prefix else ""
        self.acls = acls
        self.unsupported = frozenset() if acls else frozenset({"visibility"})
        self.public_base = public_base
        self.part_size = part_size
        self.multipart_threshold = multipart_threshold
        self.max_concurrency = max_concurrency
        params = dict(upload_params or {})
        self._put_params = params
        self._part_params = _params_for(client, "UploadPart", params)
        self._read_params = _params_for(client, "GetObject", params)
        self._head_params = _params_for(client, "HeadObject", params)
        self._copy_params = {key: value for key, value in params.items() if key in _COPY_PARAMS}
        for name in _SSE_C:
            if name in params:
                self._copy_params[f"CopySource{name}"] = params[name]
        self._small_params = {
            key: value for key, value in params.items() if key in ("RequestPayer", "ExpectedBucketOwner")
        }
        self._uploads: dict[str, str] = {}
        self._uploads_lock = threading.Lock()
        self._closed = False
        # The direct path only where botocore would add nothing to the request:
        # no SSE-C/requester-pays headers to carry.
        plain = not (self._read_params or self._head_params or self._small_params)
        self.direct = direct if plain else None
        # After a direct attempt failed, botocore retries with the attempts that are left.
        self._fallback = fallback_client if fallback_client is not None else client
        self.retries = retries

    # -- keys -------------------------------------------------------------------------

    def _key(self, path: str) -> str:
        return self._root_key + path if path else self.prefix

    def _directory_key(self, path: str) -> str:
        return f"{self._root_key}{path}/" if path else self._root_key

    def _relative(self, key: str) -> str:
        return key[len(self._root_key) :] if key.startswith(self._root_key) else key

    @staticmethod
    def _hidden(path: str) -> bool:
        name = path.rsplit("/", 1)[-1]
        return name == DIRECTORY_MARKER or name.startswith(TEMP_PREFIX)

    # -- existence --------------------------------------------------------------------

    def _direct_failed(self, cause: BaseException, error: type[StorageError], path: str) -> None:
        """A transport failure of a direct attempt: botocore retries it, unless retries are off."""
        if self.retries == 0:
            _fail(cause, error, path, missing_is=None)

    def _direct_missed(self, status: int) -> None:
        """An answer the direct path does not handle. A redirect or a bad request will come
        back on every call (another region, a service that wants other headers): stop trying."""
        if status in (301, 307, 400):
            self.direct = None

    def _head_response(self, path: str, error: type[StorageError]) -> dict[str, Any] | None:
        """One HEAD; None when nothing is there (a missing key, a marker, a directory)."""
        if not path or self._hidden(path):
            return None
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
                    return direct.head_fields(response.headers)
                if response.status_code == 404:
                    return None
                self._direct_missed(response.status_code)
        try:
            return cast("dict[str, Any]", client.head_object(Bucket=self.bucket, Key=key, **self._head_params))
        except Exception as cause:
            if _error_code(cause) in _MISSING_CODES:
                return None
            _fail(cause, error, path, missing_is=None)

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

    # -- writing ----------------------------------------------------------------------

    def _write_params(self, path: str, options: WriteOptions) -> dict[str, Any]:
        params: dict[str, Any] = dict(self._put_params)
        params["ContentType"] = options.mimetype or _guess_type(path)
        if options.metadata:
            params["Metadata"] = _encode_metadata(options.metadata, path)
        if self.acls and options.visibility is not None:
            params["ACL"] = "public-read" if options.visibility == "public" else "private"
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
        """One PutObject of ``data`` (direct when the parameters allow it)."""
        client = self.client
        direct = self.direct  # read once: another thread may switch the direct path off
        if direct is not None:
            headers = direct.put_headers(params)
            if headers is not None:
                client = self._fallback
                try:
                    response = direct.send("PUT", key, headers, data)
                except Exception as cause:
                    self._direct_failed(cause, UnableToWriteFile, path)
                else:
                    if 200 <= response.status_code < 300:
                        return
                    self._direct_missed(response.status_code)
        try:
            client.put_object(Bucket=self.bucket, Key=key, Body=data, **params)
        except Exception as cause:
            _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        params = self._write_params(path, options)
        key = self._root_key + path
        parts = self._stream_parts(stream)
        try:
            held = [next(parts)]
        except Exception as cause:  # the source stream failed before anything was sent
            _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)
        if len(held[0]) < self.part_size:  # the whole stream fits in one part: one PUT
            self._put(path, key, held.pop().getvalue(), params)
            return

        def bodies() -> Iterator[_ChunksBody]:
            yield held.pop()  # hand the first part over without keeping a reference here
            yield from parts

        self._multipart(path, key, params, bodies(), self.max_concurrency)

    def _stream_parts(self, stream: Readable) -> Iterator[_ChunksBody]:
        """Parts of at least ``part_size`` (growing after every 2000 parts to stay under 10,000)."""
        number = 0
        while True:
            target = self.part_size << (number // 2000)
            chunks: list[bytes] = []
            size = 0
            while size < target:
                chunk = stream.read(min(_READ_CHUNK, target - size))
                if not chunk:
                    break
                chunks.append(bytes(chunk) if not isinstance(chunk, bytes) else chunk)
                size += len(chunk)
            if size == 0 and number > 0:
                return  # never an empty trailing part
            number += 1
            yield _ChunksBody(chunks)
            if size < target:
                return

    def _multipart(
        self, path: str, key: str, params: Mapping[str, Any], bodies: Iterator[_ChunksBody], concurrency: int
    ) -> None:
        """Upload ``bodies`` as parts, at most ``concurrency`` in flight; abort on any failure."""
        try:
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, **_params_for(self.client, "CreateMultipartUpload", params)
            )["UploadId"]
        except Exception as cause:
            _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)
        completed: dict[int, str] = {}

        def send(number: int, body: _ChunksBody) -> tuple[int, str]:
            response = self.client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, **self._part_params
            )
            return number, str(response["ETag"])

        try:
            with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="flystore-s3") as pool:
                pending: set[Future[tuple[int, str]]] = set()
                number = 0
                try:
                    while True:
                        # Wait for a free slot *before* reading the next part: at most
                        # ``concurrency`` parts exist at any time, in flight or being filled.
                        while len(pending) >= concurrency:
                            done, pending = wait(pending, return_when=FIRST_COMPLETED)
                            for future in done:
                                part_number, etag = future.result()
                                completed[part_number] = etag
                        body = next(bodies, None)
                        if body is None:
                            break
                        number += 1
                        if number > _MAX_PARTS:
                            raise UnableToWriteFile.at(path, "the upload needs more than 10,000 parts")
                        pending.add(pool.submit(send, number, body))
                        del body
                    for future in pending:
                        part_number, etag = future.result()
                        completed[part_number] = etag
                except BaseException:
                    for future in pending:
                        future.cancel()
                    raise
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": completed[n]} for n in sorted(completed)]},
                **self._small_params,
            )
        except BaseException as cause:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            if isinstance(cause, Exception):
                _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)
            raise

    def delete(self, path: str) -> bool:
        if not self.file_exists(path):
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._root_key + path, **self._small_params)
        except Exception as cause:
            _fail(cause, UnableToDeleteFile, path, missing_is=None)
        return True

    def create_directory(self, path: str, options: WriteOptions) -> None:
        if not path:
            return
        if self.file_exists(path):
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
            params["ACL"] = "public-read" if visibility == "public" else "private"
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

    def _multipart_copy(
        self, source_ref: Mapping[str, str], target: str, head: Mapping[str, Any], params: Mapping[str, Any]
    ) -> None:
        size = int(head["ContentLength"])
        part = max(self.copy_part_size, _MIN_PART, math.ceil(size / _MAX_PARTS))
        create: dict[str, Any] = {
            key: value for key, value in params.items() if not key.startswith("CopySource")
        }
        create["ContentType"] = head.get("ContentType") or "application/octet-stream"
        if head.get("Metadata"):
            create["Metadata"] = dict(head["Metadata"])
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=target, **create)["UploadId"]
        copy_extra = {key: value for key, value in params.items() if key.startswith("CopySource") or key in _SSE_C}
        etag = head.get("ETag")
        if etag:
            copy_extra["CopySourceIfMatch"] = etag

        def copy_part(number: int) -> dict[str, Any]:
            start = (number - 1) * part
            end = min(start + part, size) - 1
            response = self.client.upload_part_copy(
                Bucket=self.bucket, Key=target, UploadId=upload_id, PartNumber=number, CopySource=dict(source_ref),
                CopySourceRange=f"bytes={start}-{end}", **copy_extra,
            )
            return {"PartNumber": number, "ETag": response["CopyPartResult"]["ETag"]}

        try:
            count = math.ceil(size / part)
            with ThreadPoolExecutor(max_workers=max(1, self.max_concurrency * 2)) as pool:
                parts = list(pool.map(copy_part, range(1, count + 1)))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=target, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=target, UploadId=upload_id)
            raise

    def set_visibility(self, path: str, visibility: str) -> None:
        if not self.acls:
            super().set_visibility(path, visibility)
        if self._hidden(path):
            raise FileNotFound.at(path, "no file exists at this path")
        try:
            self.client.put_object_acl(
                Bucket=self.bucket,
                Key=self._root_key + path,
                ACL="public-read" if visibility == "public" else "private",
                **self._small_params,
            )
        except Exception as cause:
            _fail(cause, UnableToSetVisibility, path)

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
            params["ACL"] = headers["x-amz-acl"] = "public-read" if visibility == "public" else "private"
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
        params = _params_for(self.client, "CreateMultipartUpload", self._write_params(path, options))
        try:
            upload_id = str(
                self.client.create_multipart_upload(Bucket=self.bucket, Key=self._root_key + path, **params)[
                    "UploadId"
                ]
            )
        except Exception as cause:
            _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)
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

    # -- lifecycle ------------------------------------------------------------------------

    def create_bucket(self, region: str | None) -> None:
        """Create the bucket unless it exists (LocationConstraint left out for us-east-1)."""
        arguments: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**arguments)
        except Exception as cause:
            if _error_code(cause) in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return
            raise UnableToCreateDirectory.at("", f"could not create bucket {self.bucket!r}: {_reason(cause)}",
                                             cause=cause) from cause

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for client in {id(self.client): self.client, id(self._fallback): self._fallback}.values():
            with contextlib.suppress(Exception):
                client.close()
        creator = getattr(self.fs, "_s3creator", None)
        if getattr(self.fs, "_s3", None) is not None and creator is not None:
            with contextlib.suppress(Exception):
                type(self.fs).close_session(self.fs.loop, creator)
            self.fs._s3 = None


def _parts_list(parts: Sequence[Any], path: str) -> list[dict[str, Any]]:
    """``["etag1", ...]``, ``[(1, "etag1"), ...]`` or ``[{"PartNumber": 1, "ETag": ...}, ...]``."""
    listed: list[dict[str, Any]] = []
    for index, part in enumerate(parts, start=1):
        if isinstance(part, str):
            listed.append({"PartNumber": index, "ETag": part})
        elif isinstance(part, Mapping):
            number = part.get("PartNumber", part.get("part_number", index))
            etag = part.get("ETag", part.get("etag"))
            if etag is None:
                raise UnableToWriteFile.at(path, f"part {number} has no ETag")
            listed.append({"PartNumber": int(number), "ETag": str(etag)})
        elif isinstance(part, (tuple, list)) and len(part) == 2:
            listed.append({"PartNumber": int(part[0]), "ETag": str(part[1])})
        else:
            raise UnableToWriteFile.at(path, f"cannot read part {index}: {part!r}")
    listed.sort(key=lambda item: int(item["PartNumber"]))
    return listed


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    from .generic import parse_time

    return parse_time(value)


def _seconds_until(expires_at: datetime) -> int:
    return max(1, round(expires_at.timestamp() - time.time()))


def _params_for(client: Any, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``params`` that ``operation`` accepts."""
    if not params:
        return {}
    members = client.meta.service_model.operation_model(operation).input_shape.members
    return {key: value for key, value in params.items() if key in members}


# -- building ---------------------------------------------------------------------------

_SESSION_LOCK = threading.Lock()
_SESSION: Any = None


def _create_client(config: Any, arguments: Mapping[str, Any]) -> Any:
    """A botocore S3 client from one shared session (its loader caches the parsed S3 model,
    which makes every disk after the first cheap to build). Client creation is serialised
    because botocore sessions are not thread-safe; the clients themselves are."""
    global _SESSION
    import botocore.session

    with _SESSION_LOCK:
        if _SESSION is None:
            _SESSION = botocore.session.Session()
        return _SESSION.create_client("s3", config=config, **arguments)


def _option_error(name: str, option: str, reason: str) -> InvalidConfiguration:
    return InvalidConfiguration(reason, option=option, disk=name)


def _positive_number(name: str, options: Mapping[str, Any], option: str, default: float) -> float:
    value = options.get(option)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _option_error(name, option, f"must be a positive number of seconds, not {value!r}")
    return float(value)


def _integer(name: str, options: Mapping[str, Any], option: str, default: int, minimum: int) -> int:
    value = options.get(option)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _option_error(name, option, f"must be an integer >= {minimum}, not {value!r}")
    return value


def _endpoint_url(name: str, endpoint: Any, use_ssl: bool) -> str | None:
    if endpoint in (None, ""):
        return None
    if not isinstance(endpoint, str):
        raise _option_error(name, "endpoint", f"must be a URL string, not {type(endpoint).__name__}")
    url = endpoint.rstrip("/")
    if "://" not in url:
        url = f"{'https' if use_ssl else 'http'}://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _option_error(name, "endpoint", f"must be an http(s) URL, not {endpoint!r}")
    return url


def _public_base(bucket: str, endpoint: str | None, region: str | None, path_style: bool, use_ssl: bool) -> str:
    if endpoint is not None:
        if path_style:
            return f"{endpoint}/{bucket}"
        parts = urlsplit(endpoint)
        return f"{parts.scheme}://{bucket}.{parts.netloc}{parts.path}"
    scheme = "https" if use_ssl else "http"
    host = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
    if "." in bucket:  # dotted names break virtual-host TLS
        return f"{scheme}://{host}/{bucket}"
    return f"{scheme}://{bucket}.{host}"


def _direct_path(
    client: Any,
    bucket: str,
    options: Mapping[str, Any],
    anonymous: bool,
    retries: int,
    config_values: Mapping[str, Any],
    client_arguments: Mapping[str, Any],
) -> tuple[_DirectRequests | None, Any]:
    """The direct path for this client and the botocore client that takes over when it misses."""
    from botocore.config import Config
    from botocore.credentials import Credentials

    http_session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    if bucket.endswith("--x-s3") or not callable(getattr(http_session, "send", None)):
        return None, None  # S3 Express buckets sign differently; an unknown botocore layout: no direct path
    credentials: Any = None
    if not anonymous:
        if options.get("key") and options.get("secret"):
            credentials = Credentials(options["key"], options["secret"], options.get("token") or None)
        else:
            with _SESSION_LOCK:
                credentials = _SESSION.get_credentials() if _SESSION is not None else None
            if credentials is None:
                return None, None
    # botocore's own endpoint resolution gives the object URLs (addressing style, region, custom endpoint).
    probe = "flystore-probe"
    url = str(client.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": probe}, ExpiresIn=60))
    base = url.split("?", 1)[0]
    if not base.endswith("/" + probe):
        return None, None
    direct = _DirectRequests(client, base[: -len(probe) - 1], credentials, client.meta.region_name or "us-east-1")
    fallback = None
    if retries > 0:  # the direct attempt was the first: botocore gets the remaining ``retries``
        values = dict(config_values)
        values["retries"] = {**values["retries"], "total_max_attempts": retries}
        fallback = _create_client(Config(**values), client_arguments)
    return direct, fallback


def _build_backend(name: str, options: Mapping[str, Any]) -> tuple[S3Backend, str | None]:
    """Validate ``options`` and make the backend; returns it and the region."""
    unknown = set(options) - S3_OPTIONS - COMMON_OPTIONS
    if unknown:
        raise _option_error(name, sorted(unknown)[0], "unknown option for the s3 driver")
    try:
        import botocore.session  # noqa: F401  # imported here so a missing botocore is reported now
        import s3fs
        from botocore import UNSIGNED
        from botocore.config import Config
    except ImportError as cause:
        raise DriverNotInstalled.for_extra("s3", "the s3 driver", disk=name, cause=cause) from cause

    bucket = options.get("bucket")
    if not isinstance(bucket, str) or not bucket.strip():
        raise _option_error(name, "bucket", "the s3 driver needs a 'bucket'")
    bucket = bucket.strip()
    if "/" in bucket:
        raise _option_error(name, "bucket", "a bucket name has no '/'; put the key prefix in 'prefix'")
    try:
        prefix = normalize(str(options.get("prefix") or ""))
    except InvalidPath as cause:
        raise _option_error(name, "prefix", str(cause.reason)) from cause
    region = options.get("region") or None
    use_ssl = bool(options.get("use_ssl", True))
    endpoint = _endpoint_url(name, options.get("endpoint"), use_ssl)
    path_style_option = options.get("use_path_style_endpoint")
    path_style = endpoint is not None if path_style_option is None else bool(path_style_option)
    anonymous = bool(options.get("anonymous", False))

    retries = _integer(name, options, "retries", 2, 0)
    retry_mode = options.get("retry_mode") or "standard"
    if retry_mode not in ("standard", "adaptive", "legacy"):
        raise _option_error(name, "retry_mode", "must be 'standard', 'adaptive' or 'legacy'")
    timeout = options.get("timeout")
    base_connect, base_read = 10.0, 60.0
    if timeout is not None:
        base_connect = base_read = _positive_number(name, options, "timeout", 60.0)
    connect_timeout = _positive_number(name, options, "connect_timeout", base_connect)
    read_timeout = _positive_number(name, options, "read_timeout", base_read)
    part_size = _integer(name, options, "part_size", 8 * MiB, _MIN_PART)
    threshold = _integer(name, options, "multipart_threshold", 64 * MiB, 0)
    concurrency = _integer(name, options, "max_concurrency", 2, 1)
    checksums = options.get("checksums") or ("when_required" if endpoint else "when_supported")
    if checksums not in ("when_supported", "when_required"):
        raise _option_error(name, "checksums", "must be 'when_supported' or 'when_required'")

    extra = options.get("options") or {}
    if not isinstance(extra, Mapping):
        raise _option_error(name, "options", "must be a mapping")
    upload_params = {key: value for key, value in extra.items() if key[:1].isupper()}
    fs_options = {key: value for key, value in extra.items() if not key[:1].isupper()}
    upload_params.update(dict(fs_options.pop("s3_additional_kwargs", None) or {}))
    client_kwargs = dict(fs_options.pop("client_kwargs", None) or {})
    config_kwargs = dict(fs_options.pop("config_kwargs", None) or {})

    config_values: dict[str, Any] = {
        "retries": {"mode": retry_mode, "total_max_attempts": retries + 1},
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
        "max_pool_connections": max(10, concurrency * 2),
        "s3": {"addressing_style": "path" if path_style else "auto"},
        "signature_version": UNSIGNED if anonymous else "s3v4",
    }
    if "request_checksum_calculation" in Config.OPTION_DEFAULTS:  # botocore >= 1.36
        config_values["request_checksum_calculation"] = checksums
        config_values["response_checksum_validation"] = checksums
    config_values.update(config_kwargs)

    credentials: dict[str, Any] = {}
    if not anonymous:
        for option, argument in (("key", "aws_access_key_id"), ("secret", "aws_secret_access_key"),
                                 ("token", "aws_session_token")):
            if options.get(option):
                credentials[argument] = options[option]
    client_arguments: dict[str, Any] = {"use_ssl": use_ssl, **client_kwargs}
    if region and "region_name" not in client_arguments:
        client_arguments["region_name"] = region
    if endpoint and "endpoint_url" not in client_arguments:
        client_arguments["endpoint_url"] = endpoint
    try:
        client = _create_client(Config(**config_values), {**credentials, **client_arguments})
    except Exception as cause:
        raise _option_error(name, "options", f"botocore cannot make an S3 client: {cause}") from cause

    for key in upload_params:
        members = client.meta.service_model.operation_model("PutObject").input_shape.members
        if key not in members:
            client.close()
            raise _option_error(name, "options", f"{key!r} is not an S3 PutObject parameter")

    fs_config = {key: value for key, value in config_values.items() if key != "max_pool_connections"}
    try:
        fs = s3fs.S3FileSystem(
            anon=anonymous,
            key=options.get("key") if not anonymous else None,
            secret=options.get("secret") if not anonymous else None,
            token=options.get("token") if not anonymous else None,
            endpoint_url=endpoint,
            use_ssl=use_ssl,
            client_kwargs={key: value for key, value in client_arguments.items() if key != "endpoint_url"},
            config_kwargs=fs_config,
            s3_additional_kwargs=upload_params or None,
            skip_instance_cache=True,
            use_listings_cache=False,
            **fs_options,
        )
    except Exception as cause:
        client.close()
        raise _option_error(name, "options", f"s3fs cannot make a filesystem: {cause}") from cause
    fs.retries = 1  # botocore's retry policy above is the only one: no retries of retries

    public = _public_base(bucket, endpoint, region, path_style, use_ssl)
    direct: _DirectRequests | None = None
    fallback: Any = None
    if options.get("fast_path", True) and checksums == "when_required" and not config_kwargs:
        try:
            direct, fallback = _direct_path(client, bucket, options, anonymous, retries, config_values,
                                            {**credentials, **client_arguments})
        except Exception:  # an unexpected botocore layout: everything goes through botocore
            direct, fallback = None, None
    backend = S3Backend(
        fs,
        client,
        bucket,
        prefix,
        acls=bool(options.get("acls", True)),
        public_base=public,
        part_size=part_size,
        multipart_threshold=threshold,
        max_concurrency=concurrency,
        upload_params=upload_params,
        direct=direct,
        fallback_client=fallback,
        retries=retries,
    )
    if options.get("create_bucket"):
        try:
            backend.create_bucket(region)
        except BaseException:
            backend.close()
            raise
    return backend, region


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

    @_names_the_disk
    def size(self, path: str) -> int:
        """Size in bytes (one HEAD).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        return int(self._light(path).size or 0)

    @_names_the_disk
    def last_modified(self, path: str) -> datetime:
        """When the object was last written, as aware UTC (one HEAD).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        modified = self._light(path).last_modified
        if modified is None:
            raise UnableToRetrieveMetadata.at(normalize(path), "S3 did not report a time")
        return modified

    @_names_the_disk
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


def create(name: str, options: dict[str, Any], manager: Any) -> S3FilesystemAdapter:
    """``{"driver": "s3", "bucket": ..., ...}`` (see ``S3_OPTIONS``)."""
    unknown = set(options) - S3_OPTIONS - COMMON_OPTIONS
    if unknown:
        raise _option_error(name, sorted(unknown)[0], "unknown option for the s3 driver")
    settings = {key: value for key, value in options.items() if key not in ("name", "driver")}
    return S3FilesystemAdapter(name=name, manager=manager, **settings)

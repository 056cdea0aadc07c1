"""The foundation of ``S3Backend``: its constructor, key arithmetic and the direct path's bookkeeping."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ...errors import StorageError
from ..generic import DIRECTORY_MARKER, TEMP_PREFIX, FsspecBackend
from .common import MAX_KEY_BYTES, METADATA_LIMIT, MiB, _params_for
from .errors import _error_code, _fail
from .fast_path import _DirectRequests

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


class _S3Base(FsspecBackend):
    """The state every part of :class:`S3Backend` shares (see ``S3Backend`` for the arguments)."""

    name = "s3"
    metadata_limit = METADATA_LIMIT
    max_copy_size = 5 * 1024 * MiB  # larger objects are copied part by part ...
    copy_part_size = 256 * MiB  # ... in parts of this size

    def connection_limit(self) -> int | None:
        """The botocore client's pool (``max_pool_connections``), which the direct requests share."""
        limit = getattr(getattr(getattr(self.client, "meta", None), "config", None), "max_pool_connections", None)
        return limit if isinstance(limit, int) and limit > 0 else None

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
        # Set once the bucket is known to exist; until then a 404 on a key asks whether the bucket is there.
        self._bucket_seen = False

    # -- keys -------------------------------------------------------------------------

    def _key(self, path: str) -> str:
        return self._root_key + path if path else self.prefix

    def _directory_key(self, path: str) -> str:
        return f"{self._root_key}{path}/" if path else self._root_key

    def _relative(self, key: str) -> str:
        return key[len(self._root_key) :] if key.startswith(self._root_key) else key

    def _refuse_long_key(self, path: str, error: type[StorageError]) -> None:
        """Refuse a key S3 cannot hold before asking (S3 answers 400, which would switch the direct path off).

        Raises:
            error: the key is longer than ``MAX_KEY_BYTES``.
        """
        size = len((self._root_key + path).encode())
        if size > MAX_KEY_BYTES:
            raise error.at(path, f"the key is {size:,} bytes; S3 keys are at most {MAX_KEY_BYTES:,} bytes")

    @staticmethod
    def _hidden(path: str) -> bool:
        name = path.rsplit("/", 1)[-1]
        return name == DIRECTORY_MARKER or name.startswith(TEMP_PREFIX)

    # -- the bucket ------------------------------------------------------------------------

    def _check_bucket(self, error: type[StorageError], path: str) -> None:
        """After a key answered 404: one HEAD on the bucket, so a missing bucket is not a missing file.

        A bucket that exists is checked once per disk.

        Raises:
            error: the bucket does not exist, or asking failed.
        """
        if self._bucket_seen:
            return
        params = {k: v for k, v in self._small_params.items() if k == "ExpectedBucketOwner"}
        try:
            self.client.head_bucket(Bucket=self.bucket, **params)
        except Exception as cause:
            code = _error_code(cause)
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise error.at(path, f"the bucket {self.bucket!r} does not exist", cause=cause) from cause
            if code not in ("403", "AccessDenied", "Forbidden"):  # 403: not allowed to ask; the key's 404 stands
                _fail(cause, error, path, missing_is=None)
        self._bucket_seen = True

    # -- the direct path ----------------------------------------------------------------

    def _direct_failed(self, cause: BaseException, error: type[StorageError], path: str) -> None:
        """A transport failure of a direct attempt: botocore retries it, unless retries are off."""
        if self.retries == 0:
            _fail(cause, error, path, missing_is=None)

    def _direct_missed(self, status: int) -> None:
        """An answer the direct path does not handle. A redirect or a bad request will come
        back on every call (another region, a service that wants other headers): stop trying."""
        if status in (301, 307, 400):
            self.direct = None

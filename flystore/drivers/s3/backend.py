"""``S3Backend``: the primitives over one bucket, assembled from the parts in this package."""

from __future__ import annotations

import contextlib
from typing import Any

from ...errors import UnableToCreateDirectory
from .errors import _error_code, _reason
from .urls import _S3Urls


class S3Backend(_S3Urls):
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
                self._bucket_seen = True
                return
            raise UnableToCreateDirectory.at("", f"could not create bucket {self.bucket!r}: {_reason(cause)}",
                                             cause=cause) from cause
        self._bucket_seen = True

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

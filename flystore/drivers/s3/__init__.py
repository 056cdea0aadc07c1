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
plain success, "not found" or the 412 of a refused exclusive create
(``If-None-Match: *``) is handed back to botocore, which retries and reports
as usual. ``fast_path: false`` turns this off.

The s3fs filesystem built from the same options stays available as
``backend.fs`` for fsspec consumers and async callers. Visibility is the
object ACL (``public-read``/``private``); custom metadata is ``x-amz-meta-*``.
"""

from __future__ import annotations

from typing import Any

from .adapter import S3FilesystemAdapter
from .backend import S3Backend
from .common import MiB as MiB
from .options import S3_ALIASES as S3_ALIASES
from .options import S3_OPTIONS as S3_OPTIONS

__all__ = ["S3Backend", "S3FilesystemAdapter", "create"]


def create(name: str, options: dict[str, Any], manager: Any) -> S3FilesystemAdapter:
    """``{"driver": "s3", "bucket": ..., ...}`` (see ``S3_OPTIONS`` and the aliases in ``S3_ALIASES``).

    Raises:
        InvalidConfiguration: an unknown option, both spellings of one, or a bad value.
        DriverNotInstalled: botocore or s3fs is missing.
    """
    settings = {key: value for key, value in options.items() if key not in ("name", "driver")}
    return S3FilesystemAdapter(name=name, manager=manager, **settings)

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

import os

# gcsfs >= 2025 swaps in an experimental filesystem that tries a gRPC call per
# bucket (about 60 s against anything but Google) unless this is off. It is read
# when gcsfs is first imported, which only ever happens lazily below.
# It is set here, before this package imports any of its modules, so it precedes every
# import of gcsfs by them.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

from .adapter import GoogleCloudStorageAdapter, create
from .backend import GcsBackend
from .common import DEFAULT_CHUNK_SIZE as DEFAULT_CHUNK_SIZE
from .common import GOOGLE_STORAGE_URL as GOOGLE_STORAGE_URL
from .common import VISIBILITY_METADATA_KEY

__all__ = ["GcsBackend", "GoogleCloudStorageAdapter", "VISIBILITY_METADATA_KEY", "create"]

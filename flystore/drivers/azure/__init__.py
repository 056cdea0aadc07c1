"""The ``azure`` driver: Azure Blob Storage through adlfs and azure-storage-blob.

One asynchronous ``BlobServiceClient`` (azure-storage-blob's aio client) does
all the I/O; it is also the client of the adlfs filesystem behind the disk, so
both run on fsspec's I/O loop and share one connection pool, closed by
``close()``. The hot primitives call the SDK directly because adlfs cannot do
what a disk needs there:

- writes carry Content-Type, Content-MD5, custom metadata and the access tier
  in the same request (adlfs ``pipe`` refuses ``metadata=``);
- streams go up as staged blocks committed on success (``stage_block`` +
  ``commit_block_list``), so memory stays bounded and a failed or aborted
  stream publishes nothing and leaves the old blob intact;
- existence checks, listings and deletes are one request (or one page) each.

Directories are implied by blob names; an empty directory is a hidden marker
blob ``<dir>/.flystore-directory``. Blobs flagged ``hdi_isfolder=true`` (how
ADLS Gen2 accounts show directories through the Blob API) are directories too.

Azure has no per-blob ACL (public access is a container setting), so
``visibility`` is listed as unsupported: ``set_visibility``/``get_visibility``
raise ``UnsupportedOperation``. A disk configured with ``visibility: public``
and ``create_container: true`` creates its container with anonymous read
access to blobs, which makes ``url()`` links work.

The driver is split by concern: ``options`` (option names, defaults and their
validation), ``blobs`` (what Azure says about a blob, in flystore's terms),
``errors`` (SDK exceptions as flystore errors), ``container`` (blob names and
the SDK calls run on fsspec's loop), ``backend`` (``AzureBackend``: the disk
verbs), ``listing`` (listings as entries), ``readers``
(the ranged blob reader), ``uploads`` (upload settings and staged-block
uploads), ``sas`` (SAS URLs) and ``adapter`` (``AzureBlobStorageAdapter`` and
``create``).
"""

from __future__ import annotations

from .adapter import AzureBlobStorageAdapter, create
from .backend import AzureBackend
from .blobs import TIERS
from .options import AZURE_OPTIONS
from .options import DEFAULT_BLOCK_SIZE as DEFAULT_BLOCK_SIZE
from .options import DEFAULT_MAX_CONCURRENCY as DEFAULT_MAX_CONCURRENCY

__all__ = ["AZURE_OPTIONS", "TIERS", "AzureBackend", "AzureBlobStorageAdapter", "create"]

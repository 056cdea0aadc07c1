"""The sync engine: keep two directories, on any disks or storage clients, in step.

``sync("local://docs", "s3://backup/docs", mode="mirror", delete=True)`` (or
``Storage.sync(...)``) lists each side once, compares by size and time or by
content, plans, and carries the plan out with an executor, each file on its
own; ``SyncEngine``/``SyncPair`` are the seed's names for the same. See
docs/sync.md.
"""

from __future__ import annotations

from .disk_client import DiskEntriesManager, DiskStorageClient
from .engine import SyncEngine, SyncPair, sync
from .modes import SyncMode
from .protocols import FileEntriesManagerProtocol, FileEntryProtocol, StorageClientProtocol
from .report import SyncProgress, SyncReport

__all__ = [
    "DiskEntriesManager",
    "DiskStorageClient",
    "FileEntriesManagerProtocol",
    "FileEntryProtocol",
    "StorageClientProtocol",
    "SyncEngine",
    "SyncMode",
    "SyncPair",
    "SyncProgress",
    "SyncReport",
    "sync",
]

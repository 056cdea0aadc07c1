"""Async flystore: ``from flystore.aio import Storage``, ``disk.aio``, batches and the room-style interface."""

from ..batch import BatchResult
from ..events import EventStream, StorageEvent
from .disk import AsyncDisk
from .facade import AsyncStorageManager, Storage
from .room import Download, WriteHandle
from .streams import AsyncFile, AsyncReadStream

__all__ = [
    "AsyncDisk",
    "AsyncFile",
    "AsyncReadStream",
    "AsyncStorageManager",
    "BatchResult",
    "Download",
    "EventStream",
    "Storage",
    "StorageEvent",
    "WriteHandle",
]

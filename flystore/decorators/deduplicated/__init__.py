"""The ``deduplicated`` decorator disk: SHA-256 addressed blobs behind small pointer files."""

from .adapter import DeduplicatedFilesystemAdapter, create
from .backend import DeduplicatedBackend
from .garbage import DedupStats, GarbageReport

__all__ = ["DedupStats", "DeduplicatedBackend", "DeduplicatedFilesystemAdapter", "GarbageReport", "create"]

"""The ``cached`` decorator disk: read-through caching that writes through the disk never leave stale."""

from .adapter import CachedFilesystemAdapter, create
from .backend import CachedBackend

__all__ = ["CachedBackend", "CachedFilesystemAdapter", "create"]

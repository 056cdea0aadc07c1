"""The ``versioned`` decorator disk: every overwrite and delete keeps the previous version."""

from .adapter import VersionedFilesystemAdapter, create
from .backend import VersionedBackend
from .version import Version

__all__ = ["Version", "VersionedBackend", "VersionedFilesystemAdapter", "create"]

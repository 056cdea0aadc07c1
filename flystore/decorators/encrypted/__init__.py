"""The ``encrypted`` decorator disk: client-side AES-256-GCM in streamed segments."""

from .adapter import EncryptedFilesystemAdapter, create
from .backend import EncryptedBackend

__all__ = ["EncryptedBackend", "EncryptedFilesystemAdapter", "create"]

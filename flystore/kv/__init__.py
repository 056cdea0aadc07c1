"""A key-value store on any disk: ``KeyValueStore`` and the plugin ``StorageContext``."""

from .context import StorageContext
from .store import AsyncKeyValueStore, KeyValueStore

__all__ = ["AsyncKeyValueStore", "KeyValueStore", "StorageContext"]

"""The process-wide ``Storage`` facade."""

from __future__ import annotations

from .manager import StorageManager
from .signing import use_default_manager

__all__ = ["Storage"]

Storage: StorageManager = StorageManager()
"""The process-wide manager: ``Storage.disk("s3").put(...)``, ``Storage.put(...)`` on the default disk.

Applications that want no global state build their own ``StorageManager(config)``.
"""

use_default_manager(lambda: Storage)

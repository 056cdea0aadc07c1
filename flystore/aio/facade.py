"""``from flystore.aio import Storage``: the async face of a ``StorageManager``.

``Storage.disk(name)`` gives the ``AsyncDisk`` of the manager's disk of that
name (the same disk the sync facade hands out, so configuration, fakes and
events are shared); any other attribute is the default disk's coroutine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .disk import AsyncDisk

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..manager import StorageManager

__all__ = ["AsyncStorageManager", "Storage"]


class AsyncStorageManager:
    """Async disks of a manager (the process-wide ``flystore.Storage`` unless given one)."""

    def __init__(self, manager: StorageManager | None = None) -> None:
        self._manager = manager

    @property
    def manager(self) -> StorageManager:
        """The sync manager underneath."""
        if self._manager is None:
            from ..storage import Storage

            return Storage
        return self._manager

    def disk(self, name: str | None = None) -> AsyncDisk:
        """The async twin of ``manager.disk(name)``.

        Raises:
            InvalidConfiguration: no such disk, or its configuration is wrong.
        """
        return self.manager.disk(name).aio

    def build(self, config: Mapping[str, Any], *, name: str = "ondemand") -> AsyncDisk:
        """An async disk from a configuration dict, outside the manager's disks."""
        return self.manager.build(config, name=name).aio

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.disk(), name)


Storage = AsyncStorageManager()
"""The async facade of the process-wide ``flystore.Storage``."""

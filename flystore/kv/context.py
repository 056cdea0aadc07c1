"""``StorageContext``: the plugin key-value storage of the seed, with plugin and workspace scopes.

Plugin storage is private to one plugin in one workspace; workspace storage is
shared by every plugin of the workspace; ``set_storage``/``get_storage`` keep
any JSON value in the plugin's storage. Every method is a coroutine.
"""

from __future__ import annotations

import json
from typing import Any

from .store import AsyncKeyValueStore, KeyValueStore

__all__ = ["StorageContext"]


class StorageContext:
    """The storage a plugin sees: ``StorageContext(disk, plugin="p", workspace="main")``.

    Raises:
        TypeError: ``plugin`` or ``workspace`` is not a non-empty str.
    """

    def __init__(self, disk: Any, *, plugin: str, workspace: str = "default", root: str = "kv") -> None:
        for label, value in (("plugin", plugin), ("workspace", workspace)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"{label} must be a non-empty str, not {value!r}")
        self.plugin = plugin
        self.workspace = workspace
        # JSON lists as namespaces: injective, so no plugin or workspace name can reach another's keys.
        self._plugin = AsyncKeyValueStore(
            KeyValueStore(disk, json.dumps(["workspace", workspace, "plugin", plugin]), root=root)
        )
        self._workspace = AsyncKeyValueStore(KeyValueStore(disk, json.dumps(["workspace", workspace]), root=root))

    # -- any JSON value, in the plugin's storage -----------------------------------

    async def set_storage(self, key: str, value: Any) -> None:
        """Keep any JSON value under ``key`` in the plugin's storage."""
        await self._plugin.set_json(key, value)

    async def get_storage(self, key: str) -> Any:
        """The JSON value of ``key``. Raises: KeyError when missing."""
        return await self._plugin.get_json(key)

    # -- the plugin's private storage (bytes) ------------------------------------------

    async def set_plugin_storage(self, key: str, value: bytes | str) -> None:
        await self._plugin.set(key, value)

    async def get_plugin_storage(self, key: str) -> bytes:
        """Raises: KeyError when missing."""
        return await self._plugin.get(key)

    async def get_plugin_storage_keys(self) -> list[str]:
        return await self._plugin.keys()

    async def delete_plugin_storage(self, key: str) -> None:
        """Raises: KeyError when missing."""
        await self._plugin.delete(key)

    # -- the workspace's shared storage (bytes) ----------------------------------------

    async def set_workspace_storage(self, key: str, value: bytes | str) -> None:
        await self._workspace.set(key, value)

    async def get_workspace_storage(self, key: str) -> bytes:
        """Raises: KeyError when missing."""
        return await self._workspace.get(key)

    async def get_workspace_storage_keys(self) -> list[str]:
        return await self._workspace.keys()

    async def delete_workspace_storage(self, key: str) -> None:
        """Raises: KeyError when missing."""
        await self._workspace.delete(key)

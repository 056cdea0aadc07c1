"""``KeyValueStore``: bytes and JSON values under opaque string keys, on any disk.

Each value is one file written with ``disk.put`` (atomic on every driver: the
old value or the new one, never a mix). Keys are encoded into paths by
``flystore.kv.keys``; ``keys()`` gives the original strings back.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import FileNotFound
from .keys import decode_key, encode_key, encode_namespace

if TYPE_CHECKING:
    from ..disk import FilesystemAdapter

__all__ = ["AsyncKeyValueStore", "KeyValueStore"]


def _sync_disk(disk: Any) -> FilesystemAdapter:
    return disk.sync if hasattr(disk, "sync") else disk  # type: ignore[no-any-return]


def _as_bytes(key: str, value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"the value of {key!r} must be bytes or str, not {type(value).__name__}; use set_json")


class KeyValueStore:
    """A namespace of keys on a disk (sync; ``.aio`` gives the async twin).

    Args:
        disk: a sync disk or an async one (``Storage.disk("x")`` of either facade).
        namespace: any string; stores of different namespaces never see each other's keys.
        root: the directory of the disk holding every namespace.
    """

    def __init__(self, disk: Any, namespace: str = "default", *, root: str = "kv") -> None:
        self.disk = _sync_disk(disk)
        self.namespace = namespace
        self._directory = f"{root.strip('/')}/{encode_namespace(namespace)}".lstrip("/")

    def _path(self, key: str) -> str:
        return f"{self._directory}/{encode_key(key)}"

    def set(self, key: str, value: bytes | str) -> None:
        """Store ``value`` (bytes, or str as UTF-8) under ``key``, atomically.

        Raises:
            TypeError: a non-str key or a value that is not bytes/str; UnableToWriteFile.
        """
        self.disk.put(self._path(key), _as_bytes(key, value))

    def get(self, key: str) -> bytes:
        """The value of ``key``.

        Raises:
            KeyError: no such key; UnableToReadFile: the disk failed.
        """
        try:
            return self.disk.get(self._path(key))
        except FileNotFound:
            raise KeyError(key) from None

    def set_json(self, key: str, value: Any) -> None:
        """Store any JSON value under ``key``.

        Raises:
            TypeError: ``value`` is not JSON-serialisable.
        """
        self.set(key, json.dumps(value, ensure_ascii=False, allow_nan=False).encode())

    def get_json(self, key: str) -> Any:
        """The JSON value of ``key``.

        Raises:
            KeyError: no such key; ValueError: the value is not JSON.
        """
        return json.loads(self.get(key))

    def exists(self, key: str) -> bool:
        """True when ``key`` has a value."""
        return self.disk.file_exists(self._path(key))

    def delete(self, key: str) -> None:
        """Remove ``key``.

        Raises:
            KeyError: no such key.
        """
        if not self.disk.delete(self._path(key)):
            raise KeyError(key)

    def keys(self) -> list[str]:
        """Every key of the namespace (the original strings), sorted."""
        prefix = len(self._directory) + 1
        found = (decode_key(path[prefix:]) for path in self.disk.all_files(self._directory))
        return sorted(key for key in found if key is not None)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.exists(key)

    @property
    def aio(self) -> AsyncKeyValueStore:
        """The async twin over the same namespace."""
        return AsyncKeyValueStore(self)


class AsyncKeyValueStore:
    """``KeyValueStore`` with every method a coroutine (run in flystore's thread pool)."""

    def __init__(self, store: KeyValueStore | Any, namespace: str = "default", *, root: str = "kv") -> None:
        self.store = store if isinstance(store, KeyValueStore) else KeyValueStore(store, namespace, root=root)

    @property
    def namespace(self) -> str:
        return self.store.namespace

    async def set(self, key: str, value: bytes | str) -> None:
        """See ``KeyValueStore.set``."""
        await self._run(self.store.set, key, value)

    async def get(self, key: str) -> bytes:
        """See ``KeyValueStore.get``; raises KeyError when missing."""
        return bytes(await self._run(self.store.get, key))

    async def set_json(self, key: str, value: Any) -> None:
        await self._run(self.store.set_json, key, value)

    async def get_json(self, key: str) -> Any:
        return await self._run(self.store.get_json, key)

    async def exists(self, key: str) -> bool:
        return bool(await self._run(self.store.exists, key))

    async def delete(self, key: str) -> None:
        await self._run(self.store.delete, key)

    async def keys(self) -> list[str]:
        return list(await self._run(self.store.keys))

    @staticmethod
    async def _run(function: Any, *args: Any) -> Any:
        from ..aio._pool import offload
        from ..aio.streams import settle

        # A cancelled call waits for its worker: a cancelled set has then either stored the whole value
        # or nothing, and does not land after the cancellation returned.
        return await offload(function, *args, on_cancel=settle)


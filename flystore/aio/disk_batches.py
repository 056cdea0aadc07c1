"""The batch verbs of ``AsyncDisk`` (``put_many``, ``get_many``, ``exists_many``, ``copy_many``,
``delete_many``): how each picks lanes of threads, one task per item, or S3's multi-object delete."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..batch import DEFAULT_CONCURRENCY, BatchProgress, BatchResult, batch_width, native_delete
from ._pool import offload
from .batching import fits_lanes, in_lanes, on_loop, per_item

if TYPE_CHECKING:
    from ..disk import FilesystemAdapter

__all__ = ["CANCELLABLE_ABOVE", "AsyncBatches"]

#: Bytes above this are written as a stream that a cancellation can abort mid-way.
CANCELLABLE_ABOVE = 8 * 1024 * 1024


class AsyncBatches:
    """The batch verbs, mixed into ``AsyncDisk`` (which provides the disk and the one-item verbs)."""

    _disk: FilesystemAdapter
    _inline: bool

    if TYPE_CHECKING:
        def put(self, path: str, contents: Any, **options: Any) -> Awaitable[str]: ...
        def get(self, path: str, **options: Any) -> Awaitable[bytes]: ...
        def exists(self, path: str) -> Awaitable[bool]: ...
        def copy(self, source: str, destination: str, **options: Any) -> Awaitable[str]: ...
        def delete(self, paths: Any) -> Awaitable[bool]: ...

    # -- batches -------------------------------------------------------------------

    async def put_many(
        self, items: Mapping[str, Any], *, max_concurrency: int = DEFAULT_CONCURRENCY,
        progress: BatchProgress | None = None, **options: Any,
    ) -> BatchResult[str, str]:
        """``put`` every ``{path: data}`` item, ``max_concurrency`` at a time; per-item results."""
        width = batch_width(self._disk, max_concurrency)
        if fits_lanes(self._inline, progress) and all(_one_request(data) for data in items.values()):
            return await in_lanes(list(items), lambda path: self._disk.put(path, items[path], **options), width)
        return await per_item(
            list(items), lambda path: self.put(path, items[path], **options), width, progress
        )

    async def get_many(
        self, paths: Iterable[str], *, max_concurrency: int = DEFAULT_CONCURRENCY,
        progress: BatchProgress | None = None,
    ) -> BatchResult[str, bytes]:
        """``get`` every path; a failed item holds its error."""
        width = batch_width(self._disk, max_concurrency)
        unique = list(dict.fromkeys(paths))
        if fits_lanes(self._inline, progress):
            return await in_lanes(unique, lambda path: bytes(self._disk.get(path)), width)
        return await per_item(unique, self.get, width, progress)

    async def exists_many(
        self, paths: Iterable[str], *, max_concurrency: int = DEFAULT_CONCURRENCY,
        progress: BatchProgress | None = None,
    ) -> BatchResult[str, bool]:
        """``exists`` for every path."""
        width = batch_width(self._disk, max_concurrency)
        unique = list(dict.fromkeys(paths))
        if fits_lanes(self._inline, progress):
            return await in_lanes(unique, lambda path: bool(self._disk.exists(path)), width)
        return await per_item(unique, self.exists, width, progress)

    async def copy_many(
        self, pairs: Mapping[str, str], *, max_concurrency: int = DEFAULT_CONCURRENCY,
        progress: BatchProgress | None = None, **options: Any,
    ) -> BatchResult[str, str]:
        """``copy`` every ``{source: destination}`` pair."""
        width = batch_width(self._disk, max_concurrency)
        if fits_lanes(self._inline, progress):
            return await in_lanes(list(pairs), lambda source: self._disk.copy(source, pairs[source], **options),
                                  width)
        return await per_item(
            list(pairs), lambda source: self.copy(source, pairs[source], **options), width, progress
        )

    async def delete_many(
        self, paths: Iterable[str], *, max_concurrency: int = DEFAULT_CONCURRENCY,
        progress: BatchProgress | None = None,
    ) -> BatchResult[str, bool]:
        """Delete every path (S3: DeleteObjects requests of up to 1,000 keys)."""
        width = batch_width(self._disk, max_concurrency)
        unique = list(dict.fromkeys(paths))
        stop = threading.Event()
        report = None if progress is None else on_loop(progress, asyncio.get_running_loop(), stop)
        native = await offload(native_delete, self._disk, unique, report, stop, on_cancel=stop.set)
        if native is not None:
            return native
        if fits_lanes(self._inline, progress):
            return await in_lanes(unique, lambda path: bool(self._disk.delete(path)), width)
        return await per_item(unique, self.delete, width, progress)


def _one_request(data: Any) -> bool:
    """Bytes or text a put sends whole (no stream a cancellation could stop part-way)."""
    return isinstance(data, (bytes, bytearray, memoryview, str)) and len(data) <= CANCELLABLE_ABOVE

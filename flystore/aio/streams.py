"""Async streams over the sync ones: one chunk in flight at a time, so memory stays bounded.

``AsyncReadStream`` reads each chunk in the thread pool; ``bridge_chunks``
lets a worker thread consume an async iterable that lives on the loop;
``AsyncFile`` is an async face of a file object from ``disk.open``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any, BinaryIO, Protocol

from ._pool import offload

__all__ = [
    "AsyncFile", "AsyncReadStream", "CancellableReader", "ChunkBridge", "WriteCancelled", "bridge_chunks",
    "cancellable_chunks",
    "settle",
]

_SLICE = 1024 * 1024


class WriteCancelled(Exception):
    """Raised inside a worker's source when the awaiting task was cancelled: the write aborts."""


class _SyncReadStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
    def close(self) -> None: ...
    def __iter__(self) -> Iterator[bytes]: ...


class AsyncReadStream:
    """What the async ``read_stream()`` returns: ``async with ... as s: async for chunk in s``.

    The file is opened on entry (errors such as ``FileNotFound`` surface there)
    and each chunk is read in the thread pool.
    """

    def __init__(self, opener: Callable[[], _SyncReadStream]) -> None:
        self._opener = opener
        self._stream: _SyncReadStream | None = None
        self._chunks: Iterator[bytes] | None = None

    async def open(self) -> AsyncReadStream:
        """Open the file now (``async with`` does it for you).

        Raises:
            FileNotFound, UnableToReadFile: as the sync ``read_stream``.
        """
        if self._stream is None:
            opened: list[_SyncReadStream] = []

            def opening() -> _SyncReadStream:
                opened.append(self._opener())
                return opened[0]

            try:
                self._stream = await offload(opening, on_cancel=settle)
            except asyncio.CancelledError:
                for stream in opened:  # opened after all: close it rather than leave it to the collector
                    await offload(stream.close)
                raise
        return self

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative)."""
        stream = (await self.open())._stream
        assert stream is not None
        return await offload(stream.read, size, on_cancel=settle)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        await self.open()
        if self._chunks is None:
            assert self._stream is not None
            self._chunks = iter(self._stream)
        # A cancelled read waits for its chunk, so that closing never races a read in another thread.
        chunk: bytes | None = await offload(next, self._chunks, None, on_cancel=settle)
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        """Close the file (idempotent)."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await offload(stream.close, on_cancel=settle)

    async def __aenter__(self) -> AsyncReadStream:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class ChunkBridge:
    """A sync iterator (for a worker thread) over an async iterable that runs on ``loop``.

    Each chunk is pulled when the writer asks for it, so at most one chunk is
    held. ``cancel()`` (the writing task's ``on_cancel``) makes the iterator raise
    ``WriteCancelled``, so the backend discards what it wrote, and also cancels a
    pull still waiting for the source: a source that has nothing to give yet
    (a slow producer, a client that went quiet) does not hold the cancellation.
    """

    def __init__(self, source: AsyncIterable[Any], loop: asyncio.AbstractEventLoop) -> None:
        self.iterator = source.__aiter__()
        self.loop = loop
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._pulling: concurrent.futures.Future[Any] | None = None

    def cancel(self) -> None:
        """Stop the transfer (thread-safe; called on the loop when the writing task is cancelled)."""
        self.cancelled.set()
        with self._lock:
            pulling = self._pulling
        if pulling is not None:
            pulling.cancel()

    def chunks(self) -> Iterator[bytes]:
        """The source's chunks as bytes.

        Raises:
            WriteCancelled: ``cancel()`` was called; whatever the source raises.
        """
        return bridge_chunks(self)

    def check(self) -> None:
        """Raises ``WriteCancelled`` once cancelled."""
        if self.cancelled.is_set():
            raise WriteCancelled("the writing task was cancelled")

    def pull(self) -> Any:
        """The source's next item (``_END`` at its end), waited for in the worker thread.

        Raises:
            WriteCancelled: cancelled before or while waiting.
        """
        async def step() -> Any:
            try:
                return await self.iterator.__anext__()
            except StopAsyncIteration:
                return _END

        future = asyncio.run_coroutine_threadsafe(step(), self.loop)
        with self._lock:
            self._pulling = future
        try:
            if self.cancelled.is_set():  # cancel() ran before the pull was registered
                future.cancel()
            return future.result()
        except concurrent.futures.CancelledError:
            raise WriteCancelled("the writing task was cancelled") from None
        finally:
            with self._lock:
                self._pulling = None


def bridge_chunks(bridge: ChunkBridge) -> Iterator[bytes]:
    """The worker's side of ``bridge``: one chunk pulled from the loop at a time."""
    try:
        while True:
            bridge.check()
            chunk = bridge.pull()
            if chunk is _END:
                return
            bridge.check()
            if isinstance(chunk, str):
                chunk = chunk.encode()
            yield bytes(chunk)
    finally:
        # The source's own cleanup (an async generator's finally) runs on its loop, not never.
        close = getattr(bridge.iterator, "aclose", None)
        if close is not None and not bridge.loop.is_closed():
            asyncio.run_coroutine_threadsafe(close(), bridge.loop)


_END = object()


def cancellable_chunks(data: bytes, cancelled: threading.Event) -> Iterator[bytes]:
    """``data`` in slices, raising ``WriteCancelled`` between slices once ``cancelled`` is set."""
    view = memoryview(data)
    for start in range(0, max(len(view), 1), _SLICE):
        if cancelled.is_set():
            raise WriteCancelled("the writing task was cancelled")
        yield bytes(view[start : start + _SLICE])


class CancellableReader:
    """A file object's reads, raising ``WriteCancelled`` once ``cancelled`` is set.

    A put of a file object reads it in the worker thread; without this, a
    cancelled put would go on reading (and uploading) to the end of the file
    before the cancellation could return. Everything but reading is the file's own.
    """

    def __init__(self, file: Any, cancelled: threading.Event) -> None:
        self._file = file
        self._cancelled = cancelled

    def _check(self) -> None:
        if self._cancelled.is_set():
            raise WriteCancelled("the writing task was cancelled")

    def read(self, size: int = -1, /) -> bytes:
        """Raises: WriteCancelled once the task was cancelled."""
        self._check()
        chunk = self._file.read(size)
        self._check()
        return bytes(chunk) if isinstance(chunk, (bytearray, memoryview)) else chunk  # type: ignore[no-any-return]

    def readinto(self, buffer: Any, /) -> int:
        """Raises: WriteCancelled once the task was cancelled."""
        self._check()
        readinto = getattr(self._file, "readinto", None)
        if readinto is None:
            chunk = self._file.read(len(buffer))
            buffer[: len(chunk)] = chunk
            count = len(chunk)
        else:
            count = int(readinto(buffer) or 0)
        self._check()
        return count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def settle() -> None:
    """``on_cancel`` of a call that cannot stop half-way: the cancellation waits for it to finish."""


class AsyncFile:
    """An async face of a file object from ``disk.open``: ``await f.write(b)``, ``await f.read()``.

    Writers publish on ``close()``; leaving ``async with`` by an exception (or a
    cancellation) discards what was written.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle

    @property
    def raw(self) -> BinaryIO:
        """The sync file object underneath."""
        return self._handle

    @property
    def closed(self) -> bool:
        return bool(self._handle.closed)

    # A cancelled call waits for its worker (settle): the file object is never used by two threads at
    # once (an abort racing a write), and no thread is still working for the task once it is cancelled.

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes."""
        return await offload(self._handle.read, size, on_cancel=settle)

    async def write(self, data: bytes) -> int:
        """Write ``data``; nothing is visible before ``close``."""
        return await offload(self._handle.write, data, on_cancel=settle)

    async def close(self) -> None:
        """Close; a writer publishes its file atomically here.

        A close that is cancelled once it has begun runs to its end first, so
        the file is then either whole or not there, and stays so.

        Raises:
            UnableToWriteFile: the file could not be published.
        """
        await offload(self._handle.close, on_cancel=settle)

    async def abort(self) -> None:
        """Discard a writer's content (the stored file stays as it was)."""
        abort = getattr(self._handle, "abort", None)
        await offload(abort if abort is not None else self._handle.close, on_cancel=settle)

    async def __aenter__(self) -> AsyncFile:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self.close()
        else:
            await self.abort()

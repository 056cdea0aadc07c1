"""How the async batches run their items: one task per item, or a few lanes of threads.

``per_item`` awaits one coroutine per item (what async sources, big writes
and async progress callbacks need). ``in_lanes`` is for items that are one
sync call each (gets, existence checks, small writes, copies): it starts
``max_concurrency`` lanes, each one offload that takes items off a shared
list until none are left. The loop then does nothing per item, where the
per-item path pays a task, a future and a wake-up of the loop for each, a
sixth of a small S3 GET's client CPU. Both give the same ``BatchResult``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ..batch import BatchProgress, BatchResult, _check_concurrency
from ._pool import batch_threads, offload

__all__ = ["fits_lanes", "in_lanes", "per_item"]

K = TypeVar("K")
V = TypeVar("V")


async def per_item(
    keys: Sequence[K], operation: Callable[[K], Awaitable[V]], max_concurrency: int,
    progress: BatchProgress | None,
) -> BatchResult[K, V]:
    """``await operation(key)`` for every key, ``max_concurrency`` at a time.

    Raises:
        ValueError: ``max_concurrency`` is not a positive int.
    """
    width = _check_concurrency(max_concurrency)
    result: BatchResult[K, V] = BatchResult(list(keys))
    limit = asyncio.Semaphore(width)
    done = 0

    async def one(key: K) -> None:
        nonlocal done
        async with limit:
            try:
                result.results[key] = await operation(key)
                error = None
            except Exception as failure:
                result.errors[key] = error = failure
        done += 1
        if progress is not None:
            outcome = progress(done, len(keys), key, error)
            if inspect.isawaitable(outcome):
                await outcome

    with batch_threads(min(width, len(keys))):
        await asyncio.gather(*(one(key) for key in keys))
    return result


async def in_lanes(keys: Sequence[K], operation: Callable[[K], V], max_concurrency: int) -> BatchResult[K, V]:
    """``operation(key)`` for every key in ``max_concurrency`` worker threads.

    A cancelled batch starts no further item and waits for the items in
    flight to finish (each is a single request: it cannot stop half-way)
    before the cancellation propagates, so no thread is left working for it.

    Raises:
        ValueError: ``max_concurrency`` is not a positive int.
    """
    width = min(_check_concurrency(max_concurrency), len(keys))
    result: BatchResult[K, V] = BatchResult(list(keys))
    queue = list(reversed(keys))
    take = threading.Lock()
    stop = threading.Event()
    caller = contextvars.copy_context()  # each item runs in its own copy, as on the per-item path

    def lane() -> None:
        while not stop.is_set():
            with take:
                if not queue:
                    return
                key = queue.pop()
            try:
                result.results[key] = caller.copy().run(operation, key)
            except Exception as failure:
                result.errors[key] = failure

    with batch_threads(width):
        lanes = [asyncio.ensure_future(offload(lane, on_cancel=stop.set)) for _ in range(width)]
        try:
            await asyncio.gather(*lanes)
        except asyncio.CancelledError:
            stop.set()
            await asyncio.wait(lanes)  # each lane settles its item before it ends
            raise
    return result


def on_loop(progress: BatchProgress, loop: asyncio.AbstractEventLoop, stop: threading.Event) -> BatchProgress:
    """``progress`` for a worker thread: each report runs on ``loop`` (awaited when async), as on
    the per-item path, and the worker waits for it; once ``stop`` is set reports are dropped (the
    loop is busy cancelling the batch and would never run them)."""

    async def report(done: int, total: int, key: Any, error: Exception | None) -> None:
        outcome = progress(done, total, key, error)
        if inspect.isawaitable(outcome):
            await outcome

    def from_worker(done: int, total: int, key: Any, error: Exception | None) -> None:
        if stop.is_set():
            return
        future = asyncio.run_coroutine_threadsafe(report(done, total, key, error), loop)
        while not stop.is_set():
            try:
                future.result(timeout=0.05)  # polled, so that a cancellation never leaves it waiting
                return
            except concurrent.futures.TimeoutError:  # not the builtin one before Python 3.11
                continue
        future.cancel()

    return from_worker


def fits_lanes(inline: bool, progress: BatchProgress | None) -> bool:
    """Lanes suit a disk whose calls block (not the inline memory disk) when no progress is reported per item."""
    return not inline and progress is None

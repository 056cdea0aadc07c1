"""The bounded thread pool that runs sync backend calls off the event loop.

Every blocking call of the async API runs here, so the loop never waits on
I/O; the pool is bounded so that a burst of coroutines cannot start a thread
each. Calls keep their ``contextvars`` context.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["MAX_THREADS", "batch_threads", "executor", "offload", "to_the_end"]

_T = TypeVar("_T")

#: Threads of the shared pool (``FLYSTORE_AIO_THREADS`` overrides it).
MAX_THREADS = int(os.environ.get("FLYSTORE_AIO_THREADS", "0")) or min(64, 16 + 4 * (os.cpu_count() or 1))

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
# The pool a batch wider than the shared one runs its items in (set for the batch's tasks only).
_batch_pool: contextvars.ContextVar[ThreadPoolExecutor | None] = contextvars.ContextVar(
    "flystore_aio_batch_pool", default=None
)


def executor() -> ThreadPoolExecutor:
    """The process's pool (created on first use, and again after a fork)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="flystore-aio")
        return _pool


def _reset_after_fork() -> None:
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_reset_after_fork)


@contextmanager
def batch_threads(workers: int) -> Iterator[None]:
    """Within the block, ``offload`` has at least ``workers`` threads to run on.

    A batch's ``max_concurrency`` is a promise of that many items in flight; past
    the shared pool's size the batch brings its own pool of exactly ``workers``
    threads (bounded by what the caller asked for), which ends with the block.
    Tasks created inside the block inherit it, so set it before ``gather``.
    """
    if workers <= MAX_THREADS:
        yield
        return
    own = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flystore-aio-batch")
    token = _batch_pool.set(own)
    try:
        yield
    finally:
        _batch_pool.reset(token)
        own.shutdown(wait=False)  # idle by now, except workers a cancellation left finishing


async def offload(
    function: Callable[..., _T], *args: Any, on_cancel: Callable[[], None] | None = None, **kwargs: Any
) -> _T:
    """``function(*args, **kwargs)`` in the pool, awaited without blocking the loop.

    With ``on_cancel``, a cancelled caller first calls it (to make the worker
    abort, e.g. a write discarding its temporary file) and then waits for the
    worker to finish (however often it is cancelled meanwhile), so that the thread
    and its connection are released and the outcome is settled before the
    cancellation propagates.

    Raises:
        whatever ``function`` raises; ``asyncio.CancelledError`` when cancelled.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    future = loop.run_in_executor(_batch_pool.get() or executor(), call)
    if on_cancel is None:
        return await future
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        on_cancel()
        await _wait_out(future)
        raise


async def to_the_end(awaitable: Awaitable[_T]) -> _T:
    """Await ``awaitable`` to its end, however often the caller is cancelled meanwhile.

    ``asyncio.shield`` keeps the inner work running but lets a cancelled caller go on at once; clean-up
    (an abort discarding a temporary file) must be over before the cancellation propagates.

    Raises:
        whatever ``awaitable`` raises; ``asyncio.CancelledError`` (after it ended) when the caller was cancelled.
    """
    task = asyncio.ensure_future(awaitable)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await _wait_out(task)
        raise


async def _wait_out(future: asyncio.Future[Any]) -> None:
    """Wait until ``future`` is done, through any number of cancellations (its outcome retrieved)."""
    while not future.done():
        try:
            await asyncio.wait([future])
        except asyncio.CancelledError:
            continue  # cancelled again (a timeout, then a shutdown): the work still settles first
    if not future.cancelled():
        future.exception()  # retrieved: the cancellation is what the caller sees

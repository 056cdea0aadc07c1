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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["MAX_THREADS", "executor", "offload"]

_T = TypeVar("_T")

#: Threads of the pool (``FLYSTORE_AIO_THREADS`` overrides it); batch calls stay below it.
MAX_THREADS = int(os.environ.get("FLYSTORE_AIO_THREADS", "0")) or min(64, 16 + 4 * (os.cpu_count() or 1))

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


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


async def offload(
    function: Callable[..., _T], *args: Any, on_cancel: Callable[[], None] | None = None, **kwargs: Any
) -> _T:
    """``function(*args, **kwargs)`` in the pool, awaited without blocking the loop.

    With ``on_cancel``, a cancelled caller first calls it (to make the worker
    abort, e.g. a write discarding its temporary file) and then waits for the
    worker to finish, so that the thread and its connection are released and
    the outcome is settled before the cancellation propagates.

    Raises:
        whatever ``function`` raises; ``asyncio.CancelledError`` when cancelled.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    future = loop.run_in_executor(executor(), call)
    if on_cancel is None:
        return await future
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        on_cancel()
        await asyncio.wait([future])
        if not future.cancelled():
            future.exception()  # retrieved: the cancellation is what the caller sees
        raise

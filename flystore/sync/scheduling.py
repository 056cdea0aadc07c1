"""Feeding work to a ``concurrent.futures.Executor`` with a bounded number of tasks in flight.

The default is a thread pool of ``transfers`` threads, one file per task. Any
other executor (a process pool, ``dask.distributed.Client(...).get_executor()``)
gets batches of files, so a million-object sync does not become a million
remote tasks, and at most a few batches per transfer slot wait at a time, so
memory stays bounded however long the plan is.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["run_batches"]

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

_MAX_BATCH = 256


def _batches(items: Sequence[_Item], size: int) -> Iterator[list[_Item]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def run_batches(
    work: Callable[..., list[_Result]],
    items: Sequence[_Item],
    arguments: tuple[Any, ...],
    *,
    transfers: int,
    executor: concurrent.futures.Executor | None,
    small: bool = False,
) -> Iterator[_Result]:
    """Yield ``work(batch, *arguments)``'s results for every batch of ``items``, as batches finish.

    ``small`` says each item is quick (a cached hash), so the thread pool gets batches too.

    Raises:
        Exception: whatever the executor raises for a task that could not run at all.
    """
    if not items:
        return
    own = executor is None
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=transfers, thread_name_prefix="flystore-sync") \
        if executor is None else executor
    size = 1 if own and not small else max(1, min(_MAX_BATCH, len(items) // (transfers * 4)))
    window = transfers * (2 if own else 4)
    pending: set[concurrent.futures.Future[list[_Result]]] = set()
    batches = _batches(items, size)
    try:
        for batch in batches:
            pending.add(pool.submit(work, batch, *arguments))
            if len(pending) >= window:
                done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
        while pending:
            done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                yield from future.result()
    finally:
        for future in pending:
            future.cancel()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)

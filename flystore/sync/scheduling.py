"""Feeding work to a ``concurrent.futures.Executor`` with a bounded number of tasks in flight.

A sync's own thread pool gets one file per task (quick items, such as cached
hashes, go in batches). Any other executor (a process pool,
``dask.distributed.Client(...).get_executor()``) always gets batches of files,
so a million-object sync does not become a million remote tasks. Only a few
tasks per transfer slot wait at a time, so memory stays bounded however long
the plan is.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["batch_size", "run_batches"]

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

_MAX_BATCH = 256


def batch_size(items: int, transfers: int) -> int:
    """Items per task when batching: about four tasks per transfer slot, at most 256 items each."""
    return max(1, min(_MAX_BATCH, items // (transfers * 4)))


def run_batches(
    work: Callable[..., list[_Result]],
    items: Sequence[_Item],
    arguments: tuple[Any, ...],
    *,
    executor: concurrent.futures.Executor,
    size: int,
    window: int,
) -> Iterator[_Result]:
    """Yield ``work(batch, *arguments)``'s results for batches of ``size`` items, as they finish.

    At most ``window`` tasks are submitted and unfinished at a time. When the
    consumer stops early, the tasks not yet started are cancelled.

    Raises:
        Exception: whatever the executor raises for a task that could not run at all.
    """
    pending: set[concurrent.futures.Future[list[_Result]]] = set()
    try:
        for start in range(0, len(items), size):
            pending.add(executor.submit(work, list(items[start : start + size]), *arguments))
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

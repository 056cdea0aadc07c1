"""Run callables at the same instant from threads: how the exclusive-create tests make writers race."""

from __future__ import annotations

import threading
from collections.abc import Callable


def race(attempts: list[Callable[[], None]]) -> tuple[list[int], list[BaseException]]:
    """Run every attempt at once (a barrier releases them together); the winners' indexes and the errors."""
    barrier = threading.Barrier(len(attempts))
    won: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        barrier.wait()
        try:
            attempts[index]()
        except BaseException as error:  # collected: the test asserts on every one
            with lock:
                errors.append(error)
        else:
            with lock:
                won.append(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won, errors

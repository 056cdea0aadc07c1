"""``CollectionGate``: writers of one process never interleave with a collection's deletions.

A writer holds the gate shared from checking a blob to publishing its pointer; a collection
holds it exclusively while it re-checks and deletes blobs (never while it scans pointers).
So within one process a writer either sees a blob gone and writes it again, or refreshes it
before the collection looks at it once more. Across processes the grace period is what
protects writers (see docs/deduplication.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CollectionGate"]


class CollectionGate:
    """Many writers at once, or one collection's deleting phase."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._writers = 0
        self._collecting = False
        #: One collection at a time per backend.
        self.collection = threading.Lock()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._condition:
            while self._collecting:
                self._condition.wait()
            self._writers += 1
        try:
            yield
        finally:
            with self._condition:
                self._writers -= 1
                self._condition.notify_all()

    @contextmanager
    def deleting(self) -> Iterator[None]:
        with self._condition:
            self._collecting = True  # new writers wait; those inside finish first
            while self._writers:
                self._condition.wait()
        try:
            yield
        finally:
            with self._condition:
                self._collecting = False
                self._condition.notify_all()

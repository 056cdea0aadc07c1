"""The background writer: a bounded queue in front of a sink, drained by one thread.

An operation only ever calls ``submit``, which never waits: when the queue is
full the record is dropped and counted, and the next batch written starts with
an ``audit_dropped`` record saying how many were lost. The thread writes a batch
when it holds ``batch_size`` records or its first record is ``flush_interval``
seconds old; ``flush()``, ``close()`` and interpreter exit write what is queued.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import weakref
from datetime import datetime, timezone
from typing import Any, Protocol

from .record import AuditRecord, Pending, batch_files, encode, make_record

__all__ = ["AuditWriter", "DiskSink", "LoggerSink", "Sink"]

_log = logging.getLogger("flystore.audited")


class Sink(Protocol):
    """Where batches of records end up."""

    def write(self, records: list[AuditRecord]) -> None: ...


class DiskSink:
    """Each batch becomes new JSON-lines files on a disk, one per hour it touches (see ``record``)."""

    def __init__(self, disk: Any, prefix: str) -> None:
        self.disk = disk
        self.prefix = prefix

    def write(self, records: list[AuditRecord]) -> None:
        for path, group in batch_files(self.prefix, records):
            self.disk.put(path, encode(group), mimetype="application/x-ndjson")


class LoggerSink:
    """Each record becomes one INFO message (its JSON line) on a ``logging.Logger``.

    The record itself rides along as the ``audit`` attribute of the ``LogRecord``.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def write(self, records: list[AuditRecord]) -> None:
        for record in records:
            self.logger.info(encode([record]).decode().rstrip("\n"), extra={"audit": record})


class _Control:
    """A flush (or, with ``stop``, a close) request travelling through the queue."""

    __slots__ = ("done", "stop")

    def __init__(self, stop: bool) -> None:
        self.stop = stop
        self.done = threading.Event()


class AuditWriter:
    """Queues records for ``sink`` and writes them from a daemon thread.

    Args:
        sink: where batches go.
        disk: the audited disk's name (for ``audit_dropped`` records).
        max_queue: records that may wait; beyond it new ones are dropped and counted.
        flush_interval: seconds a record may wait before its batch is written.
        batch_size: records per batch at most.

    Attributes:
        dropped: records dropped so far because the queue was full.
        failed: records lost because the sink raised (each failure is logged on
            the ``flystore.audited`` logger).
        written: records the sink accepted.
    """

    def __init__(
        self,
        sink: Sink,
        *,
        disk: str,
        max_queue: int = 10_000,
        flush_interval: float = 5.0,
        batch_size: int = 1_000,
    ) -> None:
        self.sink = sink
        self.disk = disk
        self.max_queue = max_queue
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.dropped = 0
        self.failed = 0
        self.written = 0
        self._unreported = 0
        self._lock = threading.Lock()
        self._closed = False
        self._start()
        _LIVE.add(self)

    def _start(self) -> None:
        self._generation = _FORKS[0]
        self._queue: queue.Queue[Pending | AuditRecord | _Control] = queue.Queue(self.max_queue)
        self._thread = threading.Thread(target=self._run, name=f"flystore-audit-{self.disk}", daemon=True)
        self._thread.start()

    # -- the operation's side: never waits ----------------------------------------------

    def submit(self, record: Pending | AuditRecord) -> None:
        """Queue ``record``; when the queue is full, drop it and count it. Never blocks."""
        if self._closed:
            self._count_drop()
            return
        if self._generation != _FORKS[0]:  # a forked child has the queue but not the thread
            with self._lock:
                if self._generation != _FORKS[0]:
                    self._start()
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._count_drop()

    def _count_drop(self) -> None:
        with self._lock:
            self.dropped += 1
            self._unreported += 1

    # -- the thread's side ---------------------------------------------------------------

    def _run(self) -> None:
        batch: list[AuditRecord] = []
        deadline = 0.0
        get = self._queue.get
        while True:
            try:
                item = get(timeout=max(0.0, deadline - time.monotonic())) if batch else get()
            except queue.Empty:
                item = None
            if isinstance(item, _Control):
                self._write(batch)
                batch = []
                item.done.set()
                if item.stop:
                    return
                continue
            if item is not None:
                if not batch:
                    deadline = time.monotonic() + self.flush_interval
                try:
                    batch.append(item.to_record() if isinstance(item, Pending) else item)
                except Exception as error:  # a record that cannot be formatted must not stop the thread
                    self.failed += 1
                    _log.warning("flystore: an audit record of disk %r could not be formatted: %s", self.disk, error)
                if len(batch) < self.batch_size and time.monotonic() < deadline:
                    continue
            self._write(batch)
            batch = []

    def _write(self, batch: list[AuditRecord]) -> None:
        with self._lock:
            lost, self._unreported = self._unreported, 0
        if lost:
            notice = make_record(started=datetime.now(timezone.utc), actor=None, disk=self.disk,
                                 operation="audit_dropped", path="", outcome="ok", duration=0.0)
            notice["count"] = lost
            batch = [notice, *batch]
        if not batch:
            return
        try:
            self.sink.write(batch)
        except Exception as error:  # the trail failing must not take the thread (and every later record) down
            self.failed += len(batch)
            _log.warning("flystore: %d audit records of disk %r were lost: %s", len(batch), self.disk, error)
        else:
            self.written += len(batch)

    # -- flushing and closing ----------------------------------------------------------------

    def _request(self, stop: bool, timeout: float) -> bool:
        if self._generation != _FORKS[0] or not self._thread.is_alive():
            return False
        control = _Control(stop)
        deadline = time.monotonic() + timeout  # one budget for both waits: a stalled trail holds us up once
        try:
            self._queue.put(control, timeout=timeout)
        except queue.Full:
            return False
        return control.done.wait(max(0.0, deadline - time.monotonic()))

    def flush(self, timeout: float = 30.0) -> bool:
        """Write everything queued so far; False if that did not finish within ``timeout`` seconds."""
        if self._closed:
            return True
        return self._request(False, timeout)

    def close(self, timeout: float = 30.0) -> bool:
        """Write what is queued and stop the thread; later records are dropped. Safe to call twice."""
        if self._closed:
            return True
        self._closed = True
        _LIVE.discard(self)
        finished = self._request(True, timeout)
        if finished:
            self._thread.join(timeout)
            self._drain()
        return finished

    def _drain(self) -> None:
        """Count what raced into the queue behind the stop request: it will never be written."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if not isinstance(item, _Control):
                self._count_drop()


_LIVE: weakref.WeakSet[AuditWriter] = weakref.WeakSet()
#: How many times this process is a fork child (a counter, cheaper than os.getpid() on every record).
_FORKS = [0]


def _forked() -> None:
    _FORKS[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


#: How long interpreter exit may wait for every open audited disk's last batches, in all.
EXIT_TIMEOUT = 10.0


def _close_all(timeout: float = EXIT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    for writer in list(_LIVE):
        writer.close(timeout=max(0.1, deadline - time.monotonic()))


atexit.register(_close_all)

"""``AuditedBackend``: every primitive through it leaves a record, without waiting for the trail."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO, TypeVar

from ...attributes import Entry, FileAttributes, WriteOptions
from ...backend import Backend, Readable
from ..base import DecoratedBackend
from .actor import current_actor
from .handles import RecordedReader, RecordedWriter
from .record import Pending
from .writer import AuditWriter

__all__ = ["AuditedBackend"]

_T = TypeVar("_T")


class _CountingReader:
    """Counts the bytes a streamed write consumes (the record's ``size``)."""

    __slots__ = ("_stream", "count")

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._stream.read(size)
        self.count += len(chunk)
        return chunk


class AuditedBackend(DecoratedBackend):
    """Records who did what, where, how big, with which outcome and how long it took.

    Records name the primitive (``read``, ``open_read``, ``write``, ``list``, ...),
    the path on this disk and, for ``copy``/``move``, the destination. They never
    hold contents, write options (metadata, visibility values) or URLs: a signed
    URL's signature never reaches the trail.
    """

    def __init__(self, inner: Backend, writer: AuditWriter, disk: str, *, owns_inner: bool = True) -> None:
        super().__init__(inner)
        self.owns_inner = owns_inner
        self.metadata_limit = inner.metadata_limit
        self.name = f"audited({inner.name})"
        self.writer = writer
        self.disk = disk

    def _record(self, operation: str, path: str, started: float, began: float, outcome: str,
                size: int | None = None, destination: str | None = None) -> None:
        self.writer.submit(Pending(started, current_actor(), self.disk, operation, path, outcome,
                                   time.perf_counter() - began, size, destination))

    def _call(self, operation: str, path: str, call: Callable[[], _T], *,
              size: Callable[[_T], int | None] | None = None, destination: str | None = None) -> _T:
        started = time.time()
        began = time.perf_counter()
        try:
            result = call()
        except BaseException as error:
            self._record(operation, path, started, began, type(error).__name__, destination=destination)
            raise
        self._record(operation, path, started, began, "ok", size(result) if size else None, destination)
        return result

    def _listing(self, path: str, listing: Callable[[], Iterator[_T]]) -> Iterator[_T]:
        started = time.time()
        began = time.perf_counter()
        count = 0
        outcome = "ok"
        try:
            for item in listing():
                count += 1
                yield item
        except GeneratorExit:  # the caller stopped early: what it listed is still recorded
            raise
        except BaseException as error:
            outcome = type(error).__name__
            raise
        finally:
            self._record("list", path, started, began, outcome, size=count)

    # -- reading -------------------------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        return self._call("file_exists", path, lambda: self.inner.file_exists(path))

    def directory_exists(self, path: str) -> bool:
        return self._call("directory_exists", path, lambda: self.inner.directory_exists(path))

    def read(self, path: str) -> bytes:
        return self._call("read", path, lambda: self.inner.read(path), size=len)

    def open_read(self, path: str) -> BinaryIO:
        # Recorded when the handle is closed, with the bytes read through it and how long it was open.
        started = time.time()
        began = time.perf_counter()
        try:
            handle = self.inner.open_read(path)
        except BaseException as error:
            self._record("open_read", path, started, began, type(error).__name__)
            raise
        actor = current_actor()

        def done(size: int, failure: str | None) -> None:
            self.writer.submit(Pending(started, actor, self.disk, "open_read", path, failure or "ok",
                                       time.perf_counter() - began, size))

        return RecordedReader(handle, done)  # type: ignore[return-value]

    def stat(self, path: str) -> FileAttributes:
        return self._call("stat", path, lambda: self.inner.stat(path), size=lambda found: found.size)

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        return self._listing(path, lambda: self.inner.list_contents(path, deep))

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        return self._listing(path, lambda: self.inner.list_paths(path, deep))

    def checksum(self, path: str, algorithm: str) -> str | None:
        return self._call("checksum", path, lambda: self.inner.checksum(path, algorithm))

    # -- writing -------------------------------------------------------------------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self._call("write", path, lambda: self.inner.write(path, data, options), size=lambda _: len(data))

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        counted = _CountingReader(stream)
        self._call("write", path, lambda: self.inner.write_stream(path, counted, options),
                   size=lambda _: counted.count)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        # A native atomic writer is recorded when it publishes (or aborts), with the bytes written;
        # without one the disk streams through write_stream, which records the write.
        started = time.time()
        began = time.perf_counter()
        try:
            native = self.inner.open_write(path, options)
        except BaseException as error:
            self._record("write", path, started, began, type(error).__name__)
            raise
        if native is None:
            return None
        actor = current_actor()

        def done(size: int, outcome: str) -> None:
            self.writer.submit(Pending(started, actor, self.disk, "write", path, outcome,
                                       time.perf_counter() - began, size))

        return RecordedWriter(native, done)  # type: ignore[return-value]

    def delete(self, path: str) -> bool:
        return self._call("delete", path, lambda: self.inner.delete(path))

    def create_directory(self, path: str, options: WriteOptions) -> None:
        self._call("create_directory", path, lambda: self.inner.create_directory(path, options))

    def delete_directory(self, path: str) -> bool:
        return self._call("delete_directory", path, lambda: self.inner.delete_directory(path))

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        self._call("copy", source, lambda: self.inner.copy(source, destination, options), destination=destination)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        self._call("move", source, lambda: self.inner.move(source, destination, options), destination=destination)

    def set_visibility(self, path: str, visibility: str) -> None:
        self._call("set_visibility", path, lambda: self.inner.set_visibility(path, visibility))

    # -- URLs and the rest ---------------------------------------------------------------------

    def public_url(self, path: str) -> str | None:
        return self._call("url", path, lambda: self.inner.public_url(path))

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
        return self._call("temporary_url", path, lambda: self.inner.temporary_url(path, expires_at, options))

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        return self._call("temporary_upload_url", path,
                          lambda: self.inner.temporary_upload_url(path, expires_at, options))

    def local_path(self, path: str) -> str | None:
        return self._call("local_path", path, lambda: self.inner.local_path(path))

    def close(self) -> None:
        """Write what is queued and stop the writer; close the wrapped backend only if it is ours."""
        self.writer.close()
        if self.owns_inner:
            self.inner.close()

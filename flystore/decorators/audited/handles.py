"""Handles that count the bytes through them and report when they end: reads and native writes."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, BinaryIO

__all__ = ["RecordedReader", "RecordedWriter"]


class RecordedReader(io.RawIOBase):
    """Passes every read and seek to ``handle``; on ``close()`` calls ``done(bytes_read, error_class)``.

    ``error_class`` is the class name of the first error a read raised, or None.
    A handle dropped without ``close()`` is closed, and reports, when it is garbage-collected
    (``io.IOBase`` closes on finalisation).
    """

    def __init__(self, handle: BinaryIO, done: Callable[[int, str | None], None]) -> None:
        super().__init__()
        self._handle = handle
        self._done: Callable[[int, str | None], None] | None = done
        self._failure: str | None = None
        self.count = 0

    def _report(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done(self.count, self._failure)

    def _failed(self, error: BaseException) -> None:
        if self._failure is None:
            self._failure = type(error).__name__

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._handle.seekable())

    def read(self, size: int | None = -1, /) -> bytes:
        try:
            chunk = self._handle.read(-1 if size is None else size)
        except BaseException as error:
            self._failed(error)
            raise
        self.count += len(chunk)
        return chunk

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any, /) -> int:
        native = getattr(self._handle, "readinto", None)
        try:
            if native is not None:
                received = native(buffer) or 0
            else:
                data = self._handle.read(len(buffer))
                received = len(data)
                buffer[:received] = data
        except BaseException as error:
            self._failed(error)
            raise
        self.count += received
        return received

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def close(self) -> None:
        if not self.closed:
            try:
                self._handle.close()
            finally:
                self._report()
        super().close()


class RecordedWriter:
    """Wraps a backend's ``open_write`` handle (``write``/``close`` publishes/``abort`` discards).

    ``done(bytes_written, outcome)`` is called once: ``"ok"`` after a publishing ``close()``,
    ``"aborted"`` after ``abort()``, or the class name of the error ``close()`` or a write raised.
    """

    def __init__(self, native: BinaryIO, done: Callable[[int, str], None]) -> None:
        self._native = native
        self._done: Callable[[int, str], None] | None = done
        self._failure: str | None = None
        self.count = 0

    def _report(self, outcome: str) -> None:
        done, self._done = self._done, None
        if done is not None:
            done(self.count, self._failure or outcome)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        try:
            written = self._native.write(data)
        except BaseException as error:
            self._failure = self._failure or type(error).__name__
            raise
        size = len(data) if written is None else int(written)
        self.count += size
        return size

    def tell(self) -> int:
        return int(self._native.tell())

    def flush(self) -> None:
        self._native.flush()

    def abort(self) -> None:
        try:
            self._native.abort()  # type: ignore[attr-defined]  # every native writer has abort()
        finally:
            self._report("aborted")

    def close(self) -> None:
        try:
            self._native.close()
        except BaseException as error:
            self._report(type(error).__name__)
            raise
        self._report("ok")

    @property
    def closed(self) -> bool:
        return bool(self._native.closed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._native, name)

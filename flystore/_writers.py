"""Writable file objects that publish only when closed cleanly."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable
from types import TracebackType
from typing import Any, BinaryIO

from .backend import Readable

__all__ = ["CommitOnCloseWriter"]

# Up to this size a buffered write stays in memory; beyond it, it spills to a temporary file.
SPOOL_LIMIT = 8 * 1024 * 1024


class CommitOnCloseWriter(io.RawIOBase):
    """What ``disk.open(path, "wb"/"ab")`` returns.

    Bytes go either to the backend's native atomic writer or to a spooled
    buffer (memory up to 8 MiB, then a temporary file) that is streamed to the
    backend on ``close()``. Leaving a ``with`` block by an exception, or calling
    ``abort()``, discards everything: the stored file is never half-written.
    """

    def __init__(
        self,
        *,
        native: BinaryIO | None,
        commit: Callable[[Readable], None],
        existing: BinaryIO | None = None,
        on_published: Callable[[], None] | None = None,
        on_error: Callable[[BaseException], BaseException] | None = None,
    ) -> None:
        super().__init__()
        self._on_error = on_error
        self._native = native
        self._commit = commit
        self._on_published = on_published
        self._spool: Any = None
        self._done = False
        if native is None:
            self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_LIMIT, mode="w+b")  # noqa: SIM115  # lives until close()
            if existing is not None:
                with existing:
                    shutil.copyfileobj(existing, self._spool, 1024 * 1024)
        elif existing is not None:
            existing.close()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._done:
            raise ValueError("write to a closed file")
        target = self._native if self._native is not None else self._spool
        written = target.write(data)
        return len(data) if written is None else int(written)

    def tell(self) -> int:
        target = self._native if self._native is not None else self._spool
        return int(target.tell())

    def flush(self) -> None:
        if not self._done:
            (self._native if self._native is not None else self._spool).flush()

    def abort(self) -> None:
        """Discard what was written; the stored file stays as it was."""
        if self._done:
            return
        self._done = True
        if self._native is not None:
            abort = getattr(self._native, "abort", None)
            if abort is None:  # pragma: no cover - every native writer has abort()
                raise RuntimeError("native writer cannot abort")
            abort()
        else:
            self._spool.close()
        super().close()

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self._native is not None:
                self._native.close()
            else:
                self._spool.seek(0)
                try:
                    self._commit(self._spool)
                finally:
                    self._spool.close()
        except Exception as error:
            translated = self._on_error(error) if self._on_error is not None else error
            if translated is error:
                raise
            raise translated from translated.__cause__
        finally:
            super().close()
        if self._on_published is not None:
            self._on_published()

    def __enter__(self) -> CommitOnCloseWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        # A writer dropped without close() must not publish a partial file.
        if not getattr(self, "_done", True):
            self.abort()

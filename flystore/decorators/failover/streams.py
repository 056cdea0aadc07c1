"""A stream that can be read again from the start: how one upload reaches several disks.

Whatever is read from the source is also kept in a spool (memory up to a bound,
then a temporary file), so a disk that fails half-way through an upload can be
followed by the next disk from byte 0, and replicas after the first read the spool.
The source is read exactly once. When reading it fails, every later read fails
too (``SourceFailed``): a replica or a next disk must never get the bytes read so
far as if they were the whole file, and the failure is the caller's stream's, not
the disk's, so nothing fails over and no breaker counts it.
"""

from __future__ import annotations

import tempfile
from types import TracebackType

from ...backend import Readable

__all__ = ["ReplayableStream", "SourceFailed"]

SPOOL_IN_MEMORY = 8 * 1024 * 1024


class SourceFailed(OSError):
    """Reading the stream to write failed; no disk is to blame (the cause is the stream's own error)."""


class ReplayableStream:
    """Reads ``source`` once, keeps what it read, and replays it after ``rewind()``.

    Args:
        source: anything with ``read(n)``.
        in_memory: bytes kept in memory before the spool moves to a temporary file.
    """

    def __init__(self, source: Readable, *, in_memory: int = SPOOL_IN_MEMORY) -> None:
        self._source = source
        self._spool = tempfile.SpooledTemporaryFile(max_size=in_memory)  # noqa: SIM115  # closed by close()
        self._spooled = 0
        self._position = 0
        self._exhausted = False
        self._failure: BaseException | None = None

    def rewind(self) -> ReplayableStream:
        """Start again from byte 0 (the spool first, then the rest of the source)."""
        self._position = 0
        return self

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1024 * 1024), b""))
        if self._position < self._spooled:
            self._spool.seek(self._position)
            chunk = self._spool.read(min(size, self._spooled - self._position))
            self._position += len(chunk)
            return chunk
        if self._failure is not None:
            raise SourceFailed(None, f"the stream to write could not be read: {self._failure}") from self._failure
        if self._exhausted or size == 0:
            return b""
        try:
            chunk = self._source.read(size)
        except Exception as error:
            self._failure = error
            raise SourceFailed(None, f"the stream to write could not be read: {error}") from error
        if not chunk:
            self._exhausted = True
            return b""
        self._spool.seek(self._spooled)
        self._spool.write(chunk)
        self._spooled += len(chunk)
        self._position = self._spooled
        return bytes(chunk)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Drop the spool (the source belongs to the caller and stays open)."""
        self._spool.close()

    def __enter__(self) -> ReplayableStream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

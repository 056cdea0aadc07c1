"""Stream helpers: bounded-memory adapters between iterables, file objects and chunks."""

from __future__ import annotations

import io
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import BinaryIO, cast

from .backend import Readable
from .errors import StorageError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "IterableReader",
    "PieceQueue",
    "PositionedReader",
    "ProgressCallback",
    "ProgressReader",
    "ReadStream",
    "as_readable",
    "iter_chunks",
    "read_full",
    "wanted_size",
]

DEFAULT_CHUNK_SIZE = 1024 * 1024

ProgressCallback = Callable[[int, "int | None"], None]
"""Called as ``progress(bytes_done, total_or_None)`` while bytes move."""


class IterableReader(io.RawIOBase):
    """A read-only file object over an iterable of ``bytes`` (or ``str``, as UTF-8).

    Holds at most one item of the iterable at a time.
    """

    def __init__(self, chunks: Iterable[bytes | str]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bool:
        for chunk in self._chunks:
            if isinstance(chunk, str):
                chunk = chunk.encode()
            if chunk:
                self._pending = bytes(chunk)
                self._view = memoryview(self._pending)
                return True
        return False

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if not self._view and not self._next_chunk():
            return 0
        count = min(len(buffer), len(self._view))
        buffer[:count] = self._view[:count]
        self._view = self._view[count:]
        return count

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = [bytes(self._view)]
            self._view = memoryview(b"")
            while self._next_chunk():
                parts.append(bytes(self._view))
            self._view = memoryview(b"")
            return b"".join(parts)
        if not self._view and not self._next_chunk():
            return b""
        # Return the pending chunk as is when it fits: no copy for the common case.
        if len(self._view) <= size:
            data = bytes(self._view) if len(self._view) != len(self._pending) else self._pending
            self._view = memoryview(b"")
            return data
        data = bytes(self._view[:size])
        self._view = self._view[size:]
        return data


class ProgressReader:
    """Wraps a readable and reports ``(bytes_done, total)`` after each read."""

    def __init__(self, inner: Readable, callback: ProgressCallback, total: int | None) -> None:
        self._inner = inner
        self._callback = callback
        self._total = total
        self.done = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        if data:
            self.done += len(data)
            self._callback(self.done, self._total)
        return data


def as_readable(contents: object) -> Readable | None:
    """A readable for a file object or an iterable of bytes, else None (bytes/str are not streams)."""
    if isinstance(contents, (bytes, bytearray, memoryview, str)):
        return None
    if hasattr(contents, "read"):
        return cast(Readable, contents)
    if isinstance(contents, Iterable):
        return IterableReader(cast(Iterable[bytes], contents))
    return None


def iter_chunks(stream: Readable, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    """Yield ``stream`` in chunks of at most ``chunk_size`` bytes."""
    read = stream.read
    while True:
        chunk = read(chunk_size)
        if not chunk:
            return
        yield chunk


def stream_size(stream: object) -> int | None:
    """The bytes left in a seekable stream, or None when it cannot tell cheaply."""
    try:
        seekable = stream.seekable()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None
    if not seekable:
        return None
    try:
        position = stream.tell()  # type: ignore[attr-defined]
        end = stream.seek(0, io.SEEK_END)  # type: ignore[attr-defined]
        stream.seek(position)  # type: ignore[attr-defined]
    except (OSError, ValueError):
        return None
    return int(end - position)


class ReadStream:
    """What ``disk.read_stream()`` returns: a context manager yielding chunks.

    Iterating yields ``bytes`` chunks of ``chunk_size``; ``read(n)`` reads like a
    file. Memory stays bounded by the chunk size whatever the file size.
    """

    def __init__(
        self,
        handle: BinaryIO,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        *,
        on_error: Callable[[Exception], BaseException] | None = None,
        progress: ProgressCallback | None = None,
        total: int | None = None,
        disk: str | None = None,
    ) -> None:
        self._handle = handle
        self._disk = disk
        self.chunk_size = chunk_size
        self._on_error = on_error
        self._progress = progress
        self._total = total
        self._done = 0

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes (all that is left when negative)."""
        try:
            data = self._handle.read(size)
        except StorageError as error:
            if error.disk is None:
                error.disk = self._disk
            raise
        except OSError as error:
            if self._on_error is None:
                raise
            raise self._on_error(error) from error
        if data and self._progress is not None:
            self._done += len(data)
            self._progress(self._done, self._total)
        return data

    def __iter__(self) -> Iterator[bytes]:
        return iter_chunks(self, self.chunk_size)

    def seekable(self) -> bool:
        return bool(getattr(self._handle, "seekable", lambda: False)())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._handle.seek(offset, whence))

    def tell(self) -> int:
        return int(self._handle.tell())

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._handle.close()

    @property
    def closed(self) -> bool:
        return bool(self._handle.closed)

    def __enter__(self) -> ReadStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class PositionedReader(io.BufferedIOBase):
    """A read-only, seekable stream of ``size`` bytes that keeps its own position.

    Decoding readers (decrypting, decompressing, verifying) share the seek arithmetic here
    and read from ``_position``; ``_repositioned`` lets one follow a seek in what it wraps.
    """

    size: int
    _position: int = 0
    _handle: BinaryIO  # what the subclass decodes; closed with the stream
    #: The disk that opened the stream (set by ``FilesystemAdapter.open``): errors found mid-read name it.
    disk: str | None = None

    def read(self, size: int | None = -1, /) -> bytes:
        """Up to ``size`` bytes from the position (all that is left when ``size`` is None or negative).

        Raises:
            IntegrityError: the stored bytes fail their check (never wrong bytes).
            ValueError: the stream is closed.
        """
        try:
            return self._read(size)
        except StorageError as error:
            if error.disk is None:
                error.disk = self.disk
            raise

    def _read(self, size: int | None, /) -> bytes:
        raise NotImplementedError

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[:len(data)] = data
        return len(data)

    def close(self) -> None:
        """Close the stream and the handle it decodes."""
        if not self.closed:
            try:
                self._handle.close()
            finally:
                super().close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        """Move to ``offset`` from the start, the position or the end; past the end reads nothing.

        Raises:
            ValueError: an unknown ``whence`` or a position before the start.
        """
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        elif whence == io.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError("negative seek position")
        if target != self._position:
            self._repositioned(target)
        self._position = target
        return target

    def _repositioned(self, target: int) -> None:
        """Called before the position moves to ``target`` (nothing to do unless a subclass reads ahead)."""


def read_full(source: Readable, size: int) -> bytes:
    """``size`` bytes of ``source`` (fewer only at its end), reading again after a short read (pipes, sockets)."""
    chunk = source.read(size)
    if not chunk or len(chunk) == size:
        return bytes(chunk)
    piece = bytearray(chunk)
    while len(piece) < size:
        chunk = source.read(size - len(piece))
        if not chunk:
            break
        piece += chunk
    return bytes(piece)


class PieceQueue:
    """Bytes produced a piece at a time (sealed segments, compressed frames), handed out by ``take(size)``."""

    def __init__(self, *pieces: bytes) -> None:
        self._pieces: deque[bytes] = deque(pieces)
        self.buffered = sum(len(piece) for piece in pieces)

    def push(self, piece: bytes) -> None:
        self._pieces.append(piece)
        self.buffered += len(piece)

    def take(self, size: int) -> bytes:
        """Up to ``size`` bytes, oldest first (all of them when ``size`` covers what is buffered)."""
        if size >= self.buffered:
            data = b"".join(self._pieces)
            self._pieces.clear()
            self.buffered = 0
            return data
        parts = []
        wanted = size
        while wanted:
            piece = self._pieces.popleft()
            if len(piece) > wanted:
                self._pieces.appendleft(piece[wanted:])
                piece = piece[:wanted]
            parts.append(piece)
            wanted -= len(piece)
        self.buffered -= size
        return b"".join(parts)


def wanted_size(size: int | None) -> int:
    """``read(size)``'s size, with None or a negative size meaning everything."""
    return sys.maxsize if size is None or size < 0 else size

"""Raw reader bases shared by the remote drivers.

``PositionedReader``: a seekable reader over a remote object of known size;
subclasses fetch bytes at ``self._position`` and react to a move in ``_moved``.
``TranslatingReader``: wraps an SDK file object so every read or seek error
becomes ``UnableToReadFile`` about the user's path.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

from ..errors import UnableToReadFile

__all__ = ["PositionedReader", "TranslatingReader", "seek_target"]

_CHUNK = 1024 * 1024


def seek_target(position: int, size: int, offset: int, whence: int) -> int:
    """The absolute position ``seek(offset, whence)`` asks for.

    Raises:
        ValueError: an unknown ``whence`` or a negative result (as ``io`` objects do).
    """
    if whence == io.SEEK_SET:
        target = offset
    elif whence == io.SEEK_CUR:
        target = position + offset
    elif whence == io.SEEK_END:
        target = size + offset
    else:
        raise ValueError(f"invalid whence {whence}")
    if target < 0:
        raise ValueError("negative seek position")
    return target


class PositionedReader(io.RawIOBase):
    """A seekable raw reader that tracks its position over ``size`` bytes."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = seek_target(self._position, self._size, offset, whence)
        if target != self._position:
            self._moved(target)
            self._position = target
        return target

    def _moved(self, target: int) -> None:
        """Called before the position changes to ``target`` (drop a stream, a connection...)."""


class TranslatingReader(io.RawIOBase):
    """An SDK file object as a raw stream whose errors are flystore errors.

    Args:
        handle: the SDK's file object.
        path: the user's path, named in errors.
        describe: turns the SDK's exception into a reason.
        read: how to read up to n bytes (default ``handle.read``).
        release: how to close the handle (default ``handle.close``).
    """

    def __init__(
        self,
        handle: Any,
        path: str,
        describe: Callable[[BaseException], str],
        *,
        read: Callable[[int], bytes] | None = None,
        release: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        self._handle = handle
        self._path = path
        self._describe = describe
        self._read = read or handle.read
        self._release = release or handle.close

    def _failed(self, cause: Exception) -> UnableToReadFile:
        return UnableToReadFile.at(self._path, self._describe(cause), cause=cause)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(getattr(self._handle, "seekable", lambda: False)())

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._read(len(buffer))
        except Exception as cause:  # the SDK's own errors, whatever their type
            raise self._failed(cause) from cause
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        chunks = []
        buffer = bytearray(_CHUNK)
        while received := self.readinto(buffer):
            chunks.append(bytes(buffer[:received]))
        return b"".join(chunks)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return int(self._handle.seek(offset, whence))
        except Exception as cause:  # the SDK's own errors, whatever their type
            raise self._failed(cause) from cause

    def tell(self) -> int:
        return int(self._handle.tell())

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):  # closing must not mask the caller's own error
                self._release()
        super().close()

"""The room-style interface's value objects: write handles and downloads.

``await disk.open(path=..., overwrite=...)`` returns a :class:`WriteHandle`;
writes are spooled by the sync disk's commit-on-close writer, so nothing is
visible before ``close`` and a handle that is dropped, aborted or whose task
is cancelled publishes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..errors import UnableToWriteFile
from ._pool import to_the_end
from .streams import AsyncFile

__all__ = ["Download", "WriteHandle"]


@dataclass(frozen=True, slots=True)
class Download:
    """What ``await disk.download(path=...)`` returns."""

    path: str
    data: bytes
    mime_type: str

    @property
    def size(self) -> int:
        return len(self.data)


class WriteHandle:
    """An open file of the room-style interface (see ``AsyncDisk.open``).

    ``overwrite=True`` starts empty; ``overwrite=False`` starts from the existing
    content and appends. The file is published atomically by ``close``.
    """

    def __init__(self, path: str, file: AsyncFile, disk: str) -> None:
        self.path = path
        self._file = file
        self._disk = disk
        self._lock = asyncio.Lock()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def _check_open(self) -> None:
        if self._file.closed:
            raise UnableToWriteFile.at(self.path, "the handle is already closed", disk=self._disk)

    async def write(self, data: bytes | bytearray | memoryview | str) -> int:
        """Append ``data``; a cancelled write discards the whole handle.

        Raises:
            UnableToWriteFile: the handle is closed, or ``data`` is not bytes/str.
        """
        self._check_open()
        if isinstance(data, str):
            data = data.encode()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UnableToWriteFile.at(self.path, f"data must be bytes or str, not {type(data).__name__}",
                                       disk=self._disk)
        async with self._lock:
            try:
                return await self._file.write(bytes(data))
            except asyncio.CancelledError:
                await to_the_end(self._file.abort())
                raise

    async def close(self) -> None:
        """Publish the file atomically.

        Raises:
            UnableToWriteFile: the file could not be published (nothing was).
        """
        async with self._lock:
            if self._file.closed:
                return
            try:
                await self._file.close()
            except asyncio.CancelledError:
                await to_the_end(self._file.abort())
                raise

    async def abort(self) -> None:
        """Discard what was written."""
        await self._file.abort()

    def __repr__(self) -> str:
        return f"<WriteHandle {self.path!r}{' closed' if self.closed else ''}>"


def as_handle(handle: Any, disk: str) -> WriteHandle:
    """``handle`` checked to be a ``WriteHandle``.

    Raises:
        UnableToWriteFile: it is something else.
    """
    if not isinstance(handle, WriteHandle):
        raise UnableToWriteFile.at(None, f"handle must come from open(), not {type(handle).__name__}", disk=disk)
    return handle

"""Turn what an upload can be (UploadFile, path, file object, bytes, async iterator) into a blocking reader.

The handler runs in a worker thread; an async source is read through the event loop it came from.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

__all__ = ["SyncSource", "open_source"]


class SyncSource:
    """``read(n)`` from the upload, ``name`` (the client's filename or ``""``), ``close()``."""

    def __init__(self, read: Any, name: str, close: Any = None) -> None:
        self.read = read
        self.name = name
        self._close = close

    def close(self) -> None:
        if self._close is not None:
            self._close()


def _async_reader(source: Any, loop: asyncio.AbstractEventLoop) -> Any:
    if hasattr(source, "read") and asyncio.iscoroutinefunction(source.read):

        def read_method(size: int) -> bytes:
            return bytes(asyncio.run_coroutine_threadsafe(source.read(size), loop).result())

        return read_method
    iterator: AsyncIterator[bytes] = source.__aiter__() if isinstance(source, AsyncIterable) else source
    pending = bytearray()

    async def next_chunk() -> bytes | None:
        try:
            return bytes(await iterator.__anext__())
        except StopAsyncIteration:
            return None

    def read_iter(size: int) -> bytes:
        while len(pending) < size:
            chunk = asyncio.run_coroutine_threadsafe(next_chunk(), loop).result()
            if chunk is None:
                break
            pending.extend(chunk)
        out = bytes(pending[:size])
        del pending[:size]
        return out

    return read_iter


def open_source(file: Any, loop: asyncio.AbstractEventLoop | None) -> SyncSource:
    """A blocking reader over ``file``.

    Raises:
        TypeError: ``file`` is none of the supported kinds.
        OSError: a local path cannot be opened.
    """
    if isinstance(file, (str, os.PathLike)):
        handle = open(file, "rb")  # noqa: SIM115  # closed by SyncSource.close
        return SyncSource(handle.read, os.path.basename(os.fspath(file)), handle.close)
    if isinstance(file, (bytes, bytearray, memoryview)):
        return SyncSource(io.BytesIO(bytes(file)).read, "")
    filename = getattr(file, "filename", None)
    inner = getattr(file, "file", None)
    if filename is not None and inner is not None and hasattr(inner, "read"):
        # Starlette's UploadFile: its spooled file is read directly; its ``size`` is never trusted.
        return SyncSource(inner.read, str(filename))
    name = getattr(file, "name", "")
    name = os.path.basename(name) if isinstance(name, str) else ""
    if filename is not None:
        name = str(filename)
    if hasattr(file, "read") and not asyncio.iscoroutinefunction(file.read):
        return SyncSource(file.read, name)
    if loop is not None and (hasattr(file, "read") or hasattr(file, "__aiter__") or hasattr(file, "__anext__")):
        return SyncSource(_async_reader(file, loop), name)
    raise TypeError(f"cannot upload a {type(file).__name__}: give an UploadFile, a path, a binary file or bytes")

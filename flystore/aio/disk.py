"""``AsyncDisk``: the whole disk API as coroutines, over the one sync disk.

Behaviour has one source of truth: every coroutine runs the sync disk's own
method (path normalisation, options, fallbacks, errors, events) in the bounded
thread pool, so the event loop never blocks and the two APIs cannot drift.
Concurrency comes from running many calls at once (``asyncio.gather``, the
batch helpers); writes are cancellation-safe (the old content or the whole new
one stays, never a partial file, and the worker is released before the
cancellation propagates).
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import threading
from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import UnableToGeneratePublicUrl, UnsupportedOperation
from ..events import EventStream, hub
from ._pool import offload
from .disk_batches import CANCELLABLE_ABOVE, AsyncBatches
from .room import Download, WriteHandle, as_handle
from .streams import (
    AsyncFile,
    AsyncReadStream,
    CancellableReader,
    ChunkBridge,
    WriteCancelled,
    cancellable_chunks,
    settle,
)

if TYPE_CHECKING:
    from ..attributes import Entry, FileAttributes
    from ..disk import FilesystemAdapter

__all__ = ["AsyncDisk"]

# What runs inline on a memory disk: one-file verbs, small writes.
_INLINE_VERBS = frozenset({
    "get", "get_text", "json", "exists", "missing", "file_exists", "file_missing", "directory_exists",
    "directory_missing", "stat", "size", "last_modified", "mime_type", "checksum", "get_visibility",
    "metadata", "url", "temporary_url", "set_visibility", "make_directory",
})
_INLINE_BYTES = 1024 * 1024
# The verbs going through _call that change something.
_WRITING_VERBS = frozenset({"set_visibility", "make_directory"})
# Sync-disk methods that do no I/O: handed out as they are.
_PLAIN = frozenset({"recipe"})


class AsyncDisk(AsyncBatches):
    """The async twin of a disk (``disk.aio``); every verb is a coroutine.

    Attribute access falls through to the sync disk (``name``, ``config``,
    ``backend``, ``fs``) and a driver's extra methods become coroutines too.
    """

    def __init__(self, disk: FilesystemAdapter) -> None:
        self._disk = disk
        # The memory backend (exactly it: a subclass may do I/O) never waits: its one-file verbs run
        # inline (a thread hand-off costs ~100x the call); listings and streams still go to the pool.
        kind = type(disk.backend)
        self._inline = (kind.__module__, kind.__qualname__) == ("flystore.drivers.memory", "MemoryBackend")

    @property
    def sync(self) -> FilesystemAdapter:
        """The sync disk underneath."""
        return self._disk

    @property
    def aio(self) -> AsyncDisk:
        """Itself (so code written for ``disk.aio`` also takes an async disk)."""
        return self

    @property
    def name(self) -> str:
        return self._disk.name

    @property
    def backend(self) -> Any:
        return self._disk.backend

    def __repr__(self) -> str:
        return f"<AsyncDisk {self._disk.name!r}>"

    def __getattr__(self, name: str) -> Any:
        member = getattr(self._disk, name)
        if name.startswith("_") or not callable(member) or inspect.iscoroutinefunction(member):
            return member  # attributes, and verbs the sync disk already has as coroutines (put_upload)
        if name in _PLAIN:
            return member

        async def offloaded(*args: Any, **kwargs: Any) -> Any:
            # A driver's own verb may write (restore_version, rotate): a cancellation waits for it to settle.
            return await offload(member, *args, on_cancel=settle, **kwargs)

        offloaded.__name__ = name
        offloaded.__doc__ = getattr(member, "__doc__", None)
        return offloaded

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._inline and name in _INLINE_VERBS:
            return getattr(self._disk, name)(*args, **kwargs)
        settling = settle if name in _WRITING_VERBS else None  # a cancelled write waits for its worker
        return await offload(getattr(self._disk, name), *args, on_cancel=settling, **kwargs)

    # -- events --------------------------------------------------------------------

    def on(self, event: str, handler: Callable[[str], Any]) -> Callable[[str], Any]:
        """``handler(path)`` after every ``event``; async handlers are awaited without blocking the writer.

        Raises:
            ValueError: an unknown event.
        """
        return self._disk.on(event, handler)

    def off(self, event: str, handler: Callable[[str], Any]) -> None:
        """Stop calling ``handler`` for ``event``."""
        self._disk.off(event, handler)

    def events(self) -> EventStream:
        """``async for event in disk.events():`` every change to this disk from now on.

        Raises:
            RuntimeError: called outside a running event loop.
        """
        return hub.stream(self._disk.name)

    # -- writing -------------------------------------------------------------------

    async def put(self, path: str, contents: Any, **options: Any) -> str:
        """Write ``contents`` (bytes, str, a file object, a sync or async iterable of bytes).

        A cancelled put leaves the old content or nothing at ``path`` (for small
        bytes, which go out in one request, possibly the whole new content).

        Raises:
            UnableToWriteFile: nothing was written; PathTraversalDetected: a bad path.
        """
        if self._inline and isinstance(contents, (bytes, str)) and len(contents) <= _INLINE_BYTES:
            return self._disk.put(path, contents, **options)
        cancelled = threading.Event()
        on_cancel = cancelled.set
        if isinstance(contents, str) and len(contents) > CANCELLABLE_ABOVE // 4:
            contents = contents.encode()  # a big text is as cancellable as big bytes
        if isinstance(contents, AsyncIterable):
            bridge = ChunkBridge(contents, asyncio.get_running_loop())
            contents, on_cancel = bridge.chunks(), bridge.cancel
        elif isinstance(contents, (bytes, bytearray, memoryview)):
            if len(contents) > CANCELLABLE_ABOVE:
                contents = cancellable_chunks(bytes(contents), cancelled)
        elif hasattr(contents, "read"):
            contents = CancellableReader(contents, cancelled)
        elif isinstance(contents, Iterable) and not isinstance(contents, str):
            contents = _checked(contents, cancelled)
        return await offload(self._disk.put, path, contents, on_cancel=on_cancel, **options)

    async def write_stream(self, path: str, stream: Any, **options: Any) -> str:
        """Write a file object, or a sync or async iterable of bytes, in bounded memory.

        Raises:
            UnableToWriteFile: nothing was written.
        """
        return await self.put(path, stream, **options)

    async def put_json(self, path: str, value: Any, **options: Any) -> str:
        """``value`` as JSON at ``path``."""
        return await offload(self._disk.put_json, path, value, on_cancel=settle, **options)

    async def put_file(self, directory: str, file: Any, **options: Any) -> str:
        """Store a local file under ``directory`` with a unique name; returns its path."""
        return await offload(self._disk.put_file, directory, file, on_cancel=settle, **options)

    async def put_file_as(self, directory: str, file: Any, name: str, **options: Any) -> str:
        """Store a local file as ``directory/name``."""
        return await offload(self._disk.put_file_as, directory, file, name, on_cancel=settle, **options)

    async def append(self, path: str, data: bytes | str, separator: bytes | str = "\n") -> str:
        return await offload(self._disk.append, path, data, separator, on_cancel=settle)

    async def prepend(self, path: str, data: bytes | str, separator: bytes | str = "\n") -> str:
        return await offload(self._disk.prepend, path, data, separator, on_cancel=settle)

    async def copy(self, source: str, destination: str, **options: Any) -> str:
        return await offload(self._disk.copy, source, destination, on_cancel=settle, **options)

    async def move(self, source: str, destination: str, **options: Any) -> str:
        return await offload(self._disk.move, source, destination, on_cancel=settle, **options)

    async def delete(self, paths: str | Sequence[str]) -> bool:
        """Delete one file or several; True when anything was deleted."""
        return bool(await offload(self._disk.delete, paths, on_cancel=settle))

    async def make_directory(self, path: str, **options: Any) -> bool:
        return bool(await self._call("make_directory", path, **options))

    async def delete_directory(self, path: str) -> bool:
        return bool(await offload(self._disk.delete_directory, path, on_cancel=settle))

    async def set_visibility(self, path: str, visibility: str) -> None:
        await self._call("set_visibility", path, visibility)

    # -- the room-style interface and open() -----------------------------------------

    async def open(self, path: str, mode: str | None = None, *, overwrite: bool = False, **options: Any) -> Any:
        """Without ``mode``: a room-style :class:`WriteHandle` for ``write``/``close``.

        ``overwrite=True`` starts the file empty; ``overwrite=False`` appends to an
        existing file. Nothing is visible before ``close``. With ``mode``
        (``"rb"``, ``"wb"``, ``"ab"``): an :class:`AsyncFile` like the sync ``open``.

        Raises:
            FileNotFound: reading a missing file; UnableToWriteFile: the writer could not start.
        """
        if mode is None:
            handle = await self._open(path, "wb" if overwrite else "ab", options)
            return WriteHandle(path, AsyncFile(handle), self._disk.name)
        return AsyncFile(await self._open(path, mode, options))

    async def _open(self, path: str, mode: str, options: dict[str, Any]) -> Any:
        # A cancelled open waits for the worker and discards the file it opened (a writer's temporary
        # file or upload), instead of leaving that to the garbage collector.
        opened: builtins.list[Any] = []

        def opening() -> Any:
            opened.append(self._disk.open(path, mode, **options))
            return opened[0]

        try:
            return await offload(opening, on_cancel=settle)
        except asyncio.CancelledError:
            for handle in opened:
                await offload(getattr(handle, "abort", handle.close))
            raise

    async def write(self, handle: WriteHandle, data: bytes | str) -> int:
        """Append ``data`` to an open handle (nothing is visible before ``close``).

        Raises:
            UnableToWriteFile: the handle is closed or not from ``open``.
        """
        return await as_handle(handle, self._disk.name).write(data)

    async def close(self, handle: WriteHandle | None = None) -> None:
        """With ``handle``: publish it atomically. Without: release the disk's connections.

        Raises:
            UnableToWriteFile: the handle could not be published (nothing was).
        """
        if handle is None:
            await offload(self._disk.close)
            return
        await as_handle(handle, self._disk.name).close()

    async def download(self, path: str) -> Download:
        """The file as an object with ``.data``, ``.size`` and ``.mime_type``.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        data = await self._call("get", path)
        mime_type = await self._call("mime_type", path)
        return Download(path=path, data=data, mime_type=mime_type)

    async def download_url(self, path: str, expires: Any = 3600) -> str:
        """The public URL where the disk has one, else a temporary (signed) URL.

        Raises:
            UnableToGenerateTemporaryUrl: neither kind of URL can be made.
        """
        try:
            return str(await self._call("url", path))
        except (UnableToGeneratePublicUrl, UnsupportedOperation):
            return str(await self._call("temporary_url", path, expires))

    async def list(self, path: str = "", recursive: bool = False) -> builtins.list[Entry]:
        """Entries (``name``, ``path``, ``is_folder``, ``size``, ``last_modified``) under ``path``."""
        return list(await self._call("list", path, recursive))

    # -- reading -------------------------------------------------------------------

    async def get(self, path: str, **options: Any) -> bytes:
        """The file's bytes. Raises: FileNotFound, UnableToReadFile."""
        return bytes(await self._call("get", path, **options))

    def read_stream(self, path: str, chunk_size: int | None = None, **options: Any) -> AsyncReadStream:
        """``async with disk.read_stream(path) as s: async for chunk in s`` (opened on entry).

        Raises (on entry):
            FileNotFound, UnableToReadFile: as the sync ``read_stream``.
        """
        arguments = (path,) if chunk_size is None else (path, chunk_size)
        return AsyncReadStream(lambda: self._disk.read_stream(*arguments, **options))

    async def get_text(self, path: str, encoding: str = "utf-8") -> str:
        return str(await self._call("get_text", path, encoding))

    async def json(self, path: str) -> Any:
        return await self._call("json", path)

    async def exists(self, path: str) -> bool:
        return bool(await self._call("exists", path))

    async def missing(self, path: str) -> bool:
        return bool(await self._call("missing", path))

    async def file_exists(self, path: str) -> bool:
        return bool(await self._call("file_exists", path))

    async def file_missing(self, path: str) -> bool:
        return bool(await self._call("file_missing", path))

    async def directory_exists(self, path: str) -> bool:
        return bool(await self._call("directory_exists", path))

    async def directory_missing(self, path: str) -> bool:
        return bool(await self._call("directory_missing", path))

    async def stat(self, path: str) -> FileAttributes:
        return await self._call("stat", path)  # type: ignore[no-any-return]

    async def size(self, path: str) -> int:
        return int(await self._call("size", path))

    async def last_modified(self, path: str) -> datetime:
        return await self._call("last_modified", path)  # type: ignore[no-any-return]

    async def mime_type(self, path: str) -> str:
        return str(await self._call("mime_type", path))

    async def checksum(self, path: str, algorithm: str = "md5") -> str:
        return str(await self._call("checksum", path, algorithm))

    async def get_visibility(self, path: str) -> str:
        return str(await self._call("get_visibility", path))

    async def metadata(self, path: str) -> dict[str, Any]:
        return dict(await self._call("metadata", path))

    async def files(self, directory: str = "", recursive: bool = False) -> builtins.list[str]:
        return list(await self._call("files", directory, recursive))

    async def all_files(self, directory: str = "") -> builtins.list[str]:
        return list(await self._call("all_files", directory))

    async def directories(self, directory: str = "", recursive: bool = False) -> builtins.list[str]:
        return list(await self._call("directories", directory, recursive))

    async def all_directories(self, directory: str = "") -> builtins.list[str]:
        return list(await self._call("all_directories", directory))

    async def find_files_older_than(self, cutoff: datetime, directory: str = "") -> builtins.list[str]:
        return list(await self._call("find_files_older_than", cutoff, directory))

    async def url(self, path: str) -> str:
        return str(await self._call("url", path))

    async def temporary_url(self, path: str, expires: Any = 3600, **options: Any) -> str:
        return str(await self._call("temporary_url", path, expires, **options))

    async def temporary_upload_url(self, path: str, expires: Any = 3600, **options: Any) -> tuple[str, dict[str, str]]:
        return await self._call("temporary_upload_url", path, expires, **options)  # type: ignore[no-any-return]

    async def path(self, path: str) -> str:
        return str(await self._call("path", path))

    def signing_key(self) -> bytes:
        return self._disk.signing_key()

    def download_response(self, path: str, name: str | None = None, headers: Mapping[str, str] | None = None) -> Any:
        """The sync disk's streaming response (Starlette streams it off the loop itself)."""
        return self._disk.download_response(path, name=name, headers=headers)

    @property
    def fs(self) -> Any:
        return self._disk.fs

    async def __aenter__(self) -> AsyncDisk:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _checked(chunks: Iterable[Any], cancelled: threading.Event) -> Any:
    for chunk in chunks:
        if cancelled.is_set():
            raise WriteCancelled("the writing task was cancelled")
        yield chunk


"""File objects that ``disk.fs.open`` returns: readers with ``.size``, writers with commit/discard."""

from __future__ import annotations

import io
import tempfile
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from ..disk import FilesystemAdapter

__all__ = ["DiskReadFile", "DiskWriteFile"]

_SPOOL_LIMIT = 8 * 1024 * 1024


class DiskReadFile(io.RawIOBase):
    """A disk reader that also knows its size (``fs.tail`` and ``fs.read_block`` need it)."""

    def __init__(self, disk: FilesystemAdapter, path: str, raw: BinaryIO) -> None:
        super().__init__()
        self.disk = disk
        self.path = path
        self._raw = raw
        self._size: int | None = None

    @property
    def size(self) -> int:
        """The file's size in bytes, asked of the disk once (in its cheapest stat: no ACL, no xattrs)."""
        if self._size is None:
            size = self.disk._quick_stat(self.path).size
            self._size = size if size is not None else self.disk.size(self.path)  # the latter says why not
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._raw.seekable())

    def read(self, size: int | None = -1) -> bytes:
        return self._raw.read(-1 if size is None else size)

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        return self._raw.readline(-1 if size is None else size)

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 2:
            # Some remote readers cannot seek from the end; the size makes it absolute.
            return int(self._raw.seek(self.size + offset, 0))
        return int(self._raw.seek(offset, whence))

    def tell(self) -> int:
        return int(self._raw.tell())

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class DiskWriteFile(io.RawIOBase):
    """A writer that publishes on close, or, inside ``fs.transaction``, on ``commit()``.

    Bytes are spooled (memory up to 8 MiB, then a temporary file) and streamed
    to the disk in one atomic ``write_stream``; ``discard()`` drops them. An
    ``exclusive`` writer (mode ``"x"``) publishes only if nothing is at ``path``
    by then, in one step where the backend can (``Backend.write_new``).
    """

    def __init__(
        self,
        disk: FilesystemAdapter,
        path: str,
        *,
        autocommit: bool,
        initial: BinaryIO | None = None,
        exclusive: bool = False,
    ) -> None:
        super().__init__()
        self.disk = disk
        self.path = path
        self.autocommit = autocommit
        self.exclusive = exclusive
        self._spool: Any = tempfile.SpooledTemporaryFile(max_size=_SPOOL_LIMIT, mode="w+b")  # noqa: SIM115  # until commit
        self._finished = False
        if initial is not None:
            with initial:
                while chunk := initial.read(1024 * 1024):
                    self._spool.write(chunk)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed file")
        self._spool.write(data)
        return len(memoryview(data).cast("B"))

    def tell(self) -> int:
        return int(self._spool.tell())

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self.autocommit:
                self.commit()
        finally:
            super().close()

    def commit(self) -> None:
        """Publish what was written (atomically); a second call does nothing.

        Raises:
            FileAlreadyExists: an exclusive writer found something at the path; nothing was written.
            UnableToWriteFile: the disk refused; the stored file is unchanged.
        """
        if self._finished:
            return
        self._finished = True
        try:
            self._spool.seek(0)
            if self.exclusive:
                self.disk._put_new(self.path, self._spool)
            else:
                self.disk.write_stream(self.path, self._spool)
        finally:
            self._spool.close()

    def discard(self) -> None:
        """Drop what was written; the stored file stays as it was."""
        if not self._finished:
            self._finished = True
            self._spool.close()
        if not self.closed:
            super().close()

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is not None and self.autocommit:
            self.discard()
        else:
            self.close()

    def __del__(self) -> None:
        # Dropped without close(): never publish a partial file.
        if not getattr(self, "_finished", True):
            self.discard()

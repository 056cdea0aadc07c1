"""File objects over S3 payloads: upload parts (``_ChunksBody``) and download bodies (``_ObjectReader``)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from ...errors import UnableToReadFile
from .._readers import PositionedReader
from .errors import _fail

if TYPE_CHECKING:
    from .reading import _S3Reading


# -- upload bodies ----------------------------------------------------------------------


class _ChunksBody(io.RawIOBase):
    """A seekable read-only file over a list of byte chunks: no copy into one buffer.

    botocore needs seek/tell (content length, retries, payload hashing); this
    gives them without joining the chunks, so a part never exists twice in memory.
    """

    def __init__(self, chunks: Sequence[bytes | memoryview]) -> None:
        super().__init__()
        self._chunks = list(chunks)
        self._starts: list[int] = []
        total = 0
        for chunk in self._chunks:
            self._starts.append(total)
            total += len(chunk)
        self._size = total
        self._position = 0
        self._index = 0

    def __len__(self) -> int:
        return self._size

    def getvalue(self) -> bytes:
        """All the bytes as one object (for small bodies)."""
        return b"".join(bytes(chunk) for chunk in self._chunks)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        else:
            target = self._size + offset
        self._position = max(0, min(target, self._size))
        self._index = 0
        for index, start in enumerate(self._starts):
            if start <= self._position:
                self._index = index
            else:
                break
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._position
        pieces: list[bytes] = []
        while size > 0 and self._position < self._size:
            chunk = self._chunks[self._index]
            offset = self._position - self._starts[self._index]
            take = min(size, len(chunk) - offset)
            if take <= 0:
                self._index += 1
                continue
            pieces.append(bytes(chunk[offset : offset + take]))
            self._position += take
            size -= take
            if offset + take >= len(chunk):
                self._index += 1
        if len(pieces) == 1:
            return pieces[0]
        return b"".join(pieces)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# -- reading ----------------------------------------------------------------------------


class _ObjectReader(PositionedReader):
    """A file object over one GET's body; seeking re-opens with a Range guarded by If-Match."""

    def __init__(self, backend: _S3Reading, path: str, response: Mapping[str, Any]) -> None:
        super().__init__(int(response.get("ContentLength") or 0))
        self._backend = backend
        self._path = path
        self._body: Any = response["Body"]
        self._etag = response.get("ETag")

    @property
    def size(self) -> int:
        return self._size

    def _moved(self, target: int) -> None:
        self._drop_body()

    def _drop_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            with contextlib.suppress(Exception):
                body.close()

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        remaining = self._size - self._position
        if remaining <= 0:
            return b""
        if size is None or size < 0 or size > remaining:
            size = remaining
        if size == 0:
            return b""
        try:
            if self._body is None:
                self._body = self._backend._ranged_body(self._path, self._position, self._etag)
            data = self._body.read(size)
        except Exception as cause:
            _fail(cause, UnableToReadFile, self._path, missing_is=UnableToReadFile)
        if not data:
            raise UnableToReadFile.at(self._path, "the connection ended before the whole file was read")
        self._position += len(data)
        return cast(bytes, data)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._drop_body()
        super().close()

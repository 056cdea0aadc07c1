"""The ranged reader behind ``GcsBackend.open_read``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import FileNotFound, UnableToReadFile
from .._readers import PositionedReader

if TYPE_CHECKING:
    from .backend import GcsBackend


class _ObjectReader(PositionedReader):
    """A seekable reader of one object generation, fetched in ranged GETs of ``chunk_size``.

    It keeps one block at a time (dropped before the next is fetched), so memory
    stays near two blocks however large the object is; ``read(n)`` returns
    ``n`` bytes unless the end of the file comes first.
    """

    def __init__(self, backend: GcsBackend, path: str, size: int, generation: Any) -> None:
        super().__init__(size)
        self._backend = backend
        self._path = path
        self._generation = generation
        self._block = b""
        self._block_start = 0

    def _piece(self, limit: int) -> bytes:
        """Up to ``limit`` bytes at the current position, from the cached block or a new one."""
        offset = self._position - self._block_start
        if not 0 <= offset < len(self._block):
            if self._position >= self._size:
                return b""
            self._block = b""  # let the old block go before the next one arrives
            end = min(self._size, self._position + self._backend.chunk_size)
            with self._backend._translated(UnableToReadFile, self._path, missing=FileNotFound):
                self._block = self._backend._download(self._path, (self._position, end), self._generation)
            self._block_start = self._position
            offset = 0
            if not self._block:
                raise UnableToReadFile.at(self._path, "the file changed while it was being read")
        piece = self._block[offset : offset + limit]
        self._position += len(piece)
        return piece

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed file")
        if size is None or size < 0:
            size = max(0, self._size - self._position)
        first = self._piece(size)
        if len(first) == size or not first:
            return first
        pieces = [first]
        wanted = size - len(first)
        while wanted and (piece := self._piece(wanted)):
            pieces.append(piece)
            wanted -= len(piece)
        return b"".join(pieces)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._block = b""
        super().close()

"""Streaming encryption and decryption: one segment in memory at a time."""

from __future__ import annotations

import io
from typing import BinaryIO

from ..._streams import PieceQueue, PositionedReader, read_full, wanted_size
from ...backend import Readable
from ...errors import IntegrityError
from .format import (
    HEADER_SIZE,
    SEALED_SEGMENT,
    SEGMENT_SIZE,
    TAG_SIZE,
    FileCipher,
    Header,
    KeyRing,
    plaintext_size,
    segment_count,
)

__all__ = ["DecryptingReader", "EncryptingReader", "encrypt_bytes"]


def encrypt_bytes(cipher: FileCipher, data: bytes) -> bytes:
    """The whole ciphertext of ``data`` (already in memory)."""
    view = memoryview(data)
    count = max(1, -(-len(data) // SEGMENT_SIZE))
    parts = [cipher.header.raw]
    for index in range(count):
        piece = bytes(view[index * SEGMENT_SIZE:(index + 1) * SEGMENT_SIZE])
        parts.append(cipher.seal(index, piece, index == count - 1))
    return b"".join(parts)


class EncryptingReader:
    """``read(n)`` gives the ciphertext of a plaintext stream, sealed segment by segment.

    A segment is sealed as the last only once the next read of the source comes back
    empty, so at most two plaintext segments and one sealed segment are held at a time.
    """

    def __init__(self, cipher: FileCipher, source: Readable) -> None:
        self._cipher = cipher
        self._source = source
        self._out = PieceQueue(cipher.header.raw)
        self._lookahead: bytes | None = None
        self._index = 0
        self._sealed_last = False

    def _fill(self) -> None:
        current = read_full(self._source, SEGMENT_SIZE) if self._lookahead is None else self._lookahead
        following = read_full(self._source, SEGMENT_SIZE) if len(current) == SEGMENT_SIZE else b""
        last = not following
        self._out.push(self._cipher.seal(self._index, current, last))
        self._index += 1
        self._lookahead = following
        self._sealed_last = last

    def read(self, size: int | None = -1, /) -> bytes:
        size = wanted_size(size)
        while self._out.buffered < size and not self._sealed_last:
            self._fill()
        return self._out.take(size)


class DecryptingReader(PositionedReader):
    """A seekable plaintext view of a ciphertext handle that decrypts only the segments read.

    Opening reads the header and authenticates the last segment, so a truncated or
    extended file fails before any byte is returned; other segments are authenticated
    as they are reached.
    """

    def __init__(
        self, handle: BinaryIO, ciphertext_bytes: int, keys: KeyRing, path: str
    ) -> None:
        super().__init__()
        self._handle = handle
        self._path = path
        self._at = -1
        self._buffer = bytearray(SEALED_SEGMENT)
        self._use_readinto = True
        try:
            self._count = segment_count(ciphertext_bytes, path)
            self.size = plaintext_size(ciphertext_bytes, path)
            self._cipher = keys.cipher_for(Header.parse(bytes(self._read_at(0, HEADER_SIZE)), path), path)
            self._segment_index = -1
            self._segment = b""
            self._load(self._count - 1)
        except BaseException:
            handle.close()
            raise
        self._position = 0

    @property
    def header(self) -> Header:
        return self._cipher.header

    def _read_at(self, offset: int, size: int) -> bytes | memoryview:
        # Sequential reads skip the seek (a buffered handle would drop its buffer) and land in one
        # reused buffer when the handle has readinto.
        if offset != self._at:
            self._handle.seek(offset)
            self._at = offset
        readinto = getattr(self._handle, "readinto", None) if self._use_readinto else None
        if readinto is not None and size <= len(self._buffer):
            view = memoryview(self._buffer)[:size]
            got = 0
            try:
                while got < size:
                    count = readinto(view[got:])
                    if not count:
                        break
                    got += count
            except (NotImplementedError, io.UnsupportedOperation):
                if got:
                    raise
                self._use_readinto = False  # a handle that only has read(): fall back below
            else:
                self._at += got
                return view[:got]
        parts = []
        while size > 0:
            chunk = self._handle.read(size)
            if not chunk:
                break
            parts.append(chunk)
            size -= len(chunk)
        data = b"".join(parts)
        self._at += len(data)
        return data

    def _load(self, index: int) -> None:
        if index == self._segment_index:
            return
        last = index == self._count - 1
        expected = (self.size - index * SEGMENT_SIZE + TAG_SIZE) if last else SEALED_SEGMENT
        sealed = self._read_at(HEADER_SIZE + index * SEALED_SEGMENT, expected)
        if len(sealed) != expected:
            raise IntegrityError.at(self._path, f"segment {index} is cut short (the file changed while read?)")
        self._segment = self._cipher.open(index, sealed, last)
        self._segment_index = index

    def _read(self, size: int | None, /) -> bytes:
        if self.closed:
            raise ValueError("read of a closed file")
        end = self.size if size is None or size < 0 else min(self.size, self._position + size)
        parts = []
        while self._position < end:
            index = self._position // SEGMENT_SIZE
            self._load(index)
            start = self._position - index * SEGMENT_SIZE
            piece = self._segment[start:start + (end - self._position)]
            parts.append(piece)
            self._position += len(piece)
        return b"".join(parts)

    def read1(self, size: int = -1, /) -> bytes:
        return self.read(size if size >= 0 else SEGMENT_SIZE)


"""Downloads: a seekable reader over its own pooled connection (``RETR`` with ``REST``)."""

from __future__ import annotations

import contextlib
import ftplib
from typing import TYPE_CHECKING, Any

from ...errors import (
    UnableToReadFile,
)
from .._readers import PositionedReader
from .connection import _CHUNK, _await_reply, _close_quietly, _describe

if TYPE_CHECKING:
    from .backend import FtpBackend

__all__ = ["FtpReader"]


class FtpReader(PositionedReader):
    """A seekable download over its own connection (``RETR`` with ``REST`` for offsets)."""

    def __init__(self, backend: FtpBackend, key: str, path: str, *, size: int) -> None:
        super().__init__(size)
        self._pool = backend._pool
        self._timeout = backend._settings.timeout
        self._key = key
        self._path = path
        self._connection: ftplib.FTP | None = None
        self._socket: Any = None
        self._eof = False

    def _moved(self, target: int) -> None:
        self._abandon()
        self._eof = False

    def readinto(self, buffer: Any) -> int:
        if self._eof or self.closed:
            return 0
        try:
            if self._socket is None:
                self._start()
            received = int(self._socket.recv_into(buffer))
            if received == 0:
                self._finish()
        except (OSError, EOFError, ftplib.Error) as cause:
            self._abandon()
            raise UnableToReadFile.at(self._path, _describe(cause), cause=cause) from cause
        self._position += received
        return received

    def readall(self) -> bytes:
        chunks = []
        buffer = bytearray(_CHUNK)
        while received := self.readinto(buffer):
            chunks.append(bytes(buffer[:received]))
        return b"".join(chunks)

    def _start(self) -> None:
        connection = self._pool.acquire()
        self._connection = connection
        connection.voidcmd("TYPE I")
        self._socket = connection.transfercmd(f"RETR {self._key}", rest=self._position or None)

    def _finish(self) -> None:
        self._eof = True
        connection, sock = self._connection, self._socket
        self._connection = self._socket = None
        if sock is not None:
            with contextlib.suppress(Exception):
                unwrap = getattr(sock, "unwrap", None)
                if unwrap is not None:
                    unwrap()
            sock.close()
        if connection is not None:
            try:
                connection.voidresp()
            except (OSError, EOFError, ftplib.Error):
                _close_quietly(connection)
                return
            self._pool.release(connection)

    def _abandon(self) -> None:
        """Stop a transfer mid-way: close its data connection and read the server's reply.

        The server answers a cut-short download with 426 (or 226 when it had sent
        everything): once read, the connection is in step again and goes back to the
        pool. A server slow to answer costs at most two seconds, then the connection
        is dropped.
        """
        connection, sock = self._connection, self._socket
        self._connection = self._socket = None
        if sock is not None:
            with contextlib.suppress(Exception):
                sock.close()
        if connection is None:
            return
        if sock is None:
            _close_quietly(connection)  # failed before the transfer began: state unknown
            return
        control = connection.sock
        try:
            if control is not None:
                control.settimeout(min(2.0, self._timeout))
            reply = _await_reply(connection)
            if control is not None:
                control.settimeout(self._timeout)
        except OSError:
            reply = False
        if reply is True or isinstance(reply, ftplib.Error):
            self._pool.release(connection)
        else:
            _close_quietly(connection)

    def close(self) -> None:
        if not self.closed:
            if self._eof:
                self._finish()
            else:
                self._abandon()
        super().close()


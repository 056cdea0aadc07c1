"""A small clamd client: INSTREAM over TCP or a unix socket, chunk by chunk, with a timeout.

clamd's protocol is three lines of documentation (``man clamd``): send ``zINSTREAM\\0``,
then chunks each prefixed by a 4-byte big-endian length, then a zero length; the reply is
``stream: OK`` or ``stream: <signature> FOUND`` (NUL-terminated with the ``z`` prefix).
Writing our own keeps the dependency list empty and lets the scan run on the same
chunks that are being stored, instead of a second read of the file.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["DEFAULT_CLAMD", "ClamdError", "ClamdStream", "ScanResult", "resolve_address", "scan_stream"]

DEFAULT_CLAMD = "tcp://127.0.0.1:3310"
_MAX_CHUNK = 1024 * 1024  # clamd reads chunks of any size; 1 MiB keeps the syscall count low


class ClamdError(Exception):
    """clamd could not be reached, timed out, or answered with an error (the scan has no verdict)."""


@dataclass(frozen=True)
class ScanResult:
    """A verdict: ``infected`` with the ``signature`` clamd named, or clean."""

    infected: bool
    signature: str | None = None


def resolve_address(address: str | None = None) -> str:
    """Where clamd listens: ``address``, else ``CLAMD_SOCKET``, else ``CLAMD_HOST``+``CLAMD_PORT``, else the default.

    Raises:
        ClamdError: the address is neither ``unix:///path`` nor ``tcp://host:port``.
    """
    if address:
        chosen = address
    elif os.environ.get("CLAMD_SOCKET"):
        chosen = "unix://" + os.environ["CLAMD_SOCKET"]
    elif os.environ.get("CLAMD_HOST"):
        chosen = f"tcp://{os.environ['CLAMD_HOST']}:{os.environ.get('CLAMD_PORT') or 3310}"
    else:
        chosen = DEFAULT_CLAMD
    _split(chosen)
    return chosen


def _split(address: str) -> tuple[int, str | tuple[str, int]]:
    parts = urlsplit(address)
    if parts.scheme == "unix" and (parts.netloc + parts.path):
        return socket.AF_UNIX, parts.netloc + parts.path
    if parts.scheme == "tcp" and parts.hostname:
        try:
            port = parts.port or 3310
        except ValueError:
            raise ClamdError(f"bad clamd port in {address!r}") from None
        return socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET, (parts.hostname, port)
    raise ClamdError(f"clamd address {address!r} is neither unix:///path nor tcp://host:port")


class ClamdStream:
    """One INSTREAM session: ``send`` chunks as they arrive, then ``finish`` for the verdict.

    Raises ``ClamdError`` from the constructor, ``send`` and ``finish`` when clamd is down,
    slow beyond ``timeout`` seconds, or refuses the stream (e.g. its StreamMaxLength).
    """

    def __init__(self, address: str | None = None, *, timeout: float = 30.0) -> None:
        self.address = resolve_address(address)
        family, target = _split(self.address)
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(target)
            self._sock.sendall(b"zINSTREAM\0")
        except OSError as cause:
            self._sock.close()
            raise ClamdError(f"cannot reach clamd at {self.address}: {cause}") from cause
        self._closed = False

    def send(self, chunk: bytes | memoryview) -> None:
        view = memoryview(chunk)
        try:
            for start in range(0, len(view), _MAX_CHUNK):
                piece = view[start : start + _MAX_CHUNK]
                self._sock.sendall(struct.pack("!L", len(piece)))
                self._sock.sendall(piece)
        except OSError as cause:
            # clamd closes the connection when the stream passes its StreamMaxLength; its reply says so.
            reply = self._reply_after_error()
            self.close()
            raise ClamdError(f"clamd at {self.address} stopped reading the stream: {reply or cause}") from cause

    def finish(self) -> ScanResult:
        try:
            self._sock.sendall(struct.pack("!L", 0))
            reply = self._read_reply()
        except OSError as cause:
            raise ClamdError(f"clamd at {self.address} gave no verdict: {cause}") from cause
        finally:
            self.close()
        return _parse(reply, self.address)

    def _read_reply(self) -> str:
        data = bytearray()
        while not data.endswith(b"\0"):
            piece = self._sock.recv(4096)
            if not piece:
                break
            data += piece
            if len(data) > 65536:
                break
        return data.rstrip(b"\0").decode("utf-8", "replace").strip()

    def _reply_after_error(self) -> str:
        try:
            self._sock.settimeout(1.0)
            return self._read_reply()
        except OSError:
            return ""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._sock.close()

    def __enter__(self) -> ClamdStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _parse(reply: str, address: str) -> ScanResult:
    if reply.endswith(" OK"):
        return ScanResult(False)
    if reply.endswith(" FOUND"):
        signature = reply.removeprefix("stream:").removesuffix(" FOUND").strip()
        return ScanResult(True, signature)
    raise ClamdError(
        f"clamd at {address} answered {reply!r}" if reply else f"clamd at {address} closed without a verdict"
    )


def scan_stream(chunks: Iterable[bytes], address: str | None = None, *, timeout: float = 30.0) -> ScanResult:
    """Scan an iterable of byte chunks with one INSTREAM session.

    Raises:
        ClamdError: no verdict (clamd down, timeout, stream too long for clamd).
    """
    with ClamdStream(address, timeout=timeout) as stream:
        for chunk in chunks:
            stream.send(chunk)
        return stream.finish()

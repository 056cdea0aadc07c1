"""Uploads: streamed request bodies, and which names a ``Destination`` header can carry safely."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

from ...backend import Readable

_CHUNK = 1024 * 1024


def destination_is_safe(key: str) -> bool:
    """Whether a server can be trusted to read ``key`` (percent-encoded) in a ``Destination`` header.

    Servers decode the header before parsing it as a URL (wsgidav does), so a name with
    ``?``, ``#`` or ``;`` would lose its tail and a ``%`` could be decoded twice: the
    ``MOVE`` or ``COPY`` would overwrite a different file. Such names are written directly.
    """
    return not any(character in unquote(key) for character in "?#;%")


class Body:
    """A request body read from ``stream`` in chunks.

    When the stream fails, the body simply ends: the server gets a complete
    (short) request for the temporary resource, which is then deleted, and the
    failure is raised by ``raise_failure``. Cutting the connection mid-body
    instead leaves servers with half-handled uploads (wsgidav even leaks the
    open file).
    """

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._failure: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self._stream.read(_CHUNK)
            except Exception as error:
                self._failure = error
                return
            if not chunk:
                return
            yield bytes(chunk)

    def raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure


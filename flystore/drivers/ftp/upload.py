"""Uploads: ``STOR`` of a stream on a pooled transfer connection, cleaned up when it fails."""

from __future__ import annotations

import ftplib
from collections.abc import Callable

from ...backend import Readable
from .connection import _CHUNK, _await_reply, _close_quietly, _ConnectionPool

__all__ = ["store"]


def store(pool: _ConnectionPool, temporary: str, stream: Readable, remove_quietly: Callable[[str], None]) -> None:
    """``STOR`` ``stream`` as ``temporary`` on a pooled connection; on failure the partial upload is deleted.

    ``remove_quietly`` deletes a name over the control connection, for when the transfer
    connection can no longer be trusted to.

    Raises:
        BaseException: whatever failed, the stream's own error or the server's, after the clean-up.
    """
    connection = pool.acquire()
    try:
        connection.voidcmd("TYPE I")
        data = connection.transfercmd(f"STOR {temporary}")
    except BaseException:
        _close_quietly(connection)
        remove_quietly(temporary)
        raise
    failure: BaseException | None = None
    try:
        with data:
            while chunk := stream.read(_CHUNK):
                data.sendall(chunk)
            unwrap = getattr(data, "unwrap", None)
            if unwrap is not None:  # FTPS: close the TLS layer cleanly
                unwrap()
    except BaseException as error:
        failure = error
    # The data connection is closed: the server answers for the transfer (226, or 426/451 ...).
    # Waiting for that answer keeps the connection usable and means the server has closed
    # the partial file before it is deleted.
    in_step = _await_reply(connection)
    if isinstance(in_step, BaseException):
        failure = failure or in_step
        in_step = not isinstance(in_step, (OSError, EOFError))
    if failure is None:
        pool.release(connection)
        return
    if in_step:
        try:
            connection.delete(temporary)
        except (OSError, EOFError, ftplib.Error):
            _close_quietly(connection)
            remove_quietly(temporary)
        else:
            pool.release(connection)
    else:
        _close_quietly(connection)
        remove_quietly(temporary)
    raise failure

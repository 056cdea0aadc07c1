"""Which errors mean "this disk is unreachable" (fail over) and which are an answer (never).

A failover disk moves on to the next disk only when the one it asked could not
answer: the connection was refused, reset or timed out, or the server said 5xx.
Everything else is an answer that another disk must not overrule:

- ``FileNotFound`` from a reachable disk (a missing file is missing everywhere,
  unless the disk is configured with ``read_any``);
- refusals: ``ReadOnlyDisk``, a permission error or an HTTP 4xx anywhere in the cause chain;
- validation: bad paths, bad metadata, unsupported features, configuration errors,
  integrity failures, rejected uploads;
- an ``OperationFailed`` whose cause chain shows neither kind: the cause is unknown,
  so the error is raised as it is rather than guessed to be an outage.

The chain is read through ``__cause__`` and ``__context__``, where drivers keep the
client's own exception (botocore, urllib3, aiohttp, azure-core, ftplib, paramiko).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator, Mapping

from ...errors import (
    FileAlreadyExists,
    FileNotFound,
    InvalidMetadata,
    OperationFailed,
    ReadOnlyDisk,
    StorageError,
    UnsupportedOperation,
)
from .streams import SourceFailed

__all__ = ["is_outage"]

#: Exception class names (anywhere in an error's MRO) of clients' transport failures.
_TRANSPORT_NAMES = frozenset({
    # botocore / urllib3 / http.client
    "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError",
    "HTTPClientError", "NewConnectionError", "ProtocolError", "MaxRetryError", "RemoteDisconnected",
    "IncompleteRead", "ResponseStreamingError",
    # aiohttp (gcsfs, adlfs) and httpx (webdav4)
    "ClientConnectorError", "ClientOSError", "ServerDisconnectedError", "ServerTimeoutError",
    "ClientPayloadError", "ConnectError", "ReadError", "WriteError", "RemoteProtocolError", "TimeoutException",
    # azure-core
    "ServiceRequestError", "ServiceResponseError",
    # paramiko / asyncssh (sftp), ftplib's transient 4xx replies
    "SSHException", "NoValidConnectionsError", "error_temp",
})
#: errno values that mean the peer or the device is unavailable, not that the request was wrong.
_TRANSPORT_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.ETIMEDOUT, errno.EHOSTUNREACH,
    errno.ENETUNREACH, errno.ENETDOWN, errno.EPIPE, errno.EIO, errno.ENOSPC,
})
#: Errors that are answers whatever caused them.
_ANSWERS: tuple[type[StorageError], ...] = (
    FileNotFound, FileAlreadyExists, ReadOnlyDisk, UnsupportedOperation, InvalidMetadata,
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ if current.__cause__ is not None else current.__context__


def _status(error: BaseException) -> int | None:
    """The HTTP status an SDK error carries (botocore's response dict, ``status_code`` or ``status``)."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return status
    for attribute in ("status_code", "status"):
        value = getattr(error, attribute, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    return None


def _verdict(link: BaseException) -> bool | None:
    """True: a transport failure; False: an answer (refusal, validation); None: this link does not tell."""
    if isinstance(link, SourceFailed):
        return False  # the caller's stream broke, whatever its cause: no disk is to blame
    if isinstance(link, (PermissionError, FileNotFoundError, FileExistsError, IsADirectoryError,
                         NotADirectoryError, ValueError, TypeError)):
        return False
    status = _status(link)
    if status is not None:
        return status >= 500 or status in (408, 429)
    if isinstance(link, (ConnectionError, TimeoutError, EOFError)):
        return True
    if isinstance(link, OSError) and link.errno in _TRANSPORT_ERRNOS:
        return True
    if any(klass.__name__ in _TRANSPORT_NAMES for klass in type(link).__mro__):
        return True
    return None


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means the disk could not answer (so the next disk may be asked).

    Any refusal or validation signal in the chain wins over a transport signal: a
    403 that arrived over a flaky connection is still a 403.
    """
    if isinstance(error, StorageError):
        if isinstance(error, _ANSWERS) or not isinstance(error, OperationFailed):
            return False
    elif not isinstance(error, OSError):
        return False
    verdicts = [_verdict(link) for link in _chain(error) if not isinstance(link, StorageError)]
    if False in verdicts:
        return False
    return True in verdicts

"""Every flystore error as an HTTP answer naming the disk and the path (``{"detail": {reason, message}}``)."""

from __future__ import annotations

from fastapi import HTTPException

from ..errors import (
    ConfigurationError,
    DiskNotConfigured,
    DriverNotInstalled,
    FileAlreadyExists,
    InvalidPath,
    ReadOnlyDisk,
    StorageError,
    UnsupportedOperation,
)
from ..integrations.fastapi import error_response

__all__ = ["web_error"]

# Beyond what the FastAPI router maps (404, 400, 403, 413, 415): what a browser can also run into.
_MORE: list[tuple[type[StorageError], int, str]] = [
    (DiskNotConfigured, 404, "disk_not_found"),
    (DriverNotInstalled, 503, "driver_not_installed"),
    (ConfigurationError, 503, "disk_misconfigured"),  # the disk cannot be built: the rest still browse
    (ReadOnlyDisk, 403, "read_only"),
    (FileAlreadyExists, 409, "exists"),
    (UnsupportedOperation, 400, "unsupported"),
    (InvalidPath, 400, "invalid_path"),
]


def web_error(error: StorageError, disk: str) -> HTTPException:
    """The HTTP error for ``error``; the disk is filled in when the error does not name one."""
    if error.disk is None:
        error.disk = disk
    for kind, status, reason in _MORE:
        if isinstance(error, kind):
            return HTTPException(status, {"reason": reason, "message": str(error)})
    return error_response(error)

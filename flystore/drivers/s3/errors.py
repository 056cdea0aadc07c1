"""Error mapping of the s3 driver: botocore/urllib3/OS failures as flystore errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from ...errors import FileNotFound, StorageError

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchVersion"})


def _error_code(cause: BaseException) -> str:
    response = getattr(cause, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _retried(cause: BaseException) -> bool:
    """Whether botocore sent the request more than once before ``cause`` (an earlier attempt may have landed)."""
    response = getattr(cause, "response", None)
    if not isinstance(response, Mapping):
        return False
    metadata = response.get("ResponseMetadata")
    return isinstance(metadata, Mapping) and bool(metadata.get("RetryAttempts"))


def _reason(cause: BaseException) -> str:
    code = _error_code(cause)
    if code == "NoSuchBucket":
        return f"the bucket does not exist ({cause})"
    text = str(cause) or type(cause).__name__
    return text if type(cause).__name__ in text else f"{type(cause).__name__}: {text}"


def _fail(
    cause: BaseException,
    error: type[StorageError],
    path: str,
    missing_is: type[StorageError] | None = FileNotFound,
) -> NoReturn:
    """Raise the flystore error for ``cause`` (a botocore/urllib3/OS error)."""
    if isinstance(cause, StorageError):
        raise cause
    if missing_is is not None and _error_code(cause) in _MISSING_CODES:
        raise missing_is.at(path, "no file exists at this path", cause=cause) from cause
    raise error.at(path, _reason(cause), cause=cause) from cause

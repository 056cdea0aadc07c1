"""How a verb's errors leave the disk: as the verb's own class, with the disk and the user's path named.

A verb is either wrapped (``_verb``) or catches inline and calls ``_raise_as``
(the hot verbs, to skip a wrapper call). Nothing here imports the disk class:
the wrapper needs only a disk's name and its ``_explain_missing``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, Protocol, TypeVar, cast

from ..errors import (
    FileAlreadyExists,
    FileNotFound,
    InvalidMetadata,
    OperationFailed,
    ReadOnlyDisk,
    StorageError,
    UnableToCopyFile,
    UnableToMoveFile,
    UnableToProvideChecksum,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnsupportedOperation,
)
from ..paths import normalize

_F = TypeVar("_F", bound=Callable[..., Any])


class _NamedDisk(Protocol):
    """What ``_verb``'s wrapper uses of the disk whose method it wraps."""

    name: str

    def _explain_missing(self, error: FileNotFound) -> None: ...



# Errors that say something precise about the file or the disk; a verb passes them on as they are.
_PRECISE_ERRORS: tuple[type[StorageError], ...] = (
    FileNotFound,
    FileAlreadyExists,
    ReadOnlyDisk,
    UnsupportedOperation,
    InvalidMetadata,
)


def _as_verb_error(
    error: BaseException, verb: type[StorageError] | None, disk: str, path: object = None
) -> BaseException:
    """``error`` as the verb's own class, with the disk named.

    A step inside a verb (an existence check inside ``delete``, a stat inside
    ``append``) fails with its own class; users catch the verb's class, so such
    errors become the verb's, keeping the reason, the path and the cause. Raw
    ``OSError``s that a backend let through become the verb's class too.
    """
    if isinstance(error, StorageError):
        if error.disk is None:
            error.disk = disk
        if error.path is None and isinstance(path, str):
            error.path = _user_path(path)
        if (
            verb is None
            or isinstance(error, (verb, *_PRECISE_ERRORS))
            or not isinstance(error, OperationFailed)
        ):
            return error
        converted = verb(f"while trying to {error.operation}: {error.reason}", path=error.path, disk=error.disk)
        converted.__cause__ = error.__cause__ if error.__cause__ is not None else error
        return converted
    if isinstance(error, OSError) and verb is not None:
        # The OSError's own filename is physical; name the user's path instead.
        user_path = _user_path(path) if isinstance(path, str) else None
        raw = verb(f"{error.strerror or type(error).__name__}", disk=disk, path=user_path)
        raw.__cause__ = error
        return raw
    return error


def _raise_as(error: BaseException, verb: type[StorageError] | None, disk: str, path: object = None) -> NoReturn:
    """Raise ``error`` as the verb's error (see ``_as_verb_error``), keeping its cause."""
    converted = _as_verb_error(error, verb, disk, path)
    if converted is error:
        raise error
    raise converted from converted.__cause__


def _user_path(path: str) -> str:
    """``path`` normalised for an error message, or as given when it cannot be."""
    try:
        return normalize(path)
    except StorageError:
        return path


def _verb(error_class: type[StorageError] | None) -> Callable[[_F], _F]:
    """Name the disk on every error leaving the method and raise it as ``error_class``."""

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def wrapper(self: _NamedDisk, *args: Any, **kwargs: Any) -> Any:
            try:
                return function(self, *args, **kwargs)
            except (StorageError, OSError) as error:
                if isinstance(error, FileNotFound) and error_class in _READING_ERRORS:
                    self._explain_missing(error)
                _raise_as(error, error_class, self.name, args[0] if args else None)

        return cast(_F, wrapper)

    return decorate


# Verbs that read a file: their FileNotFound says whether a directory is in the way.
_READING_ERRORS: tuple[type[StorageError], ...] = (
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToProvideChecksum,
    UnableToCopyFile,
    UnableToMoveFile,
)
_A_DIRECTORY = "this path is a directory, not a file"
_NO_FILE = "no file exists at this path"

#: Names the disk on errors without changing their class (kept for drivers' adapters).
_names_the_disk = _verb(None)

"""The azure driver's errors: Azure SDK exceptions as flystore errors about a path."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...errors import FileNotFound, StorageError
from ..generic import translate_errors
from .blobs import _describe, _error_code

if TYPE_CHECKING:
    from .container import BlobContainer


@contextlib.contextmanager
def sdk_errors(
    container: BlobContainer, error: type[StorageError], path: str, *, missing_is: type[StorageError] = FileNotFound
) -> Iterator[None]:
    """Map Azure SDK errors to flystore errors about ``path`` (then the generic mapping).

    Raises:
        error: the container is missing, the blob is archived, or Azure refused the request.
        missing_is: no blob is at ``path``.
    """
    with translate_errors(error, path, missing_is=missing_is):
        try:
            yield
        except StorageError:
            raise
        except container._not_found as cause:
            if _error_code(cause) == "ContainerNotFound":
                raise error.at(
                    path, f"the container {container.container!r} does not exist", cause=cause
                ) from cause
            raise missing_is.at(path, "no file exists at this path", cause=cause) from cause
        except container._http_error as cause:
            if _error_code(cause) == "BlobArchived":
                raise error.at(
                    path,
                    "the blob is in the Archive tier: rehydrate it first "
                    "(set_tier(path, 'Hot') or 'Cool', which Azure completes within hours)",
                    cause=cause,
                ) from cause
            raise error.at(path, _describe(cause), cause=cause) from cause

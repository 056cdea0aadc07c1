"""Path and URL errors: a path or a temporary URL that must be refused."""

from __future__ import annotations

from .base import StorageError


class InvalidPath(StorageError, ValueError):
    """The path cannot be used on this disk."""

    operation = "use path"


class PathTraversalDetected(InvalidPath):
    """The path climbs above the root, holds control characters or crosses a symlink."""

    operation = "resolve path"


class InvalidSignedUrl(StorageError, ValueError):
    """A temporary URL is expired, tampered with or not flystore's."""

    operation = "verify temporary URL"

"""``disk.fs`` and the ``flystore://`` fsspec protocol (entry point ``fsspec.specs``).

``DiskFileSystem`` is the filesystem (filesystem.py: writing, deleting, copying,
moving), built on identity.py (its disk, identity and paths) and reading.py
(info, listings, reads); oserrors.py makes the builtin errors fsspec callers
expect, its file objects live in files.py, and hooks.py holds how a disk
travels as its configuration.
"""

from __future__ import annotations

from .filesystem import DiskFileSystem

__all__ = ["DiskFileSystem"]

"""``disk.fs`` and the ``flystore://`` fsspec protocol (entry point ``fsspec.specs``).

``DiskFileSystem`` is the filesystem (filesystem.py), its file objects live in
files.py, and hooks.py holds how a disk travels as its configuration.
"""

from __future__ import annotations

from .filesystem import DiskFileSystem

__all__ = ["DiskFileSystem"]

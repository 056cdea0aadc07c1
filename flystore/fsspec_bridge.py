"""Kept for imports written before ``flystore.fs``: ``DiskFileSystem`` lives there now."""

from __future__ import annotations

from .fs.filesystem import DiskFileSystem

__all__ = ["DiskFileSystem"]

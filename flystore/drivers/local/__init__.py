"""The ``local`` driver: a directory on this machine, treated as a jail.

- Nothing outside ``root`` is read, written, listed or followed: every
  directory a path crosses is checked for symlinks, files are opened with
  ``O_NOFOLLOW``, and listings walk directory descriptors opened with
  ``O_DIRECTORY | O_NOFOLLOW`` (``_jail``, ``_walk``).
- Writes are atomic: a hidden temporary file renamed over the target when
  complete (``_atomic``).
- Custom metadata and a given MIME type live in extended attributes
  (``_xattrs``), at most ``METADATA_LIMIT`` bytes per file.
- ``LocalBackend`` holds the primitives (``backend``); ``LocalFilesystemAdapter``
  is the disk and ``create`` builds it from options (``adapter``).
"""

from __future__ import annotations

from ._walk import TEMP_PREFIX
from ._xattrs import METADATA_LIMIT
from .adapter import LOCAL_OPTIONS, LocalFilesystemAdapter, create
from .backend import DEFAULT_PERMISSIONS, LocalBackend

__all__ = [
    "DEFAULT_PERMISSIONS",
    "LOCAL_OPTIONS",
    "METADATA_LIMIT",
    "TEMP_PREFIX",
    "LocalBackend",
    "LocalFilesystemAdapter",
    "create",
]

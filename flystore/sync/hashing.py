"""MD5 of file contents: native where reliable, cached beside local files, streamed otherwise.

A local file's digest is kept in the extended attribute ``user.flystore-sync-md5``
as ``size:mtime_ns:inode:digest``; it is trusted only while the file still has
that size, modification time and inode, so an edit (which changes the mtime) or
a replacement (a new inode) is hashed again. The descriptor the attribute is read
from and written to is the one the disk opened inside its root, so a symlink
cannot steer the cache onto a file outside the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from typing import BinaryIO

__all__ = ["XATTR", "md5_of_handle", "md5_of_local_handle"]

XATTR = "user.flystore-sync-md5"
_CHUNK = 1024 * 1024


def md5_of_handle(handle: BinaryIO) -> str:
    """The MD5 hex digest of everything ``handle`` still has to read, in bounded memory."""
    digest = hashlib.md5(usedforsecurity=False)
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _key(fd: int) -> str:
    info = os.fstat(fd)
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"


def md5_of_local_handle(handle: BinaryIO) -> tuple[str, bool]:
    """``(digest, cached)`` for a local file opened for reading at offset 0.

    The cached digest is used when its key still matches the file; otherwise the
    file is read and, when it did not change while being read, the new digest is
    stored (a filesystem without extended attributes just gets no cache).
    """
    fd = handle.fileno()
    key = _key(fd)
    with contextlib.suppress(OSError, UnicodeDecodeError):
        stored = os.getxattr(fd, XATTR).decode("ascii")
        stored_key, _, digest = stored.rpartition(":")
        if stored_key == key and len(digest) == 32:
            return digest, True
    digest = md5_of_handle(handle)
    if _key(fd) == key:
        with contextlib.suppress(OSError):
            os.setxattr(fd, XATTR, f"{key}:{digest}".encode("ascii"))
    return digest, False

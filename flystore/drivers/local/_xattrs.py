"""Custom metadata and MIME types in extended attributes.

All of a file's custom metadata is one attribute, ``user.flystore-metadata``,
holding a compact JSON object of the (already encoded) string values. One
attribute rather than one per key because ext4 keeps every attribute of a file
in a single 4 KiB block with 16+ bytes of overhead per attribute: one
attribute makes the capacity predictable (and costs one system call, not one
per key). Files written by earlier versions, with one ``user.flystore.<key>``
attribute per key, still read back.

The attributes are written to the temporary file before it is renamed into
place, so a set that does not fit fails the write with nothing published.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping

from ...errors import InvalidMetadata, StorageError

__all__ = ["HAS_XATTR", "METADATA_LIMIT", "read_xattrs", "write_xattrs"]

HAS_XATTR = hasattr(os, "setxattr")
_METADATA = "user.flystore-metadata"
_MIMETYPE = "user.flystore-mimetype"
_LEGACY_PREFIX = "user.flystore."

#: Bytes of UTF-8 keys plus encoded values one file may carry. ext4 holds 4,024 bytes of attribute
#: values in a file's attribute block when it is alone; this leaves room for the MIME type attribute
#: and the JSON punctuation of about a hundred keys. Larger sets are refused by the disk up front;
#: a set under it that still does not fit (thousands of tiny keys) fails the write with InvalidMetadata.
METADATA_LIMIT = 3072

_FULL = (errno.ENOSPC, errno.E2BIG, errno.ERANGE)


def write_xattrs(
    fd: int, path: str, mimetype: str | None, metadata: Mapping[str, str], error: type[StorageError]
) -> None:
    """Store ``metadata`` and ``mimetype`` on the open file ``fd``.

    Raises:
        InvalidMetadata: the metadata does not fit in the file's attributes (writes).
        StorageError: of class ``error``: the filesystem has no extended attributes, the
            metadata does not fit (copies), or it refused them.
    """
    if metadata:
        if not HAS_XATTR:
            raise error.at(path, "custom metadata needs extended attributes, which this OS lacks")
        blob = json.dumps(dict(metadata), ensure_ascii=False, separators=(",", ":")).encode()
        try:
            os.setxattr(fd, _METADATA, blob)
        except OSError as cause:
            if cause.errno in _FULL:
                reason = (
                    f"the metadata takes {len(blob)} bytes as stored, more than this filesystem holds "
                    f"beside a file (about {METADATA_LIMIT} bytes of keys and values)"
                )
                full_error = InvalidMetadata if issubclass(InvalidMetadata, error) else error
                raise full_error.at(path, reason, cause=cause) from cause
            raise error.at(
                path, f"this filesystem cannot store custom metadata: {cause.strerror}", cause=cause
            ) from cause
    if mimetype and HAS_XATTR:
        try:
            os.setxattr(fd, _MIMETYPE, mimetype.encode())
        except OSError:
            pass  # A MIME type is a hint the disk can guess again: losing it loses nothing.


def read_xattrs(target: str | int) -> tuple[str | None, dict[str, str]]:
    """``(mimetype, metadata)`` stored on the file at path ``target`` (never a link's) or open as fd ``target``.

    A filesystem without attributes, or attributes another tool garbled, read as none.
    """
    if not HAS_XATTR:
        return None, {}
    # With a descriptor there is no link to follow; with a path, never follow the last one.
    follow = isinstance(target, int)
    try:
        names = os.listxattr(target, follow_symlinks=follow)
    except OSError:
        return None, {}
    if not names:
        return None, {}
    mimetype = None
    metadata: dict[str, str] = {}
    try:
        for name in names:
            if name == _MIMETYPE:
                mimetype = os.getxattr(target, name, follow_symlinks=follow).decode("utf-8", "replace")
            elif name.startswith(_LEGACY_PREFIX):
                metadata.setdefault(
                    name[len(_LEGACY_PREFIX) :],
                    os.getxattr(target, name, follow_symlinks=follow).decode("utf-8", "replace"),
                )
        if _METADATA in names:
            stored = json.loads(os.getxattr(target, _METADATA, follow_symlinks=follow))
            if isinstance(stored, dict):
                metadata.update((str(key), str(value)) for key, value in stored.items())
    except (OSError, ValueError):
        pass  # removed while we read, or not ours: what was read so far stands
    return mimetype, metadata

"""Limits on names that remote drivers check before a request leaves the client.

A name a server cannot hold fails there in server-specific ways: FTP servers
answer ``500 Command too long`` and then read the rest of the line as a second
command (the control connection falls out of step), HTTP servers cut the
request line. Checking first gives every verb the same clear error.
"""

from __future__ import annotations

import errno

__all__ = ["MAX_PATH_BYTES", "MAX_SEGMENT_BYTES", "NameTooLong", "check_name_length"]

#: The longest file or directory name (one path segment) POSIX filesystems hold, in UTF-8 bytes.
MAX_SEGMENT_BYTES = 255
#: The longest whole path (PATH_MAX on Linux), in UTF-8 bytes.
MAX_PATH_BYTES = 4096


class NameTooLong(OSError):
    """A path segment or a whole path is longer than the server can hold.

    An ``OSError`` (``ENAMETOOLONG``) so that ``translate_errors`` turns it into
    the error class of the verb that was running.
    """

    def __str__(self) -> str:
        return str(self.strerror)


def check_name_length(key: str, *, max_path: int = MAX_PATH_BYTES, max_segment: int = MAX_SEGMENT_BYTES) -> str:
    """``key`` unchanged when every segment and the whole of it fit the limits.

    Raises:
        NameTooLong: a segment is over ``max_segment`` bytes or the key over ``max_path`` bytes.
    """
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > max_path:
        raise NameTooLong(errno.ENAMETOOLONG, f"the path is too long ({size} bytes; at most {max_path})")
    for segment in key.split("/"):
        length = len(segment.encode("utf-8", "surrogatepass"))
        if length > max_segment:
            raise NameTooLong(
                errno.ENAMETOOLONG, f"a name in the path is too long ({length} bytes; at most {max_segment})"
            )
    return key

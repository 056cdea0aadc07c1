"""What a version is, how layout version ids are made, and which user paths are reserved.

A ``Version`` is what ``versions(path)`` returns, the same on every disk: the
native S3 versions of a versioning-enabled bucket, or the records of the layout
kept beside the data (see ``layout.py``) everywhere else.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ...errors import PathTraversalDetected

__all__ = [
    "DELETED_SUFFIX",
    "STORE_DIRECTORY",
    "Version",
    "is_layout_id",
    "new_version_id",
    "refuse_reserved",
    "stamp_of",
]

#: The layout's tree, at the root of the wrapped disk; no user path may name it.
STORE_DIRECTORY = ".flystore-versions"
#: Appended to a layout record's name when the record is a delete marker.
DELETED_SUFFIX = ".deleted"

_STAMP_FORMAT = "%Y%m%dT%H%M%S"
_ID = re.compile(r"\A\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{16}\Z")


@dataclass(frozen=True, slots=True)
class Version:
    """One version of one path, as ``versions(path)`` lists it (newest first).

    Attributes:
        id: the version id to pass to ``get_version``, ``restore_version`` ...
        path: the disk path the version belongs to.
        size: bytes of content (0 for a delete marker).
        last_modified: when the version was made (timezone-aware UTC).
        checksum: ``"md5:<hex>"`` when the backend reports one without reading
            the content (S3's ETag of a single-part upload; the MD5 that S3, GCS
            and Azure listings give for layout records), else None.
        is_deleted: a delete marker: the path was deleted at ``last_modified``.
        is_latest: the current state of the path (its content, or the marker of
            its deletion). At most one version of a path is the latest.
    """

    id: str
    path: str
    size: int
    last_modified: datetime
    checksum: str | None = None
    is_deleted: bool = False
    is_latest: bool = False


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_clock = threading.Lock()
_last_micros = 0


def new_version_id(at: datetime | None = None) -> str:
    """A fresh layout version id: ``YYYYMMDDTHHMMSS.ffffffZ-<16 hex>``, made now or ``at``.

    Ids sort by creation time; within this process the ids made now strictly
    increase, even when the wall clock stands still or steps back; the random
    part keeps ids of different processes apart.
    """
    global _last_micros
    if at is not None:
        micros = (at - _EPOCH) // timedelta(microseconds=1)  # exact, unlike a float timestamp
    else:
        with _clock:
            micros = max(time.time_ns() // 1000, _last_micros + 1)
            _last_micros = micros
    seconds, fraction = divmod(micros, 1_000_000)
    moment = time.gmtime(seconds)
    return (f"{moment.tm_year:04d}{moment.tm_mon:02d}{moment.tm_mday:02d}T{moment.tm_hour:02d}{moment.tm_min:02d}"
            f"{moment.tm_sec:02d}.{fraction:06d}Z-{secrets.token_hex(8)}")


def is_layout_id(version_id: object) -> bool:
    """Whether ``version_id`` has the exact shape of a layout id (no path characters can pass)."""
    return isinstance(version_id, str) and _ID.match(version_id) is not None


def stamp_of(version_id: str) -> datetime:
    """The creation time written in a layout id (which ``is_layout_id`` accepted)."""
    moment = datetime.strptime(version_id[:15], _STAMP_FORMAT).replace(tzinfo=timezone.utc)
    return moment.replace(microsecond=int(version_id[16:22]))


def _is_store_name(segment: str) -> bool:
    # Case-insensitive filesystems (macOS, Windows) and Windows' dropping of trailing dots and
    # spaces would map these spellings onto the store's directory too.
    return segment.rstrip(". ").casefold() == STORE_DIRECTORY


def refuse_reserved(path: str) -> None:
    """Refuse a (normalised) user path that names the version store.

    Raises:
        PathTraversalDetected: the first segment of ``path`` is the store's directory
            in any spelling a filesystem could map onto it.
    """
    first = path.split("/", 1)[0]
    if first and _is_store_name(first):
        raise PathTraversalDetected.at(
            path, f"the path names the version store ({STORE_DIRECTORY}), which this disk keeps hidden"
        )

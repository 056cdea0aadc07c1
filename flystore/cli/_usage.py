"""Counting files and bytes over a listing as it streams by (``flystore usage``).

Memory grows with the number of top-level directories, never with the number of files:
a bucket of a million objects is one pass over its listing.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..attributes import Entry, FileAttributes
from ..disk import FilesystemAdapter
from ..errors import FileNotFound, StorageError, UnableToListContents

__all__ = ["BUCKETS", "SHORT_LABELS", "Tally", "Usage", "measure", "stream_entries", "stream_files"]

_KIB = 1024
#: Upper bounds (exclusive) of the size histogram's buckets; the last bucket is open.
BUCKETS: tuple[tuple[int, str], ...] = (
    (1, "0 B"),
    (_KIB, "< 1 KiB"),
    (10 * _KIB, "1-10 KiB"),
    (100 * _KIB, "10-100 KiB"),
    (_KIB**2, "100 KiB-1 MiB"),
    (10 * _KIB**2, "1-10 MiB"),
    (100 * _KIB**2, "10-100 MiB"),
    (_KIB**3, "100 MiB-1 GiB"),
)
_BOUNDS = [bound for bound, _ in BUCKETS]
_LABELS = [label for _, label in BUCKETS] + [">= 1 GiB"]
#: The same buckets, short enough for one table cell per directory.
SHORT_LABELS = ("0", "<1K", "1-10K", "10-100K", "100K-1M", "1-10M", "10-100M", "100M-1G", ">=1G")


@dataclass
class Tally:
    """Files and bytes, in all and per size bucket, of one directory (or of everything)."""

    files: int = 0
    bytes: int = 0
    #: files per size bucket, in ``BUCKETS`` order (the last is >= 1 GiB); bytes alongside.
    bucket_files: list[int] = field(default_factory=lambda: [0] * len(_LABELS))
    bucket_bytes: list[int] = field(default_factory=lambda: [0] * len(_LABELS))

    def add(self, size: int) -> None:
        self.files += 1
        self.bytes += size
        bucket = bisect.bisect_right(_BOUNDS, size)
        self.bucket_files[bucket] += 1
        self.bucket_bytes[bucket] += size

    def compact(self) -> str:
        """The non-empty buckets as ``<1K:3 1-10K:2``."""
        return " ".join(f"{label}:{files}" for label, files in zip(SHORT_LABELS, self.bucket_files, strict=True)
                        if files)

    def histogram(self) -> list[dict[str, Any]]:
        """``[{"bucket": "< 1 KiB", "files": ..., "bytes": ...}, ...]`` for every bucket."""
        return [
            {"bucket": label, "files": files, "bytes": size}
            for label, files, size in zip(_LABELS, self.bucket_files, self.bucket_bytes, strict=True)
        ]


@dataclass
class Usage:
    """What ``measure`` found under one directory of one disk.

    Attributes:
        disk: the disk's name.
        path: the directory measured ("" for the root).
        total: every file under it.
        directories: per top-level entry under ``path``; files directly in it count under "".
    """

    disk: str
    path: str
    total: Tally = field(default_factory=Tally)
    directories: dict[str, Tally] = field(default_factory=dict)

    def add(self, relative: str, size: int) -> None:
        """Count a file at ``relative`` (to ``path``) of ``size`` bytes."""
        self.total.add(size)
        top = relative.split("/", 1)[0] if "/" in relative else ""
        tally = self.directories.get(top)
        if tally is None:
            tally = self.directories[top] = Tally()
        tally.add(size)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary; directories by bytes, largest first, each with its own histogram."""
        ranked = sorted(self.directories.items(), key=lambda item: (-item[1].bytes, item[0]))
        return {
            "disk": self.disk,
            "path": self.path,
            "files": self.total.files,
            "bytes": self.total.bytes,
            "histogram": self.total.histogram(),
            "directories": [
                {"name": name or ".", "files": tally.files, "bytes": tally.bytes, "histogram": tally.histogram()}
                for name, tally in ranked
            ],
        }


def stream_entries(disk: FilesystemAdapter, path: str, deep: bool, *, sizes: bool = True) -> Iterator[Entry]:
    """The entries under ``path`` one at a time, in the backend's order (unsorted).

    With ``sizes``, a file the listing gave no size gets one ``stat`` (a file deleted
    meanwhile is left out).

    Raises:
        UnableToListContents: the backend failed part way (naming the disk and the path).
    """
    iterator = iter(disk.backend.list_contents(path, deep))
    while True:
        try:
            entry = next(iterator)
            if sizes and isinstance(entry, FileAttributes) and entry.size is None:
                try:
                    entry = disk.backend.stat(entry.path)
                except FileNotFound:
                    continue
        except StopIteration:
            return
        except (StorageError, OSError) as error:
            if isinstance(error, UnableToListContents):
                error.disk = error.disk or disk.name
                raise
            raise UnableToListContents.at(path, str(error), disk=disk.name, cause=error) from error
        yield entry


def stream_files(disk: FilesystemAdapter, path: str) -> Iterator[FileAttributes]:
    """Every file under ``path`` (all levels) with its size, one listing entry at a time.

    Raises:
        UnableToListContents: the backend failed part way.
    """
    for entry in stream_entries(disk, path, True):
        if isinstance(entry, FileAttributes):
            yield entry


def measure(disk: FilesystemAdapter, path: str) -> Usage:
    """Files, bytes and the size histogram under ``path`` of ``disk``, in one streamed pass.

    Raises:
        UnableToListContents: the listing failed.
    """
    usage = Usage(disk.name, path)
    prefix = f"{path}/" if path else ""
    for entry in stream_files(disk, path):
        relative = entry.path[len(prefix):] if entry.path.startswith(prefix) else entry.path
        usage.add(relative, entry.size or 0)
    return usage

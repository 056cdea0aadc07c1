"""Reading a trail back: the records on a trail disk, filtered, oldest first."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from .record import decode_line, parse_time

__all__ = ["TrailFilter", "read_trail"]

_HOUR_FILE = re.compile(r"^(\d{2})-\d{4}-[0-9a-f]+\.jsonl$")
_NUMBER = re.compile(r"^\d{2,4}$")


class TrailFilter:
    """Which records to keep; every criterion left as None keeps everything.

    Args:
        disk: the audited disk's name.
        actor: the actor, exactly.
        path: a glob (``fnmatch``) matched against the path, and the destination of copies and moves.
        operations: the operations to keep (``{"write", "delete"}``).
        since: keep records at or after this time (naive times are taken as UTC).
        until: keep records before this time.
    """

    def __init__(
        self,
        *,
        disk: str | None = None,
        actor: str | None = None,
        path: str | None = None,
        operations: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> None:
        self.disk = disk
        self.actor = actor
        self.path = path
        self.operations = frozenset(operations) if operations else None
        self.since = _aware(since)
        self.until = _aware(until)

    def keeps(self, record: dict[str, Any]) -> bool:
        """Whether ``record`` passes every criterion."""
        if self.disk is not None and record.get("disk") != self.disk:
            return False
        if self.actor is not None and record.get("actor") != self.actor:
            return False
        if self.operations is not None and record.get("operation") not in self.operations:
            return False
        if self.path is not None:
            candidates = [str(record.get("path", "")), str(record.get("destination", ""))]
            if not any(fnmatch.fnmatchcase(candidate, self.path) for candidate in candidates if candidate):
                return False
        if self.since is not None or self.until is not None:
            try:
                moment = parse_time(str(record.get("time")))
            except ValueError:
                return False
            if self.since is not None and moment < self.since:
                return False
            if self.until is not None and moment >= self.until:
                return False
        return True

    def may_hold(self, start: datetime, span: timedelta) -> bool:
        """Whether records from ``start`` to ``start + span`` (a day, an hour) can hold a kept one."""
        if self.since is not None and start + span <= self.since:
            return False
        return not (self.until is not None and start >= self.until)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _numbered(disk: Any, directory: str) -> list[tuple[int, str]]:
    """``(number, path)`` of the subdirectories named by digits (``2026``, ``12``), in order."""
    found = []
    for path in disk.directories(directory):
        name = path.rsplit("/", 1)[-1]
        if _NUMBER.match(name):
            found.append((int(name), path))
    return sorted(found)


def _days(disk: Any, prefix: str, keep: TrailFilter) -> Iterator[tuple[datetime, str]]:
    """``(midnight UTC, directory)`` of every day of the trail that may hold a kept record, oldest first.

    Walks ``YYYY/MM/DD`` a level at a time, skipping whole years and months outside the filter's
    window, so reading the last hours never lists the whole history.
    """
    for year, year_dir in _numbered(disk, prefix):
        if not 1 <= year <= 9999 or not keep.may_hold(datetime(year, 1, 1, tzinfo=timezone.utc),
                                                      timedelta(days=366)):
            continue
        for month, month_dir in _numbered(disk, year_dir):
            if not 1 <= month <= 12 or not keep.may_hold(datetime(year, month, 1, tzinfo=timezone.utc),
                                                         timedelta(days=31)):
                continue
            for day, day_dir in _numbered(disk, month_dir):
                try:
                    midnight = datetime(year, month, day, tzinfo=timezone.utc)
                except ValueError:
                    continue
                if keep.may_hold(midnight, timedelta(days=1)):
                    yield midnight, day_dir


def read_trail(trail_disk: Any, prefix: str = "audit", where: TrailFilter | None = None) -> Iterator[dict[str, Any]]:
    """The records on ``trail_disk`` under ``prefix`` that ``where`` keeps, oldest first.

    Directories are listed a level at a time and only the days and hours that can hold a
    kept record are read; memory holds one day's file names and one hour's records.
    Lines that are not JSON objects are skipped (a trail is evidence, not input).

    Raises:
        UnableToListContents: the trail disk could not be listed.
        UnableToReadFile: a trail file could not be read.
    """
    keep = where or TrailFilter()
    for midnight, day_dir in _days(trail_disk, prefix, keep):
        hours: dict[int, list[str]] = {}
        for path in trail_disk.files(day_dir):
            match = _HOUR_FILE.match(path.rsplit("/", 1)[-1])
            if match is not None and int(match.group(1)) < 24:
                hours.setdefault(int(match.group(1)), []).append(path)
        for hour in sorted(hours):
            if not keep.may_hold(midnight + timedelta(hours=hour), timedelta(hours=1)):
                continue
            records: list[dict[str, Any]] = []
            for path in sorted(hours[hour]):
                for line in trail_disk.get(path).splitlines():
                    record = decode_line(line)
                    if record is not None and keep.keeps(record):
                        records.append(record)
            records.sort(key=lambda record: str(record.get("time", "")))
            yield from records

"""Reading a trail back: the records on a trail disk, filtered, oldest first."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Iterator
from datetime import datetime, timezone
from typing import Any

from .record import decode_line, parse_time

__all__ = ["TrailFilter", "read_trail"]

_HOUR_FILE = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})-\d{4}-[0-9a-f]+\.jsonl$")


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

    def may_hold(self, hour: datetime) -> bool:
        """Whether a trail file of the hour starting at ``hour`` can hold a kept record."""
        if self.since is not None and hour.timestamp() + 3600 <= self.since.timestamp():
            return False
        return not (self.until is not None and hour >= self.until)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def read_trail(trail_disk: Any, prefix: str = "audit", where: TrailFilter | None = None) -> Iterator[dict[str, Any]]:
    """The records on ``trail_disk`` under ``prefix`` that ``where`` keeps, oldest first.

    Files are read one hour at a time, so memory holds at most one hour of records.
    Lines that are not JSON objects are skipped (a trail is append-only evidence, not input).

    Raises:
        UnableToListContents: the trail disk could not be listed.
        UnableToReadFile: a trail file could not be read.
    """
    keep = where or TrailFilter()
    hours: dict[datetime, list[str]] = {}
    for path in trail_disk.all_files(prefix):
        match = _HOUR_FILE.search(path)
        if match is None:
            continue
        year, month, day, hour = (int(part) for part in match.groups())
        start = datetime(year, month, day, hour, tzinfo=timezone.utc)
        if keep.may_hold(start):
            hours.setdefault(start, []).append(path)
    for start in sorted(hours):
        records: list[dict[str, Any]] = []
        for path in sorted(hours[start]):
            for line in trail_disk.get(path).splitlines():
                record = decode_line(line)
                if record is not None and keep.keeps(record):
                    records.append(record)
        records.sort(key=lambda record: str(record.get("time", "")))
        yield from records

"""One audit record, its JSON line, and where a batch of them is stored on a trail disk.

Layout on a trail disk (object stores cannot append cheaply, so every batch is a
new file that is written once and never changed)::

    <prefix>/<YYYY>/<MM>/<DD>/<HH>-<MMSS>-<12 hex>.jsonl

The time is the UTC time of the batch's first record; a batch that spans the top
of an hour is split into one file per hour. Names sort chronologically within an
hour directory; the random part keeps two writers (threads, processes, hosts)
from ever choosing the same name.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, NamedTuple, TypedDict

__all__ = ["AuditRecord", "Pending", "batch_files", "encode", "make_record", "parse_time"]


class AuditRecord(TypedDict, total=False):
    """What one operation leaves in the trail. Never contents, option values or URLs.

    Keys:
        time: ISO 8601 UTC time the operation started (``...Z``).
        actor: who acted (``acting_as``), or None.
        disk: the audited disk's configured name.
        operation: the primitive (``write``, ``read``, ``list``, ``temporary_url``, ...).
        path: the path on the audited disk.
        destination: the target of a ``copy`` or ``move``.
        size: bytes written or read, or entries listed, when known.
        outcome: ``"ok"`` or the class name of the error raised (``"FileNotFound"``).
        duration_ms: how long the operation took, in milliseconds.
        count: on an ``audit_dropped`` record, how many records the full queue dropped.
    """

    time: str
    actor: str | None
    disk: str
    operation: str
    path: str
    destination: str
    size: int | None
    outcome: str
    duration_ms: float
    count: int


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    """The timezone-aware UTC datetime of a record's ``time``.

    Raises:
        ValueError: not an ISO 8601 time.
    """
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def make_record(
    *,
    started: datetime,
    actor: str | None,
    disk: str,
    operation: str,
    path: str,
    outcome: str,
    duration: float,
    size: int | None = None,
    destination: str | None = None,
) -> AuditRecord:
    """A record; ``duration`` is in seconds."""
    record: AuditRecord = {
        "time": _iso(started),
        "actor": actor,
        "disk": disk,
        "operation": operation,
        "path": path,
    }
    if destination is not None:
        record["destination"] = destination
    record["size"] = size
    record["outcome"] = outcome
    record["duration_ms"] = round(duration * 1000, 3)
    return record


class Pending(NamedTuple):
    """What an operation hands the writer: cheap to make; formatting waits for the writer thread."""

    started: float  # time.time() when the operation started
    actor: str | None
    disk: str
    operation: str
    path: str
    outcome: str
    duration: float  # seconds
    size: int | None = None
    destination: str | None = None

    def to_record(self) -> AuditRecord:
        return make_record(
            started=datetime.fromtimestamp(self.started, timezone.utc), actor=self.actor, disk=self.disk,
            operation=self.operation, path=self.path, outcome=self.outcome, duration=self.duration,
            size=self.size, destination=self.destination,
        )


def encode(records: Iterable[AuditRecord]) -> bytes:
    """JSON lines, one record a line, UTF-8.

    JSON escapes newlines inside strings; U+2028 and U+2029, which JSON leaves raw but
    many line readers split on, are escaped too, so a path or actor can never start a line.
    """
    lines = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) for record in records)
    return "".join(line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n"
                   for line in lines).encode()


def batch_files(prefix: str, records: list[AuditRecord]) -> Iterator[tuple[str, list[AuditRecord]]]:
    """``(trail path, records)`` per hour the batch touches, in time order."""
    by_hour: dict[str, list[AuditRecord]] = {}
    for record in records:
        by_hour.setdefault(record["time"][:13], []).append(record)
    for hour in sorted(by_hour):
        group = by_hour[hour]
        first = parse_time(group[0]["time"])
        name = f"{first:%Y/%m/%d/%H}-{first:%M%S}-{uuid.uuid4().hex[:12]}.jsonl"
        yield (f"{prefix}/{name}" if prefix else name), group


def decode_line(line: bytes | str) -> dict[str, Any] | None:
    """The record on one line of a trail file, or None for a blank or unreadable line."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

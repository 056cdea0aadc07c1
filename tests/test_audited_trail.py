"""The trail's layout on a disk, and reading it back: filters, time windows, what is never touched."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from flystore import StorageManager
from flystore.decorators.audited import AuditedFilesystemAdapter, TrailFilter, read_trail
from flystore.decorators.audited.record import batch_files, encode, make_record
from flystore.errors import UnsupportedOperation
from tests.test_audited import TRAIL_FILE


def test_a_batch_across_the_hour_goes_to_one_file_per_hour() -> None:
    first = datetime(2026, 12, 2, 13, 59, 58, tzinfo=timezone.utc)
    batch = [make_record(started=first + timedelta(seconds=seconds), actor=None, disk="d", operation="read",
                         path=f"p{seconds}", outcome="ok", duration=0.0) for seconds in range(4)]
    files = list(batch_files("audit", batch))
    assert [path[: len("audit/2026/12/02/13-5958")] for path, _ in files] == [
        "audit/2026/12/02/13-5958", "audit/2026/12/02/14-0000"]
    assert [[record["path"] for record in group] for _, group in files] == [["p0", "p1"], ["p2", "p3"]]
    assert all(TRAIL_FILE.match(path) for path, _ in files)


def test_reading_the_trail_filters_and_skips_hours_before_since() -> None:
    manager = StorageManager({"disks": {"trail": {"driver": "memory"}}})
    trail = manager.disk("trail")
    old = datetime(2026, 1, 1, 8, tzinfo=timezone.utc)
    new = datetime(2026, 1, 1, 10, tzinfo=timezone.utc)
    later = new + timedelta(seconds=1)
    for moment, actor, path in ((old, "ada", "a/old.txt"), (new, "ada", "a/new.txt"), (later, "bob", "b/new.txt")):
        for name, group in batch_files("audit", [make_record(started=moment, actor=actor, disk="docs",
                                                              operation="write", path=path, outcome="ok",
                                                              duration=0.001)]):
            trail.put(name, encode(group))
    trail.put("audit/2026/01/01/10-0000-000000000000.jsonl", b"not json\n[1,2]\n")  # skipped, never fatal

    def paths(**criteria: Any) -> list[str]:
        return [record["path"] for record in read_trail(trail, "audit", TrailFilter(**criteria))]

    assert paths() == ["a/old.txt", "a/new.txt", "b/new.txt"]
    assert paths(actor="ada") == ["a/old.txt", "a/new.txt"]
    assert paths(path="b/*") == ["b/new.txt"]
    assert paths(since=datetime(2026, 1, 1, 9)) == ["a/new.txt", "b/new.txt"]
    assert paths(until=datetime(2026, 1, 1, 9)) == ["a/old.txt"]
    assert paths(operations={"delete"}) == []
    assert paths(disk="other") == []


def test_reading_recent_records_never_lists_or_reads_older_days() -> None:
    # The trail disk is itself audited: its own trail shows what reading it touched.
    manager = StorageManager({"disks": {
        "store": {"driver": "memory"},
        "meta": {"driver": "memory"},
        "trail": {"driver": "audited", "disk": "store", "trail": "meta"},
    }})
    trail = manager.disk("trail")
    assert isinstance(trail, AuditedFilesystemAdapter)
    for moment in (datetime(2025, 3, 1, 9, tzinfo=timezone.utc), datetime(2026, 11, 30, 9, tzinfo=timezone.utc),
                   datetime(2026, 12, 2, 8, tzinfo=timezone.utc), datetime(2026, 12, 2, 10, tzinfo=timezone.utc)):
        record = make_record(started=moment, actor=None, disk="docs", operation="write", path=f"{moment:%Y%m%d%H}",
                             outcome="ok", duration=0.0)
        for name, group in batch_files("audit", [record]):
            manager.disk("store").put(name, encode(group))
    where = TrailFilter(since=datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc))
    assert [record["path"] for record in read_trail(trail, "audit", where)] == ["2026120210"]
    touched = [record["path"] for record in trail.trail(operations={"list", "read"})]
    assert touched and not any(path.startswith(("audit/2025", "audit/2026/11")) for path in touched)
    assert not any(path.startswith("audit/2026/12/02/08-") for path in touched)  # an earlier hour: not read
    trail.close()


def test_a_logger_trail_cannot_be_read_back() -> None:
    manager = StorageManager({"disks": {"files": {"driver": "memory"},
                                        "a": {"driver": "audited", "disk": "files", "logger": "app.audit"}}})
    disk = manager.disk("a")
    assert isinstance(disk, AuditedFilesystemAdapter)
    with pytest.raises(UnsupportedOperation):
        list(disk.trail())
    disk.close()

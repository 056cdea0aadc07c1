"""The watcher of a local disk tells its own disk's writes from those of another disk of the same name.

Disk names are unique within one manager only: a second manager (another app, a test, the stack of a
``Storage.fake``) may have a disk of the same name. Its writes are no sighting of the watched disk's own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from flystore import StorageManager
from flystore.watch import stop_watching


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_a_write_to_a_same_named_disk_elsewhere_does_not_hide_a_change_by_hand(tmp_path: Path) -> None:
    root = tmp_path / "root"
    watched = StorageManager({"disks": {"files": {"driver": "local", "root": str(root), "watch": True}}}).disk("files")
    other = StorageManager({"disks": {"files": {"driver": "memory"}}}).disk("files")
    seen: list[tuple[str, str]] = []
    watched.on("file_updated", lambda path: seen.append(("watched", path)))
    try:
        wait_for(lambda: watched.__dict__["_watcher"]._flusher.is_alive())
        (root / "report.txt").write_bytes(b"by hand")  # another process's change
        other.put("report.txt", b"a write to the other 'files' disk, at once")
        wait_for(lambda: ("watched", "report.txt") in seen)
        watched.put("mine.txt", b"through the watched disk itself")
        time.sleep(0.5)  # past the debounce: its sighting is dropped, not reported a second time
        assert seen == [("watched", "report.txt"), ("watched", "mine.txt")]
        assert os.path.isfile(root / "mine.txt")
    finally:
        stop_watching(watched)

"""Two-way sync: new, changed and deleted files on either side, conflicts, and a lost or stale state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.errors import UnableToListContents
from flystore.sync.listing import STATE_DIRECTORY
from flystore.sync.plan import conflict_name

Sides = tuple[StorageManager, FilesystemAdapter, FilesystemAdapter]


@pytest.fixture(params=["memory", "local"])
def sides(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sides]:
    def disk(name: str) -> dict[str, str]:
        return {"driver": "memory"} if request.param == "memory" else {"driver": "local", "root": str(tmp_path / name)}

    manager = StorageManager({"disks": {"left": disk("left"), "right": disk("right")}})
    yield manager, manager.disk("left"), manager.disk("right")
    manager.disk("left").close()
    manager.disk("right").close()


def two_way(manager: StorageManager, **options: Any) -> dict[str, Any]:
    report = manager.sync("left://docs", "right://docs", mode="two_way", **options)
    return report.to_dict()


def synced(sides: Sides, files: dict[str, bytes]) -> Sides:
    """``sides`` once ``files`` are put under docs/ on the left and synced both ways: the state to change against."""
    manager, left, _ = sides
    for name, content in files.items():
        left.put(f"docs/{name}", content)
    two_way(manager)
    return sides


def put_on_both(sides: Sides, name: str, on_left: bytes, on_right: bytes) -> None:
    """Write docs/``name`` on each side, the left first."""
    _, left, right = sides
    left.put(f"docs/{name}", on_left)
    right.put(f"docs/{name}", on_right)


def memory_sides(count: int) -> Sides:
    """Two memory disks, ``count`` files docs/l<n>.txt on the left."""
    manager = StorageManager({"disks": {"left": {"driver": "memory"}, "right": {"driver": "memory"}}})
    left, right = manager.disk("left"), manager.disk("right")
    for number in range(count):
        left.put(f"docs/l{number}.txt", f"left {number}".encode())
    return manager, left, right


def user_files(disk: FilesystemAdapter) -> dict[str, bytes]:
    return {path[5:]: disk.get(path) for path in disk.all_files("docs") if not path[5:].startswith(STATE_DIRECTORY)}


def backdate(disk: FilesystemAdapter, path: str, seconds: float = 30.0) -> None:
    """Make a file look written ``seconds`` earlier (past the comparison's one-second tolerance)."""
    local = disk.backend.local_path(path)
    if local is not None:
        info = os.stat(local)
        os.utime(local, ns=(info.st_atime_ns, info.st_mtime_ns - int(seconds * 1e9)))
    else:
        disk.backend._files[path].modified -= seconds  # type: ignore[attr-defined]  # the memory store


def test_new_files_on_both_sides_meet_and_the_state_stays_on_the_destination(sides: Sides) -> None:
    manager, left, right = sides
    left.put("docs/from-left.txt", b"L")
    right.put("docs/sub/from-right.txt", b"R")
    report = two_way(manager)
    assert sorted(report["copied"]) == ["from-left.txt", "sub/from-right.txt"]
    assert user_files(left) == user_files(right) == {"from-left.txt": b"L", "sub/from-right.txt": b"R"}
    state = [path for path in right.all_files("docs") if path.startswith(f"docs/{STATE_DIRECTORY}/")]
    assert len(state) == 1 and not left.directory_exists(f"docs/{STATE_DIRECTORY}")
    again = two_way(manager)
    assert again["copied"] == again["updated"] == again["deleted"] == [] and len(again["skipped"]) == 2


def test_changes_and_deletions_travel_both_ways(sides: Sides) -> None:
    manager, left, right = synced(sides, {f"{name}.txt": name.encode() for name in "abcd"})
    left.put("docs/a.txt", b"a, edited on the left")
    right.put("docs/b.txt", b"b, edited on the right")
    left.delete("docs/c.txt")
    right.delete("docs/d.txt")
    report = two_way(manager)
    assert sorted(report["updated"]) == ["a.txt", "b.txt"]
    assert sorted(report["deleted"]) == ["c.txt", "d.txt"]
    expected = {"a.txt": b"a, edited on the left", "b.txt": b"b, edited on the right"}
    assert user_files(left) == user_files(right) == expected


def test_a_file_changed_on_both_sides_keeps_both_versions_and_the_newest_keeps_the_name(sides: Sides) -> None:
    manager, left, right = synced(sides, {"notes.md": b"v1"})
    put_on_both(sides, "notes.md", b"left's edit", b"right's later edit")
    backdate(left, "docs/notes.md")
    older = left.stat("docs/notes.md").last_modified
    report = two_way(manager)
    assert report["conflicts"] == ["notes.md"]
    assert older is not None
    kept = conflict_name("notes.md", older.timestamp())
    assert kept.startswith("notes.conflict-") and kept.endswith(".md")
    expected = {"notes.md": b"right's later edit", kept: b"left's edit"}
    assert user_files(left) == user_files(right) == expected
    settled = two_way(manager)
    assert settled["conflicts"] == [] and settled["copied"] == settled["updated"] == []


def test_a_file_made_on_both_sides_since_the_last_sync_is_a_conflict(sides: Sides) -> None:
    manager, left, right = synced(sides, {"seed.txt": b"s"})
    put_on_both(sides, "plan.txt", b"the left's plan", b"the right's")
    backdate(right, "docs/plan.txt")
    report = two_way(manager)
    assert report["conflicts"] == ["plan.txt"]
    files = user_files(left)
    assert files == user_files(right) and files["plan.txt"] == b"the left's plan"
    assert sorted(files.values()) == sorted([b"s", b"the left's plan", b"the right's"])


def test_the_same_edit_on_both_sides_is_no_conflict(sides: Sides) -> None:
    manager, _, _ = synced(sides, {"same.txt": b"v1"})
    put_on_both(sides, "same.txt", b"v2 on both", b"v2 on both")
    report = two_way(manager)
    assert report["conflicts"] == [] and report["skipped"] == ["same.txt"]


def test_a_lost_state_falls_back_to_the_first_sync_which_never_deletes(sides: Sides) -> None:
    manager, _, right = synced(sides, {"keep.txt": b"k", "gone.txt": b"g"})
    right.delete("docs/gone.txt")
    right.delete_directory(f"docs/{STATE_DIRECTORY}")  # the state is lost
    report = two_way(manager)
    assert report["deleted"] == [] and report["copied"] == ["gone.txt"]
    assert user_files(right) == {"keep.txt": b"k", "gone.txt": b"g"}


@pytest.mark.parametrize("garbage", [b"not json", b'{"version": 99, "files": {}}', b'{"version": 1}',
                                     b'{"version": 1, "source": "left://docs", "destination": "right://docs",'
                                     b' "files": {"gone.txt": ["big", 1, 2]}}'])
def test_a_corrupt_or_foreign_state_is_ignored_safely(sides: Sides, garbage: bytes) -> None:
    manager, _, right = synced(sides, {"gone.txt": b"g"})
    [state] = [path for path in right.all_files(f"docs/{STATE_DIRECTORY}")]
    right.put(state, garbage)
    right.delete("docs/gone.txt")
    report = two_way(manager)
    assert report["deleted"] == [] and report["copied"] == ["gone.txt"]


def test_a_state_of_another_pair_does_not_steer_this_one(sides: Sides) -> None:
    manager, left, right = sides
    left.put("docs/gone.txt", b"g")
    manager.sync("left://docs", "right://docs", mode="two_way")
    left.put("elsewhere/gone.txt", b"g")
    right.delete("docs/gone.txt")
    # Another source syncing into the same destination root has a state of its own: nothing is deleted.
    report = manager.sync("left://elsewhere", "right://docs", mode="two_way")
    assert report.deleted == [] and report.copied == ["gone.txt"]


def test_a_first_sync_without_state_lets_the_newest_version_win(sides: Sides) -> None:
    manager, left, _ = sides
    put_on_both(sides, "x.txt", b"older", b"newer one")
    backdate(left, "docs/x.txt")
    report = two_way(manager)
    assert report["updated"] == ["x.txt"] and left.get("docs/x.txt") == b"newer one"


def test_a_two_way_sync_refuses_to_empty_a_side_whose_partner_root_vanished(sides: Sides) -> None:
    manager, left, right = synced(sides, {"a.txt": b"a"})
    left.delete_directory("docs")  # unmounted, renamed, mistyped: the source root is gone
    with pytest.raises(UnableToListContents):
        two_way(manager)
    assert user_files(right) == {"a.txt": b"a"}


def test_a_dry_two_way_run_writes_no_state(sides: Sides) -> None:
    manager, left, right = sides
    left.put("docs/a.txt", b"a")
    report = two_way(manager, dry_run=True)
    assert report["copied"] == ["a.txt"] and right.all_files() == []


def test_conflict_names_keep_the_extension_and_dot_files() -> None:
    moment = 1764635100.0  # 2025-12-02T00:25:00Z
    assert conflict_name("a/report.txt", moment) == "a/report.conflict-20251202T002500Z.txt"
    assert conflict_name("Makefile", moment) == "Makefile.conflict-20251202T002500Z"
    assert conflict_name("cfg/.env", moment) == "cfg/.env.conflict-20251202T002500Z"


def test_an_interrupted_two_way_sync_resumes_and_carries_later_deletions() -> None:
    from flystore.sync import SyncEngine, SyncMode, SyncPair
    from tests.test_sync import FailingWrites

    manager, left, right = memory_sides(8)
    engine = SyncEngine(manager=manager, transfers=3)
    flaky = FilesystemAdapter(FailingWrites(right.backend, frozenset({"docs/l5.txt", "docs/l6.txt"})), name="right")
    broken = engine.sync_pair(SyncPair("docs", "docs", left, flaky, mode=SyncMode.TWO_WAY))
    assert sorted(broken.errors) == ["l5.txt", "l6.txt"] and len(broken.copied) == 6
    left.delete("docs/l0.txt")  # deleted after it was synced: the state knows it
    resumed = engine.sync_pair(SyncPair("docs", "docs", left, right, mode=SyncMode.TWO_WAY))
    assert resumed.ok and resumed.conflicts == [] and resumed.deleted == ["l0.txt"]
    assert sorted(resumed.copied) == ["l5.txt", "l6.txt"]
    assert set(user_files(left)) == set(user_files(right)) == {f"l{number}.txt" for number in range(1, 8)}


def test_a_two_way_sync_whose_state_could_not_be_written_deletes_nothing_next_time() -> None:
    from flystore.sync import SyncEngine, SyncMode, SyncPair
    from tests.test_sync import FailingWrites

    manager, left, right = memory_sides(6)
    engine = SyncEngine(manager=manager, transfers=1)
    dying = FilesystemAdapter(FailingWrites(right.backend, budget=6), name="right")  # the state write fails
    broken = engine.sync_pair(SyncPair("docs", "docs", left, dying, mode=SyncMode.TWO_WAY))
    assert len(broken.copied) == 6 and list(broken.errors) == [broken_state(right)]
    right.delete("docs/l0.txt")
    resumed = engine.sync_pair(SyncPair("docs", "docs", left, right, mode=SyncMode.TWO_WAY))
    assert resumed.deleted == [] and resumed.copied == ["l0.txt"]  # the safe first-sync rule: it comes back


def broken_state(disk: FilesystemAdapter) -> str:
    from flystore.sync.state import state_path

    return state_path("left://docs", "right://docs")

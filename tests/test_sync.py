"""The sync engine's one-way modes on memory and local disks: what is copied, skipped, deleted, refused."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import FilesystemAdapter, PathTraversalDetected, StorageManager
from flystore.attributes import WriteOptions
from flystore.backend import Readable
from flystore.decorators.base import DecoratedBackend
from flystore.errors import InvalidConfiguration, UnableToListContents, UnableToWriteFile
from flystore.sync import SyncEngine, SyncMode, SyncPair, SyncProgress, SyncReport, sync
from flystore.sync.listing import PathFilter

TREE = {"a.txt": b"alpha", "b.txt": b"bravo!", "sub/c.log": b"charlie", "sub/deep/d.bin": b"\x00" * 300}


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[StorageManager]:
    made = StorageManager({"disks": {
        "mem": {"driver": "memory"},
        "other": {"driver": "memory"},
        "local": {"driver": "local", "root": str(tmp_path / "local")},
    }})
    yield made
    for name in ("mem", "other", "local"):
        made.disk(name).close()


def fill(disk: FilesystemAdapter, root: str, files: dict[str, bytes] = TREE) -> None:
    for path, data in files.items():
        disk.put(f"{root}/{path}", data)


def contents(disk: FilesystemAdapter, root: str) -> dict[str, bytes]:
    return {path[len(root) + 1 :]: disk.get(path) for path in disk.all_files(root)}


@pytest.mark.parametrize("target", ["other://backup", "local://backup"])
def test_a_copy_sends_every_file_and_a_second_run_skips_them_all(manager: StorageManager, target: str) -> None:
    fill(manager.disk("mem"), "docs")
    first = manager.sync("mem://docs", target)
    assert first.ok and sorted(first.copied) == sorted(TREE) and first.bytes == sum(map(len, TREE.values()))
    disk = manager.disk(target.split("://")[0])
    assert contents(disk, "backup") == TREE
    second = manager.sync("mem://docs", target)
    assert (second.copied, second.updated, second.deleted) == ([], [], [])
    assert sorted(second.skipped) == sorted(TREE) and second.bytes == 0


def test_a_changed_file_is_updated_and_nothing_is_deleted_without_delete(manager: StorageManager) -> None:
    source, target = manager.disk("mem"), manager.disk("other")
    fill(source, "docs")
    manager.sync("mem://docs", "other://docs")
    source.put("docs/b.txt", b"a different size")
    source.delete("docs/a.txt")
    report = manager.sync("mem://docs", "other://docs")
    assert report.updated == ["b.txt"] and report.deleted == []
    assert target.get("docs/b.txt") == b"a different size" and target.file_exists("docs/a.txt")


def test_a_mirror_with_delete_makes_the_destination_equal_and_leaves_other_roots_alone(
    manager: StorageManager,
) -> None:
    source, target = manager.disk("mem"), manager.disk("other")
    fill(source, "docs")
    target.put("docs/stale.txt", b"old")
    target.put("docs-other/keep.txt", b"not under the root")
    report = manager.sync("mem://docs", "other://docs", mode="mirror", delete=True)
    assert report.deleted == ["stale.txt"] and report.ok
    assert contents(target, "docs") == TREE
    assert target.get("docs-other/keep.txt") == b"not under the root"


def test_copy_keeps_a_newer_destination_file_and_mirror_replaces_it(manager: StorageManager) -> None:
    source, target = manager.disk("mem"), manager.disk("other")
    source.put("docs/a.txt", b"from the source")
    target.put("docs/a.txt", b"edited later at the destination")
    source.backend._files["docs/a.txt"].modified -= 30  # type: ignore[attr-defined]  # an older source
    kept = manager.sync("mem://docs", "other://docs")
    assert kept.skipped == ["a.txt"] and target.get("docs/a.txt") == b"edited later at the destination"
    mirrored = manager.sync("mem://docs", "other://docs", mode=SyncMode.MIRROR)
    assert mirrored.updated == ["a.txt"] and target.get("docs/a.txt") == b"from the source"


def test_destination_to_source_pulls_and_its_delete_acts_on_the_source(manager: StorageManager) -> None:
    source, target = manager.disk("mem"), manager.disk("other")
    fill(target, "docs")
    source.put("docs/only-here.txt", b"x")
    report = manager.sync("mem://docs", "other://docs", mode="destination_to_source", delete=True)
    assert sorted(report.copied) == sorted(TREE) and report.deleted == ["only-here.txt"]
    assert contents(source, "docs") == TREE


def test_a_dry_run_reports_the_plan_and_changes_nothing(manager: StorageManager) -> None:
    source, target = manager.disk("mem"), manager.disk("other")
    fill(source, "docs")
    target.put("docs/stale.txt", b"old")
    target.put("docs/b.txt", b"older, other size")
    report = manager.sync("mem://docs", "other://docs", mode="mirror", delete=True, dry_run=True)
    assert report.dry_run and sorted(report.copied) == ["a.txt", "sub/c.log", "sub/deep/d.bin"]
    assert report.updated == ["b.txt"] and report.deleted == ["stale.txt"]
    assert report.bytes == sum(map(len, TREE.values()))
    assert contents(target, "docs") == {"stale.txt": b"old", "b.txt": b"older, other size"}


def test_include_and_exclude_select_paths_on_both_sides(manager: StorageManager) -> None:
    source, target = manager.disk("mem"), manager.disk("other")
    fill(source, "docs")
    target.put("docs/sub/old.log", b"excluded: never deleted")
    report = manager.sync("mem://docs", "other://docs", mode="mirror", delete=True,
                          include=["*.txt", "sub/"], exclude=["*.log"])
    assert sorted(report.copied) == ["a.txt", "b.txt", "sub/deep/d.bin"] and report.deleted == []
    assert target.get("docs/sub/old.log") == b"excluded: never deleted"
    assert not target.file_exists("docs/sub/c.log")


@pytest.mark.parametrize(("pattern", "path", "selected"), [
    ("*.log", "a/b/c.log", True), ("cache", "x/cache/y.txt", True), ("docs/*", "docs/a/b.txt", True),
    ("docs/*", "other/docs/a.txt", False), ("build/", "build/out.o", True), ("/top.txt", "top.txt", True),
    ("*.log", "a/log.txt", False),
])
def test_glob_patterns_match_segments_or_whole_paths(pattern: str, path: str, selected: bool) -> None:
    assert PathFilter(exclude=[pattern])(path) is not selected
    assert PathFilter(include=[pattern])(path) is selected


def test_the_state_directory_is_never_selected_whatever_the_include() -> None:
    assert not PathFilter(include=["*"])(".flystore-sync/abc.json")


def test_a_missing_source_root_refuses_to_delete_the_destination(manager: StorageManager) -> None:
    target = manager.disk("other")
    fill(target, "backup")
    for dry_run in (True, False):
        with pytest.raises(UnableToListContents) as caught:
            manager.sync("mem://no-such-dir", "other://backup", mode="mirror", delete=True, dry_run=dry_run)
        assert "does not exist" in str(caught.value) and "nothing was changed" in str(caught.value)
    assert contents(target, "backup") == TREE


def test_an_empty_existing_source_root_may_empty_the_destination(manager: StorageManager, tmp_path: Path) -> None:
    (tmp_path / "local" / "empty").mkdir(parents=True)
    fill(manager.disk("other"), "backup")
    report = manager.sync("local://empty", "other://backup", mode="mirror", delete=True)
    assert sorted(report.deleted) == sorted(TREE) and manager.disk("other").all_files("backup") == []


def test_operands_that_escape_a_disk_are_refused_before_anything_is_listed(manager: StorageManager) -> None:
    with pytest.raises(PathTraversalDetected):
        manager.sync("local://../outside", "other://x")
    with pytest.raises(PathTraversalDetected):
        manager.sync("mem://docs", "local://a/../../etc")


def test_bad_modes_compare_methods_and_transfers_are_configuration_errors(manager: StorageManager) -> None:
    for bad in ({"mode": "sideways"}, {"compare": "md5"}, {"transfers": 0}):
        with pytest.raises(InvalidConfiguration):
            manager.sync("mem://a", "other://b", **bad)


class FailingWrites(DecoratedBackend):
    """Fails writes of the paths in ``refused``, and every write after ``budget`` successful ones."""

    def __init__(self, inner: Any, refused: frozenset[str] = frozenset(), budget: int | None = None) -> None:
        super().__init__(inner)
        self.refused, self.budget = refused, budget

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        if path in self.refused or (self.budget is not None and self.budget <= 0):
            raise UnableToWriteFile.at(path, "the test refuses this write")
        if self.budget is not None:
            self.budget -= 1
        super().write_stream(path, stream, options)


def test_one_failing_file_is_reported_and_the_others_are_synced(manager: StorageManager) -> None:
    fill(manager.disk("mem"), "docs")
    inner = manager.disk("other")
    failing = FilesystemAdapter(FailingWrites(inner.backend, frozenset({"docs/b.txt"})), name="flaky")
    report = SyncEngine(manager=manager).sync_pair(SyncPair("docs", "docs", manager.disk("mem"), failing))
    assert not report.ok and list(report.errors) == ["b.txt"] and "refuses" in report.errors["b.txt"]
    assert sorted(report.copied) == ["a.txt", "sub/c.log", "sub/deep/d.bin"]
    assert json.loads(json.dumps(report.to_dict()))["errors"] == report.errors


def test_a_sync_interrupted_by_a_failing_destination_resumes_on_the_next_run(manager: StorageManager) -> None:
    many = {f"f{number:02}.txt": f"file {number}".encode() for number in range(20)}
    fill(manager.disk("mem"), "docs", many)
    inner = manager.disk("other")
    dying = FilesystemAdapter(FailingWrites(inner.backend, budget=7), name="other")
    engine = SyncEngine(manager=manager, transfers=4)
    broken = engine.sync_pair(SyncPair("docs", "docs", manager.disk("mem"), dying))
    assert len(broken.copied) == 7 and len(broken.errors) == 13
    assert len(inner.all_files("docs")) == 7  # the failed writes left nothing behind
    resumed = engine.sync_pair(SyncPair("docs", "docs", manager.disk("mem"), inner))
    assert resumed.ok and sorted(resumed.copied) == sorted(broken.errors) and sorted(resumed.skipped) == \
        sorted(broken.copied)
    assert contents(inner, "docs") == many


def test_progress_reports_every_phase_in_the_calling_thread(manager: StorageManager) -> None:
    import threading

    fill(manager.disk("mem"), "docs")
    manager.disk("other").put("docs/stale.txt", b"old")
    seen: list[tuple[SyncProgress, str]] = []
    report = manager.sync("mem://docs", "other://docs", mode="mirror", delete=True,
                          progress=lambda step: seen.append((step, threading.current_thread().name)))
    phases = [step.phase for step, _ in seen]
    assert phases[0] == "scan" and "transfer" in phases and phases[-1] == "delete"
    assert {name for _, name in seen} == {threading.current_thread().name}
    last_transfer = [step for step, _ in seen if step.phase == "transfer"][-1]
    assert (last_transfer.files_done, last_transfer.files_total) == (4, 4)
    assert last_transfer.bytes_done == last_transfer.bytes_total == report.bytes


def test_the_seed_names_work_as_written(manager: StorageManager, tmp_path: Path) -> None:
    local_dir = tmp_path / "plain"
    (local_dir / "x").mkdir(parents=True)
    (local_dir / "x" / "one.txt").write_bytes(b"1")
    engine = SyncEngine(manager=manager)
    pair = SyncPair(source_root=str(local_dir), destination_root="into", source_client=None,
                    destination_client=manager.disk("other"), mode=SyncMode.SOURCE_TO_DESTINATION)
    stats = engine.sync_pair(pair)
    assert isinstance(stats, SyncReport) and stats.copied == ["x/one.txt"]
    assert manager.disk("other").get("into/x/one.txt") == b"1"
    assert SyncPair("a", "b", mode="two_way").mode is SyncMode.TWO_WAY


def test_the_module_function_uses_the_facade_by_default(tmp_path: Path) -> None:
    from flystore import Storage

    saved = Storage._config
    try:
        Storage.configure({"disks": {"one": {"driver": "memory"}, "two": {"driver": "memory"}}})
        Storage.disk("one").put("d/x.txt", b"x")
        assert sync("one://d", "two://d").copied == ["x.txt"]
        assert Storage.sync("one://d", "two://d").skipped == ["x.txt"]
    finally:
        Storage._config = saved
        Storage._disks.clear()


def test_a_local_destination_gets_atomic_files_only(manager: StorageManager, tmp_path: Path) -> None:
    fill(manager.disk("mem"), "docs")
    manager.sync("mem://docs", "local://out")
    names = [name for _, _, files in os.walk(tmp_path / "local") for name in files]
    assert sorted(names) == sorted(path.rpartition("/")[2] for path in TREE)


@pytest.mark.parametrize(("source", "destination"), [
    ("mem://docs", "mem://docs/backup"), ("mem://docs/inner", "mem://docs"), ("mem://", "mem://x"),
    ("mem://same", "mem://same/"),
])
def test_overlapping_roots_on_one_disk_are_refused(manager: StorageManager, source: str, destination: str) -> None:
    fill(manager.disk("mem"), "docs")
    with pytest.raises(InvalidConfiguration, match="overlap"):
        manager.sync(source, destination)
    assert sorted(manager.disk("mem").all_files()) == sorted(f"docs/{path}" for path in TREE)


def test_sibling_roots_on_one_disk_sync_by_server_side_copies(manager: StorageManager) -> None:
    fill(manager.disk("mem"), "docs")
    report = manager.sync("mem://docs", "mem://docs-copy")
    assert report.ok and sorted(report.copied) == sorted(TREE)
    assert contents(manager.disk("mem"), "docs-copy") == TREE


def test_a_memory_disk_refuses_to_travel_to_another_process(manager: StorageManager) -> None:
    from concurrent.futures import ProcessPoolExecutor

    fill(manager.disk("mem"), "docs")
    with ProcessPoolExecutor(max_workers=1) as pool, pytest.raises(TypeError, match="memory"):
        manager.sync("mem://docs", "local://out", executor=pool)
    assert manager.disk("local").all_files() == []


def test_symlinks_in_a_local_source_are_neither_followed_nor_stamped(manager: StorageManager, tmp_path: Path) -> None:
    from flystore.sync.hashing import XATTR

    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_bytes(b"secret")
    (outside / "dir" / "inner.txt").write_bytes(b"inner")
    local = manager.disk("local")
    local.put("src/plain.txt", b"secret")  # the same size, so a checksum compare would hash a twin
    os.symlink(outside / "secret.txt", tmp_path / "local" / "src" / "link.txt")
    os.symlink(outside / "dir", tmp_path / "local" / "src" / "linked-dir")
    manager.disk("other").put("dst/link.txt", b"secret")
    report = manager.sync("local://src", "other://dst", compare="checksum")
    assert report.copied == ["plain.txt"] and report.errors == {}
    assert not manager.disk("other").file_exists("dst/linked-dir/inner.txt")
    for path in (outside / "secret.txt", outside / "dir" / "inner.txt"):
        assert XATTR not in os.listxattr(path)


def test_a_mistyped_local_directory_refuses_to_delete_the_destination(
    manager: StorageManager, tmp_path: Path
) -> None:
    fill(manager.disk("other"), "backup")
    pair = SyncPair(str(tmp_path / "no-such-directory"), "backup", None, manager.disk("other"),
                    mode=SyncMode.MIRROR, delete=True)
    with pytest.raises(UnableToListContents, match="does not exist"):
        SyncEngine(manager=manager).sync_pair(pair)
    assert contents(manager.disk("other"), "backup") == TREE
    unmounted = StorageManager({"disks": {"gone": {"driver": "local", "root": str(tmp_path / "unmounted")}}})
    with pytest.raises(UnableToListContents, match="does not exist"):
        SyncEngine(manager=manager).sync_pair(SyncPair("", "backup", unmounted.disk("gone"), manager.disk("other"),
                                                       mode="mirror", delete=True))
    assert contents(manager.disk("other"), "backup") == TREE


def test_a_progress_callback_that_raises_stops_the_sync_and_a_rerun_finishes_it(manager: StorageManager) -> None:
    many = {f"f{number:02}.txt": b"x" * number for number in range(30)}
    fill(manager.disk("mem"), "docs", many)

    class Stop(Exception):
        pass

    def stop_after_five(step: SyncProgress) -> None:
        if step.phase == "transfer" and step.files_done == 5:
            raise Stop

    with pytest.raises(Stop):
        manager.sync("mem://docs", "other://docs", progress=stop_after_five, transfers=2)
    done = manager.disk("other").all_files("docs")
    assert 5 <= len(done) < 30  # the files in flight finished; the rest never started
    rerun = manager.sync("mem://docs", "other://docs")
    assert len(rerun.copied) == 30 - len(done) and contents(manager.disk("other"), "docs") == many


def test_a_large_file_crosses_disks_in_bounded_memory(manager: StorageManager, tmp_path: Path) -> None:
    from tests.test_streaming_memory import MiB, traced

    (tmp_path / "local" / "big").mkdir(parents=True)
    with open(tmp_path / "local" / "big" / "video.bin", "wb") as handle:
        for _ in range(24):
            handle.write(os.urandom(MiB))
    other = StorageManager({"disks": {"far": {"driver": "local", "root": str(tmp_path / "far")}}}).disk("far")
    engine = SyncEngine(manager=manager, compare="checksum")
    with traced() as peak:
        report = engine.sync_pair(SyncPair("big", "big", manager.disk("local"), other))
    assert report.copied == ["video.bin"] and report.bytes == 24 * MiB
    assert peak.bytes < 6 * MiB, f"syncing a 24 MiB file held {peak}"
    assert other.checksum("big/video.bin") == manager.disk("local").checksum("big/video.bin")


def test_local_disks_sharing_a_directory_tree_are_refused_when_their_roots_overlap(
    manager: StorageManager, tmp_path: Path
) -> None:
    public = StorageManager({"disks": {"public": {"driver": "local", "root": str(tmp_path / "local" / "public")}}})
    manager.disk("local").put("public/a.txt", b"a")
    with pytest.raises(InvalidConfiguration, match="overlap"):
        SyncEngine(manager=manager).sync_pair(SyncPair("", "mirror", manager.disk("local"), public.disk("public")))
    os.symlink(tmp_path / "local", tmp_path / "alias")
    with pytest.raises(InvalidConfiguration, match="overlap"):
        SyncEngine(manager=manager).sync_pair(SyncPair(str(tmp_path / "alias" / "public"), "", None,
                                                       manager.disk("local")))
    assert SyncEngine(manager=manager).sync_pair(SyncPair("public", "", manager.disk("local"),
                                                          manager.disk("other"))).copied == ["a.txt"]

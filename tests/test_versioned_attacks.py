"""Trying to break the layout: paths naming the hidden tree, listings, collisions, visibility, errors."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from flystore import (
    FilesystemAdapter,
    PathTraversalDetected,
    StorageError,
    StorageManager,
    UnableToDeleteDirectory,
    UnableToWriteFile,
    VersionedFilesystemAdapter,
)

STORE = ".flystore-versions"

SPELLINGS = [
    STORE,
    f"{STORE}/a.txt",
    f"{STORE}/a.txt/~20261202T002500.123456Z-0123456789abcdef",
    ".FlyStore-Versions/a.txt",  # case-insensitive filesystems map it onto the tree
    f"{STORE}./a.txt",  # Windows drops trailing dots ...
    f"{STORE} /a.txt",  # ... and spaces
    f"a/../{STORE}/a.txt",
    f"./{STORE}/a.txt",
    f"\\{STORE}\\a.txt",
    f"//{STORE}//a.txt/",
]

VERBS: dict[str, Callable[[Any, str], object]] = {
    "put": lambda disk, path: disk.put(path, b"x"),
    "write_stream": lambda disk, path: disk.write_stream(path, iter([b"x"])),
    "open-wb": lambda disk, path: disk.open(path, "wb"),
    "append": lambda disk, path: disk.append(path, "x"),
    "get": lambda disk, path: disk.get(path),
    "read_stream": lambda disk, path: disk.read_stream(path),
    "exists": lambda disk, path: disk.exists(path),
    "file_exists": lambda disk, path: disk.file_exists(path),
    "directory_exists": lambda disk, path: disk.directory_exists(path),
    "size": lambda disk, path: disk.size(path),
    "files": lambda disk, path: disk.files(path, recursive=True),
    "list": lambda disk, path: disk.list(path),
    "delete": lambda disk, path: disk.delete(path),
    "delete_directory": lambda disk, path: disk.delete_directory(path),
    "make_directory": lambda disk, path: disk.make_directory(path),
    "copy-from": lambda disk, path: disk.copy(path, "stolen.txt"),
    "copy-to": lambda disk, path: disk.copy("a.txt", path),
    "move-from": lambda disk, path: disk.move(path, "stolen.txt"),
    "move-to": lambda disk, path: disk.move("a.txt", path),
    "versions": lambda disk, path: disk.versions(path),
    "prune": lambda disk, path: disk.prune(path, keep=0),
    "fs.ls": lambda disk, path: disk.fs.ls(path),
    "fs.cat": lambda disk, path: disk.fs.cat_file(path),
}


@pytest.fixture(params=["memory", "local"])
def manager(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageManager]:
    base = {"driver": "memory"} if request.param == "memory" else {"driver": "local", "root": str(tmp_path)}
    yield StorageManager({"disks": {"base": base, "v": {"driver": "versioned", "disk": "base"}}})


def _versioned(manager: StorageManager) -> VersionedFilesystemAdapter:
    disk = manager.disk("v")
    assert isinstance(disk, VersionedFilesystemAdapter)
    return disk


def _tree(manager: StorageManager) -> list[str]:
    return manager.disk("base").all_files(STORE)


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_refuses_every_spelling_of_the_tree(manager: StorageManager, verb: str) -> None:
    disk = _versioned(manager)
    disk.put("a.txt", "one")
    disk.put("a.txt", "two")
    before = {path: manager.disk("base").get(path) for path in _tree(manager)}
    for spelling in SPELLINGS:
        with pytest.raises(PathTraversalDetected, match="version store") as caught:
            VERBS[verb](disk, spelling)
        assert caught.value.disk == "v"
    assert {path: manager.disk("base").get(path) for path in _tree(manager)} == before
    assert disk.get("a.txt") == b"two"


def test_no_listing_shows_the_tree(manager: StorageManager) -> None:
    disk = _versioned(manager)
    disk.put("a.txt", "1")
    disk.put("a.txt", "2")
    disk.put("d/b.txt", "b")
    disk.delete("d/b.txt")
    disk.make_directory("empty")
    assert _tree(manager)  # the versions are there, below
    assert disk.files("", recursive=True) == ["a.txt"]
    assert disk.all_files() == ["a.txt"]
    # "d" may stay behind once its last file is gone (drivers differ); the tree never shows
    assert set(disk.directories()) - {"d"} == {"empty"}
    assert set(disk.all_directories()) - {"d"} == {"empty"}
    assert {entry.path for entry in disk.list("", recursive=True)} - {"d"} == {"a.txt", "empty"}
    assert disk.find_files_older_than(datetime.now(timezone.utc) + timedelta(days=1)) == ["a.txt"]
    fs = disk.fs
    assert set(fs.ls("", detail=False)) - {"d"} == {"a.txt", "empty"}
    assert fs.find("") == ["a.txt"]
    assert {root for root, _, _ in fs.walk("")} - {"d"} == {"", "empty"}
    assert not any(STORE in str(item) for item in fs.glob("**"))


def test_deleting_the_root_is_refused_and_the_versions_stay(manager: StorageManager) -> None:
    disk = _versioned(manager)
    disk.put("a.txt", "1")
    disk.put("a.txt", "2")
    before = _tree(manager)
    for root in ("", "/", ".", "a/.."):
        with pytest.raises(UnableToDeleteDirectory, match="root"):
            disk.delete_directory(root)
    assert _tree(manager) == before and disk.get("a.txt") == b"2"
    assert disk.delete_directory("missing") is False


def test_encoded_and_nested_spellings_are_ordinary_files_that_never_touch_the_tree(manager: StorageManager) -> None:
    disk = _versioned(manager)
    disk.put("a.txt", "mine")
    tree = sorted(_tree(manager))
    for path in ("%2Eflystore-versions/a.txt", f"sub/{STORE}/a.txt", f"{STORE}x/a.txt", f".{STORE}/a.txt"):
        disk.put(path, "ordinary")
        disk.put(path, "ordinary, again")
        assert disk.get(path) == b"ordinary, again"
        assert [version.size for version in disk.versions(path)] == [15, 8]
    assert len(disk.versions("a.txt")) == 1
    assert [path for path in sorted(_tree(manager)) if path.startswith(f"{STORE}/a.txt/")] == tree
    assert STORE not in {path.split("/")[0] for path in disk.all_files()}


def test_user_names_shaped_like_records_cannot_collide_with_them(manager: StorageManager) -> None:
    disk = _versioned(manager)
    disk.put("a", "first")
    disk.put("a", "second")
    ids = [version.id for version in disk.versions("a")]
    disk.delete("a")
    # A directory named like a's records, and names starting with "~": each keeps its own versions.
    disk.put(f"a/~{ids[0]}", "crafted 0")
    disk.put(f"a/~{ids[1]}/x", "deeper")
    disk.put("~home/.profile", "tilde")
    disk.put("~~twice", "two tildes")
    assert [disk.get_version("a", version_id) for version_id in ids] == [b"second", b"first"]
    assert [version.id for version in disk.versions("a")][1:] == ids
    assert disk.get_version(f"a/~{ids[0]}", disk.versions(f"a/~{ids[0]}")[0].id) == b"crafted 0"
    assert [len(disk.versions(path)) for path in ("~home/.profile", "~~twice", f"a/~{ids[1]}/x")] == [1, 1, 1]


def test_records_of_a_public_file_are_private(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"base": {"driver": "local", "root": str(tmp_path), "visibility": "public"},
                                        "v": {"driver": "versioned", "disk": "base"}}})
    disk = _versioned(manager)
    disk.put("avatar.png", b"\x89PNG public", visibility="public")
    assert disk.get_visibility("avatar.png") == "public"
    disk.delete("avatar.png")
    records = _tree(manager)
    assert len(records) == 2
    for record in records:
        mode = stat.S_IMODE(os.stat(tmp_path / record).st_mode)
        assert mode & 0o077 == 0, (record, oct(mode))  # nothing for group or others
    kept = disk.versions("avatar.png")[1]
    disk.restore_version("avatar.png", kept.id)
    assert disk.get_visibility("avatar.png") == "public"  # the disk's default visibility


def test_a_failed_write_names_the_user_path_and_leaves_nothing(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"base": {"driver": "local", "root": str(tmp_path)},
                                        "v": {"driver": "versioned", "disk": "base"}}})
    base: FilesystemAdapter = manager.disk("base")
    base.put(f"{STORE}/blocked", "a file where the tree needs a directory")
    disk = _versioned(manager)
    with pytest.raises(UnableToWriteFile) as caught:
        disk.put("blocked/report.txt", "content")
    assert caught.value.path == "blocked/report.txt" and caught.value.disk == "v"
    assert STORE not in str(caught.value)
    assert disk.file_missing("blocked/report.txt")
    assert base.all_files() == [f"{STORE}/blocked"]


def test_files_from_before_versioning_are_kept_on_their_first_change(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"base": {"driver": "local", "root": str(tmp_path)},
                                        "v": {"driver": "versioned", "disk": "base"}}})
    base = manager.disk("base")
    base.put("legacy.txt", "written before the disk was versioned")
    base.put("legacy-deleted.txt", "also old")
    written = base.last_modified("legacy.txt")
    disk = _versioned(manager)
    assert disk.versions("legacy.txt") == []
    disk.put("legacy.txt", "new")
    disk.delete("legacy-deleted.txt")
    new, old = disk.versions("legacy.txt")
    assert disk.get_version("legacy.txt", old.id) == b"written before the disk was versioned"
    assert abs(old.last_modified - written) < timedelta(seconds=1) and old.last_modified < new.last_modified
    marker, kept = disk.versions("legacy-deleted.txt")
    assert marker.is_deleted and disk.get_version("legacy-deleted.txt", kept.id) == b"also old"
    # A file stamped in the future (a clock ahead of ours) still ends up older than the write replacing it.
    base.put("from-the-future.txt", "old")
    ahead = (datetime.now(timezone.utc) + timedelta(days=365)).timestamp()
    os.utime(tmp_path / "from-the-future.txt", (ahead, ahead))
    disk.put("from-the-future.txt", "new")
    newest, oldest = disk.versions("from-the-future.txt")
    assert newest.is_latest and disk.get_version("from-the-future.txt", newest.id) == b"new"
    assert disk.get_version("from-the-future.txt", oldest.id) == b"old"


def test_a_scoped_disk_over_a_versioned_one_cannot_reach_the_tree(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {
        "base": {"driver": "local", "root": str(tmp_path)},
        "v": {"driver": "versioned", "disk": "base"},
        "tenant": {"driver": "scoped", "disk": "v", "prefix": "acme"},
    }})
    tenant = manager.disk("tenant")
    tenant.put("a.txt", "1")
    tenant.put("a.txt", "2")
    tenant.put(f"{STORE}/a.txt", "just a file of the tenant's")
    for escape in (f"../{STORE}/acme/a.txt", f"..\\{STORE}\\acme\\a.txt"):
        with pytest.raises(PathTraversalDetected):
            tenant.get(escape)
    assert sorted(tenant.all_files()) == [f"{STORE}/a.txt", "a.txt"]
    versioned = _versioned(manager)
    assert [version.size for version in versioned.versions("acme/a.txt")] == [1, 1]
    assert len(versioned.versions(f"acme/{STORE}/a.txt")) == 1
    with pytest.raises(StorageError):
        tenant.get("../a.txt")

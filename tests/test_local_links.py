"""The local jail against symbolic links in listings (issue 6 item 1).

Every listing verb, through every spelling of a path that is or crosses a
link, must refuse with PathTraversalDetected; a deep listing from anywhere
must never list or descend into a link; and a directory swapped for a link
while a listing runs must not be followed.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flystore import FileAttributes, LocalFilesystemAdapter, PathTraversalDetected, StorageError
from flystore.paths import normalize

OUTSIDE_NAMES = ("OUTSIDE-secret.txt", "OUTSIDE-home", "OUTSIDE-victim.txt")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    target = tmp_path / "outside"
    (target / "OUTSIDE-home").mkdir(parents=True)
    (target / "OUTSIDE-secret.txt").write_text("top secret")
    (target / "OUTSIDE-home" / "OUTSIDE-victim.txt").write_text("victim")
    return target


@pytest.fixture
def disk(tmp_path: Path, outside: Path) -> LocalFilesystemAdapter:
    disk = LocalFilesystemAdapter(tmp_path / "root", name="jail")
    disk.put("top.txt", "t")
    disk.put("sub/real.txt", "r")
    disk.put("sub/deeper/deep.txt", "d")
    root = Path(disk.root)
    os.symlink(outside, root / "link-dir")
    os.symlink("..", root / "sub" / "up")
    os.symlink(outside, root / "sub" / "deeper" / "nested")
    os.symlink(root / "sub", root / "inner-alias")  # a link that stays inside is still a link
    os.symlink(outside / "OUTSIDE-secret.txt", root / "file-link")
    os.symlink("/", root / "root-link")
    return disk


REAL_FILES = ["sub/deeper/deep.txt", "sub/real.txt", "top.txt"]
REAL_DIRECTORIES = ["sub", "sub/deeper"]

LINK_FORMS = [
    "link-dir",
    "link-dir/",
    "./link-dir",
    "/link-dir",
    "link-dir/OUTSIDE-home",
    "sub/up",
    "sub/up/",
    "sub/up/sub",
    "sub/deeper/nested",
    "sub/deeper/nested/OUTSIDE-home",
    "inner-alias",
    "file-link",
    "root-link",
    "root-link/etc",
]

LISTINGS: dict[str, Callable[[LocalFilesystemAdapter, str], Any]] = {
    "files": lambda disk, path: disk.files(path),
    "files-recursive": lambda disk, path: disk.files(path, recursive=True),
    "all_files": lambda disk, path: disk.all_files(path),
    "directories": lambda disk, path: disk.directories(path),
    "all_directories": lambda disk, path: disk.all_directories(path),
    "list": lambda disk, path: disk.list(path),
    "list-recursive": lambda disk, path: disk.list(path, recursive=True),
    "find_files_older_than": lambda disk, path: disk.find_files_older_than(datetime(2999, 1, 1), path),
    "backend.list_contents": lambda disk, path: list(disk.backend.list_contents(normalize(path), True)),
    "backend.list_paths": lambda disk, path: list(disk.backend.list_paths(normalize(path), False)),
    "fs.ls": lambda disk, path: disk.fs.ls(path),
    "fs.find": lambda disk, path: disk.fs.find(path),
    "fs.walk": lambda disk, path: list(disk.fs.walk(path)),
}


def _leaks(result: object) -> bool:
    text = repr(result)
    return any(name in text for name in OUTSIDE_NAMES)


@pytest.mark.parametrize("form", LINK_FORMS)
@pytest.mark.parametrize("verb", sorted(LISTINGS))
def test_listing_through_a_link_is_refused(
    disk: LocalFilesystemAdapter, outside: Path, verb: str, form: str
) -> None:
    with pytest.raises(PathTraversalDetected) as caught:
        result = LISTINGS[verb](disk, form)
        pytest.fail(f"{verb}({form!r}) listed {result!r}")
    assert caught.value.disk == (None if verb.startswith("backend.") else "jail")
    assert not _leaks(caught.value.reason)


@pytest.mark.parametrize("form", ["link-dir", "link-dir/", "./link-dir", "sub/up", "sub/deeper/nested",
                                  "inner-alias", "root-link", "sub/up/sub"])
def test_delete_directory_of_a_link_is_refused_and_touches_nothing(
    disk: LocalFilesystemAdapter, outside: Path, form: str
) -> None:
    with pytest.raises(PathTraversalDetected):
        disk.delete_directory(form)
    assert (outside / "OUTSIDE-home" / "OUTSIDE-victim.txt").read_text() == "victim"
    assert disk.all_files() == REAL_FILES
    assert os.path.islink(Path(disk.root) / "link-dir")


def test_deleting_a_real_directory_unlinks_the_links_inside_without_following_them(
    disk: LocalFilesystemAdapter, outside: Path
) -> None:
    assert disk.delete_directory("sub")
    assert (outside / "OUTSIDE-secret.txt").read_text() == "top secret"
    assert (outside / "OUTSIDE-home" / "OUTSIDE-victim.txt").exists()
    assert disk.all_files() == ["top.txt"]


@pytest.mark.parametrize("start", ["", "sub", "sub/up/..", "./sub/", "sub/deeper"])
def test_deep_listings_never_list_or_enter_a_link(disk: LocalFilesystemAdapter, start: str) -> None:
    prefix = start.replace("/up/..", "").strip("./")
    expected_files = [path for path in REAL_FILES if path.startswith(prefix + "/") or not prefix]
    expected_directories = [
        path for path in REAL_DIRECTORIES if path.startswith(prefix + "/") or (not prefix)
    ]
    assert disk.all_files(start) == expected_files
    assert disk.all_directories(start) == expected_directories
    listed = disk.list(start, recursive=True)
    assert [entry.path for entry in listed] == sorted(expected_files + expected_directories)
    assert all(entry.size is not None for entry in listed if isinstance(entry, FileAttributes))
    assert not _leaks(disk.fs.find(start)) and not _leaks(disk.fs.ls(start))
    for name in ("link-dir", "up", "nested", "inner-alias", "file-link", "root-link"):
        assert not any(path.split("/")[-1] == name for path in disk.all_files(start) + disk.all_directories(start))


def test_probes_of_links_answer_false(disk: LocalFilesystemAdapter) -> None:
    for form in LINK_FORMS:
        assert not disk.file_exists(form) and not disk.directory_exists(form), form


def test_a_directory_swapped_for_a_link_mid_listing_is_never_followed(
    disk: LocalFilesystemAdapter, outside: Path
) -> None:
    root = Path(disk.root)
    for index in range(40):
        disk.put(f"swap/inner/f{index}.txt", "x")
        disk.put(f"swap/g{index}.txt", "x")
    stop = threading.Event()
    swaps = 0

    def swapper() -> None:
        nonlocal swaps
        real, aside, inner, inner_aside = root / "swap", root / "aside", root / "swap" / "inner", root / "held"
        while not stop.is_set():
            # The top-level directory and a nested one, each replaced by a link to the outside tree.
            os.rename(real, aside)
            os.symlink(outside, real)
            os.unlink(real)
            os.rename(aside, real)
            os.rename(inner, inner_aside)
            os.symlink(outside, inner)
            os.unlink(inner)
            os.rename(inner_aside, inner)
            swaps += 1

    thread = threading.Thread(target=swapper)
    thread.start()
    listings = 0
    deadline = time.monotonic() + 2.0
    try:
        while time.monotonic() < deadline:
            for start in ("", "swap"):
                try:
                    found = disk.all_files(start) + disk.all_directories(start)
                    found += [entry.path for entry in disk.list(start, recursive=True)]
                except PathTraversalDetected:
                    continue  # "swap" was a link at that instant: refusing is right
                listings += 1
                assert not _leaks(found), found
    finally:
        stop.set()
        thread.join(5)
    assert swaps > 10 and listings > 10


def test_single_file_verbs_never_act_through_a_directory_swapped_for_a_link(tmp_path: Path) -> None:
    disk = LocalFilesystemAdapter(tmp_path / "root", name="jail")
    outside = tmp_path / "outside"
    (outside / "inner").mkdir(parents=True)
    for index in range(5):
        (outside / "inner" / f"f{index}.txt").write_text("OUTSIDE")
        disk.put(f"swap/inner/f{index}.txt", "inside")
    root = Path(disk.root)
    stop = threading.Event()
    swaps = 0

    def swapper() -> None:
        nonlocal swaps
        real, aside = root / "swap", root / "aside"
        while not stop.is_set():
            try:
                os.rename(real, aside)
                os.symlink(outside, real)
                time.sleep(0)
            except OSError:
                pass  # a put re-made "swap" in the gap: put the real one back below
            finally:
                # Whatever is at "swap" now (the link, or a directory a put made) gives way to the real one.
                for _attempt in range(100):
                    if os.path.islink(real):
                        os.unlink(real)
                    elif real.exists() and aside.exists():
                        shutil.rmtree(real, ignore_errors=True)
                    try:
                        if aside.exists():
                            os.rename(aside, real)
                        break
                    except OSError:
                        continue
            swaps += 1

    thread = threading.Thread(target=swapper)
    thread.start()
    calls = 0
    deadline = time.monotonic() + 1.5
    try:
        while time.monotonic() < deadline:
            file, planted = f"swap/inner/f{calls % 5}.txt", f"swap/inner/planted{calls}.txt"
            steps: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
                (disk.get, (file,)),
                (lambda path: disk.stat(path).size, (file,)),
                (disk.put, (planted, "planted")),
                (disk.set_visibility, (file, "private")),
                (disk.delete, (planted,)),
                (disk.move, (file, file + ".m")),
                (disk.move, (file + ".m", file)),
            ]
            for verb, arguments in steps:
                try:
                    result = verb(*arguments)
                except StorageError:
                    continue  # refused, or the real directory was aside or replaced at that instant
                assert result != b"OUTSIDE" and result != len("OUTSIDE")
            calls += 1
    finally:
        stop.set()
        thread.join(5)
    assert swaps > 10 and calls > 10
    assert sorted(name for name in os.listdir(outside / "inner")) == [f"f{index}.txt" for index in range(5)]
    assert all((outside / "inner" / f"f{index}.txt").read_text() == "OUTSIDE" for index in range(5))
    assert all(os.stat(outside / "inner" / f"f{index}.txt").st_mode & 0o077 for index in range(5))

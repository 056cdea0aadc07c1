"""The local driver: the jail, atomic writes, modes, metadata, path()."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import (
    FileNotFound,
    LocalFilesystemAdapter,
    PathTraversalDetected,
    UnableToDeleteDirectory,
    UnableToWriteFile,
    UnsupportedOperation,
)
from flystore.drivers.local import TEMP_PREFIX


@pytest.fixture
def disk(tmp_path: Path) -> LocalFilesystemAdapter:
    return LocalFilesystemAdapter(tmp_path / "root", name="jail")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    target = tmp_path / "outside"
    target.mkdir()
    (target / "secret.txt").write_text("top secret")
    return target


def test_a_symlinked_directory_is_never_followed(disk: LocalFilesystemAdapter, outside: Path) -> None:
    disk.make_directory("inside")
    os.symlink(outside, Path(disk.root) / "inside" / "link")
    with pytest.raises(PathTraversalDetected) as caught:
        disk.get("inside/link/secret.txt")
    assert caught.value.disk == "jail" and caught.value.path == "inside/link/secret.txt"
    with pytest.raises(PathTraversalDetected):
        disk.put("inside/link/planted.txt", "x")
    assert not (outside / "planted.txt").exists()
    assert not disk.file_exists("inside/link/secret.txt")
    assert disk.all_files() == [] and disk.all_directories() == ["inside"]


def test_a_symlinked_file_is_never_read(disk: LocalFilesystemAdapter, outside: Path) -> None:
    disk.put("real.txt", "real")
    os.symlink(outside / "secret.txt", Path(disk.root) / "alias.txt")
    with pytest.raises(PathTraversalDetected):
        disk.get("alias.txt")
    with pytest.raises(PathTraversalDetected):
        disk.read_stream("alias.txt")
    with pytest.raises(PathTraversalDetected):
        disk.size("alias.txt")
    assert disk.files() == ["real.txt"]
    assert not disk.exists("alias.txt")


def test_writing_over_a_symlink_replaces_the_link_not_its_target(
    disk: LocalFilesystemAdapter, outside: Path
) -> None:
    disk.put("placeholder.txt", "x")
    os.symlink(outside / "secret.txt", Path(disk.root) / "alias.txt")
    disk.put("alias.txt", "overwritten")
    assert (outside / "secret.txt").read_text() == "top secret"
    assert not os.path.islink(Path(disk.root) / "alias.txt")
    assert disk.get("alias.txt") == b"overwritten"


def test_absolute_and_climbing_paths_stay_inside(disk: LocalFilesystemAdapter, tmp_path: Path) -> None:
    disk.put("/etc/passwd", "not the real one")
    assert (Path(disk.root) / "etc" / "passwd").read_text() == "not the real one"
    with pytest.raises(PathTraversalDetected):
        disk.put("../../escape.txt", "x")
    assert not (tmp_path / "escape.txt").exists()


def test_a_write_in_flight_is_invisible_and_atomic(disk: LocalFilesystemAdapter) -> None:
    disk.put("doc.txt", "old")
    started, release = threading.Event(), threading.Event()
    seen: list[Any] = []

    def slow_chunks() -> Iterator[bytes]:
        yield b"new "
        started.set()
        release.wait(5)
        yield b"content"

    writer = threading.Thread(target=lambda: disk.put("doc.txt", slow_chunks()))
    writer.start()
    assert started.wait(5)
    seen.append(disk.get("doc.txt"))
    seen.append(disk.files())
    seen.append([name for name in os.listdir(disk.root) if name.startswith(TEMP_PREFIX)])
    release.set()
    writer.join(5)
    assert seen[0] == b"old"
    assert seen[1] == ["doc.txt"]
    assert len(seen[2]) == 1  # the temp file exists on disk but no listing shows it
    assert disk.get("doc.txt") == b"new content"
    assert not [name for name in os.listdir(disk.root) if name.startswith(TEMP_PREFIX)]


def test_a_failed_write_removes_its_temporary_file(disk: LocalFilesystemAdapter) -> None:
    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError):
        disk.put("dir/x.bin", broken())
    assert os.listdir(Path(disk.root) / "dir") == []


def test_stale_temporary_files_from_a_crash_are_never_listed(disk: LocalFilesystemAdapter) -> None:
    disk.make_directory("d")
    (Path(disk.root) / "d" / f"{TEMP_PREFIX}12345-0").write_bytes(b"crashed")
    assert disk.all_files() == []


def test_visibility_is_the_file_mode(tmp_path: Path) -> None:
    disk = LocalFilesystemAdapter(tmp_path / "r", visibility="private")
    disk.put("a/private.txt", "p")
    disk.put("a/public.txt", "p", visibility="public")
    root = Path(disk.root)
    assert stat.S_IMODE(os.stat(root / "a" / "private.txt").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(root / "a" / "public.txt").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(root / "a").st_mode) == 0o700
    disk.set_visibility("a/private.txt", "public")
    assert stat.S_IMODE(os.stat(root / "a" / "private.txt").st_mode) == 0o644
    disk.make_directory("pub", visibility="public")
    assert stat.S_IMODE(os.stat(root / "pub").st_mode) == 0o755


def test_modes_are_exact_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        disk = LocalFilesystemAdapter(tmp_path / "r", visibility="public")
        disk.put("d/x.txt", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(Path(disk.root) / "d" / "x.txt").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(Path(disk.root) / "d").st_mode) == 0o755


def test_permissions_can_be_overridden(tmp_path: Path) -> None:
    disk = LocalFilesystemAdapter(tmp_path / "r", permissions={"file": {"public": 0o664}})
    disk.put("x.txt", "x", visibility="public")
    assert stat.S_IMODE(os.stat(Path(disk.root) / "x.txt").st_mode) == 0o664
    assert disk.get_visibility("x.txt") == "public"


def test_copy_keeps_the_mode_and_metadata_and_move_is_a_rename(disk: LocalFilesystemAdapter) -> None:
    disk.put("src.txt", "s", visibility="private", metadata={"owner": "ada"}, mimetype="text/x-custom")
    disk.copy("src.txt", "copy.txt")
    assert disk.get_visibility("copy.txt") == "private"
    assert disk.metadata("copy.txt")["metadata"] == {"owner": "ada"}
    assert disk.mime_type("copy.txt") == "text/x-custom"
    inode = os.stat(Path(disk.root) / "src.txt").st_ino
    disk.move("src.txt", "moved/there.txt")
    assert os.stat(Path(disk.root) / "moved" / "there.txt").st_ino == inode


def test_path_gives_the_absolute_local_path(disk: LocalFilesystemAdapter) -> None:
    disk.put("a/b.txt", "x")
    assert disk.path("a/b.txt") == os.path.join(disk.root, "a", "b.txt")
    assert Path(disk.path("a/b.txt")).read_text() == "x"
    from flystore import StorageManager

    with pytest.raises(UnsupportedOperation):
        StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m").path("x")


def test_a_file_in_the_way_of_a_directory_is_a_clear_error(disk: LocalFilesystemAdapter) -> None:
    disk.put("a", "a file")
    with pytest.raises(UnableToWriteFile) as caught:
        disk.put("a/b.txt", "x")
    assert caught.value.path == "a/b.txt" and caught.value.disk == "jail"
    disk.make_directory("dir")
    with pytest.raises(UnableToWriteFile):
        disk.put("dir", "x")


def test_the_root_cannot_be_deleted(disk: LocalFilesystemAdapter) -> None:
    disk.put("x", "1")
    with pytest.raises(UnableToDeleteDirectory):
        disk.delete_directory("")
    assert disk.get("x") == b"1"


def test_reading_a_file_that_vanished_is_file_not_found(disk: LocalFilesystemAdapter) -> None:
    disk.put("x.txt", "1")
    os.unlink(disk.path("x.txt"))
    with pytest.raises(FileNotFound):
        disk.get("x.txt")


def test_fsync_option_still_writes(tmp_path: Path) -> None:
    disk = LocalFilesystemAdapter(tmp_path / "r", fsync=True)
    disk.put("x", b"durable")
    assert disk.get("x") == b"durable"


def test_the_local_adapter_lives_beside_its_backend_and_the_disk_imports_no_driver() -> None:
    import ast
    import importlib

    import flystore
    import flystore.disk
    from flystore.drivers import local
    from flystore.registry import BUILTIN_DRIVERS

    assert LocalFilesystemAdapter.__module__ == "flystore.drivers.local.adapter"
    assert flystore.LocalFilesystemAdapter is local.LocalFilesystemAdapter
    assert not hasattr(flystore.disk, "LocalFilesystemAdapter")
    sources = sorted(Path(flystore.disk.__file__).parent.glob("*.py"))  # the package: every module of it
    assert len(sources) > 1
    imported: list[str] = []
    for source in sources:
        tree = ast.parse(source.read_text())
        imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [name for name in imported if "drivers" in name]
    module, _, function = BUILTIN_DRIVERS["local"][0].partition(":")
    assert getattr(importlib.import_module(module), function) is local.create
    package = Path(local.__file__).parent
    for source in package.glob("*.py"):
        assert len(source.read_text().splitlines()) <= 400, source.name


def test_delete_directory_of_a_link_with_listeners_lists_nothing_outside(
    disk: LocalFilesystemAdapter, outside: Path
) -> None:
    deleted: list[str] = []
    disk.on("file_deleted", deleted.append)
    disk.put("kept.txt", "k")
    os.symlink(outside, Path(disk.root) / "link-dir")
    with pytest.raises(PathTraversalDetected):
        disk.delete_directory("link-dir")
    assert deleted == [] and (outside / "secret.txt").exists()


def test_a_fifo_in_the_root_neither_hangs_a_read_nor_is_listed(disk: LocalFilesystemAdapter) -> None:
    disk.put("real.txt", "r")
    os.mkfifo(Path(disk.root) / "pipe")
    outcome: list[object] = []

    def read() -> None:
        try:
            disk.get("pipe")
        except FileNotFound as error:
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "get() of a FIFO blocked"
    assert len(outcome) == 1 and isinstance(outcome[0], FileNotFound)
    with pytest.raises(FileNotFound):
        disk.size("pipe")
    assert disk.all_files() == ["real.txt"] and not disk.file_exists("pipe")

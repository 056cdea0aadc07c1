"""disk.fs follows fsspec's contract where fsspec defines it (issue 8, items 1, 3 and 4)."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest

from flystore import FilesystemAdapter, Storage, StorageManager, env


@pytest.fixture(params=["memory", "local", "scoped"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FilesystemAdapter]:
    disks: dict[str, Any] = {
        "memory": {"driver": "memory"},
        "local": {"driver": "local", "root": str(tmp_path / "root")},
        "scoped": {"driver": "scoped", "disk": "local", "prefix": "tenant"},
    }
    manager = StorageManager({"disks": disks})
    made = manager.disk(request.param)
    yield made
    made.close()


# -- item 1: fsspec's semantics ---------------------------------------------------------


def test_rmdir_of_a_non_empty_directory_refuses_and_keeps_everything(disk: FilesystemAdapter) -> None:
    disk.put("d/keep.txt", b"precious")
    with pytest.raises(OSError) as raised:
        disk.fs.rmdir("d")
    assert not isinstance(raised.value, FileNotFoundError)
    assert disk.get("d/keep.txt") == b"precious"
    disk.make_directory("empty")
    disk.fs.rmdir("empty")
    assert not disk.directory_exists("empty")
    with pytest.raises(FileNotFoundError):
        disk.fs.rmdir("nothing-here")


def test_exclusive_creation_never_clobbers(disk: FilesystemAdapter) -> None:
    disk.put("f", b"old")
    with pytest.raises(FileExistsError):
        disk.fs.open("f", "xb")
    with pytest.raises(FileExistsError):
        disk.fs.pipe_file("f", b"new", mode="create")
    assert disk.get("f") == b"old"
    with disk.fs.open("g", "xb") as handle:
        handle.write(b"fresh")
    disk.fs.pipe_file("h", b"also fresh", mode="create")
    assert disk.get("g") == b"fresh" and disk.get("h") == b"also fresh"


def test_mv_into_an_existing_directory_and_of_a_whole_directory(disk: FilesystemAdapter) -> None:
    disk.put("a", b"A")
    disk.make_directory("dir")
    disk.fs.mv("a", "dir")
    assert disk.get("dir/a") == b"A" and not disk.file_exists("a") and not disk.file_exists("dir")
    disk.put("t/x", b"X")
    disk.put("t/sub/y", b"Y")
    disk.fs.mv("t", "u", recursive=True)
    assert disk.get("u/x") == b"X" and disk.get("u/sub/y") == b"Y"
    assert not disk.directory_exists("t")


def test_recursive_cp_keeps_empty_dirs_and_lands_in_dst_src(disk: FilesystemAdapter) -> None:
    disk.put("src/file", b"1")
    disk.make_directory("src/empty")
    disk.make_directory("dst")
    disk.fs.cp("src", "dst", recursive=True)
    assert disk.get("dst/src/file") == b"1"
    assert disk.directory_exists("dst/src/empty")
    disk.fs.cp("src", "fresh", recursive=True)
    assert disk.get("fresh/file") == b"1" and disk.directory_exists("fresh/empty")


def test_opened_files_have_a_size_so_tail_and_read_block_work(disk: FilesystemAdapter) -> None:
    disk.put("lines.csv", b"a,b\n1,2\n3,4\n5,6\n")
    with disk.fs.open("lines.csv", "rb") as handle:
        assert handle.size == 16
    assert disk.fs.tail("lines.csv", 4) == b"5,6\n"
    assert disk.fs.read_block("lines.csv", 5, 4, delimiter=b"\n") == b"3,4\n"
    assert disk.fs.cat_file("lines.csv", -4) == b"5,6\n"


def test_a_transaction_defers_publishing_and_rolls_back_on_error(disk: FilesystemAdapter) -> None:
    disk.put("kept", b"old")
    with pytest.raises(RuntimeError), disk.fs.transaction:
        with disk.fs.open("kept", "wb") as handle:
            handle.write(b"new")
        disk.fs.pipe_file("other", b"x")
        assert disk.get("kept") == b"old" and not disk.file_exists("other")
        raise RuntimeError("boom")
    assert disk.get("kept") == b"old" and not disk.file_exists("other")
    with disk.fs.transaction:
        with disk.fs.open("kept", "wb") as handle:
            handle.write(b"new")
        assert disk.get("kept") == b"old"
    assert disk.get("kept") == b"new"


def test_builtin_error_types(disk: FilesystemAdapter) -> None:
    disk.put("dir/inside", b"1")
    disk.put("file", b"1")
    with pytest.raises(IsADirectoryError):
        disk.fs.pipe_file("dir", b"over a directory")
    with pytest.raises(IsADirectoryError):
        disk.fs.open("dir", "wb")
    with pytest.raises(FileExistsError):
        disk.fs.makedirs("file")
    with pytest.raises(NotADirectoryError):
        disk.fs.makedirs("file/below", exist_ok=True)
    with pytest.raises(FileNotFoundError):
        disk.fs.rm("missing")
    with pytest.raises(FileNotFoundError):
        disk.fs.rm_file("missing")
    with pytest.raises(FileNotFoundError):
        disk.fs.cat_file("missing")
    with pytest.raises(FileNotFoundError):
        disk.fs.info("missing")
    assert disk.get("dir/inside") == b"1" and disk.get("file") == b"1"


# -- item 3: pickling as configuration --------------------------------------------------


def _configured(tmp_path: Path) -> StorageManager:
    return StorageManager({"disks": {
        "local": {"driver": "local", "root": str(tmp_path / "data")},
        "scoped": {"driver": "scoped", "disk": "local", "prefix": "p", "read_only": False},
    }})


def test_a_disk_and_its_fs_pickle_as_configuration(tmp_path: Path) -> None:
    disk = _configured(tmp_path).disk("scoped")
    disk.put("x.txt", b"hello")
    blob = pickle.dumps(disk.fs)
    assert b"RLock" not in blob and b"lock" not in blob.lower()
    revived = pickle.loads(blob)
    assert revived._disk is None  # nothing is built until first use
    assert revived.cat_file("x.txt") == b"hello"
    assert revived == disk.fs and hash(revived) == hash(disk.fs)
    assert pickle.loads(pickle.dumps(disk)).get("x.txt") == b"hello"
    assert revived.disk.recipe() == disk.recipe()


def test_env_values_travel_unresolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("H6_ROOT", str(tmp_path / "first"))
    disk = StorageManager({"disks": {"e": {"driver": "local", "root": env("H6_ROOT")}}}).disk("e")
    disk.put("f", b"1")
    blob = pickle.dumps(disk.fs)
    assert str(tmp_path).encode() not in blob
    monkeypatch.setenv("H6_ROOT", str(tmp_path / "second"))
    revived = pickle.loads(blob)
    assert not revived.exists("f")  # resolved where it is rebuilt, from that process's environment
    round_trip = fsspec.AbstractFileSystem.from_json(disk.fs.to_json())
    assert round_trip == disk.fs
    assert json.loads(disk.fs.to_json())["recipe"]["disks"]["e"]["root"]["__flystore_env__"] == "H6_ROOT"


def test_equal_only_for_the_same_configuration(tmp_path: Path) -> None:
    one = _configured(tmp_path)
    two = _configured(tmp_path)
    other = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path / "elsewhere")}}})
    assert one.disk("local").fs == two.disk("local").fs
    assert one.disk("local").fs != other.disk("local").fs
    assert one.disk("local").fs != one.disk("scoped").fs
    assert one.disk("local").fs._fs_token != other.disk("local").fs._fs_token


def test_memory_and_unconfigured_disks_refuse_to_travel() -> None:
    memory = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    with pytest.raises(TypeError, match="memory"):
        pickle.dumps(memory.fs)
    from flystore.drivers.memory import MemoryBackend

    hand_built = FilesystemAdapter(MemoryBackend())
    with pytest.raises(TypeError, match="not built from a configuration"):
        pickle.dumps(hand_built)


# -- item 4: the flystore:// protocol ----------------------------------------------------


@pytest.fixture
def facade(tmp_path: Path) -> Iterator[StorageManager]:
    previous = Storage.config
    Storage.configure({"disks": {"data": {"driver": "local", "root": str(tmp_path / "facade")}}})
    yield Storage
    Storage.configure(previous)


def test_the_protocol_resolves_through_the_facade(facade: StorageManager) -> None:
    facade.disk("data").put("reports/q3.csv", b"a,b\n1,2\n")
    with fsspec.open("flystore://data/reports/q3.csv", "rb") as handle:
        assert handle.read() == b"a,b\n1,2\n"
    fs = fsspec.filesystem("flystore", disk="data")
    assert fs.disk is facade.disk("data")
    assert fs.unstrip_protocol("reports/q3.csv") == "flystore://data/reports/q3.csv"
    assert fs._strip_protocol(fs.unstrip_protocol("reports/q3.csv")) == "reports/q3.csv"
    with fsspec.open("simplecache::flystore://data/reports/q3.csv", "rb") as handle:
        assert handle.read() == b"a,b\n1,2\n"
    with fsspec.open("flystore://data/out/new.bin", "wb") as handle:
        handle.write(b"written")
    assert facade.disk("data").get("out/new.bin") == b"written"
    fs_of_url, path = fsspec.core.url_to_fs("flystore://data/reports/q3.csv")
    assert path == "reports/q3.csv" and fs_of_url.disk_name == "data"
    with pytest.raises(ValueError, match="names disk"):
        fs.cat_file("flystore://other/reports/q3.csv")


def test_pandas_and_a_named_config_file(tmp_path: Path) -> None:
    import pandas  # type: ignore[import-untyped]  # a test dependency: missing fails, never skips
    config = tmp_path / "filesystems.py"
    config.write_text(
        f"FILESYSTEMS = {{'disks': {{'lake': {{'driver': 'local', 'root': {str(tmp_path / 'lake')!r}}}}}}}\n"
    )
    frame = pandas.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"]})
    options = {"config": str(config)}
    frame.to_parquet("flystore://lake/x.parquet", storage_options=options)
    assert (tmp_path / "lake" / "x.parquet").is_file()
    back = pandas.read_parquet("flystore://lake/x.parquet", storage_options=options)
    assert back.equals(frame)

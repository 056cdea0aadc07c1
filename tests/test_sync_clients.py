"""Storage clients of the seed's protocols: the suite passes for the disk adapter and a user's own client,
and a client that lists hostile paths cannot make the engine write outside a destination."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from flystore import StorageManager
from flystore.sync import DiskEntriesManager, DiskStorageClient, SyncEngine, SyncPair
from flystore.sync.testing import StorageClientTestSuite


class TestTheDiskAdapter(StorageClientTestSuite):
    def create_client(self) -> DiskStorageClient:
        return DiskStorageClient(StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m"))

    def create_entries_manager(self, client: Any, storage_id: int) -> DiskEntriesManager:
        return DiskEntriesManager(client)


# -- a client a user might have written for the seed's engine: folders on a plain directory ----------------


def _md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class FolderEntry:
    def __init__(self, root: Path, path: Path) -> None:
        self.path = path
        self.id = int(hashlib.sha1(str(path.relative_to(root)).encode()).hexdigest()[:12], 16)
        self.type = "folder" if path.is_dir() else "file"
        self.file_size = 0 if path.is_dir() else path.stat().st_size
        self.hash = "" if path.is_dir() else _md5_of(path)
        self.name = path.name
        self.updated_at = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat()


class FolderClient:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _entries(self) -> dict[int, FolderEntry]:
        return {entry.id: entry for entry in (FolderEntry(self.root, path) for path in self.root.rglob("*"))}

    def upload_file(self, file_path: Path, relative_path: str, storage_id: int = 0, chunk_size: int = 0,
                    use_multipart_threshold: int = 0, progress_callback: Any = None) -> dict[str, str]:
        target = self.root / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file_path, target)
        return {"path": relative_path}

    def download_file(self, hash_value: str, output_path: Path, progress_callback: Any = None) -> Path:
        for entry in self._entries().values():
            if entry.hash == hash_value:
                shutil.copyfile(entry.path, output_path)
                return output_path
        raise KeyError(hash_value)

    def delete_file_entries(self, entry_ids: list[int], delete_forever: bool = False) -> None:
        entries = self._entries()
        for identifier in entry_ids:
            path = entries[identifier].path
            shutil.rmtree(path) if path.is_dir() else path.unlink()

    def create_folder(self, name: str, parent_id: int | None = None) -> dict[str, Any]:
        parent = self._entries()[parent_id].path if parent_id else self.root
        (parent / name).mkdir(parents=True, exist_ok=True)
        return {"status": "success", "id": FolderEntry(self.root, parent / name).id}

    def resolve_path_to_id(self, path: str, storage_id: int = 0) -> int | None:
        target = self.root / path
        return FolderEntry(self.root, target).id if target.is_dir() else None


class FolderEntries:
    def __init__(self, client: FolderClient) -> None:
        self.client = client

    def get_all_recursive(self, folder_id: int | None, path_prefix: str) -> list[tuple[FolderEntry, str]]:
        folder = self.client._entries()[folder_id].path if folder_id else self.client.root
        return [(FolderEntry(self.client.root, path), path_prefix + str(path.relative_to(folder)))
                for path in sorted(folder.rglob("*"))]


class TestAUserWrittenClient(StorageClientTestSuite):
    @pytest.fixture(autouse=True)
    def _root(self, tmp_path: Path) -> None:
        self.storage = tmp_path / "storage"

    def create_client(self) -> FolderClient:
        return FolderClient(self.storage)

    def create_entries_manager(self, client: Any, storage_id: int) -> FolderEntries:
        return FolderEntries(client)


def test_a_client_cannot_steer_writes_outside_the_destination(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    client = FolderClient(storage)
    (storage / "share").mkdir()
    (storage / "share" / "fine.txt").write_bytes(b"fine")
    (tmp_path / "secret.txt").write_bytes(b"outside the share")

    class Hostile(FolderEntries):
        def get_all_recursive(self, folder_id: int | None, path_prefix: str) -> list[tuple[FolderEntry, str]]:
            listed = super().get_all_recursive(folder_id, path_prefix)
            return [*listed, (FolderEntry(tmp_path, tmp_path / "secret.txt"), "../../secret.txt")]

    manager = StorageManager({"disks": {"out": {"driver": "local", "root": str(tmp_path / "out")}}})
    engine = SyncEngine(manager=manager, entries_manager_factory=lambda made, _: Hostile(made))
    report = engine.sync_pair(SyncPair("share", "copy", client, "out"))
    assert report.copied == ["fine.txt"] and list(report.errors) == ["../../secret.txt"]
    written = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    assert written == ["out/copy/fine.txt", "secret.txt", "storage/share/fine.txt"]


def test_a_storage_client_without_an_entries_manager_is_a_configuration_error(tmp_path: Path) -> None:
    from flystore.errors import InvalidConfiguration

    with pytest.raises(InvalidConfiguration, match="entries_manager_factory"):
        SyncEngine(FolderClient(tmp_path)).sync_pair(SyncPair(str(tmp_path / "x"), ""))
    with pytest.raises(InvalidConfiguration, match="not int"):
        SyncEngine().sync_pair(SyncPair("a", "b", 42, None))


def test_a_failing_client_fails_only_its_files(tmp_path: Path) -> None:
    class Refusing(FolderClient):
        def upload_file(self, file_path: Path, relative_path: str, *args: Any, **kwargs: Any) -> dict[str, str]:
            if relative_path.endswith("bad.txt"):
                raise ConnectionError("the service hung up")
            return super().upload_file(file_path, relative_path, *args, **kwargs)

    source = tmp_path / "source"
    source.mkdir()
    for name in ("good.txt", "bad.txt"):
        (source / name).write_bytes(name.encode())
    engine = SyncEngine(Refusing(tmp_path / "storage"), lambda made, _: FolderEntries(made))
    report = engine.sync_pair(SyncPair(str(source), "in"))
    assert report.copied == ["good.txt"] and "ConnectionError: the service hung up" in report.errors["bad.txt"]
    assert os.listdir(tmp_path / "storage" / "in") == ["good.txt"]


def test_a_two_way_sync_keeps_its_state_through_a_storage_client(tmp_path: Path) -> None:
    client = FolderClient(tmp_path / "storage")
    engine = SyncEngine(client, lambda made, _: FolderEntries(made))
    local = tmp_path / "local"
    local.mkdir()
    (local / "mine.txt").write_bytes(b"m")
    (tmp_path / "storage" / "shared").mkdir()
    (tmp_path / "storage" / "shared" / "theirs.txt").write_bytes(b"t")
    first = engine.sync_pair(SyncPair(str(local), "shared", mode="two_way"))
    assert sorted(first.copied) == ["mine.txt", "theirs.txt"]
    assert [path.name for path in (tmp_path / "storage" / "shared" / ".flystore-sync").iterdir()]
    (tmp_path / "storage" / "shared" / "theirs.txt").unlink()
    second = engine.sync_pair(SyncPair(str(local), "shared", mode="two_way"))
    assert second.deleted == ["theirs.txt"] and sorted(os.listdir(local)) == ["mine.txt"]


def test_large_files_stream_through_a_client_in_bounded_memory(tmp_path: Path) -> None:
    from tests.test_streaming_memory import MiB, traced

    source = tmp_path / "big"
    source.mkdir()
    with open(source / "big.bin", "wb") as handle:
        for _ in range(20):
            handle.write(os.urandom(MiB))
    client = FolderClient(tmp_path / "storage")
    engine = SyncEngine(client, lambda made, _: FolderEntries(made), compare="checksum")
    with traced() as peak:
        report = engine.sync_pair(SyncPair(str(source), "in"))
    assert report.copied == ["big.bin"] and report.bytes == 20 * MiB
    assert peak.bytes < 6 * MiB, f"copying a 20 MiB file held {peak}"
    with traced() as peak:
        back = engine.sync_pair(SyncPair(str(tmp_path / "back"), "in", mode="destination_to_source"))
    assert back.copied == ["big.bin"] and peak.bytes < 6 * MiB, f"pulling it back held {peak}"
    assert (tmp_path / "back" / "big.bin").read_bytes() == (source / "big.bin").read_bytes()


def test_two_local_directories_into_one_destination_keep_separate_two_way_states(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"hub": {"driver": "memory"}}})
    engine = SyncEngine(manager.disk("hub"), manager=manager)
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    (tmp_path / "one" / "a.txt").write_bytes(b"a")
    assert engine.sync_pair(SyncPair(str(tmp_path / "one"), "shared", mode="two_way")).copied == ["a.txt"]
    # The second directory never saw a.txt: its first sync fetches it rather than deleting it from the hub.
    second = engine.sync_pair(SyncPair(str(tmp_path / "two"), "shared", mode="two_way"))
    assert second.copied == ["a.txt"] and second.deleted == []
    assert (tmp_path / "two" / "a.txt").read_bytes() == b"a"

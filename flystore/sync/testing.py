"""``StorageClientTestSuite``: checks a storage client against what the sync engine relies on.

Subclass it in a test module and say how to build the client::

    class TestMyClient(StorageClientTestSuite):
        def create_client(self):
            return MyClient(...)

        def create_entries_manager(self, client, storage_id):
            return MyEntriesManager(client)

Each test works in a folder of its own (``self.folder``), writes real files
through ``upload_file`` and reads them back through ``download_file`` and the
entries manager; the last test runs the engine against the client.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from .engine import SyncEngine, SyncPair
from .modes import SyncMode
from .protocols import FileEntriesManagerProtocol, FileEntryProtocol, StorageClientProtocol

__all__ = ["StorageClientTestSuite"]


class StorageClientTestSuite:
    """The conformance tests of a ``StorageClientProtocol`` implementation and its entries manager."""

    folder: str = ""

    # -- what a subclass provides ------------------------------------------------------

    def create_client(self) -> Any:
        """A client for the tests (a fresh or shared one; each test uses its own folder)."""
        raise NotImplementedError

    def create_entries_manager(self, client: Any, storage_id: int) -> Any:
        """The entries manager that lists ``client``'s files."""
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _storage_client(self, tmp_path: Path) -> None:
        self.client = self.create_client()
        self.entries = self.create_entries_manager(self.client, 0)
        self.local = tmp_path
        self.folder = f"suite-{uuid.uuid4().hex[:10]}"

    def upload(self, relative: str, data: bytes) -> None:
        """Upload ``data`` to ``relative`` under the test's folder."""
        source = self.local / f"upload-{uuid.uuid4().hex}"
        source.write_bytes(data)
        self.client.upload_file(source, f"{self.folder}/{relative}", 0)

    def listed(self) -> dict[str, FileEntryProtocol]:
        """The files under the test's folder, by path relative to it."""
        folder = self.client.resolve_path_to_id(self.folder, 0)
        assert folder is not None, f"resolve_path_to_id({self.folder!r}) found no folder after an upload"
        return {path: entry for entry, path in self.entries.get_all_recursive(folder, "") if entry.type == "file"}

    def download(self, entry: FileEntryProtocol) -> bytes:
        """The bytes ``download_file`` writes for ``entry``."""
        target = self.local / f"download-{uuid.uuid4().hex}"
        returned = self.client.download_file(entry.hash, target)
        assert Path(returned) == target
        return target.read_bytes()

    # -- the tests -------------------------------------------------------------------------

    def test_the_client_and_its_entries_manager_follow_the_protocols(self) -> None:
        assert isinstance(self.client, StorageClientProtocol)
        assert isinstance(self.entries, FileEntriesManagerProtocol)

    def test_an_uploaded_file_is_listed_with_its_path_size_name_and_time(self) -> None:
        self.upload("docs/report.txt", b"twelve bytes")
        entry = self.listed()["docs/report.txt"]
        assert isinstance(entry, FileEntryProtocol)
        assert (entry.type, entry.file_size, entry.name) == ("file", 12, "report.txt")
        assert entry.updated_at is None or isinstance(datetime.fromisoformat(entry.updated_at), datetime)

    def test_a_download_by_hash_gives_back_the_uploaded_bytes(self) -> None:
        data = bytes(range(256)) * 9
        self.upload("bytes.bin", data)
        assert self.download(self.listed()["bytes.bin"]) == data

    def test_a_hash_that_looks_like_an_md5_is_the_contents_md5(self) -> None:
        # The engine trusts 32 hex digits as the content's MD5 for checksum compares.
        self.upload("a.txt", b"alpha")
        digest = str(self.listed()["a.txt"].hash).lower()
        if len(digest) == 32 and all(char in "0123456789abcdef" for char in digest):
            assert digest == hashlib.md5(b"alpha").hexdigest()

    def test_uploading_to_a_listed_path_replaces_the_file(self) -> None:
        self.upload("same.txt", b"first version")
        self.upload("same.txt", b"second")
        listed = self.listed()
        assert list(listed) == ["same.txt"]
        assert listed["same.txt"].file_size == 6
        assert self.download(listed["same.txt"]) == b"second"

    def test_empty_and_multi_chunk_files_round_trip(self) -> None:
        large = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32 + 7)
        self.upload("empty", b"")
        self.upload("deep/er/large.bin", large)
        listed = self.listed()
        assert listed["empty"].file_size == 0 and self.download(listed["empty"]) == b""
        assert listed["deep/er/large.bin"].file_size == len(large)
        assert self.download(listed["deep/er/large.bin"]) == large

    def test_names_beyond_ascii_round_trip(self) -> None:
        self.upload("réunion/日本 語.txt", "ça marche".encode())
        listed = self.listed()
        assert self.download(listed["réunion/日本 語.txt"]) == "ça marche".encode()

    def test_listing_below_a_folder_gives_paths_relative_to_it_after_the_prefix(self) -> None:
        self.upload("inner/one.txt", b"1")
        self.upload("inner/two/three.txt", b"3")
        self.upload("outside.txt", b"0")
        inner = self.client.resolve_path_to_id(f"{self.folder}/inner", 0)
        assert inner is not None
        files = sorted(path for entry, path in self.entries.get_all_recursive(inner, "p/") if entry.type == "file")
        assert files == ["p/one.txt", "p/two/three.txt"]

    def test_a_missing_folder_resolves_to_none(self) -> None:
        assert self.client.resolve_path_to_id(f"{self.folder}/never/made", 0) is None

    def test_a_created_folder_resolves_and_lists_as_a_folder(self) -> None:
        self.upload("keep.txt", b"k")
        parent = self.client.resolve_path_to_id(self.folder, 0)
        made = self.client.create_folder("made/below", parent)
        assert made["id"] is not None
        assert self.client.resolve_path_to_id(f"{self.folder}/made/below", 0) is not None
        folders = {path for entry, path in self.entries.get_all_recursive(parent, "") if entry.type == "folder"}
        assert "made/below" in folders

    def test_ids_are_unique_and_deleting_one_removes_only_that_file(self) -> None:
        for name in ("a.txt", "b.txt", "c/d.txt"):
            self.upload(name, name.encode())
        listed = self.listed()
        assert len({entry.id for entry in listed.values()}) == 3
        self.client.delete_file_entries([listed["b.txt"].id], delete_forever=True)
        assert sorted(self.listed()) == ["a.txt", "c/d.txt"]

    def test_the_sync_engine_copies_mirrors_and_skips_through_the_client(self) -> None:
        tree = self.local / "tree"
        for name, data in {"a.txt": b"A", "sub/b.txt": b"BB", "sub/c.txt": b"CCC"}.items():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes(data)
        engine = SyncEngine(self.client, self.create_entries_manager)
        first = engine.sync_pair(SyncPair(str(tree), self.folder))
        assert first.ok and sorted(first.copied) == ["a.txt", "sub/b.txt", "sub/c.txt"]
        assert {path: entry.file_size for path, entry in self.listed().items()} == \
            {"a.txt": 1, "sub/b.txt": 2, "sub/c.txt": 3}
        again = engine.sync_pair(SyncPair(str(tree), self.folder))
        assert again.ok and again.copied == again.updated == [] and len(again.skipped) == 3
        (tree / "sub" / "c.txt").unlink()
        mirrored = engine.sync_pair(SyncPair(str(tree), self.folder, mode=SyncMode.MIRROR, delete=True))
        assert mirrored.ok and mirrored.deleted == ["sub/c.txt"]
        assert sorted(self.listed()) == ["a.txt", "sub/b.txt"]
        back = self.local / "back"
        pulled = engine.sync_pair(SyncPair(str(back), self.folder, mode=SyncMode.DESTINATION_TO_SOURCE))
        assert pulled.ok and (back / "sub" / "b.txt").read_bytes() == b"BB"

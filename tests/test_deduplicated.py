"""The deduplicated decorator: stored once, references by pointers, garbage and grace, tampering, the reserved tree."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from flystore import (
    DeduplicatedFilesystemAdapter,
    FileNotFound,
    FilesystemAdapter,
    IntegrityError,
    InvalidConfiguration,
    StorageManager,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToMoveFile,
    UnableToWriteFile,
)
from flystore.decorators.base import DecoratedBackend
from flystore.decorators.deduplicated import backend as dedup_backend
from flystore.decorators.deduplicated.store import BLOBS, STAGING, blob_path
from flystore.drivers.memory import MemoryBackend
from tests.decorator_checks import assert_urls_refused

CONTENT = b"the same report, uploaded again and again\n" * 1000
DIGEST = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def manager(tmp_path: Path) -> StorageManager:
    return StorageManager({"disks": {"raw": {"driver": "local", "root": str(tmp_path / "root")},
                                     "d": {"driver": "deduplicated", "disk": "raw"}}})


@pytest.fixture
def disk(manager: StorageManager) -> DeduplicatedFilesystemAdapter:
    return manager.disk("d")  # type: ignore[return-value]


@pytest.fixture
def raw(manager: StorageManager) -> FilesystemAdapter:
    return manager.disk("raw")


def blobs(raw: FilesystemAdapter) -> list[str]:
    return raw.all_files(BLOBS)


def age(raw: FilesystemAdapter, path: str, seconds: float) -> None:
    """Make a file on the local disk look ``seconds`` old."""
    then = time.time() - seconds
    os.utime(raw.path(path), (then, then))


@pytest.fixture
def small_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams above 1 KiB take the staging path (the real threshold is 4 MiB)."""
    monkeypatch.setattr(dedup_backend, "SMALL_STREAM", 1024)


# -- stored once ----------------------------------------------------------------------


@pytest.mark.usefixtures("small_streams")
def test_identical_contents_are_stored_once_however_they_arrive(disk: DeduplicatedFilesystemAdapter,
                                                                raw: FilesystemAdapter) -> None:
    disk.put("a.txt", CONTENT)
    disk.put("b/b.txt", io.BytesIO(CONTENT))  # streamed through a staging file
    disk.write_stream("c.txt", iter([CONTENT[:100], CONTENT[100:]]))
    disk.copy("a.txt", "d.txt")
    assert blobs(raw) == [blob_path(DIGEST)]
    assert raw.all_files(STAGING) == []
    assert all(disk.get(path) == CONTENT for path in ("a.txt", "b/b.txt", "c.txt", "d.txt"))
    stats = disk.stats()
    assert (stats.files, stats.blobs, stats.logical_bytes, stats.physical_bytes) == (4, 1, 4 * len(CONTENT),
                                                                                      len(CONTENT))
    assert stats.saved_bytes == 3 * len(CONTENT)
    assert raw.size("a.txt") < 200  # the file itself is a pointer


def test_deleting_one_path_never_deletes_another_s_content(disk: DeduplicatedFilesystemAdapter) -> None:
    disk.put("keep.txt", CONTENT)
    disk.put("drop.txt", CONTENT)
    disk.put("over.txt", CONTENT)
    disk.delete("drop.txt")
    disk.put("over.txt", b"something else")  # the overwrite drops a reference too
    disk.move("keep.txt", "moved/keep.txt")
    report = disk.collect_garbage(grace=0)
    assert report.blobs_removed == 0
    assert disk.get("moved/keep.txt") == CONTENT
    disk.delete("moved/keep.txt")
    report = disk.collect_garbage(grace=0)
    assert (report.blobs_removed, report.bytes_freed) == (1, len(CONTENT))
    assert disk.get("over.txt") == b"something else"
    assert disk.stats().blobs == 1


def test_stats_count_unreferenced_and_foreign_files(disk: DeduplicatedFilesystemAdapter,
                                                    raw: FilesystemAdapter) -> None:
    disk.put("a.txt", CONTENT)
    disk.put("b.txt", b"short")
    disk.delete("b.txt")
    raw.put("written-around.txt", b"not a pointer")
    stats = disk.stats()
    assert (stats.files, stats.blobs, stats.unreferenced_blobs, stats.unreferenced_bytes) == (1, 2, 1, 5)
    assert (stats.foreign_files, stats.missing_blobs) == (1, 0)
    assert stats.saved_bytes == 0


# -- garbage and the grace period ---------------------------------------------------------


def test_a_blob_whose_pointer_is_not_written_yet_survives_collection(disk: DeduplicatedFilesystemAdapter,
                                                                     raw: FilesystemAdapter) -> None:
    # What a concurrent writer leaves between its two steps: the blob, not yet the pointer.
    raw.put(blob_path(DIGEST), CONTENT)
    report = disk.collect_garbage()
    assert (report.blobs_removed, report.kept_recent) == (0, 1)
    assert blobs(raw) == [blob_path(DIGEST)]
    age(raw, blob_path(DIGEST), 3601)
    assert disk.collect_garbage().blobs_removed == 1
    assert blobs(raw) == []


def test_leftovers_of_interrupted_streams_go_after_the_grace_period(disk: DeduplicatedFilesystemAdapter,
                                                                    raw: FilesystemAdapter) -> None:
    raw.put(f"{STAGING}/old", b"half a stream")
    raw.put(f"{STAGING}/new", b"a stream in progress")
    age(raw, f"{STAGING}/old", 7200)
    assert disk.collect_garbage().staging_removed == 1
    assert raw.all_files(STAGING) == [f"{STAGING}/new"]


def test_reusing_an_old_blob_refreshes_it_so_a_collection_keeps_it(disk: DeduplicatedFilesystemAdapter,
                                                                   raw: FilesystemAdapter) -> None:
    disk.put("a.txt", CONTENT)
    age(raw, blob_path(DIGEST), 3000)  # older than half the grace period
    disk.put("b.txt", CONTENT)
    assert time.time() - raw.last_modified(blob_path(DIGEST)).timestamp() < 60
    age(raw, blob_path(DIGEST), 3000)
    disk.copy("a.txt", "c.txt")
    assert time.time() - raw.last_modified(blob_path(DIGEST)).timestamp() < 60
    disk.delete("a.txt")
    disk.delete("b.txt")
    assert disk.collect_garbage().blobs_removed == 0 and disk.get("c.txt") == CONTENT


class TimeKeepingCopy(DecoratedBackend):
    """A backend whose copy keeps the source's modification time (as ``cp -p`` does)."""

    def copy(self, source: str, destination: str, options: Any) -> None:
        super().copy(source, destination, options)
        kept = os.stat(self.inner.local_path(source) or "")  # type: ignore[arg-type]
        os.utime(self.inner.local_path(destination) or "", (kept.st_atime, kept.st_mtime))


def test_a_refresh_writes_the_bytes_anew_where_a_copy_keeps_the_time(manager: StorageManager) -> None:
    raw = manager.disk("raw")
    disk = DeduplicatedFilesystemAdapter(FilesystemAdapter(TimeKeepingCopy(raw.backend), name="raw"), name="d")
    disk.put("a.txt", CONTENT)
    age(raw, blob_path(DIGEST), 3000)
    disk.copy("a.txt", "b.txt")
    assert time.time() - raw.last_modified(blob_path(DIGEST)).timestamp() < 60
    assert disk.get("b.txt") == CONTENT and raw.all_files(STAGING) == []


def test_writers_reusing_old_blobs_during_collections_never_lose_content(disk: DeduplicatedFilesystemAdapter,
                                                                         raw: FilesystemAdapter) -> None:
    contents = [f"content {number}\n".encode() * 200 for number in range(40)]
    for number, content in enumerate(contents):
        disk.put(f"seed/{number}.txt", content)
    disk.delete_directory("seed")
    for path in blobs(raw):
        age(raw, path, 3000)  # unreferenced, and past the grace period of the collector below
    errors: list[BaseException] = []
    done = threading.Event()

    def collect() -> None:
        try:
            while not done.is_set():
                disk.collect_garbage(grace=2000)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    collector = threading.Thread(target=collect)
    collector.start()
    try:
        for number, content in enumerate(contents):
            disk.put(f"reused/{number}.txt", content)
    finally:
        done.set()
        collector.join()
    assert errors == []
    disk.collect_garbage(grace=2000)
    for number, content in enumerate(contents):
        assert disk.get(f"reused/{number}.txt") == content
    assert disk.stats().missing_blobs == 0


class PausingDelete(DecoratedBackend):
    """Holds a collection right before it deletes a blob, until a writer had its chance."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.about_to_delete = threading.Event()
        self.writer_done = threading.Event()

    def delete(self, path: str) -> bool:
        if path.startswith(BLOBS):
            self.about_to_delete.set()
            self.writer_done.wait(0.3)  # with the gate the writer cannot finish now; without, it would
        return super().delete(path)


def test_a_writer_reusing_a_blob_a_collection_is_deleting_writes_it_again() -> None:
    pausing = PausingDelete(MemoryBackend())
    base = FilesystemAdapter(pausing, name="base")
    disk = DeduplicatedFilesystemAdapter(base, grace=0, name="d")
    disk.put("old.txt", CONTENT)
    disk.delete("old.txt")

    def write() -> None:
        pausing.about_to_delete.wait()
        disk.put("new.txt", CONTENT)
        pausing.writer_done.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert disk.collect_garbage().blobs_removed == 1
    writer.join()
    assert disk.get("new.txt") == CONTENT  # the writer waited, saw the blob gone and stored it again


# -- tampering --------------------------------------------------------------------------------


def _reads_fail(disk: FilesystemAdapter, path: str) -> None:
    with pytest.raises(IntegrityError) as caught:
        disk.get(path)
    assert (caught.value.disk, caught.value.path) == (disk.name, path)
    with pytest.raises(IntegrityError):
        with disk.read_stream(path) as stream:
            b"".join(stream)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "extend"])
def test_a_damaged_or_missing_blob_is_an_integrity_error_never_wrong_bytes(
    disk: DeduplicatedFilesystemAdapter, raw: FilesystemAdapter, damage: str
) -> None:
    disk.put("a.txt", CONTENT)
    blob = blob_path(DIGEST)
    if damage == "flip":
        raw.put(blob, CONTENT[:500] + bytes([CONTENT[500] ^ 1]) + CONTENT[501:])
        _reads_fail(disk, "a.txt")
    elif damage == "truncate":
        raw.put(blob, CONTENT[:-1])
        _reads_fail(disk, "a.txt")
    elif damage == "delete":
        raw.delete(blob)
        _reads_fail(disk, "a.txt")
        assert disk.stats().missing_blobs == 1
    else:
        raw.put(blob, CONTENT + b"appended")
        _reads_fail(disk, "a.txt")


@pytest.mark.parametrize("pointer", [
    b"", b"not json", b'{"flystore": "dedup/1", "sha256": "../../etc/passwd", "size": 4}',
    b'{"flystore": "dedup/1", "sha256": "' + b"A" * 64 + b'", "size": 4}',
    b'{"flystore": "dedup/1", "sha256": "' + b"a" * 64 + b'", "size": -1}',
    b'{"flystore": "dedup/1", "sha256": "' + b"a" * 64 + b'", "size": true}',
    b'{"flystore": "dedup/2", "sha256": "' + b"a" * 64 + b'", "size": 4}',
    b'["dedup/1"]', b"{" + b" " * 600 + b"}",
])
def test_a_file_that_is_not_a_valid_pointer_is_an_integrity_error(disk: DeduplicatedFilesystemAdapter,
                                                                  raw: FilesystemAdapter, pointer: bytes) -> None:
    raw.put("hostile.txt", pointer)
    _reads_fail(disk, "hostile.txt")
    with pytest.raises(IntegrityError):
        disk.size("hostile.txt")
    with pytest.raises(IntegrityError):
        disk.copy("hostile.txt", "copy.txt")
    assert disk.file_missing("copy.txt")


def test_a_pointer_to_another_disk_s_blob_reads_only_what_it_names(disk: DeduplicatedFilesystemAdapter,
                                                                   raw: FilesystemAdapter) -> None:
    disk.put("secret.txt", b"top secret")
    # A forged pointer can only name a blob by its SHA-256, so it must already know the content.
    raw.put("forged.txt", raw.get("secret.txt").replace(b'"size": 10', b'"size": 3'))
    with pytest.raises(IntegrityError):
        disk.get("forged.txt")


# -- the reserved tree -------------------------------------------------------------------------


def test_the_blob_store_is_hidden_and_refused(disk: DeduplicatedFilesystemAdapter, raw: FilesystemAdapter) -> None:
    disk.put("a.txt", CONTENT)
    blob = blob_path(DIGEST)
    assert disk.all_files() == ["a.txt"] and disk.all_directories() == [] and disk.directories() == []
    assert [entry.path for entry in disk.list("", recursive=True)] == ["a.txt"]
    assert disk.fs.find("") == ["a.txt"]
    assert not disk.exists(blob) and not disk.exists(".flystore-dedup") and disk.files(BLOBS) == []
    with pytest.raises(FileNotFound):
        disk.get(blob)
    with pytest.raises(FileNotFound):
        disk.size(blob)
    for write in (lambda: disk.put(blob, b"evil"), lambda: disk.put(f"{STAGING}/x", io.BytesIO(b"evil"))):
        with pytest.raises(UnableToWriteFile):
            write()
    with pytest.raises(UnableToCreateDirectory):
        disk.make_directory(".flystore-dedup/x")
    with pytest.raises(UnableToCopyFile):
        disk.copy("a.txt", blob)
    with pytest.raises(UnableToMoveFile):
        disk.move("a.txt", ".flystore-dedup/blobs/x")
    with pytest.raises(FileNotFound):
        disk.copy(blob, "stolen.txt")
    assert disk.delete(blob) is False and disk.delete_directory(".flystore-dedup") is False
    assert disk.delete_directory("") is True
    assert raw.get(blob) == CONTENT  # the root's deletion took pointers only; garbage is collected later
    assert disk.collect_garbage(grace=0).blobs_removed == 1


# -- what costs what ----------------------------------------------------------------------------


class Counting(DecoratedBackend):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.calls: Counter[str] = Counter()

    def read(self, path: str) -> bytes:
        self.calls["read " + path.partition("/")[0]] += 1
        return super().read(path)

    def open_read(self, path: str) -> Any:
        self.calls["open " + path.partition("/")[0]] += 1
        return super().open_read(path)

    def write(self, path: str, data: bytes, options: Any) -> None:
        self.calls["write " + path.partition("/")[0]] += 1
        super().write(path, data, options)


def test_sha256_and_size_come_from_the_pointer_and_a_known_content_is_not_uploaded_again() -> None:
    counting = Counting(MemoryBackend())
    disk = DeduplicatedFilesystemAdapter(FilesystemAdapter(counting, name="base"), name="d")
    disk.put("a.txt", CONTENT)
    counting.calls.clear()
    assert disk.checksum("a.txt", "sha256") == DIGEST
    assert disk.size("a.txt") == len(CONTENT)
    assert counting.calls == Counter({"read a.txt": 2})
    counting.calls.clear()
    disk.put("b.txt", CONTENT)
    assert counting.calls == Counter({"write b.txt": 1})  # the pointer only


def test_metadata_and_visibility_belong_to_each_file_not_to_the_content(disk: DeduplicatedFilesystemAdapter) -> None:
    disk.put("a.txt", CONTENT, metadata={"owner": "ada"}, visibility="public")
    disk.put("b.txt", CONTENT, metadata={"owner": "bob"}, visibility="private")
    assert disk.metadata("a.txt")["metadata"] == {"owner": "ada"}
    assert disk.metadata("b.txt")["metadata"] == {"owner": "bob"}
    assert (disk.get_visibility("a.txt"), disk.get_visibility("b.txt")) == ("public", "private")
    assert disk.mime_type("a.txt") == "text/plain"


class ListingLog(DecoratedBackend):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.listed: list[tuple[str, bool]] = []

    def list_contents(self, path: str, deep: bool) -> Any:
        self.listed.append((path, deep))
        return super().list_contents(path, deep)

    def list_paths(self, path: str, deep: bool) -> Any:
        self.listed.append((path, deep))
        return super().list_paths(path, deep)


def test_listing_every_file_never_lists_the_blob_store() -> None:
    log = ListingLog(MemoryBackend())
    disk = DeduplicatedFilesystemAdapter(FilesystemAdapter(log, name="base"), name="d")
    for number in range(20):
        disk.put(f"docs/{number}.txt", f"content {number}")
    disk.put("top.txt", "top")
    log.listed.clear()
    assert len(disk.all_files()) == 21 and len(disk.list("", recursive=True)) == 22
    assert disk.fs.find("") == sorted(disk.all_files())
    assert ("", True) not in log.listed and not any(path.startswith(".flystore") for path, _ in log.listed)
    assert ("docs", True) in log.listed


# -- configuration and URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "option"), [({"grace": -1}, "grace"), ({"grace": "1h"}, "grace"),
                                                 ({"grace": True}, "grace"), ({"graces": 1}, "graces")])
def test_bad_options_name_the_disk_and_the_option(options: dict[str, Any], option: str) -> None:
    manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                        "d": {"driver": "deduplicated", "disk": "m", **options}}})
    with pytest.raises(InvalidConfiguration) as caught:
        manager.disk("d")
    assert (caught.value.disk, caught.value.option) == ("d", option)


def test_urls_are_refused(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"raw": {"driver": "local", "root": str(tmp_path), "url": "/files"},
                                        "d": {"driver": "deduplicated", "disk": "raw"}}})
    disk = manager.disk("d")
    disk.put("a.txt", CONTENT)
    assert_urls_refused(disk, "a.txt", "deduplicated", download="a pointer", upload="the content store")

"""The versioned disk's own API, on memory, local and native S3: versions, restore, delete, prune, races."""

from __future__ import annotations

import hashlib
import os
import threading
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from flystore import (
    FileNotFound,
    InvalidConfiguration,
    StorageManager,
    UnableToGenerateTemporaryUrl,
    VersionedFilesystemAdapter,
    VersionNotFound,
)
from tests.contract_fixtures import temporary_bucket
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket

KINDS = ["memory", "local", "s3"]


@pytest.fixture(scope="module")
def versioned_bucket(s3_endpoint: str) -> Iterator[str]:
    with temporary_bucket(s3_endpoint, "flystore-v", versioned=True) as name:
        yield name


@pytest.fixture(scope="module")
def s3(s3_endpoint: str, versioned_bucket: str) -> Iterator[StorageManager]:
    """One S3 client for the module; each test scopes it to a fresh prefix (seen through to the bucket)."""
    manager = StorageManager({"disks": {"s3": {"driver": "s3", "bucket": versioned_bucket,
                                               "endpoint": s3_endpoint, **CREDENTIALS}}})
    yield manager
    manager.disk("s3").close()


@pytest.fixture(params=KINDS)
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VersionedFilesystemAdapter]:
    if request.param == "s3":
        s3: StorageManager = request.getfixturevalue("s3")
        versioned = VersionedFilesystemAdapter(s3.build({"driver": "scoped", "disk": "s3",
                                                         "prefix": uuid.uuid4().hex}), name="v")
    else:
        base = {"driver": "memory"} if request.param == "memory" else {"driver": "local", "root": str(tmp_path)}
        built = StorageManager({"disks": {"base": base, "v": {"driver": "versioned", "disk": "base"}}}).disk("v")
        assert isinstance(built, VersionedFilesystemAdapter)
        versioned = built
    assert versioned.versioning == ("s3" if request.param == "s3" else "layout")
    yield versioned


def _contents(disk: VersionedFilesystemAdapter, path: str) -> list[bytes | None]:
    return [None if version.is_deleted else disk.get_version(path, version.id) for version in disk.versions(path)]


# -- the life of a file ----------------------------------------------------------------------


def test_every_overwrite_is_a_version_listed_newest_first(disk: VersionedFilesystemAdapter) -> None:
    for content in (b"one", b"two!", b"three"):
        disk.put("notes/a.txt", content)
    versions = disk.versions("notes/a.txt")
    assert [version.size for version in versions] == [5, 4, 3]
    assert [version.is_latest for version in versions] == [True, False, False]
    assert not any(version.is_deleted for version in versions)
    assert all(version.path == "notes/a.txt" for version in versions)
    assert [version.last_modified for version in versions] == sorted(
        (version.last_modified for version in versions), reverse=True)
    assert all(version.last_modified.tzinfo is not None for version in versions)
    assert _contents(disk, "notes/a.txt") == [b"three", b"two!", b"one"]
    assert disk.get("notes/a.txt") == b"three"
    assert disk.versions("notes/other.txt") == []


def test_a_version_streams_in_chunks(disk: VersionedFilesystemAdapter) -> None:
    old = bytes(range(256)) * 4096  # 1 MiB
    disk.put("big.bin", old)
    disk.put("big.bin", b"new")
    oldest = disk.versions("big.bin")[-1]
    with disk.read_stream_version("big.bin", oldest.id, chunk_size=100_000) as stream:
        chunks = list(stream)
    assert b"".join(chunks) == old
    assert max(len(chunk) for chunk in chunks) <= 100_000


def test_a_delete_keeps_the_file_as_a_deleted_version_and_restore_brings_it_back(
    disk: VersionedFilesystemAdapter,
) -> None:
    disk.put("report.csv", "a,b\n1,2\n", mimetype="text/csv")
    disk.delete("report.csv")
    assert disk.file_missing("report.csv")
    assert disk.files("") == []
    marker, kept = disk.versions("report.csv")
    assert marker.is_deleted and marker.is_latest and marker.size == 0
    assert not kept.is_deleted and not kept.is_latest
    with pytest.raises(VersionNotFound, match="delete marker"):
        disk.get_version("report.csv", marker.id)
    assert disk.restore_version("report.csv", kept.id) == "report.csv"
    assert disk.get("report.csv") == b"a,b\n1,2\n"
    assert disk.mime_type("report.csv") == "text/csv"
    restored = disk.versions("report.csv")
    assert len(restored) == 3 and restored[0].is_latest and not restored[0].is_deleted
    assert disk.get_version("report.csv", restored[0].id) == b"a,b\n1,2\n"


def test_restoring_an_old_version_makes_it_the_newest(disk: VersionedFilesystemAdapter) -> None:
    disk.put("cfg.json", '{"v": 1}')
    disk.put("cfg.json", '{"v": 2}')
    first = disk.versions("cfg.json")[-1]
    seen: list[str] = []
    disk.on("file_updated", seen.append)
    disk.restore_version("cfg.json", first.id)
    assert disk.json("cfg.json") == {"v": 1}
    assert seen == ["cfg.json"]
    assert _contents(disk, "cfg.json") == [b'{"v": 1}', b'{"v": 2}', b'{"v": 1}']


def test_deleting_the_latest_version_makes_the_previous_one_current(disk: VersionedFilesystemAdapter) -> None:
    disk.put("doc.txt", "first")
    disk.put("doc.txt", "second")
    seen: list[tuple[str, str]] = []
    disk.on("file_updated", lambda path: seen.append(("updated", path)))
    disk.on("file_deleted", lambda path: seen.append(("deleted", path)))
    latest = disk.versions("doc.txt")[0]
    assert disk.delete_version("doc.txt", latest.id).id == latest.id
    assert disk.get("doc.txt") == b"first"
    (only,) = disk.versions("doc.txt")
    assert only.is_latest
    disk.delete_version("doc.txt", only.id)
    assert disk.file_missing("doc.txt")
    assert disk.versions("doc.txt") == []
    assert seen == [("updated", "doc.txt"), ("deleted", "doc.txt")]


def test_deleting_a_delete_marker_undeletes_the_file(disk: VersionedFilesystemAdapter) -> None:
    disk.put("gone.txt", "still here")
    disk.delete("gone.txt")
    marker = disk.versions("gone.txt")[0]
    disk.delete_version("gone.txt", marker.id)
    assert disk.get("gone.txt") == b"still here"
    assert disk.versions("gone.txt")[0].is_latest


def test_prune_keeps_the_newest_and_never_the_current_one(disk: VersionedFilesystemAdapter) -> None:
    for number in range(5):
        disk.put("p/a.txt", f"a{number}")
    disk.put("p/b.txt", "b0")
    disk.put("p/b.txt", "b1")
    disk.put("other.txt", "o0")
    disk.put("other.txt", "o1")
    assert disk.prune("p", keep=2) == 3
    assert _contents(disk, "p/a.txt") == [b"a4", b"a3"]
    assert _contents(disk, "p/b.txt") == [b"b1", b"b0"]
    assert len(disk.versions("other.txt")) == 2  # outside the pruned directory
    assert disk.prune(keep=0) == 3
    assert _contents(disk, "p/a.txt") == [b"a4"]
    assert _contents(disk, "p/b.txt") == [b"b1"]
    assert _contents(disk, "other.txt") == [b"o1"]
    assert disk.get("p/b.txt") == b"b1"


def test_prune_by_age_and_of_deleted_files(disk: VersionedFilesystemAdapter) -> None:
    disk.put("old.txt", "v1")
    disk.put("old.txt", "v2")
    assert disk.prune(older_than=timedelta(hours=1)) == 0  # everything is younger
    assert disk.prune(older_than=datetime.now(timezone.utc) + timedelta(minutes=1)) == 1
    assert _contents(disk, "old.txt") == [b"v2"]
    disk.delete("old.txt")
    # the marker stays while it has content to restore behind it; with none left, it goes too
    assert disk.prune("old.txt", keep=1) == 2
    assert disk.versions("old.txt") == []


def test_prune_refuses_to_guess(disk: VersionedFilesystemAdapter) -> None:
    with pytest.raises(ValueError, match="keep"):
        disk.prune()
    with pytest.raises(ValueError):
        disk.prune(keep=-1)
    with pytest.raises(ValueError, match="timezone"):
        disk.prune(older_than=datetime(2020, 1, 1))


def test_copy_makes_a_version_of_the_destination_and_move_deletes_the_source(
    disk: VersionedFilesystemAdapter,
) -> None:
    disk.put("src.txt", "source")
    disk.put("dst.txt", "old destination")
    disk.copy("src.txt", "dst.txt")
    assert _contents(disk, "dst.txt") == [b"source", b"old destination"]
    assert _contents(disk, "src.txt") == [b"source"]
    disk.move("src.txt", "moved.txt")
    assert _contents(disk, "moved.txt") == [b"source"]
    marker, kept = disk.versions("src.txt")
    assert marker.is_deleted and marker.is_latest
    disk.restore_version("src.txt", kept.id)
    assert disk.get("src.txt") == b"source"


def test_delete_directory_keeps_every_file_as_a_deleted_version(disk: VersionedFilesystemAdapter) -> None:
    disk.put("dir/a.txt", "a")
    disk.put("dir/sub/b.txt", "b")
    assert disk.delete_directory("dir")
    assert disk.all_files() == []
    for path, content in (("dir/a.txt", b"a"), ("dir/sub/b.txt", b"b")):
        marker, kept = disk.versions(path)
        assert marker.is_deleted and marker.is_latest
        assert disk.get_version(path, kept.id) == content


def test_ids_of_another_path_or_of_no_shape_are_refused(disk: VersionedFilesystemAdapter) -> None:
    disk.put("mine.txt", "mine")
    disk.put("mine.txt", "mine, later")
    disk.put("theirs.txt", "secret")
    theirs = disk.versions("theirs.txt")[0].id
    mine = disk.versions("mine.txt")[-1].id
    for bad in (theirs, "../theirs.txt", f"{mine}/../x", "", "null" if disk.versioning != "s3" else "nonsense"):
        with pytest.raises(VersionNotFound) as caught:
            disk.get_version("mine.txt", bad)
        assert caught.value.disk == "v" and caught.value.path == "mine.txt"
        with pytest.raises(VersionNotFound):
            disk.restore_version("mine.txt", bad)
        with pytest.raises(VersionNotFound):
            disk.delete_version("mine.txt", bad)
        with pytest.raises(VersionNotFound):
            disk.read_stream_version("mine.txt", bad)
    assert disk.get("mine.txt") == b"mine, later"
    assert _contents(disk, "theirs.txt") == [b"secret"]
    assert isinstance(VersionNotFound("x"), FileNotFound)


def test_large_versions_stream_in_bounded_memory(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"base": {"driver": "local", "root": str(tmp_path)},
                                        "v": {"driver": "versioned", "disk": "base"}}})
    disk: Any = manager.disk("v")
    block = os.urandom(1024 * 1024)
    expected = hashlib.sha256()
    for _ in range(32):
        expected.update(block)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        disk.write_stream("big.bin", (block for _ in range(32)))
        disk.put("big.bin", b"small now")
        digest = hashlib.sha256()
        with disk.read_stream_version("big.bin", disk.versions("big.bin")[1].id) as stream:
            for chunk in stream:
                digest.update(chunk)
        disk.restore_version("big.bin", disk.versions("big.bin")[1].id)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == expected.hexdigest()
    assert disk.size("big.bin") == 32 * 1024 * 1024
    assert peak < 8 * 1024 * 1024, f"{peak / 2**20:.1f} MiB"  # 32 MiB went through three times


# -- concurrent writers ------------------------------------------------------------------------


def _hammer(disks: list[VersionedFilesystemAdapter], writers: int, writes: int) -> set[bytes]:
    written: set[bytes] = set()
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def work(number: int) -> None:
        target = disks[number % len(disks)]
        start.wait()
        try:
            for index in range(writes):
                content = f"writer {number} write {index}".encode()
                target.put("hot.txt", content)
                written.add(content)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return written


def test_eight_concurrent_writers_lose_no_version(disk: VersionedFilesystemAdapter) -> None:
    written = _hammer([disk], writers=8, writes=6 if disk.versioning == "s3" else 10)
    versions = disk.versions("hot.txt")
    assert len(versions) == len(written) == 8 * (6 if disk.versioning == "s3" else 10)
    assert set(_contents(disk, "hot.txt")) == written
    assert versions[0].is_latest and disk.get_version("hot.txt", versions[0].id) == disk.get("hot.txt")


def test_writers_through_separate_disks_without_shared_locks_lose_no_version(tmp_path: Path) -> None:
    # Two managers, two backends, two sets of locks over one directory: what two processes would do.
    config = {"disks": {"base": {"driver": "local", "root": str(tmp_path / "shared")},
                        "v": {"driver": "versioned", "disk": "base"}}}
    disks = [StorageManager(config).disk("v") for _ in range(2)]
    assert all(isinstance(disk, VersionedFilesystemAdapter) for disk in disks)
    written = _hammer(disks, writers=8, writes=8)  # type: ignore[arg-type]
    reader: Any = disks[0]
    assert set(_contents(reader, "hot.txt")) == written
    assert reader.get("hot.txt") in written


# -- configuration -----------------------------------------------------------------------------


def test_modes_are_checked(s3_endpoint: str) -> None:
    bucket = f"flystore-{uuid.uuid4().hex[:12]}"
    manager = StorageManager({"disks": {
        "m": {"driver": "memory"},
        "plain": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, "create_bucket": True, **CREDENTIALS},
        "bad": {"driver": "versioned", "disk": "m", "mode": "sometimes"},
        "not-s3": {"driver": "versioned", "disk": "m", "mode": "native"},
        "strict": {"driver": "versioned", "disk": "plain", "mode": "native"},
        "auto": {"driver": "versioned", "disk": "plain"},
        "typo": {"driver": "versioned", "disk": "m", "mdoe": "layout"},
    }})
    try:
        for name, option in (("bad", "mode"), ("not-s3", "mode"), ("typo", "mdoe")):
            with pytest.raises(InvalidConfiguration) as caught:
                manager.disk(name)
            assert caught.value.option == option and caught.value.disk == name
        strict: Any = manager.disk("strict")
        with pytest.raises(InvalidConfiguration, match="versioning is not enabled"):
            strict.put("a.txt", "x")
        auto: Any = manager.disk("auto")
        assert auto.versioning == "layout"  # a bucket without versioning gets the layout
        auto.put("a.txt", "1")
        auto.put("a.txt", "2")
        assert _contents(auto, "a.txt") == [b"2", b"1"]
        assert auto.files() == ["a.txt"]
        with pytest.raises(UnableToGenerateTemporaryUrl, match="unrecorded"):
            auto.temporary_upload_url("a.txt")
    finally:
        manager.disk("plain").close()
        client = raw_client(s3_endpoint)
        remove_bucket(client, bucket)
        client.close()

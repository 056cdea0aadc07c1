"""The sync engine against S3 (moto), with native hashes, the local hash cache, and a dask cluster."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import distributed  # type: ignore[import-untyped]  # a test dependency: missing fails collection
import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.decorators.base import DecoratedBackend
from flystore.sync import SyncEngine, SyncPair, SyncReport
from flystore.sync.hashing import XATTR
from tests.drivers.test_s3 import raw_client, remove_bucket

TREE = {f"dir{number % 3}/file{number:02}.txt": f"contents of {number} ".encode() * (number + 1)
        for number in range(24)}


class CountingReads(DecoratedBackend):
    """Counts every read of file contents that goes through the disk."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.reads: list[str] = []

    def read(self, path: str) -> bytes:
        self.reads.append(path)
        return super().read(path)

    def open_read(self, path: str) -> BinaryIO:
        self.reads.append(path)
        return super().open_read(path)


@pytest.fixture(scope="module")
def buckets(s3_endpoint: str) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    client = raw_client(s3_endpoint)
    for bucket in made:
        remove_bucket(client, bucket)
    client.close()


def s3_config(endpoint: str, buckets: list[str]) -> dict[str, Any]:
    bucket = f"sync-{uuid.uuid4().hex[:12]}"
    buckets.append(bucket)
    return {"driver": "s3", "bucket": bucket, "endpoint": endpoint, "key": "testing", "secret": "testing",
            "region": "us-east-1", "create_bucket": True}


@pytest.fixture
def manager(s3_endpoint: str, buckets: list[str], tmp_path: Path) -> Iterator[StorageManager]:
    made = StorageManager({"disks": {
        "local": {"driver": "local", "root": str(tmp_path / "local")},
        "s3": s3_config(s3_endpoint, buckets),
        "s3b": s3_config(s3_endpoint, buckets),
    }})
    yield made
    for name in ("local", "s3", "s3b"):
        made.disk(name).close()


def fill(disk: FilesystemAdapter, root: str) -> None:
    for path, data in TREE.items():
        disk.put(f"{root}/{path}", data)


def test_local_to_s3_mirror_then_no_change_then_one_change(manager: StorageManager) -> None:
    local, s3 = manager.disk("local"), manager.disk("s3")
    fill(local, "docs")
    s3.put("backup/extra.txt", b"not in the source")
    first = manager.sync("local://docs", "s3://backup", mode="mirror", delete=True, transfers=4)
    assert first.ok and sorted(first.copied) == sorted(TREE) and first.deleted == ["extra.txt"]
    assert {path[7:]: s3.get(path) for path in s3.all_files("backup")} == TREE
    second = manager.sync("local://docs", "s3://backup", mode="mirror", delete=True)
    assert second.ok and second.copied == second.updated == second.deleted == []
    local.put("docs/dir1/file01.txt", b"changed, with another size")
    third = manager.sync("local://docs", "s3://backup", mode="mirror", delete=True)
    assert third.updated == ["dir1/file01.txt"] and len(third.skipped) == len(TREE) - 1
    assert s3.get("backup/dir1/file01.txt") == b"changed, with another size"


def test_a_no_change_resync_to_s3_costs_one_listing_request(
    manager: StorageManager, s3_endpoint: str, buckets: list[str]
) -> None:
    from tests.faultproxy import FaultProxy

    fill(manager.disk("local"), "docs")
    with FaultProxy("127.0.0.1", int(urlsplit(s3_endpoint).port or 0)) as proxy:
        config = {**manager.config["disks"]["s3"], "endpoint": proxy.url_for("http")}
        counted = StorageManager({"disks": {"local": manager.config["disks"]["local"], "s3": config}})
        assert counted.sync("local://docs", "s3://backup").ok
        for compare in ("size_mtime", "checksum"):
            before = proxy.stats()["connections"]
            report = counted.sync("local://docs", "s3://backup", compare=compare)
            # moto closes every connection: one connection is one request (no HEAD per object).
            assert proxy.stats()["connections"] - before == 1
            assert len(report.skipped) == len(TREE) and report.bytes == 0
        counted.disk("s3").close()


def test_checksum_compare_between_s3_buckets_reads_no_file(manager: StorageManager) -> None:
    fill(manager.disk("s3"), "docs")
    assert manager.sync("s3://docs", "s3b://docs").ok
    source = FilesystemAdapter(CountingReads(manager.disk("s3").backend), name="s3")
    target = FilesystemAdapter(CountingReads(manager.disk("s3b").backend), name="s3b")
    manager.disk("s3").put("docs/dir0/file00.txt", b"same size.....")  # 14 bytes, like before
    engine = SyncEngine(manager=manager, compare="checksum")
    report = engine.sync_pair(SyncPair("docs", "docs", source, target))
    assert report.updated == ["dir0/file00.txt"] and len(report.skipped) == len(TREE) - 1
    assert target.backend.reads == []  # type: ignore[attr-defined]  # the ETags answered
    assert source.backend.reads == ["docs/dir0/file00.txt"]  # type: ignore[attr-defined]  # the copy itself


def test_local_hashes_are_cached_beside_the_files_and_trusted_only_while_they_match(
    manager: StorageManager,
) -> None:
    local = manager.disk("local")
    fill(local, "docs")

    def mirror() -> SyncReport:  # a mirror replaces differing files, however old the source is
        return manager.sync("local://docs", "s3://backup", mode="mirror", compare="checksum")

    mirror()
    assert mirror().bytes == 0
    path = local.path("docs/dir2/file02.txt")
    key, _, digest = os.getxattr(path, XATTR).decode().rpartition(":")
    assert digest == hashlib.md5(TREE["dir2/file02.txt"]).hexdigest()
    # A forged digest under the file's real key is believed (proof that the cache, not a read, answers) ...
    os.setxattr(path, XATTR, f"{key}:{'0' * 32}".encode())
    assert mirror().updated == ["dir2/file02.txt"]
    # ... and one under a stale key (the file was touched since) is not.
    os.setxattr(path, XATTR, f"1:2:3:{'0' * 32}".encode())
    assert mirror().updated == []


def test_an_s3_source_pulls_into_a_local_directory_and_two_way_settles(manager: StorageManager) -> None:
    s3, local = manager.disk("s3"), manager.disk("local")
    fill(s3, "shared")
    first = manager.sync("local://mirror", "s3://shared", mode="two_way")
    assert sorted(first.copied) == sorted(TREE)
    local.put("mirror/new-local.txt", b"n")
    s3.delete("shared/dir0/file03.txt")
    second = manager.sync("local://mirror", "s3://shared", mode="two_way")
    assert second.copied == ["new-local.txt"] and second.deleted == ["dir0/file03.txt"]
    assert not local.file_exists("mirror/dir0/file03.txt") and s3.get("shared/new-local.txt") == b"n"
    assert manager.sync("local://mirror", "s3://shared", mode="two_way").to_dict()["skipped"] == sorted(
        [*(path for path in TREE if path != "dir0/file03.txt"), "new-local.txt"])


def test_a_sync_runs_on_a_dask_cluster_with_disks_sent_as_configuration(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {
        "in": {"driver": "local", "root": str(tmp_path / "in")},
        "out": {"driver": "local", "root": str(tmp_path / "out")},
    }})
    fill(manager.disk("in"), "data")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=2, dashboard_address=None,
                                  worker_dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        report = manager.sync("in://data", "out://copy", executor=client.get_executor(), transfers=2)
        workers = client.run(os.getpid)
    assert report.ok and sorted(report.copied) == sorted(TREE)
    assert os.getpid() not in workers.values()
    out = manager.disk("out")
    assert {path[5:]: out.get(path) for path in out.all_files("copy")} == TREE


class ListsFakeHashes(DecoratedBackend):
    """Lists ETag-like hashes that are no MD5 (as S3 does for SSE-KMS objects) and, like S3's HEAD of such
    an object, has no native checksum to give."""

    def list_contents(self, path: str, deep: bool) -> Iterator[Any]:
        import dataclasses

        for entry in super().list_contents(path, deep):
            yield dataclasses.replace(entry, checksum="md5:" + "f" * 32) if entry.is_file else entry

    def checksum(self, path: str, algorithm: str) -> str | None:
        return None


def test_a_listed_hash_that_is_no_md5_is_checked_before_it_causes_a_transfer(manager: StorageManager) -> None:
    fill(manager.disk("s3"), "docs")
    assert manager.sync("s3://docs", "s3b://docs").ok
    honest = FilesystemAdapter(CountingReads(manager.disk("s3").backend), name="s3")
    lying = FilesystemAdapter(CountingReads(ListsFakeHashes(manager.disk("s3b").backend)), name="s3b")
    manager.disk("s3").put("docs/dir0/file00.txt", b"same size.....")
    engine = SyncEngine(manager=manager, compare="checksum")
    report = engine.sync_pair(SyncPair("docs", "docs", honest, lying, mode="mirror"))
    assert report.updated == ["dir0/file00.txt"] and len(report.skipped) == len(TREE) - 1
    assert honest.backend.reads == ["docs/dir0/file00.txt"]  # type: ignore[attr-defined]  # the copy only
    assert len(lying.backend.reads) == len(TREE)  # type: ignore[attr-defined]  # every suspect hash was streamed


@pytest.fixture(params=["gcs", "azure"])
def cloud(request: pytest.FixtureRequest) -> Iterator[FilesystemAdapter]:
    name = f"sync-{uuid.uuid4().hex[:12]}"
    if request.param == "gcs":
        config: dict[str, Any] = {"driver": "gcs", "bucket": name, "endpoint": request.getfixturevalue("gcs_endpoint"),
                                  "token": "anon", "project_id": "test", "create_bucket": True}
    else:
        config = {"driver": "azure", "container": name, "create_container": True,
                  "connection_string": request.getfixturevalue("azure_connection_string")}
    manager = StorageManager({"disks": {"cloud": config}})
    disk = manager.disk("cloud")
    yield disk
    disk.delete_directory("docs")
    manager.configure({"disks": {}})  # closes the disk


def test_gcs_and_azure_listings_answer_checksum_compares_without_reads(cloud: FilesystemAdapter) -> None:
    memory = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    fill(memory, "docs")
    first = SyncEngine(compare="checksum").sync_pair(SyncPair("docs", "docs", memory, cloud))
    assert first.ok and sorted(first.copied) == sorted(TREE)
    listed = [entry for entry in cloud.list("docs", recursive=True) if entry.is_file]
    assert all(getattr(entry, "checksum", None) for entry in listed)  # the native MD5s are in the listing
    counted = FilesystemAdapter(CountingReads(cloud.backend), name="cloud")
    memory.put("docs/dir1/file04.txt", b"x" * len(TREE["dir1/file04.txt"]))  # the same size, new contents
    report = SyncEngine(compare="checksum").sync_pair(SyncPair("docs", "docs", memory, counted, mode="mirror"))
    assert report.updated == ["dir1/file04.txt"] and len(report.skipped) == len(TREE) - 1
    assert counted.backend.reads == []  # type: ignore[attr-defined]
    assert cloud.get("docs/dir1/file04.txt") == memory.get("docs/dir1/file04.txt")

"""Fakes of decorator disks keep the decorator: code under test calls versions(), repair(), stats() ... on them.

The tests are written the way an application's test suite would use ``Storage.fake`` and the
``storage_fake`` fixture; the real disks under the faked ones must never see a byte.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import (
    CachedFilesystemAdapter,
    CompressedFilesystemAdapter,
    DeduplicatedFilesystemAdapter,
    EncryptedFilesystemAdapter,
    InvalidConfiguration,
    ReadOnlyDisk,
    Storage,
    StorageManager,
    VersionedFilesystemAdapter,
)
from flystore.decorators.failover import FailoverFilesystemAdapter
from flystore.decorators.versioned.scoped import ScopedVersionsAdapter
from flystore.testing import FakeDisk

KEY = "base64:" + base64.b64encode(b"k" * 32).decode()
NEW_KEY = "base64:" + base64.b64encode(b"n" * 32).decode()


def _config(root: Path) -> dict[str, Any]:
    return {"default": "local", "disks": {
        "local": {"driver": "local", "root": str(root / "local")},
        "s3": {"driver": "local", "root": str(root / "s3"), "url": "https://files.example"},
        "backup": {"driver": "local", "root": str(root / "backup")},
        "history": {"driver": "versioned", "disk": "s3"},
        "archive": {"driver": "versioned", "disk": "s3", "mode": "native"},  # only S3 can build it for real
        "ha": {"driver": "failover", "disks": ["s3", "backup", {"driver": "local", "root": str(root / "inline")}],
               "replicate": True},
        "once": {"driver": "deduplicated", "disk": "s3"},
        "sealed": {"driver": "encrypted", "disk": "s3", "keys": [NEW_KEY, KEY]},
        "packed": {"driver": "compressed", "disk": "sealed"},
        "fast": {"driver": "cached", "disk": "history", "store": "memory"},
        "remote": {"driver": "cached", "disk": "history", "store": "redis", "redis_url": "redis://127.0.0.1:1/0"},
        "edge": {"driver": "cdn", "disk": "s3", "cdn_url": "https://cdn.example", "auto_invalidate": True,
                 "distribution_id": "E123", "batch_window": 0},
        "trailed": {"driver": "audited", "disk": "s3", "trail": "backup"},
        "frozen": {"driver": "read_only", "disk": "s3"},
    }}


def _real_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[StorageManager]:
    manager = StorageManager(_config(tmp_path))
    yield manager
    manager.restore()
    assert _real_files(tmp_path) == [], "a fake wrote to a real disk"


# -- the application code under test ------------------------------------------------------------------


def publish_report(storage: StorageManager, text: str) -> list[str]:
    disk = storage.disk("history")
    assert isinstance(disk, VersionedFilesystemAdapter)
    disk.put("reports/q3.txt", text)
    return [version.id for version in disk.versions("reports/q3.txt")]


# -- the tests --------------------------------------------------------------------------------------------


def test_a_faked_versioned_disk_keeps_versions_and_restores_them(storage: StorageManager) -> None:
    fake = storage.fake("history")
    assert isinstance(fake, FakeDisk) and isinstance(fake, VersionedFilesystemAdapter)
    publish_report(storage, "draft")
    ids = publish_report(storage, "final")
    assert len(ids) == 2
    fake.assert_exists("reports/q3.txt", content="final").assert_count("", 1, recursive=True)
    assert fake.versioning == "layout"
    fake.restore_version("reports/q3.txt", ids[1])
    fake.assert_exists("reports/q3.txt", content="draft")
    assert storage.disk("history") is fake
    assert fake.below().all_files()[0].startswith(".flystore-versions/"), "the layout is in the fake's stack"


def test_a_fake_of_a_native_versioned_disk_keeps_versions_in_the_layout(storage: StorageManager) -> None:
    fake = storage.fake("archive")  # "native" needs an S3 bucket: the fake keeps versions beside the files
    assert isinstance(fake, VersionedFilesystemAdapter) and fake.versioning == "layout"
    fake.put("a.txt", b"1")
    fake.put("a.txt", b"22")
    assert [version.size for version in fake.versions("a.txt")] == [2, 1]


def test_a_faked_failover_disk_repairs_and_reports_health(storage: StorageManager) -> None:
    fake = storage.fake("ha")
    assert isinstance(fake, FailoverFilesystemAdapter)
    fake.put("a.txt", b"one")
    fake.below("backup").delete("a.txt")  # a replica that lost a file behind the disk's back
    report = fake.repair()
    assert report.copied == {"backup": ["a.txt"]}
    assert fake.below("backup").get("a.txt") == b"one"
    assert set(fake.health()) == {"s3", "backup", "ha.disks.2"}
    assert fake.pending() == {}


def test_a_faked_deduplicated_disk_counts_and_collects(storage: StorageManager) -> None:
    fake = storage.fake("once")
    assert isinstance(fake, DeduplicatedFilesystemAdapter)
    fake.put("a.bin", b"same bytes")
    fake.put("b.bin", b"same bytes")
    stats = fake.stats()
    assert (stats.files, stats.blobs, stats.logical_bytes, stats.physical_bytes) == (2, 1, 20, 10)
    assert fake.collect_garbage().blobs_removed == 0
    fake.assert_count("", 2)  # the blob store stays hidden, as on the real disk


def test_faked_encrypted_and_compressed_disks_keep_their_transformation(storage: StorageManager) -> None:
    packed = storage.fake("packed")
    assert isinstance(packed, CompressedFilesystemAdapter)
    lines = b"the same log line, over and over\n" * 500
    packed.put("app.log", lines)
    info = packed.compression_info("app.log")
    assert info.size == len(lines) and info.stored_size < len(lines)
    sealed = packed.below()
    assert isinstance(sealed, EncryptedFilesystemAdapter)
    stored = packed.below("s3").get("app.log")
    assert b"log line" not in stored, "the base of the fake's stack holds ciphertext"
    storage.restore("packed")
    fake = storage.fake("sealed")
    assert isinstance(fake, EncryptedFilesystemAdapter)
    fake.put("secret.txt", b"s3cr3t")
    assert fake.rotate("secret.txt") is False  # written with the newest key already
    assert b"s3cr3t" not in fake.below().get("secret.txt")


def test_a_faked_cached_disk_caches_in_memory_over_a_faked_stack(storage: StorageManager) -> None:
    fake = storage.fake("remote")  # configured with a Redis that is not there: the fake never connects
    assert isinstance(fake, CachedFilesystemAdapter)
    fake.put("a.txt", b"cached")
    assert fake.get("a.txt") == b"cached"
    assert fake.cache_stats()["hits"] + fake.cache_stats()["misses"] >= 1
    fake.clear_cache()
    versioned = fake.below()
    assert isinstance(versioned, VersionedFilesystemAdapter) and len(versioned.versions("a.txt")) == 1


def test_a_faked_cdn_disk_records_invalidations_instead_of_calling_the_cdn(storage: StorageManager) -> None:
    fake = storage.fake("edge")
    fake.put("img/logo.png", b"png")
    assert fake.url("img/logo.png") == "https://cdn.example/img/logo.png"
    assert fake.origin_url("img/logo.png") == "https://files.example/img/logo.png"  # type: ignore[attr-defined]
    fake.flush()  # type: ignore[attr-defined]
    assert fake.invalidated == [["/img/logo.png"]]


def test_a_faked_audited_disk_writes_its_trail_to_a_faked_trail(storage: StorageManager) -> None:
    fake = storage.fake("trailed")
    fake.put("a.txt", b"x")
    assert fake.flush()  # type: ignore[attr-defined]
    records = list(fake.trail())  # type: ignore[attr-defined]
    assert [(record["operation"], record["path"]) for record in records] == [("write", "a.txt")]
    assert fake.below("backup").all_files() != []


def test_a_faked_read_only_disk_refuses_writes_and_is_seeded_below(storage: StorageManager) -> None:
    fake = storage.fake("frozen")
    with pytest.raises(ReadOnlyDisk):
        fake.put("a.txt", b"x")
    fake.below().put("a.txt", b"seeded")
    fake.assert_exists("a.txt", content="seeded")


def test_disks_over_a_faked_decorator_disk_follow_it_and_restore_brings_the_real_stack_back(
    storage: StorageManager, tmp_path: Path
) -> None:
    real = storage.disk("history")
    fake = storage.fake("history")
    storage.disk("fast").put("through.txt", b"to the fake")  # "fast" is cached(history), rebuilt over the fake
    fake.assert_exists("through.txt", content="to the fake")
    storage.restore("history")
    restored = storage.disk("history")
    assert restored is real and not restored.exists("through.txt")


def test_a_local_stacked_fake_has_its_files_in_temporary_directories_removed_on_restore(
    storage: StorageManager,
) -> None:
    fake = storage.fake("once", local=True)
    fake.put("a.txt", b"x")
    base = fake.below()
    root = Path(base.path("a.txt")).parent
    assert root.is_dir() and (root / ".flystore-dedup").is_dir()
    storage.restore("once")
    assert not root.exists()


def test_a_persistent_fake_of_a_decorator_disk_keeps_its_versions(storage: StorageManager) -> None:
    fake = storage.persistent_fake("history")
    fake.put("a.txt", b"1")
    storage.restore()
    again = storage.persistent_fake("history")
    again.put("a.txt", b"2")
    assert again is fake and len(again.versions("a.txt")) == 2  # type: ignore[attr-defined]


def test_a_wrong_decorator_configuration_fails_the_fake_as_it_would_fail_the_disk(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"s3": {"driver": "memory"},
                                        "sealed": {"driver": "encrypted", "disk": "s3", "key": "short"}}})
    with pytest.raises(InvalidConfiguration):
        manager.fake("sealed")
    assert manager.disk("s3").all_files() == []


# -- the pytest plugin's fixture ---------------------------------------------------------------------------


@pytest.fixture
def global_storage(tmp_path: Path) -> Iterator[Path]:
    Storage.configure(_config(tmp_path))
    yield tmp_path
    Storage.restore()


def test_the_storage_fake_fixture_fakes_a_versioned_and_a_failover_disk(
    global_storage: Path, storage_fake: Any
) -> None:
    history = storage_fake("history")
    ha = storage_fake("ha")
    Storage.disk("history").put("a.txt", b"1")
    Storage.disk("history").put("a.txt", b"2")
    assert [version.size for version in history.versions("a.txt")] == [1, 1]
    Storage.disk("ha").put("b.txt", b"b")
    report = ha.repair()
    assert (report.copied, report.errors) == ({}, {})
    assert ha.below("backup").get("b.txt") == b"b"  # replicated inside the fake's stack
    history.assert_exists("a.txt", content=b"2")
    assert _real_files(global_storage) == []


def test_after_the_fixture_the_real_decorator_disks_are_back(global_storage: Path) -> None:
    disk = Storage.disk("history")
    assert not isinstance(disk, FakeDisk)
    assert type(Storage.disk("ha")) is FailoverFilesystemAdapter
    assert os.path.basename(str(global_storage))


def test_overrides_apply_to_the_disks_under_a_faked_decorator_disk(storage: StorageManager) -> None:
    fake = storage.fake("history", url="https://test.example", visibility="public")
    fake.put("a.txt", b"x")
    assert fake.get_visibility("a.txt") == "public"
    assert fake.url("a.txt") == "https://test.example/a.txt"
    assert fake.below().url("a.txt") == "https://test.example/a.txt"


def test_a_faked_scoped_view_of_a_versioned_disk_keeps_its_versions(storage: StorageManager) -> None:
    manager = StorageManager({"disks": {**storage.config["disks"],
                                        "app": {"driver": "scoped", "disk": "history", "prefix": "app"}}})
    fake = manager.fake("app")
    assert isinstance(fake, ScopedVersionsAdapter)
    fake.put("a.txt", b"1")
    fake.put("a.txt", b"2")
    assert len(fake.versions("a.txt")) == 2
    assert fake.below("s3").file_exists("app/a.txt")
    manager.restore()


def test_a_disk_faked_first_is_the_one_a_later_decorator_fake_writes_to(storage: StorageManager) -> None:
    bucket = storage.fake("s3")
    sealed = storage.fake("sealed")
    assert isinstance(sealed, EncryptedFilesystemAdapter)
    sealed.put("secret.txt", b"attack at dawn")
    assert sealed.below("s3") is bucket  # shared: the test looks at the stored form through its own fake
    stored = bucket.get("secret.txt")
    assert stored.startswith(b"FLYE") and b"attack at dawn" not in stored
    bucket.assert_exists("secret.txt")
    storage.restore("sealed")  # the decorator's fake goes; the s3 fake stays usable, with its file
    bucket.assert_exists("secret.txt").put("after.txt", b"still open")
    assert storage.disk("s3") is bucket


def test_a_decorator_faked_before_its_disk_keeps_its_own(storage: StorageManager) -> None:
    sealed = storage.fake("sealed")
    bucket = storage.fake("s3")
    sealed.put("secret.txt", b"attack at dawn")
    assert sealed.below("s3") is not bucket
    bucket.assert_missing("secret.txt")

"""The versioned disk nested with others: over encrypted, over scoped S3 (native), and read through disk.fs."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pandas as pd  # type: ignore[import-untyped]  # a test dependency: missing fails collection
import pytest

from flystore import IntegrityError, StorageManager, VersionedFilesystemAdapter
from tests.contract_fixtures import temporary_bucket
from tests.drivers.test_s3 import CREDENTIALS, raw_client


def test_versions_over_an_encrypted_disk_are_encrypted_too() -> None:
    manager = StorageManager({"disks": {
        "m": {"driver": "memory"},
        "e": {"driver": "encrypted", "disk": "m", "key": os.urandom(32)},
        "v": {"driver": "versioned", "disk": "e"},
    }})
    disk: Any = manager.disk("v")
    secret = b"the launch code is 0000"
    disk.put("plan.txt", secret)
    disk.put("plan.txt", b"nothing to see")
    disk.delete("plan.txt")
    raw = manager.disk("m")
    stored = raw.all_files()
    assert len(stored) == 3 and all(path.startswith(".flystore-versions/plan.txt/~") for path in stored)
    assert not any(secret in raw.get(path) for path in stored)
    marker, newer, older = disk.versions("plan.txt")
    assert (older.size, newer.size, marker.is_deleted) == (len(secret), 14, True)  # plaintext sizes
    assert disk.get_version("plan.txt", older.id) == secret
    disk.restore_version("plan.txt", older.id)
    assert disk.get("plan.txt") == secret
    # A record is bound to its own name: one swapped for another fails authentication.
    first, second = sorted(path for path in raw.all_files() if not path.endswith(".deleted"))[:2]
    raw.put(first, raw.get(second))
    with pytest.raises(IntegrityError) as caught:
        disk.get_version("plan.txt", first.rsplit("~", 1)[1])
    assert caught.value.path == "plan.txt" and caught.value.disk == "v"
    assert ".flystore-versions" not in str(caught.value)
    swapped = first.rsplit("~", 1)[1]
    with pytest.raises(IntegrityError) as caught, disk.read_stream_version("plan.txt", swapped) as stream:
        stream.read()
    assert caught.value.path == "plan.txt" and ".flystore-versions" not in str(caught.value)


@pytest.fixture
def versioned_bucket(s3_endpoint: str) -> Iterator[str]:
    with temporary_bucket(s3_endpoint, "flystore-v", versioned=True) as name:
        yield name


def test_native_versions_reach_s3_through_scoped_layers(s3_endpoint: str, versioned_bucket: str) -> None:
    manager = StorageManager({"disks": {
        "s3": {"driver": "s3", "bucket": versioned_bucket, "prefix": "root", "endpoint": s3_endpoint, **CREDENTIALS},
        "tenants": {"driver": "scoped", "disk": "s3", "prefix": "tenants"},
        "acme": {"driver": "scoped", "disk": "tenants", "prefix": "acme"},
        "v": {"driver": "versioned", "disk": "acme"},
    }})
    disk = manager.disk("v")
    assert isinstance(disk, VersionedFilesystemAdapter) and disk.versioning == "s3"
    disk.put("a.txt", "one")
    disk.put("a.txt", "two")
    disk.put("a.txt.bak", "a neighbour whose key starts the same")
    disk.delete("a.txt")
    client = raw_client(s3_endpoint)
    try:
        listed = client.list_object_versions(Bucket=versioned_bucket, Prefix="root/tenants/acme/a.txt")
        keys = {item["Key"] for item in [*listed["Versions"], *listed["DeleteMarkers"]]}
        assert keys == {"root/tenants/acme/a.txt", "root/tenants/acme/a.txt.bak"}
        marker, two, one = disk.versions("a.txt")
        assert marker.is_deleted and marker.is_latest
        assert [disk.get_version("a.txt", version.id) for version in (two, one)] == [b"two", b"one"]
        assert two.checksum is not None and two.checksum.startswith("md5:")
        assert not client.list_objects_v2(Bucket=versioned_bucket, Prefix="root/.flystore-versions").get("Contents")
        disk.restore_version("a.txt", one.id)
        assert disk.get("a.txt") == b"one"
        assert disk.prune(keep=1) == 3
        assert [version.size for version in disk.versions("a.txt")] == [3]
        assert len(disk.versions("a.txt.bak")) == 1
    finally:
        client.close()
        disk.close()


def test_old_versions_stay_readable_while_pandas_reads_the_current_one_through_disk_fs() -> None:
    manager = StorageManager({"disks": {"m": {"driver": "memory"}, "v": {"driver": "versioned", "disk": "m"}}})
    disk: Any = manager.disk("v")
    with disk.fs.open("table.csv", "wb") as handle:
        handle.write(b"n,square\n1,1\n2,4\n")
    with disk.fs.open("table.csv", "wb") as handle:
        pd.DataFrame({"n": [3], "square": [9]}).to_csv(handle, index=False)
    with disk.fs.open("table.csv", "rb") as handle:
        assert pd.read_csv(handle)["square"].tolist() == [9]
    assert disk.fs.ls("", detail=False) == ["table.csv"]
    older = disk.versions("table.csv")[1]
    assert disk.get_version("table.csv", older.id) == b"n,square\n1,1\n2,4\n"


def test_the_version_methods_are_coroutines_on_the_async_twin() -> None:
    manager = StorageManager({"disks": {"m": {"driver": "memory"}, "v": {"driver": "versioned", "disk": "m"}}})
    twin = manager.disk("v").aio

    async def scenario() -> list[bytes]:
        await twin.put("a.txt", "one")
        await twin.put("a.txt", "two")
        await twin.delete("a.txt")
        versions = await twin.versions("a.txt")
        await twin.restore_version("a.txt", versions[-1].id)
        pruned = await twin.prune(keep=1)
        assert pruned == 3
        contents = [await twin.get_version("a.txt", version.id) for version in await twin.versions("a.txt")]
        return [await twin.get("a.txt"), *contents]

    assert asyncio.run(scenario()) == [b"one", b"one"]


def test_versioned_over_compressed_over_encrypted_as_the_issue_stacks_them() -> None:
    manager = StorageManager({"disks": {
        "m": {"driver": "memory"},
        "e": {"driver": "encrypted", "disk": "m", "key": os.urandom(32)},
        "c": {"driver": "compressed", "disk": "e"},
        "v": {"driver": "versioned", "disk": "c"},
    }})
    disk: Any = manager.disk("v")
    text = b"all work and no play " * 2000
    disk.put("a.txt", text)
    disk.put("a.txt", b"short")
    disk.delete("a.txt")
    marker, short, long = disk.versions("a.txt")
    assert (marker.is_deleted, short.size, long.size) == (True, 5, len(text))  # sizes a listing left to a stat
    with disk.read_stream_version("a.txt", long.id, chunk_size=10_000) as stream:
        assert b"".join(stream) == text
    disk.restore_version("a.txt", long.id)
    assert disk.get("a.txt") == text and disk.all_files() == ["a.txt"]
    assert all(b"all work" not in manager.disk("m").get(path) for path in manager.disk("m").all_files())


def test_over_a_deduplicated_disk_a_version_and_the_current_file_share_one_blob() -> None:
    manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                        "d": {"driver": "deduplicated", "disk": "m"},
                                        "v": {"driver": "versioned", "disk": "d"}}})
    disk: Any = manager.disk("v")
    disk.put("a.txt", "same bytes")
    disk.put("b.txt", "same bytes")
    disk.put("a.txt", "other bytes")
    stats = manager.disk("d").stats()  # type: ignore[attr-defined]
    assert stats.files == 5  # three records and two current files ...
    assert stats.logical_bytes == 3 * len("same bytes") + 2 * len("other bytes")
    assert stats.physical_bytes == len("same bytes") + len("other bytes")  # ... but each content once
    assert [disk.get_version("a.txt", v.id) for v in disk.versions("a.txt")] == [b"other bytes", b"same bytes"]

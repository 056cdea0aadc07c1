"""Versions on S3 (moto) in the corners: checksums under byte-changing decorators, a suspended bucket."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from flystore import InvalidConfiguration, StorageManager, VersionedFilesystemAdapter
from tests.drivers.test_s3 import CREDENTIALS, raw_client
from tests.versioned_support import remove_versioned_bucket


@pytest.fixture
def client(s3_endpoint: str) -> Iterator[Any]:
    made = raw_client(s3_endpoint)
    yield made
    made.close()


@pytest.fixture
def bucket(client: Any) -> Iterator[str]:
    name = f"flystore-edges-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name)
    yield name
    remove_versioned_bucket(client, name)


def _versioned(manager: StorageManager, name: str) -> VersionedFilesystemAdapter:
    disk = manager.disk(name)
    assert isinstance(disk, VersionedFilesystemAdapter)
    return disk


def test_a_versions_checksum_is_of_its_content_never_of_the_bytes_a_decorator_stored(
    s3_endpoint: str, bucket: str
) -> None:
    manager = StorageManager({"disks": {
        "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, **CREDENTIALS},
        "sealed": {"driver": "encrypted", "disk": "s3", "key": os.urandom(32)},
        "packed": {"driver": "compressed", "disk": "s3"},
        "plain": {"driver": "versioned", "disk": "s3"},
        "v-sealed": {"driver": "versioned", "disk": "sealed"},
        "v-packed": {"driver": "versioned", "disk": "packed"},
    }})
    contents = [b"first " * 50, b"second"]
    for name in ("plain", "v-sealed", "v-packed"):
        disk = _versioned(manager, name)
        assert disk.versioning == "layout"  # the bucket has no versioning
        for content in contents:
            disk.put(f"{name}/a.txt", content)
        newest, oldest = disk.versions(f"{name}/a.txt")
        assert (newest.size, oldest.size) == (len(contents[1]), len(contents[0]))  # the content's sizes
        if name == "plain":  # S3's ETag of the record is the content's MD5
            assert (newest.checksum, oldest.checksum) == tuple(
                f"md5:{hashlib.md5(content).hexdigest()}" for content in reversed(contents))
        else:  # the ETag is of ciphertext or a frame: no checksum rather than a wrong one
            assert (newest.checksum, oldest.checksum) == (None, None)
    manager.configure({"disks": {}})


def test_a_bucket_whose_versioning_is_suspended_while_the_disk_runs_moves_it_to_the_layout(
    s3_endpoint: str, bucket: str, client: Any
) -> None:
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    manager = StorageManager({"disks": {
        "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, **CREDENTIALS},
        "v": {"driver": "versioned", "disk": "s3"},
        "strict": {"driver": "versioned", "disk": "s3", "mode": "native"},
    }})
    disk, strict = _versioned(manager, "v"), _versioned(manager, "strict")
    disk.put("x.txt", "enabled")
    assert disk.versioning == strict.versioning == "s3"
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    for backend in (disk.backend, strict.backend):
        backend.recheck_after = 0  # type: ignore[attr-defined]  # the next call asks the bucket again
    disk.put("x.txt", "suspended 1")
    disk.put("x.txt", "suspended 2")
    assert disk.versioning == "layout"
    kept = [disk.get_version("x.txt", version.id) for version in disk.versions("x.txt")]
    assert kept == [b"suspended 2", b"suspended 1", b"enabled"]  # S3's null version replaced nothing
    with pytest.raises(InvalidConfiguration, match="versioning is not enabled"):
        strict.put("y.txt", "refused")
    assert not disk.file_exists("y.txt")
    manager.configure({"disks": {}})


@pytest.mark.parametrize("native", [True, False])
def test_a_scoped_disks_prune_leaves_a_file_named_like_its_prefix_alone(
    s3_endpoint: str, bucket: str, client: Any, native: bool
) -> None:
    if native:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    manager = StorageManager({"disks": {
        "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, **CREDENTIALS},
        "v": {"driver": "versioned", "disk": "s3"},
        "acme": {"driver": "scoped", "disk": "v", "prefix": "acme"},
    }})
    disk, acme = _versioned(manager, "v"), manager.disk("acme")
    assert disk.versioning == ("s3" if native else "layout")
    for number in range(3):
        disk.put("acme", f"a file beside the directory, {number}")  # object stores allow both
        acme.put("inside.txt", str(number))
    assert acme.prune(keep=1) == 2  # type: ignore[attr-defined]
    assert len(disk.versions("acme")) == 3 and len(disk.versions("acme/inside.txt")) == 1
    manager.configure({"disks": {}})

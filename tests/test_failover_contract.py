"""The whole DiskContract through the failover disk: over memory (failover only and replicated)
and over s3 (moto) + memory, replicated.

After each test of a replicated class, every replica must hold the same files as the
disk shows (nothing reached one replica and not the other).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.decorators.failover import FailoverFilesystemAdapter
from flystore.testing import DiskContract

CREDENTIALS = {"key": "testing", "secret": "testing", "region": "us-east-1"}


def _assert_replicas_agree(disk: FailoverFilesystemAdapter) -> None:
    assert disk.pending() == {}
    listings = {member.name: member.all_files() for member in disk.disks}
    first, *others = listings.values()
    assert all(listing == first for listing in others), listings
    for path in first:
        sizes = {member.name: member.size(path) for member in disk.disks}
        assert len(set(sizes.values())) == 1, (path, sizes)


class TestFailoverOverMemory(DiskContract):
    stateful_examples = 6
    stateful_steps = 12

    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "a": {"driver": "memory"},
            "b": {"driver": "memory"},
            "f": {"driver": "failover", "disks": ["a", "b"]},
        }})
        yield manager.disk("f")
        assert manager.disk("b").all_files() == []  # the fallback was never needed


class TestReplicatedFailoverOverMemory(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "a": {"driver": "memory"},
            "b": {"driver": "memory"},
            "c": {"driver": "memory"},
            "f": {"driver": "failover", "disks": ["a", "b", "c"], "replicate": True, "write_quorum": 2},
        }})
        disk = manager.disk("f")
        yield disk
        assert isinstance(disk, FailoverFilesystemAdapter)
        _assert_replicas_agree(disk)


@pytest.fixture(scope="class")
def s3_bucket(s3_endpoint: str) -> Iterator[str]:
    from tests.drivers.test_s3 import raw_client, remove_bucket

    name = f"failover-contract-{uuid.uuid4().hex[:12]}"
    client: Any = raw_client(s3_endpoint)
    client.create_bucket(Bucket=name)
    yield name
    remove_bucket(client, name)
    client.close()


class TestReplicatedFailoverOverS3AndMemory(DiskContract):
    stateful_examples = 4
    stateful_steps = 10

    @pytest.fixture
    def disk(self, s3_endpoint: str, s3_bucket: str) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "s3": {"driver": "s3", "bucket": s3_bucket, "prefix": uuid.uuid4().hex, "endpoint": s3_endpoint,
                   **CREDENTIALS},
            "memory": {"driver": "memory"},
            "f": {"driver": "failover", "disks": ["s3", "memory"], "replicate": True},
        }})
        disk = manager.disk("f")
        yield disk
        assert isinstance(disk, FailoverFilesystemAdapter)
        _assert_replicas_agree(disk)
        manager.configure({"disks": {}})


class TestFailoverAmongOtherDecorators(DiskContract):
    """cached(failover(scoped(memory), encrypted(memory)), replicated): failover nests both ways."""

    stateful_examples = 6
    stateful_steps = 12

    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "m1": {"driver": "memory"},
            "m2": {"driver": "memory"},
            "near": {"driver": "scoped", "disk": "m1", "prefix": "replica"},
            "far": {"driver": "encrypted", "disk": "m2", "key": "base64:" + "C" * 43 + "="},
            "both": {"driver": "failover", "disks": ["near", "far"], "replicate": True},
            "top": {"driver": "cached", "disk": "both"},
        }})
        yield manager.disk("top")
        both = manager.disk("both")
        assert isinstance(both, FailoverFilesystemAdapter)
        _assert_replicas_agree(both)
        assert all(path.startswith("replica/") for path in manager.disk("m1").all_files())
        for path in manager.disk("m2").all_files():  # only ciphertext on the encrypted replica
            plain, raw = manager.disk("near").get(path), manager.disk("m2").get(path)
            assert raw != plain and (len(plain) < 8 or plain not in raw), path  # short ones can occur by chance

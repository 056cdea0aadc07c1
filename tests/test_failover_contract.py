"""The whole DiskContract through the failover disk: over memory (failover only and replicated)
and over s3 (moto) + memory, replicated.

After each test of a replicated class, every replica must hold the same files as the
disk shows (nothing reached one replica and not the other).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.decorators.failover import FailoverFilesystemAdapter
from flystore.testing import DiskContract
from tests.contract_fixtures import ConfiguredContract, Disks, S3Contract


def _assert_replicas_agree(disk: FilesystemAdapter) -> None:
    assert isinstance(disk, FailoverFilesystemAdapter)
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


class TestReplicatedFailoverOverMemory(ConfiguredContract):
    @pytest.fixture
    def layers(self) -> Disks:
        return {
            "a": {"driver": "memory"},
            "b": {"driver": "memory"},
            "c": {"driver": "memory"},
            "f": {"driver": "failover", "disks": ["a", "b", "c"], "replicate": True, "write_quorum": 2},
        }

    def verify(self, disk: FilesystemAdapter) -> None:
        _assert_replicas_agree(disk)


class TestReplicatedFailoverOverS3AndMemory(S3Contract):
    stateful_examples = 4
    stateful_steps = 10

    @pytest.fixture
    def layers(self) -> Disks:
        return {
            "memory": {"driver": "memory"},
            "f": {"driver": "failover", "disks": ["s3", "memory"], "replicate": True},
        }

    def verify(self, disk: FilesystemAdapter) -> None:
        _assert_replicas_agree(disk)


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
        _assert_replicas_agree(manager.disk("both"))
        assert all(path.startswith("replica/") for path in manager.disk("m1").all_files())
        for path in manager.disk("m2").all_files():  # only ciphertext on the encrypted replica
            plain, raw = manager.disk("near").get(path), manager.disk("m2").get(path)
            assert raw != plain and (len(plain) < 8 or plain not in raw), path  # short ones can occur by chance

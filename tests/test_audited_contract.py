"""The whole DiskContract through the audited decorator: memory, scoped(audited(local)), encrypted over it, s3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flystore import FilesystemAdapter
from flystore.testing import DiskContract
from tests.contract_fixtures import ConfiguredContract, Disks, S3Contract
from tests.test_audited import audited


class TestAuditedMemoryDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        _, disk = audited()
        yield disk
        disk.close()


class TestScopedOverAuditedLocal(ConfiguredContract):
    """scoped(audited(local)) with the trail on its own local disk."""

    @pytest.fixture
    def layers(self, tmp_path: Path) -> Disks:
        return {
            "local": {"driver": "local", "root": str(tmp_path / "files")},
            "trail": {"driver": "local", "root": str(tmp_path / "trail")},
            "audited": {"driver": "audited", "disk": "local", "trail": "trail", "flush_interval": 0.05},
            "scoped": {"driver": "scoped", "disk": "audited", "prefix": "app"},
        }


class TestEncryptedOverAuditedMemory(ConfiguredContract):
    """encrypted(audited(memory)): the ciphertext's reads go through the recorded handles (seeks, readinto)."""

    stateful_examples = 6

    @pytest.fixture
    def layers(self) -> Disks:
        return {
            "files": {"driver": "memory"},
            "trail": {"driver": "memory"},
            "audited": {"driver": "audited", "disk": "files", "trail": "trail"},
            "secure": {"driver": "encrypted", "disk": "audited", "key": b"k" * 32},
        }


class TestAuditedS3Disk(S3Contract):
    stateful_examples = 3
    stateful_steps = 6

    @pytest.fixture
    def layers(self) -> Disks:
        return {"trail": {"driver": "memory"}, "a": {"driver": "audited", "disk": "s3", "trail": "trail"}}

"""The whole DiskContract through the audited decorator: memory, scoped(audited(local)), encrypted over it, s3."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.testing import DiskContract
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket
from tests.test_audited import audited


class TestAuditedMemoryDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        _, disk = audited()
        yield disk
        disk.close()


class TestScopedOverAuditedLocal(DiskContract):
    """scoped(audited(local)) with the trail on its own local disk."""

    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "local": {"driver": "local", "root": str(tmp_path / "files")},
            "trail": {"driver": "local", "root": str(tmp_path / "trail")},
            "audited": {"driver": "audited", "disk": "local", "trail": "trail", "flush_interval": 0.05},
            "scoped": {"driver": "scoped", "disk": "audited", "prefix": "app"},
        }})
        yield manager.disk("scoped")
        manager.disk("audited").close()


class TestEncryptedOverAuditedMemory(DiskContract):
    """encrypted(audited(memory)): the ciphertext's reads go through the recorded handles (seeks, readinto)."""

    stateful_examples = 6

    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "files": {"driver": "memory"},
            "trail": {"driver": "memory"},
            "audited": {"driver": "audited", "disk": "files", "trail": "trail"},
            "secure": {"driver": "encrypted", "disk": "audited", "key": b"k" * 32},
        }})
        yield manager.disk("secure")
        manager.disk("audited").close()


class TestAuditedS3Disk(DiskContract):
    stateful_examples = 3
    stateful_steps = 6

    @pytest.fixture(scope="class")
    def bucket(self, s3_endpoint: str) -> Iterator[str]:
        name = f"flystore-{uuid.uuid4().hex[:16]}"
        client: Any = raw_client(s3_endpoint)
        client.create_bucket(Bucket=name)
        yield name
        remove_bucket(client, name)
        client.close()

    @pytest.fixture
    def disk(self, s3_endpoint: str, bucket: str) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "s3": {"driver": "s3", "bucket": bucket, "prefix": uuid.uuid4().hex, "endpoint": s3_endpoint,
                   **CREDENTIALS},
            "trail": {"driver": "memory"},
            "a": {"driver": "audited", "disk": "s3", "trail": "trail"},
        }})
        disk = manager.disk("a")
        yield disk
        disk.close()
        manager.disk("s3").close()

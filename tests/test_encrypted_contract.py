"""The whole DiskContract through the encrypted decorator: over memory, local, s3 (moto) and scoped nesting."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.testing import DiskContract
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket

KEY = os.urandom(32)


class TestEncryptedMemoryDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                            "e": {"driver": "encrypted", "disk": "m", "key": KEY}}})
        yield manager.disk("e")


class TestEncryptedLocalDisk(DiskContract):
    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "e": {"driver": "encrypted", "disk": "local", "keys": [os.urandom(32), KEY]},
        }})
        yield manager.disk("e")


class TestScopedOverEncryptedOverScopedLocal(DiskContract):
    """scoped(encrypted(scoped(local))): the decorator nests under and over another."""

    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "inner": {"driver": "scoped", "disk": "local", "prefix": "tenant"},
            "e": {"driver": "encrypted", "disk": "inner", "key": KEY},
            "outer": {"driver": "scoped", "disk": "e", "prefix": "app"},
        }})
        yield manager.disk("outer")


class TestEncryptedS3Disk(DiskContract):
    stateful_examples = 5
    stateful_steps = 10

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
        prefix = uuid.uuid4().hex
        manager = StorageManager({"disks": {
            "s3": {"driver": "s3", "bucket": bucket, "prefix": prefix, "endpoint": s3_endpoint, **CREDENTIALS},
            "e": {"driver": "encrypted", "disk": "s3", "key": KEY},
        }})
        disk = manager.disk("e")
        yield disk
        disk.close()

"""The whole DiskContract through the deduplicated decorator: memory, local, s3, and over compressed(encrypted)."""

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


class TestDeduplicatedMemoryDisk(DiskContract):
    stateful_examples = 6

    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                            "d": {"driver": "deduplicated", "disk": "m"}}})
        yield manager.disk("d")


class TestDeduplicatedLocalDisk(DiskContract):
    stateful_examples = 6

    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "d": {"driver": "deduplicated", "disk": "local", "grace": 60},
        }})
        yield manager.disk("d")


class TestDeduplicatedOverCompressedOverEncrypted(DiskContract):
    """deduplicated(compressed(encrypted(local))): blobs are compressed, then encrypted."""

    stateful_examples = 4

    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "e": {"driver": "encrypted", "disk": "local", "key": KEY},
            "z": {"driver": "compressed", "disk": "e", "frame_size": 8192},
            "d": {"driver": "deduplicated", "disk": "z"},
        }})
        yield manager.disk("d")


class TestDeduplicatedS3Disk(DiskContract):
    stateful_examples = 2
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
        manager = StorageManager({"disks": {
            "s3": {"driver": "s3", "bucket": bucket, "prefix": uuid.uuid4().hex, "endpoint": s3_endpoint,
                   **CREDENTIALS},
            "d": {"driver": "deduplicated", "disk": "s3"},
        }})
        disk = manager.disk("d")
        yield disk
        disk.close()

"""The whole DiskContract through the compressed decorator: memory (zstd), local (gzip), s3, and over encrypted."""

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


class TestCompressedMemoryDisk(DiskContract):
    stateful_examples = 6

    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                            "z": {"driver": "compressed", "disk": "m", "frame_size": 4096}}})
        yield manager.disk("z")


class TestGzipCompressedLocalDisk(DiskContract):
    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "z": {"driver": "compressed", "disk": "local", "codec": "gzip", "level": 1},
        }})
        yield manager.disk("z")


class TestCompressedOverEncryptedLocal(DiskContract):
    """compressed(encrypted(local)): compress first, then encrypt (ciphertext does not compress)."""

    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "e": {"driver": "encrypted", "disk": "local", "key": KEY},
            "z": {"driver": "compressed", "disk": "e", "frame_size": 8192},
        }})
        yield manager.disk("z")


class TestCompressedS3Disk(DiskContract):
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
            "z": {"driver": "compressed", "disk": "s3"},
        }})
        disk = manager.disk("z")
        yield disk
        disk.close()

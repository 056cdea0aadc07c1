"""The whole DiskContract through the versioned decorator: memory, local, native S3 (moto), and nested."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flystore import FilesystemAdapter, StorageManager, VersionedFilesystemAdapter
from flystore.testing import DiskContract
from tests.contract_fixtures import temporary_bucket
from tests.drivers.test_s3 import CREDENTIALS


class TestVersionedMemoryDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                            "v": {"driver": "versioned", "disk": "m"}}})
        yield manager.disk("v")


class TestVersionedLocalDisk(DiskContract):
    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path / "root")},
                                            "v": {"driver": "versioned", "disk": "local"}}})
        yield manager.disk("v")


class TestScopedOverVersionedOverEncryptedMemory(DiskContract):
    """scoped(versioned(encrypted(memory))): the layout nests under and over other decorators."""

    stateful_examples = 6

    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "m": {"driver": "memory"},
            "e": {"driver": "encrypted", "disk": "m", "key": os.urandom(32)},
            "v": {"driver": "versioned", "disk": "e"},
            "outer": {"driver": "scoped", "disk": "v", "prefix": "app"},
        }})
        yield manager.disk("outer")


class TestVersionedNativeS3Disk(DiskContract):
    stateful_examples = 3
    stateful_steps = 6

    @pytest.fixture(scope="class")
    @classmethod
    def bucket(cls, s3_endpoint: str) -> Iterator[str]:
        with temporary_bucket(s3_endpoint, "flystore-v", versioned=True) as name:
            yield name

    @pytest.fixture(scope="class")
    @classmethod
    def s3(cls, s3_endpoint: str, bucket: str) -> Iterator[StorageManager]:
        # One S3 client for the class; each test gets a fresh prefix through a scoped layer,
        # which the versioned disk looks through to the bucket's own versions.
        manager = StorageManager({"disks": {"s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint,
                                                   **CREDENTIALS}}})
        yield manager
        manager.disk("s3").close()

    @pytest.fixture
    def disk(self, s3: StorageManager) -> Iterator[FilesystemAdapter]:
        scoped = s3.build({"driver": "scoped", "disk": "s3", "prefix": uuid.uuid4().hex})
        disk = VersionedFilesystemAdapter(scoped, mode="native", name="v")
        assert disk.versioning == "s3"
        yield disk

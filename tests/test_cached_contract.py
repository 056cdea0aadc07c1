"""The whole DiskContract through the cached decorator: over memory, local and s3 (moto), each store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.testing import DiskContract
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket


class TestCachedMemoryDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {"m": {"driver": "memory"}, "c": {"driver": "cached", "disk": "m"}}})
        yield manager.disk("c")


class TestCachedLocalDiskOnAFilesystemStore(DiskContract):
    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "c": {"driver": "cached", "disk": "local", "store": "filesystem", "path": str(tmp_path / "cache"),
                  "max_bytes": 1024 * 1024},
        }})
        yield manager.disk("c")


class TestCachedS3DiskOnRedis(DiskContract):
    stateful_examples = 5
    stateful_steps = 10

    @pytest.fixture(scope="class")
    def bucket(self, s3_endpoint: str) -> Iterator[str]:
        """One bucket for the class; each test gets an empty disk under its own key prefix."""
        name = f"flystore-{uuid.uuid4().hex[:16]}"
        client: Any = raw_client(s3_endpoint)
        client.create_bucket(Bucket=name)
        yield name
        remove_bucket(client, name)
        client.close()

    @pytest.fixture
    def disk(self, s3_endpoint: str, redis_url: str, bucket: str) -> Iterator[FilesystemAdapter]:
        prefix = uuid.uuid4().hex
        manager = StorageManager({"disks": {
            "s3": {"driver": "s3", "bucket": bucket, "prefix": prefix, "endpoint": s3_endpoint, **CREDENTIALS},
            "c": {"driver": "cached", "disk": "s3", "store": "redis", "redis_url": redis_url,
                  "namespace": f"{prefix}:"},
        }})
        disk = manager.disk("c")
        yield disk
        disk.close()


class TestDeeplyNestedDecorators(DiskContract):
    """cached(cdn(scoped(cached(scoped(memory))))): decorators nest to any depth."""

    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        purged: list[list[str]] = []
        manager = StorageManager({"disks": {
            "m": {"driver": "memory"},
            "s1": {"driver": "scoped", "disk": "m", "prefix": "one"},
            "c1": {"driver": "cached", "disk": "s1"},
            "s2": {"driver": "scoped", "disk": "c1", "prefix": "two"},
            "cdn": {"driver": "cdn", "disk": "s2", "cdn_url": "https://cdn.example", "auto_invalidate": True,
                    "purge": purged.append, "batch_window": 0},
            "top": {"driver": "cached", "disk": "cdn", "store": "memory", "max_bytes": 100_000},
        }})
        yield manager.disk("top")

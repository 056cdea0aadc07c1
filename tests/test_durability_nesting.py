"""The issue's nesting promise: the whole DiskContract over stacks of the durability decorators, from config.

versioned(compressed(encrypted(s3))) on moto, and audited(deduplicated(memory)).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.testing import DiskContract
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket

KEY = os.urandom(32)


class TestVersionedCompressedEncryptedS3(DiskContract):
    """versioned(compressed(encrypted(s3))), the stack the issue names, every layer from configuration."""

    # One long model run: each layer's own contract class runs the model more widely on memory.
    stateful_examples = 1
    stateful_steps = 12

    @pytest.fixture(scope="class")
    def bucket(self, s3_endpoint: str) -> Iterator[str]:
        name = f"flystore-n-{uuid.uuid4().hex[:12]}"
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
            "sealed": {"driver": "encrypted", "disk": "s3", "key": KEY},
            "packed": {"driver": "compressed", "disk": "sealed", "frame_size": 4096},
            "kept": {"driver": "versioned", "disk": "packed"},
        }})
        yield manager.disk("kept")
        manager.forget_disk("kept", "packed", "sealed", "s3")


class TestAuditedDeduplicatedMemory(DiskContract):
    """audited(deduplicated(memory)) with its trail on another memory disk."""

    stateful_examples = 4

    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "m": {"driver": "memory"},
            "trail": {"driver": "memory"},
            "once": {"driver": "deduplicated", "disk": "m"},
            "watched": {"driver": "audited", "disk": "once", "trail": "trail", "flush_interval": 0.05},
        }})
        disk = manager.disk("watched")
        yield disk
        disk.close()

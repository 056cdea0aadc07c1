"""The issue's nesting promise: the whole DiskContract over stacks of the durability decorators, from config.

versioned(compressed(encrypted(s3))) on moto, and audited(deduplicated(memory)).
"""

from __future__ import annotations

import os

import pytest

from tests.contract_fixtures import ConfiguredContract, Disks, S3Contract

KEY = os.urandom(32)


class TestVersionedCompressedEncryptedS3(S3Contract):
    """versioned(compressed(encrypted(s3))), the stack the issue names, every layer from configuration."""

    # One long model run: each layer's own contract class runs the model more widely on memory.
    stateful_examples = 1
    stateful_steps = 12

    @pytest.fixture
    def layers(self) -> Disks:
        return {
            "sealed": {"driver": "encrypted", "disk": "s3", "key": KEY},
            "packed": {"driver": "compressed", "disk": "sealed", "frame_size": 4096},
            "kept": {"driver": "versioned", "disk": "packed"},
        }


class TestAuditedDeduplicatedMemory(ConfiguredContract):
    """audited(deduplicated(memory)) with its trail on another memory disk."""

    stateful_examples = 4

    @pytest.fixture
    def layers(self) -> Disks:
        return {
            "m": {"driver": "memory"},
            "trail": {"driver": "memory"},
            "once": {"driver": "deduplicated", "disk": "m"},
            "watched": {"driver": "audited", "disk": "once", "trail": "trail", "flush_interval": 0.05},
        }

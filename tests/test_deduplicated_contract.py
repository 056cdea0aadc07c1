"""The whole DiskContract through the deduplicated decorator: memory, local, s3, and over compressed(encrypted)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.contract_fixtures import ConfiguredContract, Disks, S3Contract

KEY = os.urandom(32)


class TestDeduplicatedMemoryDisk(ConfiguredContract):
    stateful_examples = 6

    @pytest.fixture
    def layers(self) -> Disks:
        return {"m": {"driver": "memory"}, "d": {"driver": "deduplicated", "disk": "m"}}


class TestDeduplicatedLocalDisk(ConfiguredContract):
    stateful_examples = 6

    @pytest.fixture
    def layers(self, tmp_path: Path) -> Disks:
        return {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "d": {"driver": "deduplicated", "disk": "local", "grace": 60},
        }


class TestDeduplicatedOverCompressedOverEncrypted(ConfiguredContract):
    """deduplicated(compressed(encrypted(local))): blobs are compressed, then encrypted."""

    stateful_examples = 4

    @pytest.fixture
    def layers(self, tmp_path: Path) -> Disks:
        return {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "e": {"driver": "encrypted", "disk": "local", "key": KEY},
            "z": {"driver": "compressed", "disk": "e", "frame_size": 8192},
            "d": {"driver": "deduplicated", "disk": "z"},
        }


class TestDeduplicatedS3Disk(S3Contract):
    stateful_examples = 2
    stateful_steps = 10

    @pytest.fixture
    def layers(self) -> Disks:
        return {"d": {"driver": "deduplicated", "disk": "s3"}}

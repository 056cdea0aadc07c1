"""The whole DiskContract through the encrypted decorator: over memory, local, s3 (moto) and scoped nesting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.contract_fixtures import ConfiguredContract, Disks, S3Contract

KEY = os.urandom(32)


class TestEncryptedMemoryDisk(ConfiguredContract):
    @pytest.fixture
    def layers(self) -> Disks:
        return {"m": {"driver": "memory"}, "e": {"driver": "encrypted", "disk": "m", "key": KEY}}


class TestEncryptedLocalDisk(ConfiguredContract):
    @pytest.fixture
    def layers(self, tmp_path: Path) -> Disks:
        return {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "e": {"driver": "encrypted", "disk": "local", "keys": [os.urandom(32), KEY]},
        }


class TestScopedOverEncryptedOverScopedLocal(ConfiguredContract):
    """scoped(encrypted(scoped(local))): the decorator nests under and over another."""

    @pytest.fixture
    def layers(self, tmp_path: Path) -> Disks:
        return {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "inner": {"driver": "scoped", "disk": "local", "prefix": "tenant"},
            "e": {"driver": "encrypted", "disk": "inner", "key": KEY},
            "outer": {"driver": "scoped", "disk": "e", "prefix": "app"},
        }


class TestEncryptedS3Disk(S3Contract):
    stateful_examples = 5
    stateful_steps = 10

    @pytest.fixture
    def layers(self) -> Disks:
        return {"e": {"driver": "encrypted", "disk": "s3", "key": KEY}}

"""The whole DiskContract through the compressed decorator: memory (zstd), local (gzip), s3, and over encrypted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.contract_fixtures import ConfiguredContract, Disks, S3Contract

KEY = os.urandom(32)


class TestCompressedMemoryDisk(ConfiguredContract):
    stateful_examples = 6

    @pytest.fixture
    def layers(self) -> Disks:
        return {"m": {"driver": "memory"}, "z": {"driver": "compressed", "disk": "m", "frame_size": 4096}}


class TestGzipCompressedLocalDisk(ConfiguredContract):
    @pytest.fixture
    def layers(self, tmp_path: Path) -> Disks:
        return {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "z": {"driver": "compressed", "disk": "local", "codec": "gzip", "level": 1},
        }


class TestCompressedOverEncryptedLocal(ConfiguredContract):
    """compressed(encrypted(local)): compress first, then encrypt (ciphertext does not compress)."""

    @pytest.fixture
    def layers(self, tmp_path: Path) -> Disks:
        return {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "e": {"driver": "encrypted", "disk": "local", "key": KEY},
            "z": {"driver": "compressed", "disk": "e", "frame_size": 8192},
        }


class TestCompressedS3Disk(S3Contract):
    stateful_examples = 2
    stateful_steps = 10

    @pytest.fixture
    def layers(self) -> Disks:
        return {"z": {"driver": "compressed", "disk": "s3"}}

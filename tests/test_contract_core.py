"""The disk contract on the core drivers: memory, local, the fake, scoped and generic fsspec."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.testing import DiskContract


class TestMemoryDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        yield StorageManager({"disks": {"mem": {"driver": "memory"}}}).disk("mem")


class TestLocalDisk(DiskContract):
    stateful_examples = 25

    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        yield StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path / "root")}}}).disk("local")


class TestFakeDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {"s3": {"driver": "memory", "url": "https://cdn.example"}}})
        yield manager.fake("s3")


class TestLocalFakeDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {"local": {"driver": "memory"}}})
        fake = manager.fake("local", local=True)
        yield fake
        manager.restore()


class TestScopedDisk(DiskContract):
    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager(
            {
                "disks": {
                    "base": {"driver": "local", "root": str(tmp_path)},
                    "outer": {"driver": "scoped", "disk": "base", "prefix": "tenants"},
                    "inner": {"driver": "scoped", "disk": "outer", "prefix": "acme"},
                }
            }
        )
        yield manager.disk("inner")


class TestScopedMemoryDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager(
            {"disks": {"m": {"driver": "memory"}, "s": {"driver": "scoped", "disk": "m", "prefix": "p/q"}}}
        )
        yield manager.disk("s")


class TestGenericFsspecMemoryDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {"g": {"driver": "fsspec", "protocol": "memory", "root": "/bucket"}}})
        yield manager.disk("g")

"""The whole DiskContract through the cached decorator: over memory, local and s3 (moto), each store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract_fixtures import ConfiguredContract, Disks, S3Contract


class TestCachedMemoryDisk(ConfiguredContract):
    @pytest.fixture
    def layers(self) -> Disks:
        return {"m": {"driver": "memory"}, "c": {"driver": "cached", "disk": "m"}}


class TestCachedLocalDiskOnAFilesystemStore(ConfiguredContract):
    @pytest.fixture
    def layers(self, tmp_path: Path) -> Disks:
        return {
            "local": {"driver": "local", "root": str(tmp_path / "root")},
            "c": {"driver": "cached", "disk": "local", "store": "filesystem", "path": str(tmp_path / "cache"),
                  "max_bytes": 1024 * 1024},
        }


class TestCachedS3DiskOnRedis(S3Contract):
    stateful_examples = 5
    stateful_steps = 10

    @pytest.fixture
    def layers(self, redis_url: str, s3_config: dict[str, Any]) -> Disks:
        return {"c": {"driver": "cached", "disk": "s3", "store": "redis", "redis_url": redis_url,
                      "namespace": f"{s3_config['prefix']}:"}}


class TestDeeplyNestedDecorators(ConfiguredContract):
    """cached(cdn(scoped(cached(scoped(memory))))): decorators nest to any depth."""

    @pytest.fixture
    def layers(self) -> Disks:
        purged: list[list[str]] = []
        return {
            "m": {"driver": "memory"},
            "s1": {"driver": "scoped", "disk": "m", "prefix": "one"},
            "c1": {"driver": "cached", "disk": "s1"},
            "s2": {"driver": "scoped", "disk": "c1", "prefix": "two"},
            "cdn": {"driver": "cdn", "disk": "s2", "cdn_url": "https://cdn.example", "auto_invalidate": True,
                    "purge": purged.append, "batch_window": 0},
            "top": {"driver": "cached", "disk": "cdn", "store": "memory", "max_bytes": 100_000},
        }

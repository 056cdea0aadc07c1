"""Shared scaffolding of the DiskContract test classes: each contract file states only its disk configuration.

``ConfiguredContract``: the contract over the disk a ``StorageManager`` config builds; a subclass gives
its ``layers`` fixture (a ``disks`` mapping listed bottom-up: the last disk is the one under test).
``S3Contract``: the same with a disk ``"s3"`` on moto below the layers: one bucket per class, a fresh
key prefix per test (the ``s3_config`` fixture, which a layer may read, e.g. for a cache namespace).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.testing import DiskContract
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket
from tests.versioned_support import remove_versioned_bucket

Disks = dict[str, dict[str, Any]]


@contextlib.contextmanager
def temporary_bucket(endpoint: str, name_prefix: str = "flystore", *, versioned: bool = False) -> Iterator[str]:
    """A new bucket on the S3 server at ``endpoint`` (its name), emptied and removed afterwards.

    ``versioned`` turns bucket versioning on; every version and delete marker is removed then.
    """
    name = f"{name_prefix}-{uuid.uuid4().hex[:12]}"
    client: Any = raw_client(endpoint)
    try:
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        yield name
    finally:
        (remove_versioned_bucket if versioned else remove_bucket)(client, name)
        client.close()


def s3_disk_config(endpoint: str, bucket: str, **options: Any) -> dict[str, Any]:
    """The config of an s3 disk on the test server, in ``bucket`` under a fresh key prefix."""
    return {"driver": "s3", "bucket": bucket, "prefix": uuid.uuid4().hex, "endpoint": endpoint, **CREDENTIALS,
            **options}


@contextlib.contextmanager
def built_disk(disks: Disks) -> Iterator[FilesystemAdapter]:
    """The last disk of ``disks`` built by a ``StorageManager``; every disk it built is closed afterwards."""
    manager = StorageManager({"disks": disks})
    try:
        yield manager.disk(list(disks)[-1])
    finally:
        manager.forget_disk(*reversed(disks))


class ConfiguredContract(DiskContract):
    """DiskContract over the last disk of the ``layers`` fixture, built from configuration for each test."""

    @pytest.fixture
    def layers(self) -> Disks:
        """The ``disks`` configuration, bottom-up; a subclass overrides this fixture."""
        raise NotImplementedError(f"{type(self).__name__} states no layers fixture")

    def verify(self, disk: FilesystemAdapter) -> None:
        """What must hold after every test, before the disks close (nothing, unless a subclass says)."""

    @pytest.fixture
    def stack(self, layers: Disks) -> Disks:
        """The whole configuration the disk is built from: the layers alone, here."""
        return layers

    @pytest.fixture
    def disk(self, stack: Disks) -> Iterator[FilesystemAdapter]:
        with built_disk(stack) as disk:
            yield disk
            self.verify(disk)


class S3Contract(ConfiguredContract):
    """ConfiguredContract with a disk ``"s3"`` (moto) below the ``layers``: a bucket per class, a prefix per test."""

    # A classmethod: pytest 9.1 deprecates higher-scoped fixtures bound to a test instance (#10819).
    @pytest.fixture(scope="class")
    @classmethod
    def bucket(cls, s3_endpoint: str) -> Iterator[str]:
        with temporary_bucket(s3_endpoint) as name:
            yield name

    @pytest.fixture
    def s3_config(self, s3_endpoint: str, bucket: str) -> dict[str, Any]:
        return s3_disk_config(s3_endpoint, bucket)

    @pytest.fixture
    def stack(self, s3_config: dict[str, Any], layers: Disks) -> Disks:
        return {"s3": s3_config, **layers}

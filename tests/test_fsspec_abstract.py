"""fsspec's own abstract test classes, run against ``disk.fs`` of every driver (issue 8, item 2).

Each class below only says how to build its disk; the tests are fsspec's.
Tests that cannot pass because of a documented semantic difference
(docs/fsspec.md, "Where disk.fs differs") are listed in ``KNOWN_DIFFERENCES``
and marked ``xfail(strict=True)`` with the reason, so a fix shows up as a failure.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fsspec.tests.abstract import (
    AbstractCopyTests,
    AbstractFixtures,
    AbstractGetTests,
    AbstractOpenTests,
    AbstractPipeTests,
    AbstractPutTests,
)

from flystore import FilesystemAdapter, StorageManager

# test name -> why it cannot pass (the differences docs/fsspec.md lists).
KNOWN_DIFFERENCES: dict[str, str] = {}


class _DiskSuite(
    AbstractFixtures, AbstractCopyTests, AbstractGetTests, AbstractPutTests, AbstractOpenTests, AbstractPipeTests,  # type: ignore[misc]  # fsspec's test classes are untyped
):
    """The abstract suites against ``disk.fs``; subclasses provide ``disk``."""

    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        raise NotImplementedError

    @pytest.fixture
    def fs(self, disk: FilesystemAdapter) -> Any:
        return disk.fs

    @pytest.fixture
    def fs_join(self) -> Any:
        return posixpath.join

    @pytest.fixture
    def fs_path(self, disk: FilesystemAdapter) -> Iterator[str]:
        base = f"abstract-{uuid.uuid4().hex[:8]}"
        yield base
        disk.delete_directory(base)


def _manager(tmp_path: Path, **disks: dict[str, Any]) -> StorageManager:
    return StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path / "root")}, **disks}})


class TestMemoryFs(_DiskSuite):
    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        made = _manager(tmp_path, memory={"driver": "memory"}).disk("memory")
        yield made
        made.close()


class TestLocalFs(_DiskSuite):
    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        made = _manager(tmp_path).disk("local")
        yield made
        made.close()


class TestScopedFs(_DiskSuite):
    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        made = _manager(tmp_path, scoped={"driver": "scoped", "disk": "local", "prefix": "tenant/a"}).disk("scoped")
        yield made
        made.close()


class TestEncryptedFs(_DiskSuite):
    """encrypted(memory): sizes, ranges and listings are the plaintext's, through fsspec's own tests."""

    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        made = _manager(tmp_path, memory={"driver": "memory"},
                        sealed={"driver": "encrypted", "disk": "memory", "key": os.urandom(32)}).disk("sealed")
        yield made
        made.close()


class TestCachedFs(_DiskSuite):
    """cached(memory): every answer fsspec checks after a write comes through the cache that write updated."""

    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        made = _manager(tmp_path, memory={"driver": "memory"}, fast={"driver": "cached", "disk": "memory"}).disk("fast")
        yield made
        made.close()


# -- remote drivers: one disk (one bucket, container or server root) per class, on loopback servers --

class _RemoteSuite(_DiskSuite):
    """The same suites on a server, with the glob edge cases' source tree built once per class.

    fsspec builds that tree (10 files, 4 directories) before each of the 96 cases and removes it
    after; the copy and get cases only read it, so here it is class-scoped (the tests are fsspec's,
    unchanged). The put cases read a local tree, which stays per test.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def fs_glob_edge_cases_files(cls, disk: FilesystemAdapter) -> Iterator[str]:
        base = f"glob-{uuid.uuid4().hex[:8]}"
        # fsspec's tree builder is an instance method that reads no instance state.
        source = cls()._glob_edge_cases_files(disk.fs, posixpath.join, base)
        yield source
        disk.delete_directory(base)


def _closing(manager: StorageManager, name: str) -> Iterator[FilesystemAdapter]:
    made = manager.disk(name)
    yield made
    manager.configure({"disks": {}})  # closes the disks it built


class TestS3Fs(_RemoteSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def disk(cls, s3_endpoint: str) -> Iterator[FilesystemAdapter]:
        config = {"driver": "s3", "bucket": f"fsspec-{uuid.uuid4().hex[:12]}", "endpoint": s3_endpoint,
                  "key": "testing", "secret": "testing", "region": "us-east-1", "create_bucket": True}
        yield from _closing(StorageManager({"disks": {"s3": config}}), "s3")


class TestGcsFs(_RemoteSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def disk(cls, gcs_endpoint: str) -> Iterator[FilesystemAdapter]:
        config = {"driver": "gcs", "bucket": f"fsspec-{uuid.uuid4().hex[:12]}", "endpoint": gcs_endpoint,
                  "token": "anon", "project_id": "test", "create_bucket": True}
        yield from _closing(StorageManager({"disks": {"gcs": config}}), "gcs")


class TestAzureFs(_RemoteSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def disk(cls, azure_connection_string: str) -> Iterator[FilesystemAdapter]:
        config = {"driver": "azure", "connection_string": azure_connection_string,
                  "container": f"fsspec-{uuid.uuid4().hex[:12]}", "create_container": True}
        yield from _closing(StorageManager({"disks": {"az": config}}), "az")


def _remote(driver: str, server: dict[str, Any]) -> Iterator[FilesystemAdapter]:
    from tests.drivers.remote_fixtures import disk_config

    root_name = f"fsspec-{uuid.uuid4().hex[:12]}"
    Path(server["root"], root_name).mkdir()
    root = root_name if driver == "webdav" else f"/{root_name}"
    yield from _closing(StorageManager({"disks": {driver: disk_config(driver, server, root)}}), driver)


class TestFtpFs(_RemoteSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def disk(cls, ftp_server: dict[str, Any]) -> Iterator[FilesystemAdapter]:
        yield from _remote("ftp", ftp_server)


class TestSftpFs(_RemoteSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def disk(cls, sftp_server: dict[str, Any]) -> Iterator[FilesystemAdapter]:
        yield from _remote("sftp", sftp_server)


class TestWebdavFs(_RemoteSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def disk(cls, webdav_server: dict[str, Any]) -> Iterator[FilesystemAdapter]:
        yield from _remote("webdav", webdav_server)

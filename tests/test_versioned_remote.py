"""The layout on the other drivers (FTP, SFTP, WebDAV, GCS and Azure servers on loopback)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager, VersionedFilesystemAdapter
from tests.drivers.remote_fixtures import Remote

PATH = "docs/~draft.txt"  # a "~" segment, escaped in the tree


def _life_of_a_file(disk: VersionedFilesystemAdapter) -> None:
    assert disk.versioning == "layout"
    disk.put(PATH, "one")
    disk.put(PATH, "two")
    disk.delete(PATH)
    marker, two, one = disk.versions(PATH)
    assert marker.is_deleted and marker.is_latest and (two.size, one.size) == (3, 3)
    assert [disk.get_version(PATH, version.id) for version in (two, one)] == [b"two", b"one"]
    disk.restore_version(PATH, one.id)
    assert disk.get(PATH) == b"one"
    assert disk.all_files() == [PATH]
    assert disk.directories() == ["docs"]


def test_the_layout_keeps_versions_on_ftp_sftp_and_webdav(remote: Remote) -> None:
    disk = VersionedFilesystemAdapter(remote.disk, name="v")
    _life_of_a_file(disk)
    # On the server, the tree is beside the data.
    records = os.listdir(remote.real(".flystore-versions", "docs", "~~draft.txt"))
    assert len(records) == 4 and sum(name.endswith(".deleted") for name in records) == 1
    assert disk.prune(keep=1) == 3
    assert len(os.listdir(remote.real(".flystore-versions", "docs", "~~draft.txt"))) == 1


@pytest.fixture(params=["gcs", "azure"])
def cloud(request: pytest.FixtureRequest) -> Iterator[FilesystemAdapter]:
    name = f"flystore-v-{uuid.uuid4().hex[:12]}"
    config: dict[str, Any]
    if request.param == "gcs":
        config = {"driver": "gcs", "bucket": name, "endpoint": request.getfixturevalue("gcs_endpoint"),
                  "token": "anon", "project_id": "test", "create_bucket": True}
    else:
        config = {"driver": "azure", "connection_string": request.getfixturevalue("azure_connection_string"),
                  "container": name, "create_container": True}
    manager = StorageManager({"disks": {"cloud": config}})
    disk = manager.disk("cloud")
    yield disk
    for path in disk.all_files(""):  # the plain disk sees the tree too
        disk.delete(path)
    manager.configure({"disks": {}})


def test_the_layout_keeps_versions_on_gcs_and_azure(cloud: FilesystemAdapter) -> None:
    disk = VersionedFilesystemAdapter(cloud, name="v")
    _life_of_a_file(disk)
    for version in disk.versions(PATH):
        if not version.is_deleted:  # the listing's MD5 of each record is the MD5 of that version
            assert version.checksum == "md5:" + hashlib.md5(disk.get_version(PATH, version.id)).hexdigest()
    assert len(cloud.all_files(".flystore-versions")) == 4
    assert disk.prune(keep=1) == 3
    (kept,) = disk.versions(PATH)
    assert cloud.all_files(".flystore-versions") == [f".flystore-versions/docs/~~draft.txt/~{kept.id}"]

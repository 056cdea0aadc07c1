"""rclone as an independent judge of the sync engine: after flystore syncs a local tree to S3 (moto),
``rclone check`` (sizes and MD5s, from its own S3 client) finds the two trees identical, through a first
sync, a mirror that updates and deletes, and a two-way run with changes made behind flystore's back by rclone."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import StorageManager
from tests.drivers.test_s3 import raw_client, remove_bucket
from tests.services import require_executable


def rclone(endpoint: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """rclone configured by environment alone (SERVICES.md section 6), with a remote named ``moto``."""
    env = {key: value for key, value in os.environ.items() if key != "AWS_CA_BUNDLE"}
    env.update({"RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_MOTO_TYPE": "s3", "RCLONE_CONFIG_MOTO_PROVIDER": "Other",
                "RCLONE_CONFIG_MOTO_ENDPOINT": endpoint, "RCLONE_CONFIG_MOTO_ACCESS_KEY_ID": "testing",
                "RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY": "testing", "RCLONE_CONFIG_MOTO_REGION": "us-east-1",
                "RCLONE_CONFIG_MOTO_FORCE_PATH_STYLE": "true"})
    return subprocess.run([require_executable("rclone"), *arguments], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def setup(s3_endpoint: str, tmp_path: Path) -> Iterator[tuple[StorageManager, Path, str]]:
    bucket = f"rclone-{uuid.uuid4().hex[:12]}"
    client: Any = raw_client(s3_endpoint)
    client.create_bucket(Bucket=bucket)
    tree = tmp_path / "docs"
    for number in range(40):
        file = tree / f"section{number % 4}" / f"page{number:02}.txt"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(f"page {number}\n".encode() * (50 * (number + 1)))
    manager = StorageManager({"disks": {
        "local": {"driver": "local", "root": str(tmp_path)},
        "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, "key": "testing", "secret": "testing",
               "region": "us-east-1"},
    }})
    yield manager, tree, bucket
    manager.configure({"disks": {}})
    remove_bucket(client, bucket)
    client.close()


def assert_identical(endpoint: str, tree: Path, remote: str) -> None:
    # The two-way state record lives beside the destination's files (docs/sync.md) and is never synced.
    checked = rclone(endpoint, "check", str(tree), remote, "--exclude", ".flystore-sync/**")
    assert checked.returncode == 0, checked.stderr
    assert "0 differences found" in checked.stderr


def test_rclone_finds_the_synced_trees_identical(s3_endpoint: str, setup: tuple[StorageManager, Path, str]) -> None:
    manager, tree, bucket = setup
    remote = f"moto:{bucket}/backup"
    first = manager.sync("local://docs", "s3://backup", compare="checksum")
    assert first.ok and len(first.copied) == 40
    assert_identical(s3_endpoint, tree, remote)

    (tree / "section1" / "page01.txt").write_bytes(b"rewritten")
    (tree / "section2" / "page02.txt").unlink()
    (tree / "new" / "added.txt").parent.mkdir()
    (tree / "new" / "added.txt").write_bytes(b"added later")
    mirror = manager.sync("local://docs", "s3://backup", mode="mirror", delete=True, compare="checksum")
    assert mirror.ok and mirror.deleted == ["section2/page02.txt"]
    assert sorted(mirror.copied + mirror.updated) == ["new/added.txt", "section1/page01.txt"]
    assert_identical(s3_endpoint, tree, remote)
    assert manager.sync("local://docs", "s3://backup", mode="mirror", delete=True, compare="checksum").copied == []


def test_changes_rclone_makes_on_the_remote_come_back_by_two_way_sync(
    s3_endpoint: str, setup: tuple[StorageManager, Path, str], tmp_path: Path
) -> None:
    manager, tree, bucket = setup
    remote = f"moto:{bucket}/shared"
    assert manager.sync("local://docs", "s3://shared", mode="two_way").ok
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"uploaded by rclone")
    assert rclone(s3_endpoint, "copyto", str(outside), f"{remote}/section0/from-rclone.txt").returncode == 0
    assert rclone(s3_endpoint, "deletefile", f"{remote}/section3/page03.txt").returncode == 0
    back = manager.sync("local://docs", "s3://shared", mode="two_way")
    assert back.ok and not back.conflicts
    assert (tree / "section0" / "from-rclone.txt").read_bytes() == b"uploaded by rclone"
    assert not (tree / "section3" / "page03.txt").exists()
    assert_identical(s3_endpoint, tree, remote)

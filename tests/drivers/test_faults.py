"""Transient network faults are retried; permanent ones fail fast with a flystore error.

An S3 disk talks to the moto server through tests/faultproxy.py, a TCP proxy on
loopback that drops or resets a seeded share of connections, or goes dark.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from flystore import FilesystemAdapter, StorageError, StorageManager
from tests.faultproxy import FaultProxy

CREDENTIALS = {"key": "testing", "secret": "testing", "region": "us-east-1"}


def s3_disk(endpoint: str, bucket: str, **options: Any) -> FilesystemAdapter:
    config = {"driver": "s3", "bucket": bucket, "endpoint": endpoint, **CREDENTIALS, **options}
    return StorageManager({"disks": {"faulty": config}}).disk("faulty")


@pytest.fixture
def bucket(s3_endpoint: str) -> Iterator[str]:
    name = f"faults-{uuid.uuid4().hex[:12]}"
    direct = s3_disk(s3_endpoint, name, create_bucket=True)
    direct.put(".keep", b"")
    yield name
    for path in direct.all_files():  # the root cannot be deleted: empty it
        direct.delete(path)
    direct.delete(".keep")
    direct.close()


def test_puts_and_gets_complete_through_dropped_and_reset_connections(s3_endpoint: str, bucket: str) -> None:
    port = int(urlsplit(s3_endpoint).port or 0)
    with FaultProxy("127.0.0.1", port, drop_rate=0.25, reset_rate=0.15, seed=7) as proxy:
        disk = s3_disk(proxy.url_for("http"), bucket, retries=10, timeout=5)
        try:
            blobs = {f"small/{index}.bin": os.urandom(4096 + index) for index in range(25)}
            for path, data in blobs.items():
                disk.put(path, data)
            big = os.urandom(12 * 1024 * 1024)  # multipart: several parts, each retried on its own
            disk.put("big.bin", big)
            for path, data in blobs.items():
                assert disk.get(path) == data, path
            with disk.read_stream("big.bin") as stream:
                digest = hashlib.sha256()
                for chunk in stream:
                    digest.update(chunk)
            assert digest.hexdigest() == hashlib.sha256(big).hexdigest()
            assert disk.all_files("small") == sorted(blobs)
        finally:
            disk.close()
        stats = proxy.stats()
    assert stats["dropped"] > 0 and stats["reset"] > 0, stats  # faults really happened


@pytest.mark.parametrize("mode", ["blackhole", "refuse"])
def test_a_permanent_failure_surfaces_as_a_flystore_error_in_bounded_time(
    s3_endpoint: str, bucket: str, mode: str
) -> None:
    port = int(urlsplit(s3_endpoint).port or 0)
    with FaultProxy("127.0.0.1", port) as proxy:
        disk = s3_disk(proxy.url_for("http"), bucket, retries=1, timeout=1)
        try:
            disk.put("before.txt", b"reachable")
            proxy.mode = mode  # type: ignore[assignment]
            for operation in (lambda: disk.get("before.txt"), lambda: disk.put("after.txt", b"x")):
                started = time.monotonic()
                with pytest.raises(StorageError) as caught:
                    operation()
                elapsed = time.monotonic() - started
                assert elapsed < 15, f"{mode}: took {elapsed:.1f} s"
                assert caught.value.disk == "faulty"
                assert caught.value.path in ("before.txt", "after.txt")
                assert caught.value.__cause__ is not None  # the network error is kept as the cause
        finally:
            disk.close()

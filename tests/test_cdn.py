"""The ``cdn`` decorator disk: CDN URLs, and batched CloudFront invalidations read back from moto."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import CDNFilesystemAdapter, FilesystemAdapter, InvalidConfiguration, StorageManager
from flystore.decorators.cdn import CDNInvalidationFailed
from flystore.testing import DiskContract
from tests.contract_fixtures import Disks, S3Contract
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket


def cloudfront_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        "cloudfront", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


@pytest.fixture
def distribution(s3_endpoint: str) -> Iterator[tuple[Any, str]]:
    client = cloudfront_client(s3_endpoint)
    reference = uuid.uuid4().hex
    made = client.create_distribution(DistributionConfig={
        "CallerReference": reference,
        "Comment": "flystore test",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "origin", "DomainName": "origin.example.s3.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""},
        }]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "origin", "ViewerProtocolPolicy": "allow-all", "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
    })
    yield client, made["Distribution"]["Id"]
    client.close()


def invalidated_paths(client: Any, distribution_id: str) -> tuple[int, list[str]]:
    """How many invalidations the distribution has, and all their paths."""
    summaries = client.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get("Items", [])
    paths: list[str] = []
    for summary in summaries:
        detail = client.get_invalidation(DistributionId=distribution_id, Id=summary["Id"])
        paths.extend(detail["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", []))
    return len(summaries), sorted(paths)


def memory_origin(url: str | None = "https://origin.example") -> FilesystemAdapter:
    config: dict[str, Any] = {"driver": "memory"}
    if url:
        config["url"] = url
    return StorageManager({"disks": {"origin": config}}).disk("origin")


def test_urls_point_at_the_cdn_and_the_origin_stays_reachable() -> None:
    disk = CDNFilesystemAdapter(base_adapter=memory_origin(), cdn_url="https://cdn.example.com/")
    disk.put("img/a b.png", b"png")
    assert disk.url("img/a b.png") == "https://cdn.example.com/img/a%20b.png"
    assert disk.origin_url("img/a b.png") == "https://origin.example/img/a%20b.png"
    assert disk.get("img/a b.png") == b"png"


def test_temporary_urls_pass_through_to_the_base_disk(s3_endpoint: str) -> None:
    bucket = f"flystore-{uuid.uuid4().hex[:16]}"
    base = StorageManager({"disks": {"s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint,
                                            "create_bucket": True, **CREDENTIALS}}}).disk("s3")
    disk = CDNFilesystemAdapter(base, "https://cdn.example.com")
    disk.put("private.txt", "secret")
    signed = disk.temporary_url("private.txt", 60)
    assert signed.startswith(s3_endpoint) and "Signature" in signed
    import httpx

    assert httpx.get(signed).content == b"secret"
    disk.close()
    client = raw_client(s3_endpoint)
    remove_bucket(client, bucket)
    client.close()


def test_overwrites_and_deletes_invalidate_cloudfront_in_one_batch(
    s3_endpoint: str, distribution: tuple[Any, str]
) -> None:
    client, distribution_id = distribution
    disk = CDNFilesystemAdapter(
        base_adapter=memory_origin(), cdn_url="https://cdn.example.com/assets", auto_invalidate=True,
        distribution_id=distribution_id, endpoint=s3_endpoint, key="testing", secret="testing", batch_window=0,
    )
    disk.put("a.css", "1")
    disk.put("a.css", "2")
    disk.put("dir/b.js", "x")
    disk.copy("a.css", "c.css")
    disk.move("c.css", "d.css")
    disk.delete("a.css")
    disk.delete("never-existed.txt")
    disk.delete_directory("dir")
    assert invalidated_paths(client, distribution_id) == (0, [])  # batched: nothing sent yet
    disk.close()  # flushes
    count, paths = invalidated_paths(client, distribution_id)
    assert count == 1
    assert paths == ["/assets/a.css", "/assets/c.css", "/assets/d.css", "/assets/dir/*", "/assets/dir/b.js"]


def test_a_thousand_overwrites_make_one_call(s3_endpoint: str, distribution: tuple[Any, str]) -> None:
    client, distribution_id = distribution
    manager = StorageManager({"disks": {
        "origin": {"driver": "memory"},
        "cdn": {"driver": "cdn", "disk": "origin", "cdn_url": "https://cdn.example.com", "auto_invalidate": True,
                "distribution_id": distribution_id, "endpoint": s3_endpoint, "key": "testing", "secret": "testing",
                "batch_size": 1000, "batch_window": 60},
    }})
    disk = manager.disk("cdn")
    assert isinstance(disk, CDNFilesystemAdapter) and disk.invalidator is not None
    for number in range(1000):
        disk.put(f"file{number}.txt", str(number))
    assert disk.invalidator.calls == 1 and disk.invalidator.pending == []
    count, paths = invalidated_paths(client, distribution_id)
    assert count == 1 and len(paths) == 1000
    for _ in range(5):
        disk.put("again.txt", "x")  # the same path five times is one path
    disk.close()
    assert disk.invalidator.calls == 2 and invalidated_paths(client, distribution_id)[0] == 2


def test_the_window_sends_queued_paths_without_a_flush() -> None:
    sent: list[list[str]] = []
    arrived = threading.Event()

    def purge(paths: list[str]) -> None:
        sent.append(paths)
        arrived.set()

    disk = CDNFilesystemAdapter(memory_origin(), "https://cdn.example.com", True, purge=purge, batch_window=0.1)
    disk.put("a.txt", "1")
    disk.put("b.txt", "2")
    assert arrived.wait(5)
    assert sent == [["/a.txt", "/b.txt"]]
    disk.close()
    assert sent == [["/a.txt", "/b.txt"]]


def test_a_failed_invalidation_is_retried_reported_and_never_lost() -> None:
    attempts: list[list[str]] = []
    healthy = threading.Event()

    def flaky(paths: list[str]) -> None:
        attempts.append(paths)
        if not healthy.is_set():
            raise ConnectionError("CDN API down")

    disk = CDNFilesystemAdapter(memory_origin(), "https://cdn.example.com", True, purge=flaky, batch_window=0,
                                retries=2, retry_delay=0.01)
    disk.put("a.txt", "1")
    with pytest.raises(CDNInvalidationFailed) as caught:
        disk.flush()
    assert "kept queued" in str(caught.value) and isinstance(caught.value.__cause__, ConnectionError)
    assert len(attempts) == 3 and disk.invalidator is not None and disk.invalidator.pending == ["/a.txt"]
    disk.put("b.txt", "2")
    healthy.set()
    assert disk.flush() == 2
    assert attempts[-1] == ["/a.txt", "/b.txt"] and disk.invalidator.pending == []


def test_a_timed_flush_that_fails_reports_and_tries_again() -> None:
    errors: list[BaseException] = []
    sent: list[list[str]] = []
    calls = {"n": 0}
    done = threading.Event()

    def purge(paths: list[str]) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("slow CDN")
        sent.append(paths)
        done.set()

    disk = CDNFilesystemAdapter(memory_origin(), "https://cdn.example.com", True, purge=purge, batch_window=0.05,
                                retries=0, on_error=errors.append)
    disk.put("a.txt", "1")
    assert done.wait(5)
    assert len(errors) == 1 and isinstance(errors[0], CDNInvalidationFailed)
    assert sent == [["/a.txt"]]
    disk.close()


def test_bad_cdn_options_name_the_option() -> None:
    manager = StorageManager({"disks": {
        "m": {"driver": "memory"},
        "no-url": {"driver": "cdn", "disk": "m"},
        "no-target": {"driver": "cdn", "disk": "m", "cdn_url": "https://cdn.example", "auto_invalidate": True},
        "typo": {"driver": "cdn", "disk": "m", "cdn_url": "https://cdn.example", "distribution": "E1"},
    }})
    for name, option in [("no-url", "cdn_url"), ("no-target", "auto_invalidate"), ("typo", "distribution")]:
        with pytest.raises(InvalidConfiguration) as caught:
            manager.disk(name)
        assert caught.value.option == option and caught.value.disk == name


def test_scoped_over_cdn_keeps_cdn_urls_and_invalidates_full_paths() -> None:
    sent: list[list[str]] = []
    manager = StorageManager({"disks": {
        "m": {"driver": "memory"},
        "cdn": {"driver": "cdn", "disk": "m", "cdn_url": "https://cdn.example", "auto_invalidate": True,
                "purge": sent.append, "batch_window": 0},
        "tenant": {"driver": "scoped", "disk": "cdn", "prefix": "acme"},
    }})
    tenant = manager.disk("tenant")
    tenant.put("logo.png", b"png")
    assert tenant.url("logo.png") == "https://cdn.example/acme/logo.png"
    manager.disk("cdn").close()
    assert sent == [["/acme/logo.png"]]


def test_disk_fs_writes_through_the_cdn_invalidate(tmp_path: Path) -> None:
    sent: list[list[str]] = []
    base = StorageManager({"disks": {"l": {"driver": "local", "root": str(tmp_path)}}}).disk("l")
    disk = CDNFilesystemAdapter(base, "https://cdn.example", True, purge=sent.append, batch_window=0)
    with disk.fs.open("x/y.txt", "wb") as handle:
        handle.write(b"hello")
    with disk.open("z.txt", "wb") as handle:
        handle.write(b"native writer")
    assert disk.fs.cat_file("x/y.txt") == b"hello"
    disk.flush()
    assert sent == [["/x/y.txt", "/z.txt"]]


class TestCDNMemoryDisk(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        sent: list[list[str]] = []
        manager = StorageManager({"disks": {
            "m": {"driver": "memory", "url": "https://origin.example"},
            "c": {"driver": "cdn", "disk": "m", "cdn_url": "https://cdn.example", "auto_invalidate": True,
                  "purge": sent.append, "batch_size": 7, "batch_window": 0},
        }})
        disk = manager.disk("c")
        yield disk
        disk.close()


class TestCDNLocalDisk(DiskContract):
    @pytest.fixture
    def disk(self, tmp_path: Path) -> Iterator[FilesystemAdapter]:
        manager = StorageManager({"disks": {
            "l": {"driver": "local", "root": str(tmp_path / "root")},
            "c": {"driver": "cdn", "disk": "l", "cdn_url": "https://cdn.example"},
        }})
        yield manager.disk("c")


class TestCDNS3Disk(S3Contract):
    stateful_examples = 5
    stateful_steps = 10

    @pytest.fixture
    def layers(self) -> Disks:
        # CloudFront itself is proven above; here a purge callable keeps these tests fast.
        sent: list[list[str]] = []
        return {"c": {"driver": "cdn", "disk": "s3", "cdn_url": "https://cdn.example", "auto_invalidate": True,
                      "purge": sent.append, "batch_window": 0}}


def test_a_full_batch_that_fails_never_fails_the_write() -> None:
    reported: list[BaseException] = []
    up = threading.Event()

    def purge(paths: list[str]) -> None:
        if not up.is_set():
            raise ConnectionError("down")

    disk = CDNFilesystemAdapter(memory_origin(), "https://cdn.example.com", True, purge=purge, batch_size=2,
                                batch_window=0, retries=1, retry_delay=0.01, on_error=reported.append)
    disk.put("a.txt", "1")
    disk.put("b.txt", "2")  # fills the batch: the send fails, the write does not
    assert disk.get("b.txt") == b"2" and len(reported) == 1
    assert disk.invalidator is not None and disk.invalidator.pending == ["/a.txt", "/b.txt"]
    up.set()
    disk.close()
    assert disk.invalidator.pending == []

"""The s3 driver against a real moto server on loopback (no mocks of botocore or s3fs).

Request counts are observed with botocore's own ``before-send`` event, which
sees every HTTP request the client makes without changing it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx  # a dev dependency: missing fails collection, never skips
import pytest

from flystore import (
    DriverNotInstalled,
    FileNotFound,
    FilesystemAdapter,
    InvalidConfiguration,
    ReadOnlyDisk,
    StorageManager,
    UnableToCheckExistence,
    UnableToGenerateTemporaryUrl,
    UnableToReadFile,
    UnableToWriteFile,
    UnsupportedOperation,
)
from flystore.testing import DiskContract

MiB = 1024 * 1024
CREDENTIALS = {"key": "testing", "secret": "testing", "region": "us-east-1"}


# -- helpers ------------------------------------------------------------------------------


def raw_client(endpoint: str) -> Any:
    """A plain botocore client to look behind the disk's back (and to clean up)."""
    import botocore.session
    from botocore.config import Config

    return botocore.session.Session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def remove_bucket(client: Any, bucket: str) -> None:
    with contextlib.suppress(client.exceptions.NoSuchBucket):
        for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        client.delete_bucket(Bucket=bucket)


def build(endpoint: str, bucket: str, **options: Any) -> FilesystemAdapter:
    config = {"driver": "s3", "bucket": bucket, "endpoint": endpoint, "create_bucket": True, **CREDENTIALS, **options}
    return StorageManager({"disks": {"s3": config}}).disk("s3")


class RequestCounter:
    """Counts the requests a disk sends, on the wire: the disk talks to moto through a
    forwarding proxy that counts connections, and moto answers every request with
    ``Connection: close``, so one connection is one request whatever client layer sent it."""

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[int]]:
        before = self.proxy.stats()["connections"]
        box: list[int] = []
        yield box
        box.append(self.proxy.stats()["connections"] - before)


@pytest.fixture
def counter(s3_endpoint: str) -> Iterator[RequestCounter]:
    from tests.faultproxy import FaultProxy

    with FaultProxy("127.0.0.1", int(urlsplit(s3_endpoint).port or 0)) as proxy:
        yield RequestCounter(proxy)


def closed_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def raw(s3_endpoint: str) -> Iterator[Any]:
    client = raw_client(s3_endpoint)
    yield client
    client.close()


@pytest.fixture
def bucket(raw: Any) -> Iterator[str]:
    """A fresh bucket name; the disk creates the bucket (``create_bucket``), this removes it."""
    name = f"flystore-{uuid.uuid4().hex[:16]}"
    yield name
    remove_bucket(raw, name)


@pytest.fixture
def disk(s3_endpoint: str, bucket: str) -> Iterator[FilesystemAdapter]:
    made = build(s3_endpoint, bucket)
    yield made
    made.close()


# -- the contract ---------------------------------------------------------------------------


class TestS3Contract(DiskContract):
    stateful_examples = 5
    stateful_steps = 10

    @pytest.fixture
    def disk(self, s3_endpoint: str, bucket: str) -> Iterator[FilesystemAdapter]:
        made = build(s3_endpoint, bucket)
        yield made
        made.close()


class TestS3PrefixedContract(DiskContract):
    """The whole contract again, under a key prefix of a shared bucket and with every request
    going through botocore (``fast_path: false``)."""

    stateful_examples = 3
    stateful_steps = 8

    @pytest.fixture
    def disk(self, s3_endpoint: str, bucket: str, raw: Any) -> Iterator[FilesystemAdapter]:
        made = build(s3_endpoint, bucket, prefix="tenants/acme", fast_path=False)
        raw.put_object(Bucket=bucket, Key="outside.txt", Body=b"not on the disk")
        raw.put_object(Bucket=bucket, Key="tenants/acmeish/x.txt", Body=b"a sibling prefix")
        yield made
        made.close()


# -- configuration -------------------------------------------------------------------------------


def test_the_adapter_can_be_built_directly(s3_endpoint: str, bucket: str) -> None:
    import flystore
    from flystore.drivers.s3 import S3FilesystemAdapter

    assert flystore.S3FilesystemAdapter is S3FilesystemAdapter  # exported lazily from the package
    with S3FilesystemAdapter(
        bucket=bucket, key="testing", secret="testing", endpoint=s3_endpoint, name="media", create_bucket=True
    ) as media:
        assert isinstance(media, FilesystemAdapter)
        media.put("hello.txt", "hi")
        assert media.get("hello.txt") == b"hi"
        assert media.name == "media"
        with pytest.raises(FileNotFound) as caught:
            media.get("nope.txt")
        assert caught.value.disk == "media"


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({}, "bucket"),
        ({"bucket": "a/b"}, "bucket"),
        ({"bucket": "ok-bucket", "colour": "blue"}, "colour"),
        ({"bucket": "ok-bucket", "endpoint": "ftp://host"}, "endpoint"),
        ({"bucket": "ok-bucket", "retries": -1}, "retries"),
        ({"bucket": "ok-bucket", "timeout": "soon"}, "timeout"),
        ({"bucket": "ok-bucket", "part_size": 1024}, "part_size"),
        ({"bucket": "ok-bucket", "checksums": "sometimes"}, "checksums"),
        ({"bucket": "ok-bucket", "prefix": "../up"}, "prefix"),
        ({"bucket": "ok-bucket", "options": {"ServerSideEncrytion": "AES256"}}, "options"),
    ],
)
def test_bad_options_name_the_disk_and_the_option(options: dict[str, Any], option: str) -> None:
    manager = StorageManager({"disks": {"media": {"driver": "s3", **options}}})
    with pytest.raises(InvalidConfiguration) as caught:
        manager.disk("media")
    assert caught.value.option == option
    assert caught.value.disk == "media"


@pytest.mark.parametrize("module", ["s3fs", "botocore.session"])
def test_a_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    manager = StorageManager({"disks": {"media": {"driver": "s3", "bucket": "some-bucket"}}})
    with pytest.raises(DriverNotInstalled) as caught:
        manager.disk("media")
    assert 'pip install "flystore[s3]"' in str(caught.value)
    assert caught.value.disk == "media"


def test_buckets_outside_us_east_1_get_a_location_constraint(s3_endpoint: str, bucket: str, raw: Any) -> None:
    with build(s3_endpoint, bucket, region="eu-west-1") as media:
        media.put("x.txt", "x")
    assert raw.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "eu-west-1"


def test_a_missing_bucket_is_reported_as_such(s3_endpoint: str) -> None:
    with build(s3_endpoint, f"absent-{uuid.uuid4().hex[:10]}", create_bucket=False) as media:
        with pytest.raises(UnableToReadFile) as caught:
            media.get("file.txt")
        assert "bucket does not exist" in str(caught.value)
        assert type(caught.value.__cause__).__module__.startswith("botocore")
        with pytest.raises(UnableToWriteFile):
            media.put("file.txt", "x")


# -- one request per hot operation -------------------------------------------------------------


@pytest.mark.parametrize("fast_path", [True, False])
def test_get_exists_and_put_cost_one_request_each(counter: RequestCounter, bucket: str, fast_path: bool) -> None:
    disk = build(counter.proxy.url_for("http"), bucket, fast_path=fast_path)
    assert (disk.backend.direct is not None) is fast_path  # type: ignore[attr-defined]
    disk.put("dir/file.txt", b"x" * 4096)
    with counter.counting() as sent:
        assert disk.get("dir/file.txt") == b"x" * 4096
    assert sent == [1]
    with counter.counting() as sent:
        assert disk.exists("dir/file.txt")
    assert sent == [1]
    with counter.counting() as sent:
        disk.put("other.txt", b"y" * 4096, metadata={"a": "b"}, visibility="public")
    assert sent == [1]
    assert disk.get_visibility("other.txt") == "public" and disk.metadata("other.txt")["metadata"] == {"a": "b"}
    # A miss costs the GET plus one LIST, so that the error says whether a directory is in the way.
    with counter.counting() as sent, pytest.raises(FileNotFound, match="no file exists"):
        disk.get("missing.txt")
    assert sent == [2]
    with counter.counting() as sent, pytest.raises(FileNotFound, match="is a directory"):
        disk.get("dir")
    assert sent == [2]
    with counter.counting() as sent:
        assert not disk.exists("missing.txt")  # a miss: the HEAD, then one LIST for the directory check
    assert sent == [2]
    with counter.counting() as sent:
        assert disk.size("dir/file.txt") == 4096
    assert sent == [1]
    with counter.counting() as sent:
        with disk.read_stream("dir/file.txt") as stream:
            assert b"".join(stream) == b"x" * 4096
    assert sent == [1]
    disk.close()


def test_the_bucket_is_checked_once_after_the_first_miss(counter: RequestCounter, bucket: str) -> None:
    build(counter.proxy.url_for("http"), bucket).close()  # creates the bucket
    disk = build(counter.proxy.url_for("http"), bucket, create_bucket=False)
    with counter.counting() as sent:
        assert not disk.file_exists("missing.txt")  # the HEAD, then one HEAD on the bucket
    assert sent == [2]
    with counter.counting() as sent:
        assert not disk.file_exists("missing.txt")  # the bucket is known now
    assert sent == [1]
    disk.close()


# -- visibility, metadata, checksums ---------------------------------------------------------------


def test_visibility_is_the_object_acl_seen_by_anonymous_http(disk: FilesystemAdapter, raw: Any) -> None:
    disk.put("public.txt", "for everyone", visibility="public")
    disk.put("private.txt", "for me", visibility="private")
    assert httpx.get(disk.url("public.txt")).content == b"for everyone"
    assert httpx.get(disk.url("private.txt")).status_code == 403
    grants = raw.get_object_acl(Bucket=disk.config["bucket"], Key="public.txt")["Grants"]
    assert any(grant["Grantee"].get("URI", "").endswith("/AllUsers") for grant in grants)
    disk.set_visibility("public.txt", "private")
    assert httpx.get(disk.url("public.txt")).status_code == 403
    assert disk.get_visibility("public.txt") == "private"
    disk.set_visibility("private.txt", "public")
    assert httpx.get(disk.url("private.txt")).content == b"for me"
    assert disk.metadata("private.txt")["visibility"] == "public"


def test_the_disk_default_visibility_and_copies_keep_the_source_visibility(s3_endpoint: str, bucket: str) -> None:
    with build(s3_endpoint, bucket, visibility="public") as media:
        media.put("a.txt", "a")
        assert media.get_visibility("a.txt") == "public"
        media.put("b.txt", "b", visibility="private")
        media.copy("b.txt", "c.txt")
        assert media.get_visibility("c.txt") == "private"
        media.move("a.txt", "moved/a.txt")
        assert media.get_visibility("moved/a.txt") == "public"
        assert httpx.get(media.url("moved/a.txt")).content == b"a"
        media.copy("b.txt", "d.txt", visibility="public")
        assert media.get_visibility("d.txt") == "public"


def test_buckets_without_acls_can_turn_visibility_off(s3_endpoint: str, bucket: str, raw: Any) -> None:
    with build(s3_endpoint, bucket, acls=False, visibility="public") as media:
        media.put("x.txt", "x", visibility="public")  # accepted, no ACL sent
        assert httpx.get(media.url("x.txt")).status_code == 403
        with pytest.raises(UnsupportedOperation):
            media.get_visibility("x.txt")
        with pytest.raises(UnsupportedOperation):
            media.set_visibility("x.txt", "public")


def test_mime_type_metadata_and_write_options_are_stored_on_the_object(disk: FilesystemAdapter, raw: Any) -> None:
    bucket = disk.config["bucket"]
    disk.put("report.csv", "a,b", metadata={"owner": "ada", "city": "Zürich ✓"}, cache_control="max-age=60")
    head = raw.head_object(Bucket=bucket, Key="report.csv")
    assert head["ContentType"] == "text/csv"
    assert head["CacheControl"] == "max-age=60"
    assert head["Metadata"]["owner"] == "ada"
    assert disk.metadata("report.csv")["metadata"] == {"owner": "ada", "city": "Zürich ✓"}
    assert disk.metadata("report.csv")["cache_control"] == "max-age=60"
    disk.put("blob", b"\x00", mimetype="image/webp")
    assert raw.head_object(Bucket=bucket, Key="blob")["ContentType"] == "image/webp"
    assert disk.mime_type("blob") == "image/webp"
    with pytest.raises(UnableToWriteFile) as caught:
        disk.put("bad.txt", "x", cach_control="typo")
    assert "cach_control" in str(caught.value)
    assert disk.file_missing("bad.txt")


def test_upload_parameters_from_options_apply_to_every_upload(s3_endpoint: str, bucket: str, raw: Any) -> None:
    with build(s3_endpoint, bucket, options={"ServerSideEncryption": "AES256"}, part_size=5 * MiB) as media:
        media.put("small.txt", "x")
        media.put("big.bin", io.BytesIO(os.urandom(6 * MiB)))  # multipart
        assert raw.head_object(Bucket=bucket, Key="small.txt")["ServerSideEncryption"] == "AES256"
        assert raw.head_object(Bucket=bucket, Key="big.bin")["ServerSideEncryption"] == "AES256"


def test_md5_checksums_come_from_the_etag_unless_it_is_a_multipart_one(s3_endpoint: str, bucket: str) -> None:
    data = os.urandom(11 * MiB)
    with build(s3_endpoint, bucket, part_size=5 * MiB, multipart_threshold=5 * MiB) as media:
        media.put("single.bin", b"abc")
        media.put("multi.bin", data)
        assert media.backend.checksum("single.bin", "md5") == hashlib.md5(b"abc").hexdigest()
        assert media.backend.checksum("multi.bin", "md5") is None  # "-3" ETag: not an MD5
        assert media.checksum("multi.bin") == hashlib.md5(data).hexdigest()  # streamed instead
        # backend.head(): moto cannot read the ACL of an object made by a multipart upload
        # without an ACL (a 500), which real S3 always has; stat() would ask for it.
        assert media.backend.head("multi.bin").extra["etag"].endswith("-3")  # type: ignore[attr-defined]
        assert media.get("multi.bin") == data


# -- URLs ----------------------------------------------------------------------------------------------


def test_public_urls(s3_endpoint: str, bucket: str) -> None:
    with build(s3_endpoint, bucket) as media:
        assert media.url("a dir/ü.txt") == f"{s3_endpoint}/{bucket}/a%20dir/%C3%BC.txt"
    with build(s3_endpoint, bucket, prefix="site", url="https://cdn.example.com/") as media:
        assert media.url("img/logo.png") == "https://cdn.example.com/site/img/logo.png"
    with build(s3_endpoint, bucket, prefix="site") as media:
        media.put("page.html", "<p>", visibility="public")
        assert media.url("page.html") == f"{s3_endpoint}/{bucket}/site/page.html"
        assert httpx.get(media.url("page.html")).content == b"<p>"
    aws = StorageManager({"disks": {"a": {"driver": "s3", "bucket": "media-bkt", "region": "eu-west-1"},
                                    "b": {"driver": "s3", "bucket": "dotted.name", "region": "eu-west-1"}}})
    assert aws.disk("a").url("x.txt") == "https://media-bkt.s3.eu-west-1.amazonaws.com/x.txt"
    assert aws.disk("b").url("x.txt") == "https://s3.eu-west-1.amazonaws.com/dotted.name/x.txt"
    aws.disk("a").close()
    aws.disk("b").close()


def test_temporary_urls_are_presigned_gets(disk: FilesystemAdapter) -> None:
    disk.put("secret/report.pdf", b"%PDF secret", visibility="private")
    url = disk.temporary_url("secret/report.pdf", 600)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["600"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert len(query["X-Amz-Signature"][0]) == 64
    assert urlsplit(url).path == f"/{disk.config['bucket']}/secret/report.pdf"
    assert httpx.get(url).content == b"%PDF secret"
    assert httpx.get(disk.url("secret/report.pdf")).status_code == 403  # the plain URL is refused
    url = disk.temporary_url("secret/report.pdf", timedelta(minutes=5),
                             response_content_disposition='attachment; filename="r.pdf"')
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["300"]
    assert parse_qs(urlsplit(url).query)["response-content-disposition"] == ['attachment; filename="r.pdf"']
    assert httpx.get(url).content == b"%PDF secret"
    with pytest.raises(UnableToGenerateTemporaryUrl):
        disk.temporary_url("secret/report.pdf", timedelta(days=8))
    with pytest.raises(UnableToGenerateTemporaryUrl):
        disk.temporary_url("secret/report.pdf", 60, colour="blue")


def test_temporary_upload_urls_accept_a_plain_http_put(disk: FilesystemAdapter) -> None:
    url, headers = disk.temporary_upload_url("uploads/data.csv", 900)
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["900"]
    assert headers["Content-Type"] == "text/csv"
    assert httpx.put(url, content=b"a,b\n1,2\n", headers=headers).status_code == 200
    assert disk.get("uploads/data.csv") == b"a,b\n1,2\n"
    assert disk.mime_type("uploads/data.csv") == "text/csv"
    url, headers = disk.temporary_upload_url("uploads/pic.png", 900, visibility="public", metadata={"by": "ada"})
    assert headers["x-amz-acl"] == "public-read"
    assert httpx.put(url, content=b"\x89PNG", headers=headers).status_code == 200
    assert httpx.get(disk.url("uploads/pic.png")).content == b"\x89PNG"
    assert disk.metadata("uploads/pic.png")["metadata"] == {"by": "ada"}


# -- the seed's presigned and multipart methods --------------------------------------------------------


def test_get_presigned_url_signs_gets_and_puts(disk: FilesystemAdapter) -> None:
    put_url = disk.get_presigned_url("direct.bin", expires_in=120, method="PUT")  # type: ignore[attr-defined]
    assert parse_qs(urlsplit(put_url).query)["X-Amz-Expires"] == ["120"]
    assert httpx.put(put_url, content=b"direct bytes").status_code == 200
    get_url = disk.get_presigned_url("direct.bin")  # type: ignore[attr-defined]
    assert parse_qs(urlsplit(get_url).query)["X-Amz-Expires"] == ["3600"]
    assert httpx.get(get_url).content == b"direct bytes"
    assert httpx.get(disk.get_presigned_url("direct.bin", 60, "get_object")).content == b"direct bytes"  # type: ignore[attr-defined]
    with pytest.raises(UnableToGenerateTemporaryUrl):
        disk.get_presigned_url("direct.bin", 60, "POST")  # type: ignore[attr-defined]


def test_a_client_uploads_parts_through_presigned_urls(s3_endpoint: str, bucket: str, raw: Any) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"the small last part"]
    with build(s3_endpoint, bucket, prefix="in") as media:
        upload_id = media.create_multipart_upload("videos/clip.mp4")  # type: ignore[attr-defined]
        urls = media.generate_presigned_post_urls(upload_id, len(parts))  # type: ignore[attr-defined]
        assert len(urls) == 3
        assert [parse_qs(urlsplit(url).query)["partNumber"] for url in urls] == [["1"], ["2"], ["3"]]
        etags = []
        with httpx.Client() as http:
            for url, body in zip(urls, parts, strict=True):
                response = http.put(url, content=body)
                assert response.status_code == 200
                etags.append(response.headers["etag"])
        assert media.file_missing("videos/clip.mp4")  # nothing visible before completion
        updated: list[str] = []
        media.on("file_updated", updated.append)
        assert media.complete_multipart_upload(upload_id, etags) == "videos/clip.mp4"  # type: ignore[attr-defined]
        assert updated == ["videos/clip.mp4"]
        assert media.get("videos/clip.mp4") == b"".join(parts)
        assert media.mime_type("videos/clip.mp4") == "video/mp4"
    assert raw.head_object(Bucket=bucket, Key="in/videos/clip.mp4")["ETag"].strip('"').endswith("-3")


def test_multipart_uploads_are_found_by_id_and_can_be_aborted(s3_endpoint: str, bucket: str, raw: Any) -> None:
    with build(s3_endpoint, bucket) as first:
        upload_id = first.create_multipart_upload("big.bin")  # type: ignore[attr-defined]
    with build(s3_endpoint, bucket) as second:  # another process: the id alone is enough
        (url,) = second.generate_presigned_post_urls(upload_id, 1)  # type: ignore[attr-defined]
        assert urlsplit(url).path == f"/{bucket}/big.bin"
        etag = httpx.put(url, content=b"only part").headers["etag"]
        second.complete_multipart_upload(upload_id, [{"PartNumber": 1, "ETag": etag}])  # type: ignore[attr-defined]
        assert second.get("big.bin") == b"only part"
        doomed = second.create_multipart_upload("doomed.bin")  # type: ignore[attr-defined]
        assert [u["UploadId"] for u in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])] == [doomed]
        second.abort_multipart_upload(doomed)  # type: ignore[attr-defined]
        assert raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        with pytest.raises(UnableToWriteFile):
            second.generate_presigned_post_urls("no-such-upload", 2)  # type: ignore[attr-defined]
    with build(s3_endpoint, bucket, read_only=True) as frozen:
        with pytest.raises(ReadOnlyDisk):
            frozen.create_multipart_upload("x.bin")  # type: ignore[attr-defined]
        assert frozen.get("big.bin") == b"only part"
        assert httpx.get(frozen.get_presigned_url("big.bin")).content == b"only part"  # type: ignore[attr-defined]


# -- large objects, streaming, failures ------------------------------------------------------------------


@pytest.fixture
def moto_process(tmp_path: Any) -> Iterator[str]:
    """moto in a subprocess: tracemalloc then sees the client's memory, not the server's copies."""
    from tests.services import free_port, spawned

    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with spawned(argv, port, tmp_path / "moto.log"):
        yield f"http://127.0.0.1:{port}"


@pytest.mark.slow
def test_64_mib_moves_in_bounded_memory(moto_process: str) -> None:
    disk = build(moto_process, "big-objects")
    size, block = 64 * MiB, 256 * 1024
    pattern = os.urandom(block)

    def generate() -> Iterator[bytes]:
        for index in range(size // block):
            yield index.to_bytes(4, "big") + pattern[4:]

    expected = hashlib.md5()
    for chunk in generate():
        expected.update(chunk)
    tracemalloc.start()
    try:
        disk.put("huge.bin", generate())
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest, total = hashlib.md5(), 0
        with disk.read_stream("huge.bin") as stream:
            for chunk in stream:
                digest.update(chunk)
                total += len(chunk)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size and digest.hexdigest() == expected.hexdigest()
    assert put_peak < 32 * MiB, f"put peaked at {put_peak / MiB:.1f} MiB"
    assert get_peak < 32 * MiB, f"get peaked at {get_peak / MiB:.1f} MiB"
    assert disk.backend.head("huge.bin").extra["etag"].endswith("-8")  # type: ignore[attr-defined]  # 8 x 8 MiB
    disk.close()


def test_large_in_memory_writes_go_multipart(s3_endpoint: str, bucket: str) -> None:
    data = os.urandom(12 * MiB + 5)
    with build(s3_endpoint, bucket, part_size=5 * MiB, multipart_threshold=10 * MiB, max_concurrency=3) as media:
        media.put("bytes.bin", data)
        assert media.get("bytes.bin") == data
        assert media.backend.head("bytes.bin").extra["etag"].endswith("-3")  # type: ignore[attr-defined]


def test_progress_is_reported_up_to_the_total(disk: FilesystemAdapter) -> None:
    data = os.urandom(3 * MiB + 17)
    seen: list[tuple[int, int | None]] = []
    disk.put("progress.bin", io.BytesIO(data), progress=lambda done, total: seen.append((done, total)))
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})
    assert seen[-1] == (len(data), len(data)) and len(seen) > 1
    got: list[tuple[int, int | None]] = []
    with disk.read_stream("progress.bin", chunk_size=MiB, progress=lambda d, t: got.append((d, t))) as stream:
        assert b"".join(stream) == data
    assert [done for done, _ in got] == [MiB, 2 * MiB, 3 * MiB, len(data)]
    assert {total for _, total in got} == {len(data)}


def test_a_stream_failing_mid_multipart_leaves_no_object_and_no_upload(
    s3_endpoint: str, bucket: str, raw: Any
) -> None:
    class Boom(Exception):
        pass

    def broken() -> Iterator[bytes]:
        for _ in range(12):
            yield os.urandom(MiB)
        raise Boom("source died after two parts")

    with build(s3_endpoint, bucket, part_size=5 * MiB) as media:
        media.put("keep.bin", b"old")
        with pytest.raises((Boom, UnableToWriteFile)):
            media.put("keep.bin", broken())
        assert media.get("keep.bin") == b"old"
        assert raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_reads_can_seek(disk: FilesystemAdapter) -> None:
    data = os.urandom(300_000)
    disk.put("seek.bin", data)
    with disk.open("seek.bin") as handle:
        assert handle.read(10) == data[:10]
        handle.seek(200_000)
        assert handle.read(5) == data[200_000:200_005]
        handle.seek(-3, io.SEEK_END)
        assert handle.read() == data[-3:]
        handle.seek(0)
        assert handle.read() == data
        assert handle.tell() == len(data)


def test_a_file_changed_between_ranged_reads_is_not_spliced(disk: FilesystemAdapter) -> None:
    disk.put("moving.bin", b"a" * 1000)
    with disk.open("moving.bin") as handle:
        assert handle.read(10) == b"a" * 10
        disk.put("moving.bin", b"b" * 1000)
        handle.seek(500)
        with pytest.raises(UnableToReadFile) as caught:
            handle.read(10)
    assert "changed" in str(caught.value)


def test_large_copies_go_part_by_part(s3_endpoint: str, bucket: str) -> None:
    data = os.urandom(11 * MiB)
    with build(s3_endpoint, bucket, part_size=5 * MiB) as media:
        media.put("src.bin", data, mimetype="application/x-thing", metadata={"k": "v"})
        media.backend.max_copy_size = 5 * MiB  # type: ignore[attr-defined]
        media.backend.copy_part_size = 5 * MiB  # type: ignore[attr-defined]
        media.copy("src.bin", "dst.bin")
        assert media.backend.head("dst.bin").extra["etag"].endswith("-3")  # type: ignore[attr-defined]  # 3 parts
        assert media.get("dst.bin") == data
        assert media.mime_type("dst.bin") == "application/x-thing"
        assert media.metadata("dst.bin")["metadata"] == {"k": "v"}


# -- listings with keys written by other tools -------------------------------------------------------------


def test_listings_tolerate_folder_objects_and_odd_keys(disk: FilesystemAdapter, raw: Any) -> None:
    bucket = disk.config["bucket"]
    raw.put_object(Bucket=bucket, Key="console/", Body=b"")  # a "folder" made in the AWS console
    raw.put_object(Bucket=bucket, Key="console/inside.txt", Body=b"1")
    raw.put_object(Bucket=bucket, Key="odd//double.txt", Body=b"2")
    raw.put_object(Bucket=bucket, Key="empty-folder/", Body=b"")
    disk.put("plain.txt", "3")
    assert disk.all_files() == ["console/inside.txt", "plain.txt"]
    assert disk.files("console") == ["console/inside.txt"]
    assert disk.directories() == ["console", "empty-folder", "odd"]
    assert disk.directory_exists("empty-folder") and disk.files("empty-folder") == []
    assert "odd" in disk.all_directories() and all("//" not in d for d in disk.all_directories())


def test_the_s3fs_filesystem_is_there_for_fsspec_consumers(disk: FilesystemAdapter) -> None:
    disk.put("via/s3fs.txt", "hello")
    fs = disk.backend.fs  # type: ignore[attr-defined]
    assert fs.cat_file(f"{disk.config['bucket']}/via/s3fs.txt") == b"hello"
    disk.close()
    disk.close()  # twice is fine


# -- failures surface as flystore errors, quickly -------------------------------------------------------------


def test_an_unreachable_endpoint_fails_fast_with_flystore_errors() -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    manager = StorageManager({"disks": {"down": {"driver": "s3", "bucket": "nowhere", "endpoint": endpoint,
                                                 "timeout": 2, **CREDENTIALS}}})
    down = manager.disk("down")
    started = time.monotonic()
    with pytest.raises(UnableToReadFile) as caught:
        down.get("file.txt")
    assert caught.value.disk == "down" and caught.value.path == "file.txt"
    assert "Connect" in str(caught.value) or "connect" in str(caught.value)
    assert time.monotonic() - started < 15  # default retries and timeouts
    down.close()
    once = build(endpoint, "nowhere", create_bucket=False, retries=0)
    with pytest.raises(UnableToWriteFile):
        once.put("file.txt", "x")
    with pytest.raises(UnableToCheckExistence):
        once.file_exists("file.txt")
    with pytest.raises(UnableToReadFile):
        with once.read_stream("file.txt"):
            pass
    once.close()


@pytest.mark.parametrize("fast_path", [True, False])
def test_transient_failures_are_retried_and_attempts_are_bounded(
    s3_endpoint: str, bucket: str, fast_path: bool
) -> None:
    from tests.faultproxy import FaultProxy

    port = int(urlsplit(s3_endpoint).port or 0)
    with build(s3_endpoint, bucket) as owner:
        owner.put("here.txt", "here")
    with FaultProxy("127.0.0.1", port, drop_rate=1.0) as proxy:  # every connection dropped
        for retries in (0, 2):
            before = proxy.stats()["connections"]
            with build(proxy.url_for("http"), bucket, create_bucket=False, retries=retries,
                       fast_path=fast_path) as flaky:
                with pytest.raises(UnableToReadFile) as caught:
                    flaky.get("here.txt")
            assert caught.value.__cause__ is not None
            assert proxy.stats()["connections"] - before == retries + 1  # the first attempt + retries
    if not fast_path:
        return  # the flaky run below takes botocore's backoff sleeps: once is enough
    with FaultProxy("127.0.0.1", port, drop_rate=0.25, seed=7) as proxy:  # a quarter of the connections dropped
        with build(proxy.url_for("http"), bucket, create_bucket=False, retries=6, fast_path=fast_path) as flaky:
            for index in range(4):
                flaky.put(f"flaky-{index}.txt", f"value {index}")
                assert flaky.get(f"flaky-{index}.txt") == f"value {index}".encode()
                assert flaky.file_exists(f"flaky-{index}.txt")
        assert proxy.stats()["dropped"] > 0


def test_credentials_from_the_environment_work_on_both_paths(
    s3_endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tests/services.py exported AWS_ACCESS_KEY_ID/SECRET for the whole session: no key/secret here.
    for fast_path in (True, False):
        config = {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, "create_bucket": True,
                  "fast_path": fast_path}
        with StorageManager({"disks": {"env": config}}).disk("env") as media:
            assert (media.backend.direct is not None) is fast_path  # type: ignore[attr-defined]
            media.put("from-env.txt", "signed with environment credentials")
            assert media.get("from-env.txt") == b"signed with environment credentials"
            assert media.file_exists("from-env.txt")


def test_anonymous_disks_read_public_objects_only(s3_endpoint: str, bucket: str) -> None:
    with build(s3_endpoint, bucket) as owner:
        owner.put("open.txt", "open", visibility="public")
        owner.put("shut.txt", "shut", visibility="private")
    with build(s3_endpoint, bucket, anonymous=True, create_bucket=False) as guest:
        assert guest.get("open.txt") == b"open"
        with pytest.raises(UnableToReadFile):
            guest.get("shut.txt")

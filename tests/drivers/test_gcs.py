"""The gcs driver against gcp-storage-emulator on loopback (no mocks of gcsfs or Google SDKs).

Three servers are used:

- the session emulator (``gcs_endpoint``) for the contract and most features;
- a module-scoped emulator of our own whose request handler records each
  request line, to check what reaches the wire (``predefinedAcl``, ranged reads,
  rewrite-based moves), since the emulator stores no ACLs;
- an emulator in a subprocess for the 64 MiB test, so that ``tracemalloc``
  measures the client only (an in-process emulator holds the whole object).
"""

from __future__ import annotations

import base64
import functools
import gc
import hashlib
import http.server
import io
import json
import os
import sys
import threading
import time
import tracemalloc
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flystore import (
    DriverNotInstalled,
    FileNotFound,
    FilesystemAdapter,
    InvalidConfiguration,
    PathTraversalDetected,
    StorageManager,
    UnableToCheckExistence,
    UnableToGenerateTemporaryUrl,
    UnableToListContents,
    UnableToReadFile,
    UnableToWriteFile,
)
from flystore.testing import DiskContract
from tests.services import LOOPBACK, free_port, require_module, spawned

MiB = 1024 * 1024
KiB = 1024

DiskFactory = Callable[..., FilesystemAdapter]


# -- servers and disks ---------------------------------------------------------------------


def _admin_fs(endpoint: str) -> Any:
    require_module("gcsfs")
    from gcsfs.core import GCSFileSystem

    return GCSFileSystem(
        token="anon", endpoint_url=endpoint, project="test", use_listings_cache=False, skip_instance_cache=True
    )


def _close_fs(fs: Any) -> None:
    import fsspec.asyn

    session = getattr(fs, "_session", None)
    if session is not None and not session.closed:
        fsspec.asyn.sync(fs.loop, session.close)


@pytest.fixture(scope="module")
def admin(gcs_endpoint: str) -> Iterator[Any]:
    """A plain gcsfs client on the session emulator, to look at what the driver stored."""
    fs = _admin_fs(gcs_endpoint)
    yield fs
    _close_fs(fs)


def _raw(fs: Any, bucket: str, name: str) -> dict[str, Any]:
    """The object resource exactly as the server keeps it."""
    from gcsfs.core import quote

    return dict(fs.call("GET", f"b/{quote(bucket)}/o/{quote(name)}", json_out=True))


class Recorder:
    """An emulator of our own that records each request: (method, path, query, Range header)."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[tuple[str, str, dict[str, list[str]], str | None]] = []

    def clear(self) -> None:
        self.requests.clear()

    def matching(self, method: str, fragment: str = "") -> list[dict[str, list[str]]]:
        return [query for verb, path, query, _ in self.requests if verb == method and fragment in path]


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    emulator = require_module("gcp_storage_emulator.server")
    record = Recorder()

    class RecordingHandler(emulator.RequestHandler):  # type: ignore[misc,name-defined]
        def parse_request(self) -> bool:
            parsed = bool(super().parse_request())
            if parsed:
                split = urllib.parse.urlsplit(self.path)
                record.requests.append(
                    (self.command, urllib.parse.unquote(split.path), urllib.parse.parse_qs(split.query),
                     self.headers.get("Range"))
                )
            return parsed

    server = emulator.create_server(LOOPBACK, 0, in_memory=True)
    saved = http.server.HTTPServer.request_queue_size
    http.server.HTTPServer.request_queue_size = 128  # the default backlog of 5 stalls concurrent clients
    try:
        server.start()
    finally:
        http.server.HTTPServer.request_queue_size = saved
    httpd = server._api._httpd
    httpd.RequestHandlerClass = functools.partial(RecordingHandler, server._storage)
    record.url = f"http://{LOOPBACK}:{httpd.server_address[1]}"
    try:
        yield record
    finally:
        server.stop()
        threading.Thread.join(server._api, 5)


@pytest.fixture(scope="module")
def separate_gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An emulator in its own process: its memory is not traced by this one."""
    require_module("gcp_storage_emulator")
    port = free_port()
    argv = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", LOOPBACK, "--port", str(port),
            "--in-memory", "-q"]
    with spawned(argv, port, tmp_path_factory.mktemp("gcs-subprocess") / "emulator.log", timeout=60.0):
        yield f"http://{LOOPBACK}:{port}"


@pytest.fixture
def bucket(admin: Any) -> Iterator[str]:
    name = f"flystore-{uuid.uuid4().hex[:16]}"
    yield name
    try:
        admin.rm(name, recursive=True)
    except FileNotFoundError:
        pass  # the test never wrote to it


@pytest.fixture
def make_disk(gcs_endpoint: str, bucket: str) -> Iterator[DiskFactory]:
    """Build gcs disks through a StorageManager; every one is closed after the test."""
    managers: list[StorageManager] = []

    def make(**options: Any) -> FilesystemAdapter:
        config = {"driver": "gcs", "bucket": bucket, "endpoint": gcs_endpoint, "token": "anon",
                  "project_id": "test", "create_bucket": True, **options}
        manager = StorageManager({"default": "gcs", "disks": {"gcs": config}})
        managers.append(manager)
        return manager.disk("gcs")

    yield make
    for manager in managers:
        manager.configure({"disks": {}})  # closes the disks it built


@pytest.fixture(scope="module")
def service_account(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A service-account JSON with a freshly generated RSA key; its token_uri points at loopback."""
    require_module("cryptography")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "test",
        "private_key_id": "flystore-test-key",
        "private_key": pem,
        "client_email": "signer@flystore-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"http://{LOOPBACK}:9/token",  # never contacted: signing is local
    }
    path = tmp_path_factory.mktemp("gcs-key") / "service-account.json"
    path.write_text(json.dumps(info))
    return {"path": str(path), "public_key": key.public_key(), "email": info["client_email"]}


# -- the contract ----------------------------------------------------------------------------


class TestGcsContract(DiskContract):
    @pytest.fixture
    def disk(self, make_disk: DiskFactory) -> Iterator[FilesystemAdapter]:
        yield make_disk()


class TestGcsContractWithPrefixAndSmallChunks(DiskContract):
    """The same contract with a key prefix and 256 KiB chunks (multi-chunk uploads and reads)."""

    stateful_examples = 5
    stateful_steps = 10

    @pytest.fixture
    def disk(self, make_disk: DiskFactory) -> Iterator[FilesystemAdapter]:
        yield make_disk(prefix="tenants/acme", chunk_size=256 * KiB)


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({}, "bucket"),
        ({"bucket": ""}, "bucket"),
        ({"bucket": "a/b"}, "bucket"),
        ({"bucket": "b", "region": "eu"}, "region"),
        ({"bucket": "b", "chunk_size": 1000}, "chunk_size"),
        ({"bucket": "b", "chunk_size": "8M"}, "chunk_size"),
        ({"bucket": "b", "endpoint": "127.0.0.1:9"}, "endpoint"),
        ({"bucket": "b", "prefix": "../up"}, "prefix"),
        ({"bucket": "b", "timeout": 0}, "timeout"),
        ({"bucket": "b", "create_bucket": "yes"}, "create_bucket"),
        ({"bucket": "b", "key_file": "/a.json", "credentials_path": "/b.json"}, "credentials_path"),
        ({"bucket": "b", "key_file": "/nonexistent/key.json"}, "key_file"),
    ],
)
def test_bad_options_name_the_disk_and_the_option(options: dict[str, Any], option: str) -> None:
    manager = StorageManager({"disks": {"media": {"driver": "gcs", "token": "anon", **options}}})
    with pytest.raises(InvalidConfiguration) as caught:
        manager.disk("media")
    assert caught.value.option == option
    assert caught.value.disk == "media"
    assert "media" in str(caught.value) and option in str(caught.value)


def test_good_options_reach_gcsfs(make_disk: DiskFactory) -> None:
    disk = make_disk(timeout=2.5, chunk_size=512 * KiB, path_prefix="a/b", uniform_bucket_level_access=True)
    backend: Any = disk.backend
    timeout = backend.fs.requests_timeout  # an aiohttp ClientTimeout per request attempt
    assert (timeout.sock_connect, timeout.sock_read, timeout.total) == (2.5, 2.5, None)
    assert (backend.chunk_size, backend.prefix, backend.uniform_bucket_level_access) == (512 * KiB, "a/b", True)
    assert backend.fs.project == "test"


def test_a_missing_gcsfs_raises_driver_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in [name for name in sys.modules if name == "gcsfs" or name.startswith("gcsfs.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "gcsfs", None)
    manager = StorageManager({"disks": {"media": {"driver": "gcs", "bucket": "b"}}})
    with pytest.raises(DriverNotInstalled) as caught:
        manager.disk("media")
    assert 'pip install "flystore[gcs]"' in str(caught.value)
    assert caught.value.disk == "media"


def test_the_adapter_is_directly_constructible(gcs_endpoint: str, bucket: str) -> None:
    from flystore import GoogleCloudStorageAdapter

    disk = GoogleCloudStorageAdapter(bucket=bucket, endpoint=gcs_endpoint, token="anon", name="gcs",
                                     create_bucket=True, visibility="private")
    try:
        assert isinstance(disk, FilesystemAdapter)
        assert disk.name == "gcs" and disk.visibility == "private"
        disk.put("hello.txt", "hi")
        assert disk.get("hello.txt") == b"hi"
        assert disk.get_visibility("hello.txt") == "private"
    finally:
        disk.close()


def test_a_missing_bucket_gives_flystore_errors_naming_it(gcs_endpoint: str) -> None:
    disk = StorageManager({"disks": {"gcs": {"driver": "gcs", "bucket": "no-such-bucket-here",
                                             "endpoint": gcs_endpoint, "token": "anon"}}}).disk("gcs")
    try:
        with pytest.raises(UnableToWriteFile) as caught:
            disk.put("a.txt", "x")
        assert "no-such-bucket-here" in str(caught.value) and caught.value.disk == "gcs"
        with pytest.raises(UnableToListContents):
            disk.files()
        with pytest.raises(UnableToReadFile, match="bucket 'no-such-bucket-here' does not exist"):
            disk.get("a.txt")  # not FileNotFound: the bucket is missing, not the file
        with pytest.raises(UnableToCheckExistence, match="does not exist"):
            disk.file_missing("a.txt")
    finally:
        disk.close()


# -- metadata, MIME types, checksums -----------------------------------------------------------


def test_the_mime_type_is_stored_as_content_type(make_disk: DiskFactory, admin: Any, bucket: str) -> None:
    disk = make_disk()
    disk.put("notes", "# title", mimetype="text/markdown")
    disk.put("photo.png", b"\x89PNG fake")
    disk.write_stream("big.csv", io.BytesIO(b"a,b\n" * 3 * MiB))  # a resumable upload
    assert _raw(admin, bucket, "notes")["contentType"] == "text/markdown"
    assert _raw(admin, bucket, "photo.png")["contentType"] == "image/png"
    assert _raw(admin, bucket, "big.csv")["contentType"] == "text/csv"
    assert disk.mime_type("notes") == "text/markdown"


def test_custom_metadata_is_stored_on_the_object(make_disk: DiskFactory, admin: Any, bucket: str) -> None:
    disk = make_disk()
    disk.put("doc.txt", "x", metadata={"owner": "ada", "Reviewed-By": "grace"}, visibility="public")
    raw = _raw(admin, bucket, "doc.txt")
    assert raw["metadata"] == {"owner": "ada", "Reviewed-By": "grace", "flystore-visibility": "public"}
    details = disk.metadata("doc.txt")
    assert details["metadata"] == {"owner": "ada", "Reviewed-By": "grace"}  # the visibility tag is not user data
    assert details["visibility"] == "public"


def test_put_with_metadata_sets_gcs_fields_and_custom_fields(make_disk: DiskFactory, admin: Any,
                                                             bucket: str) -> None:
    from flystore import GoogleCloudStorageAdapter

    disk = make_disk()
    assert isinstance(disk, GoogleCloudStorageAdapter)
    path = disk.put_with_metadata(
        "reports/q1.bin",
        b"%PDF-1.7",
        {
            "Cache-Control": "public, max-age=3600",
            "content_type": "application/pdf",
            "content_disposition": 'attachment; filename="q1.pdf"',
            "contentLanguage": "en",
            "department": "finance",
            "quarter": 1,
        },
    )
    assert path == "reports/q1.bin"
    details = disk.metadata(path)
    assert details["cache_control"] == "public, max-age=3600"
    assert details["content_disposition"] == 'attachment; filename="q1.pdf"'
    assert details["content_language"] == "en"
    assert details["mime_type"] == "application/pdf"
    assert details["metadata"] == {"department": "finance", "quarter": 1}  # JSON values round-trip
    raw = _raw(admin, bucket, "reports/q1.bin")
    assert (raw["cacheControl"], raw["contentType"]) == ("public, max-age=3600", "application/pdf")
    # The same fields through put()'s keyword options, on a streamed (resumable) upload.
    disk.put("stream.bin", io.BytesIO(os.urandom(9 * MiB)), cache_control="no-store", content_encoding="identity")
    assert disk.metadata("stream.bin")["cache_control"] == "no-store"
    assert disk.metadata("stream.bin")["content_encoding"] == "identity"


def test_checksum_is_the_native_md5(make_disk: DiskFactory, admin: Any, bucket: str) -> None:
    disk = make_disk()
    data = os.urandom(300 * KiB)
    disk.put("sum.bin", data)
    expected = hashlib.md5(data).hexdigest()
    assert base64.b64decode(_raw(admin, bucket, "sum.bin")["md5Hash"]).hex() == expected
    assert disk.backend.checksum("sum.bin", "md5") == expected  # from the server, without reading the file
    assert disk.backend.checksum("sum.bin", "sha256") is None  # the disk streams for other algorithms
    assert disk.checksum("sum.bin") == expected
    assert disk.checksum("sum.bin", "sha256") == hashlib.sha256(data).hexdigest()
    assert disk.metadata("sum.bin")["md5"] == expected
    with pytest.raises(FileNotFound):
        disk.backend.checksum("gone.bin", "md5")


def test_copy_and_move_keep_type_metadata_and_visibility(make_disk: DiskFactory) -> None:
    disk = make_disk()
    disk.put("a.dat", b"payload", mimetype="text/x-custom", metadata={"k": "v"}, visibility="public")
    disk.copy("a.dat", "copies/b.dat")
    disk.move("a.dat", "moved/c.dat", visibility="private")
    for path, visibility in (("copies/b.dat", "public"), ("moved/c.dat", "private")):
        details = disk.metadata(path)
        assert (details["mime_type"], details["metadata"], details["visibility"]) == (
            "text/x-custom", {"k": "v"}, visibility)
        assert disk.get(path) == b"payload"
    assert disk.file_missing("a.dat")


def test_directory_markers_are_objects_but_never_files(make_disk: DiskFactory, admin: Any, bucket: str) -> None:
    disk = make_disk(prefix="p")
    disk.make_directory("empty")
    assert _raw(admin, bucket, "p/empty/.flystore-directory")["size"] == "0"
    assert disk.all_files() == [] and disk.directories() == ["empty"]
    assert disk.file_missing("empty/.flystore-directory")
    with pytest.raises(FileNotFound):
        disk.get("empty/.flystore-directory")
    assert disk.delete_directory("empty") is True
    assert admin.find(f"{bucket}/p") == []


def test_the_prefix_scopes_every_key(make_disk: DiskFactory, admin: Any, bucket: str) -> None:
    outside = make_disk()
    outside.put("tenants/other/secret.txt", "not yours")
    disk = make_disk(prefix="/tenants//acme/")
    disk.put("a/b.txt", "mine")
    assert admin.find(bucket) == [f"{bucket}/tenants/acme/a/b.txt", f"{bucket}/tenants/other/secret.txt"]
    assert disk.all_files() == ["a/b.txt"]
    with pytest.raises(PathTraversalDetected):
        disk.get("../other/secret.txt")
    assert disk.url("a/b.txt").endswith(f"/{bucket}/tenants/acme/a/b.txt")


def test_glob_characters_are_literal(make_disk: DiskFactory) -> None:
    disk = make_disk()
    names = ["d/report[1].txt", "d/report1.txt", "d/star*.txt", "d/what?.txt", "d/#hash.txt"]
    for name in names:
        disk.put(name, name)
    assert disk.files("d") == sorted(names)
    disk.copy("d/report[1].txt", "e/[copy].txt")
    disk.move("d/star*.txt", "e/*.txt")
    assert disk.get_text("e/[copy].txt") == "d/report[1].txt" and disk.get_text("e/*.txt") == "d/star*.txt"
    assert disk.delete("d/report[1].txt") is True
    assert disk.get_text("d/report1.txt") == "d/report1.txt"  # not matched as a pattern
    assert disk.delete_directory("e") is True
    assert disk.all_files() == ["d/#hash.txt", "d/report1.txt", "d/what?.txt"]


def test_console_folder_placeholders_are_directories(make_disk: DiskFactory) -> None:
    disk = make_disk(prefix="site")
    backend: Any = disk.backend
    for name in ("site/", "site/assets/", "site/assets/img/"):  # what the Cloud Console's "create folder" makes
        backend._simple_upload({"name": name, "contentType": "application/x-www-form-urlencoded"}, b"", None)
    disk.put("assets/app.css", "body{}")
    assert disk.directory_exists("assets/img")
    assert disk.files() == [] and disk.directories() == ["assets"]
    assert disk.all_files() == ["assets/app.css"]
    assert disk.all_directories() == ["assets", "assets/img"]
    assert [entry.path for entry in disk.list("assets")] == ["assets/app.css", "assets/img"]
    assert disk.delete_directory("assets") is True
    assert disk.all_directories() == []


# -- visibility: ACLs on the wire, metadata for reading back -------------------------------------


def _recorded_disk(recorder: Recorder, managers: list[StorageManager], **options: Any) -> FilesystemAdapter:
    config = {"driver": "gcs", "bucket": f"rec-{uuid.uuid4().hex[:12]}", "endpoint": recorder.url,
              "token": "anon", "project_id": "test", "create_bucket": True, **options}
    manager = StorageManager({"disks": {"gcs": config}})
    managers.append(manager)
    return manager.disk("gcs")


@pytest.fixture
def recorded(recorder: Recorder) -> Iterator[Callable[..., FilesystemAdapter]]:
    managers: list[StorageManager] = []
    yield functools.partial(_recorded_disk, recorder, managers)
    for manager in managers:
        manager.configure({"disks": {}})


def test_visibility_is_sent_as_a_predefined_acl(recorder: Recorder, recorded: Callable[..., FilesystemAdapter]
                                                ) -> None:
    disk = recorded(chunk_size=256 * KiB)
    recorder.clear()
    disk.put("public.txt", "x", visibility="public")
    disk.put("private.txt", "x", visibility="private")
    disk.put("unspecified.txt", "x")
    uploads = recorder.matching("POST", "/upload/")
    assert [query.get("predefinedAcl") for query in uploads] == [["publicRead"], ["private"], None]
    assert disk.get_visibility("public.txt") == "public"
    assert disk.get_visibility("unspecified.txt") == "private"  # the bucket's default ACL applies

    recorder.clear()
    disk.put("large.bin", io.BytesIO(os.urandom(600 * KiB)), visibility="public")  # resumable: 3 chunks
    (start,) = recorder.matching("POST", "/upload/")
    assert start["uploadType"] == ["resumable"] and start["predefinedAcl"] == ["publicRead"]
    assert len(recorder.matching("PUT", "/upload/")) == 3

    recorder.clear()
    disk.set_visibility("private.txt", "public")
    (patch,) = recorder.matching("PATCH")
    assert patch["predefinedAcl"] == ["publicRead"]
    assert disk.get_visibility("private.txt") == "public"

    recorder.clear()
    disk.copy("public.txt", "copy.txt")
    (rewrite,) = recorder.matching("POST", "/rewriteTo/")
    assert rewrite["destinationPredefinedAcl"] == ["publicRead"]  # rewrites do not carry ACLs by themselves


def test_uniform_bucket_level_access_sends_no_acls(recorder: Recorder, recorded: Callable[..., FilesystemAdapter]
                                                   ) -> None:
    disk = recorded(uniform_bucket_level_access=True)
    recorder.clear()
    disk.put("a.txt", "x", visibility="public")
    disk.set_visibility("a.txt", "private")
    disk.copy("a.txt", "b.txt")
    assert not any("predefinedAcl" in query or "destinationPredefinedAcl" in query
                   for _, _, query, _ in recorder.requests)
    assert disk.get_visibility("a.txt") == "private"  # still recorded, for reading back


def test_move_is_rewrite_plus_guarded_delete(recorder: Recorder, recorded: Callable[..., FilesystemAdapter]
                                            ) -> None:
    disk = recorded()
    disk.put("from.txt", "moving")
    recorder.clear()
    started = time.monotonic()
    disk.move("from.txt", "to/there.txt")
    assert time.monotonic() - started < 5  # no moveTo (501 on the emulator, retried for ~33 s by gcsfs)
    assert recorder.matching("POST", "/moveTo/") == []
    assert len(recorder.matching("POST", "/rewriteTo/")) == 1
    (delete,) = recorder.matching("DELETE")
    assert "ifGenerationMatch" in delete
    assert disk.get("to/there.txt") == b"moving" and disk.file_missing("from.txt")


def test_reads_are_ranged_gets_of_one_chunk(recorder: Recorder, recorded: Callable[..., FilesystemAdapter]
                                           ) -> None:
    disk = recorded(chunk_size=256 * KiB)
    data = os.urandom(600 * KiB)
    disk.put("data.bin", data)
    recorder.clear()
    with disk.read_stream("data.bin", chunk_size=100 * KiB) as stream:
        assert b"".join(stream) == data
    ranges = [header for verb, path, _, header in recorder.requests if verb == "GET" and "/download/" in path]
    assert ranges == ["bytes=0-262143", "bytes=262144-524287", "bytes=524288-614399"]
    with disk.open("data.bin") as handle:  # seekable, reads across block boundaries
        handle.seek(262_000)
        assert handle.read(1000) == data[262_000:263_000]
        assert handle.seek(-10, io.SEEK_END) == len(data) - 10
        assert handle.read() == data[-10:]


def test_a_failed_resumable_upload_publishes_nothing(recorder: Recorder, recorded: Callable[..., FilesystemAdapter]
                                                     ) -> None:
    disk = recorded(chunk_size=256 * KiB)
    disk.put("keep.bin", "old")

    def broken() -> Iterator[bytes]:
        for _ in range(5):
            yield os.urandom(100 * KiB)
        raise RuntimeError("the source died")

    recorder.clear()
    with pytest.raises(RuntimeError):
        disk.put("keep.bin", broken())
    assert recorder.matching("PUT", "/upload/"), "the upload had gone resumable before failing"
    assert recorder.matching("DELETE", "/upload/"), "the resumable session is cancelled"
    assert disk.get("keep.bin") == b"old"
    with pytest.raises(ValueError), disk.open("new.bin", "wb") as handle:
        handle.write(os.urandom(700 * KiB))
        raise ValueError("stop")
    assert disk.all_files() == ["keep.bin"]


# -- URLs -----------------------------------------------------------------------------------------


def test_url_is_the_public_object_url(make_disk: DiskFactory, gcs_endpoint: str, bucket: str) -> None:
    disk = make_disk()
    disk.put("pics/cat one.txt", "meow", visibility="public")
    url = disk.url("pics/cat one.txt")
    assert url == f"{gcs_endpoint}/{bucket}/pics/cat%20one.txt"
    with urllib.request.urlopen(url, timeout=10) as response:  # the emulator serves /bucket/object
        assert response.read() == b"meow"
    configured = make_disk(url="https://cdn.example.com/assets/")
    assert configured.url("pics/cat one.txt") == "https://cdn.example.com/assets/pics/cat%20one.txt"
    plain = StorageManager({"disks": {"g": {"driver": "gcs", "bucket": "b", "token": "anon"}}}).disk("g")
    assert plain.url("a/b.txt") == "https://storage.googleapis.com/b/a/b.txt"
    plain.close()


def _verify_v4_signature(url: str, method: str, public_key: Any, headers: dict[str, str]) -> None:
    """Check a V4 signed URL against Google's published algorithm, with the signer's public key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    split = urllib.parse.urlsplit(url)
    pairs = [pair for pair in split.query.split("&") if not pair.startswith("X-Goog-Signature=")]
    query = urllib.parse.parse_qs(split.query)
    signed = query["X-Goog-SignedHeaders"][0].split(";")
    all_headers = {"host": split.netloc, **{key.lower(): value for key, value in headers.items()}}
    canonical = "\n".join([
        method,
        split.path,
        "&".join(sorted(pairs)),
        "".join(f"{name}:{all_headers[name]}\n" for name in signed),
        ";".join(signed),
        "UNSIGNED-PAYLOAD",
    ])
    scope = query["X-Goog-Credential"][0].split("/", 1)[1]
    to_sign = "\n".join(["GOOG4-RSA-SHA256", query["X-Goog-Date"][0], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    signature = bytes.fromhex(query["X-Goog-Signature"][0])
    public_key.verify(signature, to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())  # raises if wrong


def test_temporary_url_is_a_v4_signed_url(make_disk: DiskFactory, gcs_endpoint: str, bucket: str,
                                          service_account: dict[str, Any]) -> None:
    disk = make_disk(key_file=service_account["path"], prefix="secure")
    disk.put("report 1.txt", "top secret", visibility="private")
    url = disk.temporary_url("report 1.txt", 600)
    split = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(split.query)
    assert f"{split.scheme}://{split.netloc}" == gcs_endpoint
    assert split.path == f"/{bucket}/secure/report%201.txt"
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["600"]
    assert query["X-Goog-Credential"][0].startswith(service_account["email"] + "/")
    assert len(query["X-Goog-Signature"][0]) == 512  # hex of a 2048-bit RSA signature
    _verify_v4_signature(url, "GET", service_account["public_key"], {})
    with urllib.request.urlopen(url, timeout=10) as response:  # the emulator does not check signatures
        assert response.read() == b"top secret"
    later = disk.temporary_url("report 1.txt", timedelta(hours=2), response_disposition="attachment")
    later_query = urllib.parse.parse_qs(urllib.parse.urlsplit(later).query)
    assert later_query["X-Goog-Expires"] == ["7200"]
    assert later_query["response-content-disposition"] == ["attachment"]
    _verify_v4_signature(later, "GET", service_account["public_key"], {})


def test_temporary_upload_url_is_a_signed_put(make_disk: DiskFactory, service_account: dict[str, Any]) -> None:
    disk = make_disk(key_file=service_account["path"])
    url, headers = disk.temporary_upload_url("uploads/new.txt", 300, content_type="text/plain")
    assert headers == {"Content-Type": "text/plain"}
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Goog-Expires"] == ["300"]
    assert query["X-Goog-SignedHeaders"] == ["content-type;host"]
    _verify_v4_signature(url, "PUT", service_account["public_key"], headers)
    request = urllib.request.Request(url, data=b"sent by a browser", method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert disk.get("uploads/new.txt") == b"sent by a browser"
    assert disk.mime_type("uploads/new.txt") == "text/plain"


def test_temporary_url_refusals(make_disk: DiskFactory, service_account: dict[str, Any]) -> None:
    anonymous = make_disk()
    with pytest.raises(UnableToGenerateTemporaryUrl, match="key_file") as caught:
        anonymous.temporary_url("a.txt", 60)
    assert caught.value.disk == "gcs" and caught.value.path == "a.txt"
    signing = make_disk(key_file=service_account["path"])
    with pytest.raises(UnableToGenerateTemporaryUrl, match="7 days"):
        signing.temporary_url("a.txt", timedelta(days=8))
    with pytest.raises(UnableToGenerateTemporaryUrl, match="unknown option"):
        signing.temporary_url("a.txt", 60, ResponseContentType="text/plain")


# -- streaming, progress, large objects, sessions ----------------------------------------------------


def test_progress_counts_up_to_the_total(make_disk: DiskFactory) -> None:
    disk = make_disk(chunk_size=MiB)
    data = os.urandom(3 * MiB + 123)
    sent: list[tuple[int, int | None]] = []
    disk.put("p.bin", io.BytesIO(data), progress=lambda done, total: sent.append((done, total)))
    assert len(sent) > 2
    assert [done for done, _ in sent] == sorted({done for done, _ in sent})  # strictly increasing
    assert sent[-1] == (len(data), len(data))
    received: list[tuple[int, int | None]] = []
    assert disk.get("p.bin", progress=lambda done, total: received.append((done, total))) == data
    assert len(received) > 2
    assert [done for done, _ in received] == sorted({done for done, _ in received})
    assert received[-1] == (len(data), len(data))


def test_64_mib_moves_in_bounded_memory(separate_gcs: str) -> None:
    manager = StorageManager({"disks": {"gcs": {"driver": "gcs", "bucket": "large", "endpoint": separate_gcs,
                                                "token": "anon", "project_id": "test", "create_bucket": True}}})
    disk = manager.disk("gcs")
    block = os.urandom(MiB)
    expected = hashlib.md5()
    for index in range(64):
        expected.update(block[:-1] + bytes([index]))

    def chunks() -> Iterator[bytes]:
        for index in range(64):
            yield block[:-1] + bytes([index])

    try:
        gc.collect()
        tracemalloc.start()
        started = time.monotonic()
        disk.put("large.bin", chunks())
        put_seconds = time.monotonic() - started
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.md5()
        size = 0
        started = time.monotonic()
        with disk.read_stream("large.bin") as stream:
            for chunk in stream:
                digest.update(chunk)
                size += len(chunk)
        get_seconds = time.monotonic() - started
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        manager.configure({"disks": {}})
    print(f"64 MiB: put {put_seconds:.2f}s peak {put_peak / MiB:.1f} MiB; "
          f"get {get_seconds:.2f}s peak {get_peak / MiB:.1f} MiB")
    assert size == 64 * MiB and digest.hexdigest() == expected.hexdigest()
    assert put_peak < 32 * MiB, f"put peaked at {put_peak / MiB:.1f} MiB"
    assert get_peak < 32 * MiB, f"get peaked at {get_peak / MiB:.1f} MiB"


def test_close_closes_the_http_sessions(make_disk: DiskFactory, service_account: dict[str, Any]) -> None:
    disk = make_disk(key_file=service_account["path"])
    disk.put("a.txt", "x")
    disk.temporary_url("a.txt", 60)
    backend: Any = disk.backend
    session = backend.fs._session
    assert session is not None and not session.closed
    disk.close()
    assert session.closed and backend.fs._session is None
    disk.close()  # twice is fine
    assert disk.get("a.txt") == b"x"  # a closed disk reconnects on use
    disk.close()
    gc.collect()  # an unclosed session would warn here, and warnings are errors


def test_a_key_file_path_object_and_the_credentials_path_alias(gcs_endpoint: str, bucket: str,
                                                               service_account: dict[str, Any]) -> None:
    manager = StorageManager({"disks": {
        "a": {"driver": "gcs", "bucket": bucket, "endpoint": gcs_endpoint, "token": "anon",
              "credentials_path": Path(service_account["path"])},
    }})
    try:
        url = manager.disk("a").temporary_url("x.txt", 60)
        assert "X-Goog-Signature=" in url
    finally:
        manager.configure({"disks": {}})

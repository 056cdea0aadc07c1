"""The azure driver against a real Azurite blob server on loopback (no mocks).

The contract suite runs in full; the rest checks what only Azure does: SAS
URLs that Azurite really enforces (fresh, tampered, expired), upload URLs,
Content-Type and Content-MD5 on upload, access tiers, block uploads of large
files in bounded memory, ADLS Gen2 folder blobs, configuration and lifecycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import io
import os
import sys
import threading
import time
import tracemalloc
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# adlfs and azure-storage-blob come with the dev extra: a missing one fails collection, never skips.
import adlfs  # noqa: F401
import azure.storage.blob  # noqa: F401
import httpx
import pytest

import flystore
from flystore import (
    DriverNotInstalled,
    FileNotFound,
    FilesystemAdapter,
    InvalidConfiguration,
    ReadOnlyDisk,
    StorageError,
    StorageManager,
    UnableToGenerateTemporaryUrl,
    UnableToReadFile,
    UnableToWriteFile,
    UnsupportedOperation,
)
from flystore.drivers.azure import AzureBackend, AzureBlobStorageAdapter
from flystore.testing import DiskContract
from tests.services import AZURITE_ACCOUNT, AZURITE_KEY, free_port

MiB = 1024 * 1024


def _container_name() -> str:
    return f"fly-{uuid.uuid4().hex[:16]}"


def _blob_endpoint(connection_string: str) -> str:
    fields = dict(part.split("=", 1) for part in connection_string.split(";") if part)
    return fields["BlobEndpoint"].rstrip("/")


@pytest.fixture
def blob_service(azure_connection_string: str) -> Iterator[Any]:
    """The synchronous Azure SDK client, to look at what the driver really stored."""
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(azure_connection_string) as service:
        yield service


@pytest.fixture
def container(blob_service: Any) -> Iterator[str]:
    """A unique container name, deleted after the test."""
    from azure.core.exceptions import ResourceNotFoundError

    name = _container_name()
    yield name
    with contextlib.suppress(ResourceNotFoundError):
        blob_service.delete_container(name)


@pytest.fixture
def make_disk(azure_connection_string: str, container: str) -> Iterator[Callable[..., FilesystemAdapter]]:
    """Build azure disks through a StorageManager (closed after the test)."""
    built: list[FilesystemAdapter] = []

    def make(**options: Any) -> FilesystemAdapter:
        config: dict[str, Any] = {
            "driver": "azure",
            "connection_string": azure_connection_string,
            "container": container,
            "create_container": True,
        }
        config.update(options)
        for key in [key for key, value in config.items() if value is None]:
            del config[key]
        disk = StorageManager({"disks": {"az": config}}).disk("az")
        built.append(disk)
        return disk

    yield make
    for disk in built:
        disk.close()


@pytest.fixture
def disk(make_disk: Callable[..., FilesystemAdapter]) -> FilesystemAdapter:
    return make_disk()


def _get(url: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(timeout=10) as client:
        return client.get(url, **kwargs)


class TestAzureContract(DiskContract):
    stateful_examples = 5
    stateful_steps = 10

    @pytest.fixture
    def disk(self, make_disk: Callable[..., FilesystemAdapter]) -> FilesystemAdapter:
        return make_disk()


class TestAzurePrefixedContract(DiskContract):
    """The whole contract again with the disk under a prefix of a shared container."""

    stateful_examples = 3
    stateful_steps = 8

    @pytest.fixture
    def disk(self, make_disk: Callable[..., FilesystemAdapter], blob_service: Any, container: str
             ) -> FilesystemAdapter:
        made = make_disk(prefix="tenants/acme")
        # Neighbours outside the prefix must never show up.
        blob_service.get_blob_client(container, "tenants/other.txt").upload_blob(b"outside")
        blob_service.get_blob_client(container, "tenants/acme-x/inside-sibling.txt").upload_blob(b"outside")
        return made


# -- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"container": "ok-name", "connection_string": "x", "bogus": 1}, "bogus"),
        ({"connection_string": "x"}, "container"),
        ({"container": "Bad_Name", "connection_string": "x"}, "container"),
        ({"container": "a--b", "connection_string": "x"}, "container"),
        ({"container": "ok-name"}, "account_name"),
        ({"container": "ok-name", "connection_string": "x", "account_name": "y"}, "account_name"),
        ({"container": "ok-name", "account_name": "a", "account_key": "k", "sas_token": "s"}, "sas_token"),
        ({"container": "ok-name", "account_name": "a", "endpoint": "ftp://x"}, "endpoint"),
        ({"container": "ok-name", "account_name": "a", "prefix": "../up"}, "prefix"),
        ({"container": "ok-name", "account_name": "a", "block_size": 10}, "block_size"),
        ({"container": "ok-name", "account_name": "a", "max_concurrency": 0}, "max_concurrency"),
        ({"container": "ok-name", "account_name": "a", "timeout": -1}, "timeout"),
        ({"container": "ok-name", "account_name": "a", "retries": -1}, "retries"),
        ({"container": "ok-name", "connection_string": "not a connection string"}, "connection_string"),
    ],
)
def test_bad_options_name_the_disk_and_the_option(options: dict[str, Any], option: str) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        StorageManager({"disks": {"az": {"driver": "azure", **options}}}).disk("az")
    assert caught.value.option == option
    assert caught.value.disk == "az"
    assert "az" in str(caught.value)


@pytest.mark.parametrize("module", ["adlfs", "azure.storage.blob.aio"])
def test_a_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    manager = StorageManager(
        {"disks": {"az": {"driver": "azure", "container": "abc", "connection_string": "UseDevelopmentStorage=true"}}}
    )
    with pytest.raises(DriverNotInstalled) as caught:
        manager.disk("az")
    assert 'pip install "flystore[azure]"' in str(caught.value)
    assert caught.value.disk == "az"


def test_the_adapter_is_directly_constructible(azure_connection_string: str, container: str) -> None:
    assert flystore.AzureBlobStorageAdapter is AzureBlobStorageAdapter
    with AzureBlobStorageAdapter(
        container=container, connection_string=azure_connection_string, name="azure", create_container=True
    ) as disk:
        assert isinstance(disk, AzureBlobStorageAdapter) and disk.name == "azure"
        assert disk.container == container
        disk.put("direct.txt", "built by hand")
        assert disk.get("direct.txt") == b"built by hand"
        with pytest.raises(FileNotFound) as caught:
            disk.get("absent.txt")
        assert caught.value.disk == "azure"


def test_account_name_key_and_endpoint(azure_connection_string: str, container: str, blob_service: Any) -> None:
    options = {
        "driver": "azure",
        "account_name": AZURITE_ACCOUNT,
        "account_key": AZURITE_KEY,
        "endpoint": _blob_endpoint(azure_connection_string),
        "container": container,
        "create_container": True,
    }
    disk = StorageManager({"disks": {"az": options}}).disk("az")
    try:
        disk.put("key-auth.txt", "via the account key")
        assert blob_service.get_blob_client(container, "key-auth.txt").download_blob().readall() == (
            b"via the account key"
        )
        assert _get(disk.temporary_url("key-auth.txt", 60)).content == b"via the account key"
    finally:
        disk.close()


def test_a_sas_token_works_but_cannot_sign_temporary_urls(
    azure_connection_string: str, container: str, blob_service: Any
) -> None:
    from datetime import timedelta

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    blob_service.create_container(container)
    token = generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True, create=True, add=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    options = {
        "driver": "azure",
        "account_name": AZURITE_ACCOUNT,
        "sas_token": "?" + token,
        "endpoint": _blob_endpoint(azure_connection_string),
        "container": container,
    }
    disk = StorageManager({"disks": {"az": options}}).disk("az")
    try:
        disk.put("sas/a.txt", "through a SAS token")
        disk.copy("sas/a.txt", "sas/b.txt")
        assert disk.files("sas") == ["sas/a.txt", "sas/b.txt"]
        assert disk.get("sas/b.txt") == b"through a SAS token"
        assert disk.delete("sas/a.txt") is True
        with pytest.raises(UnableToGenerateTemporaryUrl, match="account key"):
            disk.temporary_url("sas/b.txt", 60)
    finally:
        disk.close()


def test_a_missing_container_is_reported_not_mistaken_for_a_missing_file(
    make_disk: Callable[..., FilesystemAdapter],
) -> None:
    disk = make_disk(create_container=False)
    with pytest.raises(UnableToWriteFile, match="does not exist") as written:
        disk.put("a.txt", "x")
    assert written.value.disk == "az" and written.value.path == "a.txt"
    with pytest.raises(UnableToReadFile, match="does not exist"):
        disk.get("a.txt")
    with pytest.raises(StorageError, match="does not exist"):
        disk.files()


def test_an_unreachable_endpoint_fails_fast_with_a_flystore_error(container: str) -> None:
    options = {
        "driver": "azure",
        "account_name": AZURITE_ACCOUNT,
        "account_key": AZURITE_KEY,
        "endpoint": f"http://127.0.0.1:{free_port()}/{AZURITE_ACCOUNT}",
        "container": container,
        "retries": 0,
        "timeout": 2,
    }
    disk = StorageManager({"disks": {"az": options}}).disk("az")
    started = time.monotonic()
    try:
        with pytest.raises(UnableToWriteFile) as caught:
            disk.put("a.txt", "x")
        assert caught.value.__cause__ is not None
        assert not isinstance(caught.value.__cause__, StorageError)
    finally:
        disk.close()
    assert time.monotonic() - started < 10


# -- content type, metadata, tiers ----------------------------------------------------------


def test_mime_type_is_stored_as_content_type(disk: FilesystemAdapter, blob_service: Any, container: str) -> None:
    disk.put("report.pdf", b"%PDF")
    disk.put("data", b"{}", mimetype="application/json")
    disk.put("big.csv", os.urandom(2 * MiB))  # goes up as blocks
    stored = {
        name: blob_service.get_blob_client(container, name).get_blob_properties().content_settings.content_type
        for name in ("report.pdf", "data", "big.csv")
    }
    assert stored == {"report.pdf": "application/pdf", "data": "application/json", "big.csv": "text/csv"}
    assert disk.mime_type("data") == "application/json"
    response = _get(disk.temporary_url("report.pdf", 60))
    assert response.headers["content-type"] == "application/pdf"


def test_content_headers_are_stored(disk: FilesystemAdapter, blob_service: Any, container: str) -> None:
    disk.put("page.html", "<p>hi</p>", cache_control="max-age=60", content_disposition="inline")
    settings = blob_service.get_blob_client(container, "page.html").get_blob_properties().content_settings
    assert (settings.cache_control, settings.content_disposition) == ("max-age=60", "inline")
    details = disk.metadata("page.html")
    assert details["cache_control"] == "max-age=60" and details["content_disposition"] == "inline"
    with pytest.raises(UnableToWriteFile, match="unknown write option"):
        disk.put("nope.txt", "x", acl="public-read")
    assert disk.file_missing("nope.txt")


def test_custom_metadata_is_stored_as_blob_metadata(
    disk: FilesystemAdapter, blob_service: Any, container: str
) -> None:
    disk.put("meta.txt", "x", metadata={"owner": "ada", "Project_2": "flystore"})
    assert blob_service.get_blob_client(container, "meta.txt").get_blob_properties().metadata == {
        "owner": "ada",
        "Project_2": "flystore",
    }
    assert disk.metadata("meta.txt")["metadata"] == {"owner": "ada", "Project_2": "flystore"}
    # Streamed (block) uploads carry it too, and a copy keeps it with the Content-Type.
    disk.put("meta-big.json", io.BytesIO(b"{}" * MiB), metadata={"owner": "bob"})
    disk.copy("meta-big.json", "copied.json")
    assert disk.metadata("copied.json")["metadata"] == {"owner": "bob"}
    assert disk.mime_type("copied.json") == "application/json"


def test_listings_and_stat_describe_a_blob_alike(disk: FilesystemAdapter) -> None:
    disk.put("same/x.txt", "x", metadata={"owner": "ada", "empty": ""}, cache_control="no-cache")
    (listed,) = disk.list("same")
    stated = disk.stat("same/x.txt")
    assert isinstance(listed, flystore.FileAttributes)
    assert listed.metadata == stated.metadata == {"owner": "ada", "empty": ""}
    assert listed.extra == stated.extra
    assert listed.extra["etag"].startswith('"') and listed.extra["cache_control"] == "no-cache"
    assert (listed.size, listed.mime_type, listed.checksum) == (stated.size, stated.mime_type, stated.checksum)


@pytest.mark.parametrize(
    "metadata", [{"bad-name": "v"}, {"1st": "v"}, {"owner": "grüße"}, {"is_directory": "true"}]
)
def test_metadata_azure_cannot_store_is_refused_before_writing(
    disk: FilesystemAdapter, metadata: dict[str, str]
) -> None:
    with pytest.raises(UnableToWriteFile, match="metadata") as caught:
        disk.put("refused.txt", "x", metadata=metadata)
    assert caught.value.disk == "az"
    assert disk.file_missing("refused.txt")


@pytest.mark.parametrize("tier", ["Hot", "Cool", "Cold"])
def test_put_with_tier(disk: FilesystemAdapter, blob_service: Any, container: str, tier: str) -> None:
    assert isinstance(disk, AzureBlobStorageAdapter)
    assert disk.put_with_tier(f"tiered/{tier}.txt", f"in {tier}", tier) == f"tiered/{tier}.txt"
    assert disk.metadata(f"tiered/{tier}.txt")["tier"] == tier
    assert blob_service.get_blob_client(container, f"tiered/{tier}.txt").get_blob_properties().blob_tier == tier
    assert disk.get(f"tiered/{tier}.txt") == f"in {tier}".encode()
    assert [entry.extra["tier"] for entry in disk.list("tiered") if isinstance(entry, flystore.FileAttributes)] == [
        tier
    ]


def test_a_streamed_upload_takes_the_tier_in_its_commit(disk: FilesystemAdapter) -> None:
    disk.put("cold.bin", io.BytesIO(os.urandom(9 * MiB)), tier="cold")
    assert disk.metadata("cold.bin")["tier"] == "Cold"


def test_archive_tier_blocks_reads_until_rehydrated(disk: FilesystemAdapter) -> None:
    assert isinstance(disk, AzureBlobStorageAdapter)
    disk.put_with_tier("frozen.txt", "deep storage", "Archive")
    assert disk.metadata("frozen.txt")["tier"] == "Archive"
    assert disk.size("frozen.txt") == 12  # properties stay readable
    with pytest.raises(UnableToReadFile, match="Archive tier") as caught:
        disk.get("frozen.txt")
    assert caught.value.path == "frozen.txt" and caught.value.disk == "az"
    with pytest.raises(UnableToWriteFile, match="Archive tier"):
        disk.put("frozen.txt", "cannot overwrite an archived blob")
    # Azurite rehydrates at once; Azure takes hours and shows archive_status meanwhile.
    disk.set_tier("frozen.txt", "Hot")
    assert disk.metadata("frozen.txt")["tier"] == "Hot"
    assert disk.get("frozen.txt") == b"deep storage"


def test_set_tier_moves_a_blob_between_tiers(disk: FilesystemAdapter, blob_service: Any, container: str) -> None:
    assert isinstance(disk, AzureBlobStorageAdapter)
    disk.put("mover.txt", "x")
    disk.set_tier("/mover.txt", "cool")
    assert blob_service.get_blob_client(container, "mover.txt").get_blob_properties().blob_tier == "Cool"
    disk.set_tier("mover.txt", "Cold")
    assert disk.metadata("mover.txt")["tier"] == "Cold"


def test_unknown_tiers_are_refused(disk: FilesystemAdapter) -> None:
    assert isinstance(disk, AzureBlobStorageAdapter)
    with pytest.raises(UnableToWriteFile, match="Hot, Cool, Cold, Archive"):
        disk.put_with_tier("x.txt", "x", "Glacier")
    with pytest.raises(UnableToWriteFile, match="unknown access tier"):
        disk.put("x.txt", "x", tier="Premium")
    assert disk.file_missing("x.txt")
    with pytest.raises(FileNotFound):
        disk.set_tier("x.txt", "Cool")


def test_set_tier_respects_a_read_only_disk(make_disk: Callable[..., FilesystemAdapter]) -> None:
    writer = make_disk()
    writer.put("t.txt", "x")
    reader = make_disk(read_only=True)
    assert isinstance(reader, AzureBlobStorageAdapter)
    with pytest.raises(ReadOnlyDisk):
        reader.set_tier("t.txt", "Cool")
    assert writer.metadata("t.txt")["tier"] == "Hot"


# -- visibility and public URLs ---------------------------------------------------------------


def test_visibility_is_unsupported_per_blob(disk: FilesystemAdapter) -> None:
    assert "visibility" in disk.backend.unsupported
    disk.put("v.txt", "x", visibility="public")  # accepted; the container decides
    with pytest.raises(UnsupportedOperation, match="visibility"):
        disk.set_visibility("v.txt", "public")
    with pytest.raises(UnsupportedOperation):
        disk.get_visibility("v.txt")
    assert disk.metadata("v.txt")["visibility"] is None
    with pytest.raises(UnsupportedOperation, match="container setting"):
        disk.backend.set_visibility("v.txt", "public")


def test_a_public_disk_creates_a_public_container(
    make_disk: Callable[..., FilesystemAdapter], blob_service: Any, container: str
) -> None:
    disk = make_disk(visibility="public")
    assert blob_service.get_container_client(container).get_container_properties().public_access == "blob"
    disk.put("pub/hello world.txt", "for everyone")
    url = disk.url("pub/hello world.txt")
    assert url.endswith(f"/{container}/pub/hello%20world.txt")
    response = _get(url)
    assert response.status_code == 200 and response.content == b"for everyone"


def test_a_private_container_refuses_anonymous_reads(disk: FilesystemAdapter) -> None:
    disk.put("secret.txt", "not for everyone")
    response = _get(disk.url("secret.txt"))
    assert response.status_code in (403, 404)
    assert b"not for everyone" not in response.content


def test_the_url_option_wins(make_disk: Callable[..., FilesystemAdapter]) -> None:
    disk = make_disk(url="https://cdn.example/files")
    assert disk.url("a b.txt") == "https://cdn.example/files/a%20b.txt"


# -- SAS URLs (Azurite enforces them) -------------------------------------------------------------


def test_a_temporary_url_downloads_with_plain_http(disk: FilesystemAdapter) -> None:
    disk.put("dir/with space ü.txt", "signed bytes")
    url = disk.temporary_url("dir/with space ü.txt", 300)
    assert "sig=" in url and "se=" in url and "sp=r" in url
    response = _get(url)
    assert response.status_code == 200 and response.content == b"signed bytes"
    assert _get(url.split("?")[0]).status_code in (403, 404)  # the signature is what grants access


def test_a_tampered_temporary_url_is_refused(disk: FilesystemAdapter) -> None:
    disk.put("t.txt", "tamper-proof")
    url = disk.temporary_url("t.txt", 300)
    head, _, signature = url.partition("sig=")
    tampered = head + "sig=" + ("A" if not signature.startswith("A") else "B") + signature[1:]
    assert _get(tampered).status_code == 403
    other_blob = url.replace("/t.txt?", "/u.txt?")
    disk.put("u.txt", "another blob")
    assert _get(other_blob).status_code == 403


def test_an_expired_temporary_url_is_refused(disk: FilesystemAdapter) -> None:
    disk.put("brief.txt", "short-lived")
    expires_at = datetime.now(timezone.utc).timestamp() + 2
    url = disk.temporary_url("brief.txt", 2)
    assert _get(url).status_code == 200
    time.sleep(max(0.0, expires_at + 1.5 - time.time()))
    response = _get(url)
    assert response.status_code == 403
    assert b"short-lived" not in response.content


def test_temporary_url_response_overrides(disk: FilesystemAdapter) -> None:
    disk.put("r.bin", b"report")
    url = disk.temporary_url("r.bin", 60, content_disposition='attachment; filename="r.txt"', content_type="text/plain")
    response = _get(url)
    assert response.headers["content-disposition"] == 'attachment; filename="r.txt"'
    assert response.headers["content-type"] == "text/plain"
    with pytest.raises(UnableToGenerateTemporaryUrl, match="unknown option"):
        disk.temporary_url("r.bin", 60, acl="x")


def test_a_temporary_upload_url_takes_a_plain_http_put(disk: FilesystemAdapter) -> None:
    url, headers = disk.temporary_upload_url("uploads/new.txt", 300, content_type="text/plain")
    assert headers == {"x-ms-blob-type": "BlockBlob", "Content-Type": "text/plain"}
    with httpx.Client(timeout=10) as client:
        response = client.put(url, content=b"uploaded directly", headers=headers)
    assert response.status_code == 201
    assert disk.get("uploads/new.txt") == b"uploaded directly"
    assert disk.mime_type("uploads/new.txt") == "text/plain"
    # The upload URL does not grant reads, and a tampered one writes nothing.
    assert _get(url).status_code == 403
    tampered_url, _ = disk.temporary_upload_url("uploads/other.txt", 300)
    with httpx.Client(timeout=10) as client:
        refused = client.put(tampered_url.replace("sig=", "sig=X"), content=b"x", headers=headers)
    assert refused.status_code == 403
    assert disk.file_missing("uploads/other.txt")


# -- checksums -----------------------------------------------------------------------------------


def test_md5_comes_from_the_stored_content_md5(disk: FilesystemAdapter) -> None:
    small, large = os.urandom(1000), os.urandom(9 * MiB + 5)
    disk.put("small.bin", small)
    disk.put("large.bin", io.BytesIO(large))
    for path, data in (("small.bin", small), ("large.bin", large)):
        assert disk.backend.checksum(path, "md5") == hashlib.md5(data).hexdigest()
        assert disk.checksum(path) == hashlib.md5(data).hexdigest()
        assert disk.stat(path).checksum == "md5:" + hashlib.md5(data).hexdigest()
    assert disk.backend.checksum("small.bin", "sha256") is None
    assert disk.checksum("small.bin", "sha256") == hashlib.sha256(small).hexdigest()
    with pytest.raises(FileNotFound):
        disk.backend.checksum("absent.bin", "md5")


def test_without_a_stored_md5_the_checksum_is_streamed(
    disk: FilesystemAdapter, blob_service: Any, container: str
) -> None:
    from azure.storage.blob import BlobBlock

    client = blob_service.get_blob_client(container, "no-md5.bin")
    client.stage_block("a" * 32, b"first block ")
    client.stage_block("b" * 32, b"second block")
    client.commit_block_list([BlobBlock("a" * 32), BlobBlock("b" * 32)])
    assert disk.backend.checksum("no-md5.bin", "md5") is None
    assert disk.checksum("no-md5.bin") == hashlib.md5(b"first block second block").hexdigest()


def test_the_native_md5_is_used_without_downloading(
    disk: FilesystemAdapter, blob_service: Any, container: str
) -> None:
    from azure.storage.blob import BlobBlock, ContentSettings

    # A block commit stores the Content-MD5 it is given without checking it, which proves
    # where the disk's answer comes from.
    client = blob_service.get_blob_client(container, "claimed.bin")
    client.stage_block("a" * 32, b"actual bytes")
    claimed = hashlib.md5(b"claimed bytes").digest()
    client.commit_block_list([BlobBlock("a" * 32)], content_settings=ContentSettings(content_md5=bytearray(claimed)))
    assert disk.checksum("claimed.bin") == claimed.hex()


# -- large files, streams, progress ------------------------------------------------------------------


def test_64_mib_moves_as_blocks_in_bounded_memory(
    disk: FilesystemAdapter, blob_service: Any, container: str, tmp_path: Path
) -> None:
    size = 64 * MiB
    source = tmp_path / "big.bin"
    expected = hashlib.md5()
    with source.open("wb") as handle:
        for _ in range(64):
            chunk = os.urandom(MiB)
            expected.update(chunk)
            handle.write(chunk)
    uploaded: list[tuple[int, int | None]] = []
    downloaded: list[tuple[int, int | None]] = []

    tracemalloc.start()
    try:
        with source.open("rb") as handle:
            disk.put("big.bin", handle, progress=lambda done, total: uploaded.append((done, total)))
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        received = hashlib.md5()
        with disk.read_stream("big.bin", progress=lambda done, total: downloaded.append((done, total))) as stream:
            for chunk in stream:
                received.update(chunk)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert received.hexdigest() == expected.hexdigest()
    assert disk.size("big.bin") == size
    assert disk.checksum("big.bin") == expected.hexdigest()
    committed, _ = blob_service.get_blob_client(container, "big.bin").get_block_list("committed")
    assert len(committed) == size // (4 * MiB)
    assert upload_peak < 32 * MiB, f"upload peak {upload_peak / MiB:.1f} MiB"
    assert download_peak < 32 * MiB, f"download peak {download_peak / MiB:.1f} MiB"
    for events in (uploaded, downloaded):
        counts = [done for done, _ in events]
        assert counts == sorted(set(counts)) and len(counts) > 10
        assert counts[-1] == size
        assert {total for _, total in events} == {size}


def test_open_for_writing_streams_blocks_and_discards_on_error(
    disk: FilesystemAdapter, blob_service: Any, container: str
) -> None:
    with disk.open("written.bin", "wb") as handle:
        for index in range(10):
            handle.write(bytes([index]) * MiB)
    assert disk.get("written.bin") == b"".join(bytes([index]) * MiB for index in range(10))
    committed, _ = blob_service.get_blob_client(container, "written.bin").get_block_list("committed")
    assert len(committed) == 3  # 4 + 4 + 2 MiB

    class Stop(Exception):
        pass

    with pytest.raises(Stop), disk.open("written.bin", "wb") as handle:
        handle.write(b"z" * (9 * MiB))  # two blocks staged already
        raise Stop
    assert disk.size("written.bin") == 10 * MiB
    assert disk.get("written.bin")[:MiB] == bytes(MiB)


def test_a_stream_failing_after_staged_blocks_publishes_nothing(disk: FilesystemAdapter) -> None:
    disk.put("kept.bin", "old")

    def broken() -> Iterator[bytes]:
        for _ in range(9):
            yield b"n" * MiB
        raise RuntimeError("source died")

    with pytest.raises(UnableToWriteFile, match="source died"):
        disk.put("kept.bin", broken())
    with pytest.raises(UnableToWriteFile):
        disk.put("fresh.bin", broken())
    assert disk.get("kept.bin") == b"old"
    assert disk.all_files() == ["kept.bin"]


def test_open_read_is_seekable_and_reads_ranges(disk: FilesystemAdapter) -> None:
    data = os.urandom(9 * MiB + 123)
    disk.put("seek.bin", data)
    with disk.open("seek.bin", "rb") as handle:
        assert handle.seekable()
        handle.seek(5 * MiB)
        assert handle.read(10) == data[5 * MiB : 5 * MiB + 10]
        handle.seek(-100, io.SEEK_END)
        assert handle.read() == data[-100:]
        handle.seek(0)
        assert handle.read(3) == data[:3]


def test_a_file_replaced_mid_read_fails_instead_of_mixing_versions(disk: FilesystemAdapter) -> None:
    disk.put("v.bin", b"1" * (10 * MiB))
    with disk.read_stream("v.bin", chunk_size=MiB) as stream:
        assert stream.read(MiB) == b"1" * MiB  # the first 4 MiB block is buffered
        disk.put("v.bin", b"2" * (10 * MiB))
        with pytest.raises(UnableToReadFile, match="replaced") as caught:
            b"".join(stream)
    assert caught.value.path == "v.bin"


def test_reading_leaves_the_callers_event_loop_alone(disk: FilesystemAdapter) -> None:
    disk.put("loop.txt", "x" * 100)
    seen: list[str] = []

    def in_a_thread() -> None:
        with disk.read_stream("loop.txt") as stream:
            b"".join(stream)
        with disk.open("loop.txt", "rb") as handle:
            handle.read()
        try:
            asyncio.get_event_loop_policy().get_event_loop()
            seen.append("a loop was installed in this thread")
        except RuntimeError:
            seen.append("no loop")

    worker = threading.Thread(target=in_a_thread)
    worker.start()
    worker.join(30)
    assert seen == ["no loop"]


# -- directories, prefixes, ADLS Gen2 folders ----------------------------------------------------------


def test_a_prefix_keeps_every_blob_under_it(
    make_disk: Callable[..., FilesystemAdapter], blob_service: Any, container: str
) -> None:
    disk = make_disk(prefix="/tenants//acme/")
    disk.put("a.txt", "a")
    disk.make_directory("empty")
    names = sorted(blob.name for blob in blob_service.get_container_client(container).list_blobs())
    assert names == ["tenants/acme/a.txt", "tenants/acme/empty/.flystore-directory"]
    assert disk.url("a.txt").endswith(f"/{container}/tenants/acme/a.txt")
    assert disk.delete_directory("empty") is True
    assert disk.directories() == []


def test_markers_are_reserved_and_hidden(disk: FilesystemAdapter) -> None:
    disk.make_directory("d")
    with pytest.raises(UnableToWriteFile, match="reserved"):
        disk.put("d/.flystore-directory", "x")
    assert disk.file_missing("d/.flystore-directory")
    assert disk.delete("d/.flystore-directory") is False
    assert disk.directory_exists("d") and disk.all_files() == []
    with pytest.raises(UnableToWriteFile, match="a directory exists"):
        disk.put("d", "a directory is in the way")


def test_adls_gen2_folder_blobs_are_directories(
    disk: FilesystemAdapter, blob_service: Any, container: str
) -> None:
    folder = {"hdi_isfolder": "true"}
    blob_service.get_blob_client(container, "gen2/empty").upload_blob(b"", metadata=folder)
    blob_service.get_blob_client(container, "gen2/full").upload_blob(b"", metadata=folder)
    blob_service.get_blob_client(container, "gen2/full/f.txt").upload_blob(b"file")
    assert disk.directories("gen2") == ["gen2/empty", "gen2/full"]
    assert disk.all_files("gen2") == ["gen2/full/f.txt"]
    assert disk.all_directories() == ["gen2", "gen2/empty", "gen2/full"]
    assert disk.directory_exists("gen2/empty") and not disk.file_exists("gen2/empty")
    with pytest.raises(FileNotFound):
        disk.get("gen2/empty")
    with pytest.raises(FileNotFound):
        disk.size("gen2/full")
    assert disk.delete("gen2/empty") is False
    assert disk.delete_directory("gen2/empty") is True
    assert disk.directory_missing("gen2/empty")
    assert disk.directories("gen2") == ["gen2/full"]


# -- lifecycle ----------------------------------------------------------------------------------------


def test_close_releases_the_http_session(make_disk: Callable[..., FilesystemAdapter]) -> None:
    disk = make_disk()
    disk.put("x.txt", "x")
    assert disk.get("x.txt") == b"x"
    backend = disk.backend
    assert isinstance(backend, AzureBackend)
    transport = backend.client._pipeline._transport  # the SDK's aiohttp transport
    assert transport.session is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        disk.close()
        disk.close()  # twice is fine
        del disk, backend
        gc.collect()
    assert transport.session is None
    assert not [warning for warning in caught if issubclass(warning.category, ResourceWarning)]

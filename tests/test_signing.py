"""Temporary URLs of local and memory disks: HMAC-signed, verified by verify_temporary_url."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from flystore import (
    InvalidConfiguration,
    InvalidSignedUrl,
    StorageManager,
    UnableToGenerateTemporaryUrl,
    verify_temporary_url,
)


@pytest.fixture
def manager() -> StorageManager:
    return StorageManager(
        {
            "disks": {
                "files": {"driver": "memory"},
                "own-key": {"driver": "memory", "signing_key": "base64:" + base64.b64encode(b"k" * 32).decode(),
                            "serve_prefix": "/media"},
            }
        },
        app_key="app-secret-" + "x" * 32,
    )


def test_a_signed_url_verifies_until_it_expires(manager: StorageManager) -> None:
    url = manager.disk("files").temporary_url("reports/q3 final.pdf", expires=60)
    assert url.startswith("/storage/_signed/files/reports/q3%20final.pdf?")
    target = verify_temporary_url(url, manager=manager)
    assert (target.disk, target.path, target.method) == ("files", "reports/q3 final.pdf", "GET")
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    assert abs(expires - (time.time() + 60)) < 5
    with pytest.raises(InvalidSignedUrl, match="expired"):
        verify_temporary_url(url, manager=manager, now=expires + 1)


def test_a_tampered_url_is_refused(manager: StorageManager) -> None:
    url = manager.disk("files").temporary_url("a.txt")
    for tampered in (
        url.replace("a.txt", "b.txt"),
        url.replace("expires=", "expires=9"),
        url[:-1] + ("0" if url[-1] != "0" else "1"),
        url.replace("/files/", "/own-key/"),
    ):
        with pytest.raises(InvalidSignedUrl):
            verify_temporary_url(tampered, manager=manager)
    with pytest.raises(InvalidSignedUrl):
        verify_temporary_url("/storage/not-signed/a.txt", manager=manager)
    with pytest.raises(InvalidSignedUrl):
        verify_temporary_url(url.split("?")[0], manager=manager)


def test_expiry_may_be_a_timedelta_or_a_datetime(manager: StorageManager) -> None:
    disk = manager.disk("files")
    moment = datetime.now(timezone.utc) + timedelta(hours=2)
    for expires in (timedelta(hours=2), moment, moment.replace(tzinfo=None)):
        target = verify_temporary_url(disk.temporary_url("x", expires=expires), manager=manager)
        assert abs((target.expires_at - moment).total_seconds()) < 5
    for bad in (-5, datetime.now(timezone.utc) - timedelta(seconds=1), "soon"):
        with pytest.raises(UnableToGenerateTemporaryUrl):
            disk.temporary_url("x", expires=bad)  # type: ignore[arg-type]


def test_a_disk_signing_key_and_serve_prefix_are_used(manager: StorageManager) -> None:
    url = manager.disk("own-key").temporary_url("a.txt")
    assert url.startswith("/media/_signed/own-key/a.txt?")
    assert verify_temporary_url(url, manager=manager).disk == "own-key"
    with pytest.raises(InvalidSignedUrl):
        verify_temporary_url(url.replace("/media/", "/storage/"), manager=manager)
    other = StorageManager({"disks": {"own-key": {"driver": "memory", "signing_key": "different-" + "y" * 32}}})
    with pytest.raises(InvalidSignedUrl):
        verify_temporary_url(url, manager=other)


def test_upload_urls_are_signed_for_put_only(manager: StorageManager) -> None:
    url, headers = manager.disk("files").temporary_upload_url("in/new.bin", content_type="image/png")
    assert headers == {"Content-Type": "image/png"}
    assert verify_temporary_url(url, manager=manager, method="PUT").method == "PUT"
    with pytest.raises(InvalidSignedUrl, match="PUT"):
        verify_temporary_url(url, manager=manager, method="GET")
    download = manager.disk("files").temporary_url("in/new.bin")
    with pytest.raises(InvalidSignedUrl):
        verify_temporary_url(download, manager=manager, method="PUT")


def test_the_app_key_comes_from_app_key_and_accepts_base64(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_KEY", "base64:" + base64.b64encode(b"\x01" * 32).decode())
    manager = StorageManager({"disks": {"d": {"driver": "memory"}}})
    assert manager.app_key == b"\x01" * 32
    assert verify_temporary_url(manager.disk("d").temporary_url("x"), manager=manager).path == "x"
    monkeypatch.setenv("APP_KEY", "base64:not valid base64!")
    with pytest.raises(InvalidConfiguration):
        _ = StorageManager({"disks": {"d": {"driver": "memory"}}}).app_key


def test_without_any_key_signing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_KEY", raising=False)
    manager = StorageManager({"disks": {"d": {"driver": "memory"}}})
    with pytest.raises(UnableToGenerateTemporaryUrl, match="APP_KEY") as caught:
        manager.disk("d").temporary_url("x")
    assert caught.value.disk == "d"


def test_app_url_makes_absolute_links(manager: StorageManager, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_URL", "https://example.test/")
    url = manager.disk("files").temporary_url("a.txt")
    assert url.startswith("https://example.test/storage/_signed/files/a.txt?")
    assert verify_temporary_url(url, manager=manager).path == "a.txt"


@pytest.mark.parametrize("short", ["short", "base64:" + base64.b64encode(b"k" * 31).decode(), "x" * 31])
def test_signing_keys_under_32_bytes_are_refused(short: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidConfiguration, match="at least 32") as caught:
        StorageManager({"disks": {"d": {"driver": "memory", "signing_key": short}}}).disk("d")
    assert caught.value.disk == "d" and caught.value.option == "signing_key"
    monkeypatch.setenv("APP_KEY", short)
    with pytest.raises(InvalidConfiguration, match="at least 32"):
        StorageManager({"disks": {"d": {"driver": "memory"}}}).disk("d").temporary_url("x")
    monkeypatch.setenv("APP_KEY", "base64:" + base64.b64encode(b"k" * 32).decode())
    assert StorageManager({"disks": {"d": {"driver": "memory"}}}).disk("d").temporary_url("x")


def test_temporary_url_errors_name_the_path(manager: StorageManager, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UnableToGenerateTemporaryUrl) as caught:
        manager.disk("files").temporary_url("reports/q3.pdf", expires=-5)
    assert (caught.value.disk, caught.value.path) == ("files", "reports/q3.pdf")
    assert "reports/q3.pdf" in str(caught.value)
    monkeypatch.delenv("APP_KEY", raising=False)
    keyless = StorageManager({"disks": {"d": {"driver": "memory"}}})
    with pytest.raises(UnableToGenerateTemporaryUrl) as missing:
        keyless.disk("d").temporary_upload_url("in/x.bin")
    assert missing.value.path == "in/x.bin" and "in/x.bin" in str(missing.value)

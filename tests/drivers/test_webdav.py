"""The webdav driver against a real wsgidav server on loopback (no mocks)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.errors import (
    DriverNotInstalled,
    FileNotFound,
    InvalidConfiguration,
    StorageError,
    UnableToCopyFile,
    UnableToWriteFile,
    UnsupportedOperation,
)
from flystore.testing import DiskContract
from tests.drivers import remote_fixtures as remote

TEMP_PREFIX = remote.TEMP_PREFIX
temp_files = remote.temp_files


def build(server: dict[str, Any], root: str, **extra: Any) -> FilesystemAdapter:
    return remote.build("webdav", server, root, **extra)


@pytest.fixture
def root_name(webdav_server: dict[str, Any]) -> Iterator[str]:
    """A unique directory under the server root, removed after the test."""
    yield from remote.unique_root(webdav_server)


@pytest.fixture
def dav_disk(webdav_server: dict[str, Any], root_name: str) -> Iterator[FilesystemAdapter]:
    disk = build(webdav_server, root_name)
    yield disk
    disk.close()


def real(webdav_server: dict[str, Any], root_name: str, *parts: str) -> str:
    return os.path.join(webdav_server["root"], root_name, *parts)


class RequestLog:
    """Records the HTTP requests a disk's client sends (an httpx event hook)."""

    def __init__(self, disk: FilesystemAdapter) -> None:
        self.requests: list[tuple[str, str, str | None]] = []
        disk.backend.client.http.event_hooks["request"].append(self)  # type: ignore[attr-defined]

    def __call__(self, request: Any) -> None:
        self.requests.append((request.method, request.url.path, request.headers.get("Depth")))

    @property
    def methods(self) -> list[str]:
        return [method for method, _, _ in self.requests]


class TestWebdavContract(DiskContract):
    stateful_examples = 8
    stateful_steps = 12

    @pytest.fixture
    def disk(self, dav_disk: FilesystemAdapter) -> Iterator[FilesystemAdapter]:
        yield dav_disk


class TestWebdavWithoutDeadPropertiesContract(DiskContract):
    """``properties: false``: MIME types and metadata are unsupported, the rest holds."""

    stateful_examples = 2
    stateful_steps = 8

    @pytest.fixture
    def disk(self, webdav_server: dict[str, Any], root_name: str) -> Iterator[FilesystemAdapter]:
        disk = build(webdav_server, root_name, properties=False)
        yield disk
        disk.close()


class _Boom(Exception):
    pass


# -- where files go -------------------------------------------------------------------------------


def test_files_land_under_the_root_which_is_created_on_demand(
    webdav_server: dict[str, Any], root_name: str
) -> None:
    disk = build(webdav_server, f"{root_name}/nested root/ü")
    try:
        assert disk.files() == []
        disk.put("a/b c.txt", "on the server")
        with open(real(webdav_server, root_name, "nested root", "ü", "a", "b c.txt"), "rb") as handle:
            assert handle.read() == b"on the server"
        assert disk.all_files() == ["a/b c.txt"]
    finally:
        disk.close()


def test_percent_signs_are_stored_literally(
    dav_disk: FilesystemAdapter, webdav_server: dict[str, Any], root_name: str
) -> None:
    dav_disk.put("50%25 off/a%2Fb.txt", "literal")
    assert os.listdir(real(webdav_server, root_name)) == ["50%25 off"]
    assert os.listdir(real(webdav_server, root_name, "50%25 off")) == ["a%2Fb.txt"]
    assert dav_disk.all_files() == ["50%25 off/a%2Fb.txt"]


def test_last_modified_comes_from_the_server(
    dav_disk: FilesystemAdapter, webdav_server: dict[str, Any], root_name: str
) -> None:
    dav_disk.put("dated.txt", "x")
    os.utime(real(webdav_server, root_name, "dated.txt"), (1_600_000_000, 1_600_000_000))
    assert dav_disk.last_modified("dated.txt") == datetime.fromtimestamp(1_600_000_000, timezone.utc)
    assert dav_disk.list("")[0].last_modified == datetime.fromtimestamp(1_600_000_000, timezone.utc)


# -- requests -------------------------------------------------------------------------------------


def test_existence_is_one_depth_zero_propfind(dav_disk: FilesystemAdapter) -> None:
    for index in range(5):
        dav_disk.put(f"many/{index}.txt", "x")
    log = RequestLog(dav_disk)
    assert dav_disk.directory_exists("many")
    assert dav_disk.file_exists("many/3.txt")
    assert dav_disk.size("many/3.txt") == 1
    assert log.requests and all(method == "PROPFIND" and depth == "0" for method, _, depth in log.requests)
    assert len(log.requests) == 3


def test_copy_and_move_are_server_side(dav_disk: FilesystemAdapter) -> None:
    data = os.urandom(500_000)
    dav_disk.put("src/data.bin", data, mimetype="application/x-flystore", metadata={"owner": "ada"})
    log = RequestLog(dav_disk)
    dav_disk.copy("src/data.bin", "copied/data.bin")
    dav_disk.move("src/data.bin", "moved/data.bin")
    assert "COPY" in log.methods and "MOVE" in log.methods
    assert "GET" not in log.methods and "PUT" not in log.methods
    for path in ("copied/data.bin", "moved/data.bin"):
        assert dav_disk.get(path) == data
        assert dav_disk.mime_type(path) == "application/x-flystore"
        assert dav_disk.metadata(path)["metadata"] == {"owner": "ada"}
    assert dav_disk.file_missing("src/data.bin")
    dav_disk.make_directory("a-directory")
    with pytest.raises(UnableToCopyFile) as caught:
        dav_disk.copy("copied/data.bin", "a-directory")
    assert caught.value.disk == "dav" and caught.value.destination == "a-directory"


def test_ranged_reads_seek(dav_disk: FilesystemAdapter) -> None:
    data = bytes(range(256)) * 4000
    dav_disk.put("ranges.bin", data)
    with dav_disk.open("ranges.bin", "rb") as handle:
        assert handle.read(4) == data[:4]
        handle.seek(700_000)
        assert handle.read(16) == data[700_000:700_016]
        handle.seek(2)
        assert handle.read(3) == data[2:5]


# -- dead properties ------------------------------------------------------------------------------


def test_mime_types_and_metadata_are_dead_properties(
    dav_disk: FilesystemAdapter, webdav_server: dict[str, Any], root_name: str
) -> None:
    dav_disk.put("doc", b"{}", mimetype="application/json", metadata={"owner": "ada", "note": "<&> ü"})
    assert dav_disk.mime_type("doc") == "application/json"
    assert dav_disk.metadata("doc")["metadata"] == {"owner": "ada", "note": "<&> ü"}
    [entry] = dav_disk.list("")
    assert entry.mime_type == "application/json"  # type: ignore[union-attr]

    dav_disk.append("doc", "more")  # a rewrite keeps them
    assert dav_disk.metadata("doc")["metadata"] == {"owner": "ada", "note": "<&> ü"}
    assert dav_disk.mime_type("doc") == "application/json"

    dav_disk.put("doc", b"replaced")  # a fresh write starts without them
    assert dav_disk.metadata("doc")["metadata"] == {}
    assert dav_disk.mime_type("doc") == "application/octet-stream"


def test_without_dead_properties_the_servers_content_type_is_reported(
    webdav_server: dict[str, Any], root_name: str
) -> None:
    disk = build(webdav_server, root_name, properties=False)
    try:
        assert {"metadata", "mimetype", "visibility"} <= disk.backend.unsupported
        log = RequestLog(disk)
        disk.put("report.pdf", b"%PDF", mimetype="application/x-ignored")
        assert "PROPPATCH" not in log.methods
        assert disk.mime_type("report.pdf") == "application/pdf"
        with pytest.raises(UnsupportedOperation):
            disk.put("m.txt", "x", metadata={"a": "b"})
    finally:
        disk.close()


def test_visibility_is_unsupported(dav_disk: FilesystemAdapter) -> None:
    dav_disk.put("v.txt", "v")
    with pytest.raises(UnsupportedOperation):
        dav_disk.set_visibility("v.txt", "private")
    with pytest.raises(UnsupportedOperation):
        dav_disk.get_visibility("v.txt")


# -- atomic writes --------------------------------------------------------------------------------


def test_a_failing_stream_leaves_no_temporary_file_on_the_server(
    dav_disk: FilesystemAdapter, webdav_server: dict[str, Any], root_name: str
) -> None:
    dav_disk.put("dir/kept.bin", b"old")

    def broken() -> Iterator[bytes]:
        yield b"x" * 3_000_000
        raise _Boom("the source died")

    for target in ("dir/new.bin", "dir/kept.bin"):
        with pytest.raises((_Boom, StorageError)):
            dav_disk.put(target, broken())
    assert temp_files(real(webdav_server, root_name)) == []
    assert sorted(os.listdir(real(webdav_server, root_name, "dir"))) == ["kept.bin"]
    assert dav_disk.get("dir/kept.bin") == b"old"


def test_an_upload_in_flight_is_invisible(
    dav_disk: FilesystemAdapter, webdav_server: dict[str, Any], root_name: str
) -> None:
    seen: dict[str, Any] = {}

    def chunks() -> Iterator[bytes]:
        yield b"a" * 2_000_000
        deadline = time.monotonic() + 5
        while not temp_files(real(webdav_server, root_name)) and time.monotonic() < deadline:
            time.sleep(0.01)  # the server opens the temporary file as the body arrives
        seen["temp"] = temp_files(real(webdav_server, root_name))
        seen["listing"] = dav_disk.all_files()
        seen["exists"] = dav_disk.file_exists("flight.bin")
        yield b"b" * 1_000_000

    dav_disk.put("flight.bin", chunks())
    assert len(seen["temp"]) == 1
    assert seen["listing"] == [] and seen["exists"] is False
    assert dav_disk.size("flight.bin") == 3_000_000
    assert temp_files(real(webdav_server, root_name)) == []


# -- connections, errors, configuration -----------------------------------------------------------


def test_a_wrong_password_is_a_flystore_error_naming_the_disk(
    webdav_server: dict[str, Any], root_name: str
) -> None:
    disk = build(webdav_server, root_name, password="wrong")
    try:
        with pytest.raises(UnableToWriteFile) as caught:
            disk.put("x.txt", "x")
        assert caught.value.disk == "dav" and caught.value.path == "x.txt"
        assert "401" in str(caught.value) and "dav" in str(caught.value)
        cause: BaseException | None = caught.value
        modules = []
        while cause is not None:
            modules.append(type(cause).__module__)
            cause = cause.__cause__
        assert any(module.startswith("webdav4") for module in modules)
        with pytest.raises(StorageError) as reading:
            disk.get("x.txt")
        assert not isinstance(reading.value, FileNotFound) and reading.value.disk == "dav"
    finally:
        disk.close()
    assert not os.path.exists(real(webdav_server, root_name))


def test_closing_closes_the_http_client(webdav_server: dict[str, Any], root_name: str) -> None:
    disk = build(webdav_server, root_name)
    disk.put("a.txt", "a")
    http = disk.backend.client.http  # type: ignore[attr-defined]
    disk.close()
    assert http.is_closed
    disk.close()
    assert disk.get("a.txt") == b"a"  # a closed disk makes a new client on demand
    disk.close()


def test_the_driver_needs_webdav4(monkeypatch: pytest.MonkeyPatch, webdav_server: dict[str, Any]) -> None:
    monkeypatch.setitem(sys.modules, "webdav4", None)
    monkeypatch.setitem(sys.modules, "webdav4.fsspec", None)
    with pytest.raises(DriverNotInstalled) as caught:
        build(webdav_server, "anywhere")
    assert 'pip install "flystore[webdav]"' in str(caught.value) and caught.value.disk == "dav"


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"href": "http://x/"}, "href"),
        ({"base_url": "ftp://x/"}, "base_url"),
        ({"base_url": None}, "base_url"),
        ({"timeout": "5"}, "timeout"),
        ({"verify": 1}, "verify"),
        ({"verify": "/nonexistent/ca.pem"}, "verify"),
        ({"properties": "yes"}, "properties"),
        ({"username": None, "password": "p"}, "username"),
    ],
)
def test_bad_options_are_refused_by_name(options: dict[str, Any], option: str) -> None:
    config = {"driver": "webdav", "base_url": "http://127.0.0.1:9/dav/", **options}
    with pytest.raises(InvalidConfiguration) as caught:
        StorageManager({"disks": {"bad": config}}).disk("bad")
    assert caught.value.option == option and caught.value.disk == "bad"


def test_the_disk_can_be_used_from_several_threads(dav_disk: FilesystemAdapter) -> None:
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for round_ in range(3):
                path = f"threads/{index}/{round_}.txt"
                dav_disk.put(path, f"{index}-{round_}", metadata={"round": str(round_)})
                assert dav_disk.get(path) == f"{index}-{round_}".encode()
                assert dav_disk.metadata(path)["metadata"] == {"round": str(round_)}
                assert path in dav_disk.files(f"threads/{index}")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(dav_disk.all_files("threads")) == 18

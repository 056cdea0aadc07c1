"""The ftp driver against a real pyftpdlib server on loopback (no mocks)."""

from __future__ import annotations

import ftplib
import io
import os
import shutil
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
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
    return remote.build("ftp", server, root, **extra)


@pytest.fixture
def root_name(ftp_server: dict[str, Any]) -> Iterator[str]:
    """A unique directory under the server root, removed after the test."""
    yield from remote.unique_root(ftp_server)


@pytest.fixture
def ftp_disk(ftp_server: dict[str, Any], root_name: str) -> Iterator[FilesystemAdapter]:
    disk = build(ftp_server, f"/{root_name}")
    yield disk
    disk.close()


class TestFtpContract(DiskContract):
    stateful_examples = 12
    stateful_steps = 15

    @pytest.fixture
    def disk(self, ftp_disk: FilesystemAdapter) -> Iterator[FilesystemAdapter]:
        yield ftp_disk


@pytest.fixture(scope="module")
def plain_ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A pyftpdlib server without MLST/MLSD (like vsftpd): LIST, MDTM and SIZE only."""
    from pyftpdlib.authorizers import DummyAuthorizer  # type: ignore[import-untyped]
    from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]
    from pyftpdlib.ioloop import IOLoop  # type: ignore[import-untyped]
    from pyftpdlib.servers import ThreadedFTPServer  # type: ignore[import-untyped]

    root = str(tmp_path_factory.mktemp("ftp-plain"))
    authorizer = DummyAuthorizer()
    authorizer.add_user("plain", "secret", root, perm="elradfmwMT")
    commands = {name: spec for name, spec in FTPHandler.proto_cmds.items() if name not in ("MLST", "MLSD")}
    handler = type("PlainHandler", (FTPHandler,),
                   {"authorizer": authorizer, "auth_failed_timeout": 0, "proto_cmds": commands})
    # pyftpdlib shares the default IOLoop and ThreadedFTPServer's exit Event (a class attribute)
    # between servers: close_all() would stop the session's ftp_server too. Give this one its own.
    server_class = type("OwnThreadedFTPServer", (ThreadedFTPServer,),
                        {"_exit": threading.Event(), "_lock": threading.Lock()})
    server = server_class(("127.0.0.1", 0), handler, ioloop=IOLoop())
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2}, daemon=True)
    thread.start()
    try:
        yield {"host": "127.0.0.1", "port": server.address[1], "username": "plain", "password": "secret",
               "root": root}
    finally:
        server.close_all()
        thread.join(5)


class TestFtpWithoutMlstContract(DiskContract):
    """The same contract on a server that only speaks LIST (fsspec's parser) and MDTM."""

    stateful_examples = 3
    stateful_steps = 10

    @pytest.fixture
    def disk(self, plain_ftp_server: dict[str, Any]) -> Iterator[FilesystemAdapter]:
        name = f"t-{uuid.uuid4().hex[:12]}"
        disk = build(plain_ftp_server, f"/{name}")
        yield disk
        disk.close()
        shutil.rmtree(os.path.join(plain_ftp_server["root"], name), ignore_errors=True)


def test_servers_without_mlst_fall_back_to_list_and_mdtm(plain_ftp_server: dict[str, Any]) -> None:
    name = f"t-{uuid.uuid4().hex[:12]}"
    disk = build(plain_ftp_server, f"/{name}")
    try:
        disk.put("old/file name.txt", "x")
        os.utime(os.path.join(plain_ftp_server["root"], name, "old", "file name.txt"), (1_500_000_000,) * 2)
        assert disk.last_modified("old/file name.txt") == datetime.fromtimestamp(1_500_000_000, timezone.utc)
        assert disk.backend._mlst is False  # type: ignore[attr-defined]  # learnt from the 500 reply
        assert disk.find_files_older_than(datetime(2018, 1, 1, tzinfo=timezone.utc)) == ["old/file name.txt"]
        assert disk.files("old") == ["old/file name.txt"] and disk.directories() == ["old"]
    finally:
        disk.close()
        shutil.rmtree(os.path.join(plain_ftp_server["root"], name), ignore_errors=True)


class _Boom(Exception):
    pass


# -- where the files go -------------------------------------------------------------------------


def test_files_land_under_the_root_which_is_created_on_demand(
    ftp_server: dict[str, Any], root_name: str
) -> None:
    disk = build(ftp_server, f"/{root_name}/nested/root")
    try:
        assert not os.path.exists(os.path.join(ftp_server["root"], root_name))
        assert disk.files() == []  # listing the missing root is empty, not an error
        disk.put("a/b.txt", "on the server")
        real = os.path.join(ftp_server["root"], root_name, "nested", "root", "a", "b.txt")
        with open(real, "rb") as handle:
            assert handle.read() == b"on the server"
        assert disk.files("a") == ["a/b.txt"]
    finally:
        disk.close()


def test_last_modified_comes_from_the_server(ftp_disk: FilesystemAdapter, ftp_server: dict[str, Any],
                                             root_name: str) -> None:
    ftp_disk.put("dated.txt", "x")
    real = os.path.join(ftp_server["root"], root_name, "dated.txt")
    os.utime(real, (1_600_000_000, 1_600_000_000))
    assert ftp_disk.last_modified("dated.txt") == datetime.fromtimestamp(1_600_000_000, timezone.utc)
    entry = ftp_disk.list("")[0]
    assert entry.last_modified == datetime.fromtimestamp(1_600_000_000, timezone.utc)
    assert ftp_disk.find_files_older_than(datetime(2021, 1, 1, tzinfo=timezone.utc)) == ["dated.txt"]


def test_listing_missing_directories_is_empty(ftp_disk: FilesystemAdapter) -> None:
    ftp_disk.put("present/file.txt", "x")
    assert ftp_disk.files("absent/deeper") == []
    assert ftp_disk.all_files("absent") == []
    assert ftp_disk.files("present/file.txt") == []  # a file is not a directory


# -- atomic writes -----------------------------------------------------------------------------


def test_a_failing_stream_leaves_no_temporary_file_on_the_server(
    ftp_disk: FilesystemAdapter, ftp_server: dict[str, Any], root_name: str
) -> None:
    ftp_disk.put("dir/kept.bin", b"old")

    def broken() -> Iterator[bytes]:
        yield b"x" * 3_000_000
        raise _Boom("the source died")

    for target in ("dir/new.bin", "dir/kept.bin"):
        with pytest.raises((_Boom, StorageError)):
            ftp_disk.put(target, broken())
    real = os.path.join(ftp_server["root"], root_name)
    assert temp_files(real) == []
    assert sorted(os.listdir(os.path.join(real, "dir"))) == ["kept.bin"]
    assert ftp_disk.get("dir/kept.bin") == b"old"


def test_an_upload_in_flight_is_invisible(
    ftp_disk: FilesystemAdapter, ftp_server: dict[str, Any], root_name: str
) -> None:
    seen: dict[str, Any] = {}
    real = os.path.join(ftp_server["root"], root_name)

    def chunks() -> Iterator[bytes]:
        yield b"a" * 2_000_000
        # Mid-upload: the bytes so far sit in a hidden temporary file on the server...
        seen["temp"] = temp_files(real)
        # ...which the disk never shows, and the target does not exist yet.
        seen["listing"] = ftp_disk.all_files()
        seen["exists"] = ftp_disk.file_exists("flight.bin")
        yield b"b" * 1_000_000

    ftp_disk.put("flight.bin", chunks())
    assert len(seen["temp"]) == 1
    assert seen["listing"] == [] and seen["exists"] is False
    assert ftp_disk.size("flight.bin") == 3_000_000
    assert temp_files(real) == []


def test_temporary_names_on_the_server_are_never_listed(
    ftp_disk: FilesystemAdapter, ftp_server: dict[str, Any], root_name: str
) -> None:
    ftp_disk.put("d/visible.txt", "v")
    with open(os.path.join(ftp_server["root"], root_name, "d", TEMP_PREFIX + "crashed"), "wb") as handle:
        handle.write(b"left by a crash")
    assert ftp_disk.all_files() == ["d/visible.txt"]
    assert [entry.path for entry in ftp_disk.list("d")] == ["d/visible.txt"]


# -- streaming ----------------------------------------------------------------------------------


def test_copy_streams_through_a_second_connection(ftp_disk: FilesystemAdapter) -> None:
    data = os.urandom(3_000_000)
    ftp_disk.put("big/source.bin", data)
    ftp_disk.copy("big/source.bin", "elsewhere/copy.bin")
    assert ftp_disk.get("elsewhere/copy.bin") == data
    assert ftp_disk.get("big/source.bin") == data
    ftp_disk.make_directory("a-directory")
    with pytest.raises(UnableToCopyFile) as caught:
        ftp_disk.copy("big/source.bin", "a-directory")
    assert caught.value.disk == "ftp" and caught.value.destination == "a-directory"


def test_reads_are_seekable_ranges(ftp_disk: FilesystemAdapter) -> None:
    data = bytes(range(256)) * 4000
    ftp_disk.put("ranges.bin", data)
    with ftp_disk.open("ranges.bin", "rb") as handle:
        assert handle.read(5) == data[:5]
        handle.seek(500_000)
        assert handle.read(100) == data[500_000:500_100]
        handle.seek(-10, io.SEEK_END)
        assert handle.read() == data[-10:]
        handle.seek(3)
        assert handle.read(4) == data[3:7]


def test_cutting_transfers_short_keeps_connections_usable(ftp_disk: FilesystemAdapter) -> None:
    data = os.urandom(3_000_000)
    ftp_disk.put("partly-read.bin", data)
    with ftp_disk.open("partly-read.bin", "rb") as handle:
        assert handle.read(10) == data[:10]  # closed long before the end of the download

    def broken() -> Iterator[bytes]:
        yield b"x" * 2_000_000
        raise _Boom("the source died")

    with pytest.raises((_Boom, StorageError)):
        ftp_disk.put("never.bin", broken())
    pool = ftp_disk.backend._pool  # type: ignore[attr-defined]
    assert pool._idle, "the server's replies were read: both connections went back to the pool"
    assert ftp_disk.get("partly-read.bin") == data
    assert ftp_disk.all_files() == ["partly-read.bin"]


# -- connections --------------------------------------------------------------------------------


def test_the_disk_can_be_used_from_several_threads(ftp_disk: FilesystemAdapter) -> None:
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for round_ in range(4):
                path = f"threads/{index}/{round_}.txt"
                ftp_disk.put(path, f"{index}-{round_}")
                assert ftp_disk.file_exists(path)
                assert ftp_disk.get(path) == f"{index}-{round_}".encode()
                assert path in ftp_disk.files(f"threads/{index}")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(ftp_disk.all_files("threads")) == 24


def test_a_dropped_control_connection_is_reopened(ftp_disk: FilesystemAdapter) -> None:
    ftp_disk.put("survivor.txt", "still here")
    control = ftp_disk.backend.fs.ftp  # type: ignore[attr-defined]
    control.sock.shutdown(socket.SHUT_RDWR)  # as when the server's idle timeout hangs up
    assert ftp_disk.file_exists("survivor.txt")
    assert ftp_disk.get("survivor.txt") == b"still here"
    assert ftp_disk.backend.fs.ftp is not control  # type: ignore[attr-defined]


def test_closing_releases_every_connection_and_the_disk_reconnects(ftp_disk: FilesystemAdapter) -> None:
    ftp_disk.put("a.txt", "a")
    ftp_disk.copy("a.txt", "b.txt")
    ftp_disk.close()
    ftp_disk.close()  # twice is fine
    assert ftp_disk.get("b.txt") == b"a"


def test_a_wrong_password_is_a_flystore_error_naming_the_disk(
    ftp_server: dict[str, Any], root_name: str
) -> None:
    disk = build(ftp_server, root_name, password="wrong")
    try:
        with pytest.raises(UnableToWriteFile) as caught:
            disk.put("x.txt", "x")
        assert caught.value.disk == "ftp" and caught.value.path == "x.txt"
        assert "ftp" in str(caught.value) and "530" in str(caught.value)
        cause: BaseException | None = caught.value
        while cause is not None and not isinstance(cause, ftplib.Error):
            cause = cause.__cause__
        assert isinstance(cause, ftplib.error_perm)
        with pytest.raises(StorageError) as reading:
            disk.get("x.txt")
        assert reading.value.disk == "ftp" and not isinstance(reading.value, FileNotFound)
    finally:
        disk.close()


def test_tls_is_negotiated_when_asked_for(ftp_server: dict[str, Any], root_name: str) -> None:
    # The test server speaks plain FTP only: an FTPS disk must refuse to fall back to it.
    disk = build(ftp_server, root_name, tls=True, timeout=5)
    try:
        with pytest.raises(StorageError) as caught:
            disk.files()
        assert caught.value.disk == "ftp" and "ftps://" in str(caught.value)
    finally:
        disk.close()


# -- capabilities and configuration -------------------------------------------------------------


def test_visibility_metadata_and_mime_types_are_unsupported(ftp_disk: FilesystemAdapter) -> None:
    assert {"visibility", "metadata", "mimetype"} <= ftp_disk.backend.unsupported
    with pytest.raises(UnsupportedOperation):
        ftp_disk.put("meta.txt", "x", metadata={"owner": "ada"})
    ftp_disk.put("plain.txt", "x", mimetype="application/json")
    assert ftp_disk.mime_type("plain.txt") == "text/plain"  # guessed from the name, not stored
    with pytest.raises(UnsupportedOperation):
        ftp_disk.set_visibility("plain.txt", "private")


def test_the_driver_needs_fsspecs_ftp_module(monkeypatch: pytest.MonkeyPatch, ftp_server: dict[str, Any]) -> None:
    monkeypatch.setitem(sys.modules, "fsspec.implementations.ftp", None)
    with pytest.raises(DriverNotInstalled) as caught:
        build(ftp_server, "anywhere")
    assert 'pip install "flystore[ftp]"' in str(caught.value)
    assert caught.value.disk == "ftp"


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"hostname": "x"}, "hostname"),
        ({"host": ""}, "host"),
        ({"port": "not a port"}, "port"),
        ({"port": 70000}, "port"),
        ({"timeout": 0}, "timeout"),
        ({"tls": "yes"}, "tls"),
        ({"root": 5}, "root"),
    ],
)
def test_bad_options_are_refused_by_name(options: dict[str, Any], option: str) -> None:
    config = {"driver": "ftp", "host": "127.0.0.1", **options}
    with pytest.raises(InvalidConfiguration) as caught:
        StorageManager({"disks": {"bad": config}}).disk("bad")
    assert caught.value.option == option and caught.value.disk == "bad"


def test_building_a_disk_does_not_connect() -> None:
    # Port 9 on loopback has no FTP server: nothing fails until the disk is used.
    disk = StorageManager({"disks": {"f": {"driver": "ftp", "host": "127.0.0.1", "port": 9, "timeout": 2}}}).disk("f")
    with pytest.raises(StorageError) as caught:
        disk.exists("x")
    assert caught.value.disk == "f" and "127.0.0.1:9" in str(caught.value)
    disk.close()


def test_modified_times_round_trip_within_the_clock_tolerance(ftp_disk: FilesystemAdapter) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=2)
    ftp_disk.put("now.txt", "n")
    assert before <= ftp_disk.last_modified("now.txt") <= datetime.now(timezone.utc) + timedelta(seconds=2)

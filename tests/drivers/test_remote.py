"""What the ftp, sftp and webdav drivers must all do, run against each real server in turn.

Hostile names never touch another file, errors are of the verb's class and name
disk and path, dead endpoints fail fast and quietly, options are checked the same
way, and long names are flystore errors.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.errors import (
    FileNotFound,
    InvalidConfiguration,
    StorageError,
    UnableToCheckExistence,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToListContents,
    UnableToMoveFile,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToWriteFile,
)
from tests.drivers.remote_fixtures import REMOTE_DRIVERS, Remote, dead_endpoint, temp_files
from tests.drivers.streaming import assert_streams_in_bounded_memory
from tests.faultproxy import FaultProxy
from tests.services import free_port

# Names a server (or a client) could read as something else: a query, a fragment, a parameter,
# an escape, a separator.
HOSTILE_NAMES = [
    "a?b.txt",
    "a;b.txt",
    "a#b.txt",
    "a%3Fb.txt",
    "a%2Fb.txt",
    "a%b.txt",
    "a+b.txt",
    "a b.txt",
    "a&b=c.txt",
    "ünïcödé-😀.txt",
]


def _sentinels(name: str) -> list[str]:
    """Files a server mangling ``name`` could hit instead: its prefixes and its decoded form."""
    names = {"a", "a.txt", "b.txt", "a b"}
    for cut in ("?", ";", "#", "%", "+", " ", "&"):
        head = name.split(cut)[0]
        if head and head != name:
            names.add(head)
    decoded = unquote(name)
    if decoded != name and "/" not in decoded:
        names.add(decoded)
    names.discard(name)
    return sorted(names)


def _plant(remote: Remote, names: list[str]) -> dict[str, bytes]:
    """Write the sentinels straight into the server's directory (not through the driver under test)."""
    os.makedirs(remote.real(), exist_ok=True)
    planted = {}
    for name in names:
        content = f"sentinel {name}".encode()
        with open(remote.real(name), "wb") as handle:
            handle.write(content)
        planted[name] = content
    return planted


def _on_server(remote: Remote) -> dict[str, bytes]:
    found = {}
    for folder, _, names in os.walk(remote.real()):
        for name in names:
            full = os.path.join(folder, name)
            with open(full, "rb") as handle:
                found[os.path.relpath(full, remote.real())] = handle.read()
    return found


def _copy(disk: FilesystemAdapter, name: str, data: bytes) -> None:
    disk.put("source.bin", data)
    disk.copy("source.bin", name)


def _move(disk: FilesystemAdapter, name: str, data: bytes) -> None:
    disk.put("source.bin", data)
    disk.move("source.bin", name)


WRITES: dict[str, Callable[[FilesystemAdapter, str, bytes], Any]] = {
    "put": lambda disk, name, data: disk.put(name, data),
    "write_stream": lambda disk, name, data: disk.write_stream(name, io.BytesIO(data)),
    "copy": _copy,
    "move": _move,
}


@pytest.mark.parametrize("verb", sorted(WRITES))
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_round_trip_and_touch_no_other_file(remote: Remote, name: str, verb: str) -> None:
    planted = _plant(remote, _sentinels(name))
    payload = f"new content for {name}".encode()
    WRITES[verb](remote.disk, name, payload)
    WRITES[verb](remote.disk, name, payload + b" again")  # an overwrite goes to the same file
    expected = dict(planted)
    expected[name] = payload + b" again"
    if verb == "copy":
        expected["source.bin"] = payload + b" again"
    assert _on_server(remote) == expected
    assert remote.disk.get(name) == payload + b" again"
    assert name in remote.disk.files()
    assert remote.disk.delete(name) is True
    assert not remote.disk.file_exists(name)
    for sentinel, content in planted.items():
        assert remote.disk.get(sentinel) == content


def test_a_name_like_a_query_does_not_overwrite_its_prefix(remote: Remote) -> None:
    # The reported case: on wsgidav the MOVE went to "a", overwriting it.
    remote.disk.put("a", b"precious")
    remote.disk.put("a?b.txt", b"new")
    assert remote.disk.get("a") == b"precious"
    assert remote.disk.get("a?b.txt") == b"new"
    assert sorted(remote.disk.files()) == ["a", "a?b.txt"]
    assert temp_files(remote.real()) == []


def test_get_of_a_directory_says_so_on_every_driver(remote: Remote) -> None:
    remote.disk.put("folder/inner.txt", "x")
    for read in (remote.disk.get, lambda path: remote.disk.read_stream(path).close()):
        with pytest.raises(FileNotFound) as caught:
            read("folder")
        assert caught.value.reason == "this path is a directory, not a file"
        assert caught.value.disk == remote.disk.name and caught.value.path == "folder"


def test_long_names_are_flystore_errors_and_leave_the_connection_usable(remote: Remote) -> None:
    disk = remote.disk
    disk.put("present.txt", "x")
    for long_path in ("d/" + "n" * 300 + ".txt", "/".join(["segment" * 10] * 70)):
        with pytest.raises(UnableToWriteFile) as caught:
            disk.put(long_path, "x")
        assert caught.value.disk == disk.name
        with pytest.raises(UnableToReadFile):
            disk.get(long_path)
        with pytest.raises(UnableToDeleteFile):
            disk.delete(long_path)
        with pytest.raises(UnableToListContents):
            disk.files(long_path)
        with pytest.raises(UnableToCopyFile):
            disk.copy("present.txt", long_path)
        with pytest.raises(UnableToMoveFile):
            disk.move("present.txt", long_path)
        with pytest.raises(UnableToCreateDirectory):
            disk.make_directory(long_path)
        assert disk.get("present.txt") == b"x"  # the connection is still in step
    assert _on_server(remote) == {"present.txt": b"x"}


# -- errors match the verb ------------------------------------------------------------------------

VERBS: list[tuple[str, Callable[[FilesystemAdapter], Any], type[StorageError], str]] = [
    ("get", lambda disk: disk.get("f.txt"), UnableToReadFile, "f.txt"),
    ("read_stream", lambda disk: disk.read_stream("f.txt"), UnableToReadFile, "f.txt"),
    ("put", lambda disk: disk.put("f.txt", "x"), UnableToWriteFile, "f.txt"),
    ("delete", lambda disk: disk.delete("f.txt"), UnableToDeleteFile, "f.txt"),
    ("files", lambda disk: disk.files("dir"), UnableToListContents, "dir"),
    ("all_files", lambda disk: disk.all_files("dir"), UnableToListContents, "dir"),
    ("size", lambda disk: disk.size("f.txt"), UnableToRetrieveMetadata, "f.txt"),
    ("copy", lambda disk: disk.copy("f.txt", "g.txt"), UnableToCopyFile, "f.txt"),
    ("move", lambda disk: disk.move("f.txt", "g.txt"), UnableToMoveFile, "f.txt"),
    ("make_directory", lambda disk: disk.make_directory("dir"), UnableToCreateDirectory, "dir"),
    ("delete_directory", lambda disk: disk.delete_directory("dir"), UnableToDeleteDirectory, "dir"),
    ("file_exists", lambda disk: disk.file_exists("f.txt"), UnableToCheckExistence, "f.txt"),
]


@pytest.mark.parametrize(("verb", "call", "expected", "path"), VERBS, ids=[verb[0] for verb in VERBS])
def test_a_wrong_password_raises_the_verbs_own_error(
    remote: Remote, verb: str, call: Callable[[FilesystemAdapter], Any], expected: type[StorageError], path: str
) -> None:
    disk = remote.build(password="wrong")
    try:
        with pytest.raises(StorageError) as caught:
            call(disk)
        assert type(caught.value) is expected, (verb, caught.value)
        assert caught.value.disk == disk.name and caught.value.path == path
        assert disk.name in str(caught.value)
    finally:
        disk.close()


# -- dead endpoints fail fast, quietly; transient failures are retried ------------------------------


@pytest.mark.parametrize("driver", REMOTE_DRIVERS)
def test_a_refused_connection_fails_fast_naming_disk_and_path(
    driver: str, capfd: pytest.CaptureFixture[str]
) -> None:
    disk = StorageManager({"disks": {"dead": dead_endpoint(driver, free_port())}}).disk("dead")
    started = time.monotonic()
    try:
        for call, expected in ((lambda: disk.get("x/y.txt"), UnableToReadFile),
                               (lambda: disk.put("x/y.txt", "data"), UnableToWriteFile)):
            with pytest.raises(expected) as caught:
                call()
            assert caught.value.disk == "dead" and caught.value.path == "x/y.txt"
    finally:
        disk.close()
    assert time.monotonic() - started < 15
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.parametrize("driver", REMOTE_DRIVERS)
def test_a_silent_endpoint_times_out(driver: str) -> None:
    with FaultProxy("127.0.0.1", free_port()) as proxy:
        proxy.mode = "blackhole"
        host, port = proxy.address
        disk = StorageManager({"disks": {"dead": dead_endpoint(driver, port, timeout=1, retries=0)}}).disk("dead")
        started = time.monotonic()
        try:
            with pytest.raises(UnableToReadFile) as caught:
                disk.get("x.txt")
            assert caught.value.disk == "dead"
        finally:
            disk.close()
        assert time.monotonic() - started < 8


@pytest.mark.parametrize("driver", REMOTE_DRIVERS)
def test_a_connection_refused_for_a_moment_is_retried(request: pytest.FixtureRequest, driver: str) -> None:
    fixture = {"ftp": "ftp_server", "sftp": "sftp_server", "webdav": "webdav_server"}[driver]
    server: dict[str, Any] = request.getfixturevalue(fixture)
    if driver == "webdav":
        target = server["url"].split("//", 1)[1].split("/", 1)[0]
        port = int(target.rsplit(":", 1)[1])
    else:
        port = int(server["port"])
    with FaultProxy("127.0.0.1", port) as proxy:
        _, proxy_port = proxy.address
        config = _through(driver, server, proxy_port)
        for retries, works in ((0, False), (4, True)):
            proxy.mode = "refuse"
            timer = threading.Timer(0.4, lambda: setattr(proxy, "mode", "forward"))
            disk = StorageManager({"disks": {"flaky": {**config, "retries": retries}}}).disk("flaky")
            try:
                timer.start()
                if works:
                    assert disk.file_exists("nothing.txt") is False
                else:
                    with pytest.raises(UnableToCheckExistence):
                        disk.file_exists("nothing.txt")
            finally:
                timer.join()
                disk.close()


def _through(driver: str, server: dict[str, Any], port: int) -> dict[str, Any]:
    from tests.drivers.remote_fixtures import disk_config

    config = disk_config(driver, server, "")
    if driver == "webdav":
        config["base_url"] = f"http://127.0.0.1:{port}/"
    else:
        config["port"] = port
    return config


def test_large_transfers_use_bounded_memory(remote: Remote) -> None:
    assert_streams_in_bounded_memory(remote.disk, size=24 * 2**20, limit=8 * 2**20)
    assert temp_files(remote.real()) == []


# -- options --------------------------------------------------------------------------------------

_REQUIRED = {
    "ftp": {"host": "127.0.0.1"},
    "sftp": {"host": "127.0.0.1"},
    "webdav": {"base_url": "http://127.0.0.1:9/dav/"},
}


@pytest.mark.parametrize("driver", REMOTE_DRIVERS)
def test_an_unknown_option_lists_the_known_ones_with_a_suggestion(driver: str) -> None:
    config = {"driver": driver, **_REQUIRED[driver], "passwrod": "x"}
    with pytest.raises(InvalidConfiguration) as caught:
        StorageManager({"disks": {"bad": config}}).disk("bad")
    assert caught.value.option == "passwrod" and caught.value.disk == "bad"
    assert "did you mean 'password'?" in str(caught.value)
    assert "timeout" in str(caught.value) and "retries" in str(caught.value)


@pytest.mark.parametrize("driver", REMOTE_DRIVERS)
def test_seed_spellings_are_aliases_and_both_spellings_are_refused(driver: str) -> None:
    config = {"driver": driver, **_REQUIRED[driver], "base_path": "/srv/files", "user": "ada"}
    disk = StorageManager({"disks": {"seed": config}}).disk("seed")
    backend: Any = disk.backend
    assert backend.root.strip("/") == "srv/files"
    disk.close()
    for alias, canonical in (("base_path", "root"), ("user", "username")):
        both = {"driver": driver, **_REQUIRED[driver], alias: "x", canonical: "y"}
        with pytest.raises(InvalidConfiguration) as caught:
            StorageManager({"disks": {"both": both}}).disk("both")
        assert caught.value.option == alias and canonical in str(caught.value)


@pytest.mark.parametrize("driver", REMOTE_DRIVERS)
@pytest.mark.parametrize(("option", "value"), [("retries", -1), ("retries", "3"), ("retries", True),
                                               ("timeout", 0), ("timeout", "5")])
def test_retries_and_timeout_are_checked(driver: str, option: str, value: Any) -> None:
    config = {"driver": driver, **_REQUIRED[driver], option: value}
    with pytest.raises(InvalidConfiguration) as caught:
        StorageManager({"disks": {"bad": config}}).disk("bad")
    assert caught.value.option == option


class _Boom(Exception):
    pass


@pytest.mark.parametrize("name", ["a?b.txt", "a;b.txt", "plain.txt"])
def test_a_failing_source_keeps_the_old_file_whatever_the_name(remote: Remote, name: str) -> None:
    remote.disk.put(name, b"old content")

    def failing() -> Iterator[bytes]:
        yield b"new half"
        raise _Boom("the source broke")

    with pytest.raises((UnableToWriteFile, _Boom)):
        remote.disk.put(name, failing())
    assert remote.disk.get(name) == b"old content"
    assert temp_files(remote.real()) == []
    assert _on_server(remote) == {name: b"old content"}


BACKEND_VERBS: list[tuple[str, Callable[[Any], Any], type[StorageError]]] = [
    ("read", lambda backend: backend.read("f.txt"), UnableToReadFile),
    ("open_read", lambda backend: backend.open_read("f.txt"), UnableToReadFile),
    ("delete", lambda backend: backend.delete("f.txt"), UnableToDeleteFile),
    ("list_contents", lambda backend: list(backend.list_contents("dir", False)), UnableToListContents),
    ("stat", lambda backend: backend.stat("f.txt"), UnableToRetrieveMetadata),
]


@pytest.mark.parametrize(("verb", "call", "expected"), BACKEND_VERBS, ids=[verb[0] for verb in BACKEND_VERBS])
def test_the_driver_itself_raises_the_verbs_error_not_an_existence_error(
    remote: Remote, verb: str, call: Callable[[Any], Any], expected: type[StorageError]
) -> None:
    # Below the disk layer (which would convert it): the backend's own error already fits the verb.
    disk = remote.build(password="wrong")
    try:
        with pytest.raises(StorageError) as caught:
            call(disk.backend)
        assert type(caught.value) is expected, (verb, caught.value)
    finally:
        disk.close()

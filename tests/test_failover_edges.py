"""The failover disk under pressure: concurrent writers through an outage, every disk behind on something,
uploads that bypass flystore, a ledger past its bound, and the error classification itself.

Both disks are real: s3 disks on the session's moto server, each reached through its
own tests/faultproxy.py so either one can be made unreachable.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from flystore import (
    FileNotFound,
    FilesystemAdapter,
    InvalidMetadata,
    ReadOnlyDisk,
    StorageError,
    StorageManager,
    UnableToListContents,
    UnableToReadFile,
    UnableToWriteFile,
)
from flystore.decorators.failover import FailoverFilesystemAdapter, is_outage
from tests.contract_fixtures import temporary_bucket
from tests.drivers.test_s3 import CREDENTIALS
from tests.faultproxy import FaultProxy
from tests.services import AZURITE_ACCOUNT, AZURITE_KEY


@pytest.fixture(scope="module")
def bucket(s3_endpoint: str) -> Iterator[str]:
    with temporary_bucket(s3_endpoint, "failover-edges") as name:
        yield name


@pytest.fixture(scope="module")
def proxies(s3_endpoint: str) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    port = int(urlsplit(s3_endpoint).port or 0)
    with FaultProxy("127.0.0.1", port) as first, FaultProxy("127.0.0.1", port) as second:
        yield first, second


@pytest.fixture
def pair(proxies: tuple[FaultProxy, FaultProxy], bucket: str) -> Iterator[tuple[StorageManager, list[FaultProxy]]]:
    """Disks ``one`` and ``two`` (s3, each behind its own proxy, distinct prefixes), both reachable."""
    for proxy in proxies:
        proxy.mode = "forward"
    manager = StorageManager({"disks": {
        name: {"driver": "s3", "bucket": bucket, "prefix": f"{name}-{uuid.uuid4().hex}",
               "endpoint": proxy.url_for("http"), "retries": 0, "timeout": 2, **CREDENTIALS}
        for name, proxy in zip(("one", "two"), proxies, strict=True)
    }})
    yield manager, list(proxies)
    for proxy in proxies:
        proxy.mode = "forward"
    manager.configure({"disks": {}})


def _failover(manager: StorageManager, **options: Any) -> FailoverFilesystemAdapter:
    return FailoverFilesystemAdapter([manager.disk("one"), manager.disk("two")], name="f", manager=manager,
                                     **options)


def test_concurrent_writers_through_an_outage_lose_nothing(pair: tuple[StorageManager, list[FaultProxy]]) -> None:
    manager, (first, _) = pair
    disk = _failover(manager, replicate=True, write_quorum=1, failure_threshold=2, cooldown=0)
    half = threading.Barrier(7)
    outage = threading.Event()
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for number in range(8):
                if number == 4:
                    half.wait()  # every writer is mid-way ...
                    outage.wait()  # ... when the outage starts
                disk.put(f"w{worker}/{number}.txt", f"{worker}:{number}".encode())
        except BaseException as error:  # reported below, with the rest
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    half.wait()
    first.mode = "refuse"
    outage.set()
    for thread in threads:
        thread.join()
    first.mode = "forward"
    assert errors == []
    expected = {f"w{worker}/{number}.txt": f"{worker}:{number}".encode() for worker in range(6) for number in range(8)}
    assert disk.all_files() == sorted(expected)
    assert all(disk.get(path) == data for path, data in expected.items())
    assert len(disk.pending()["one"]) == 6 * 4  # every write in the outage missed disk one
    assert disk.repair().complete and disk.pending() == {}
    assert manager.disk("one").all_files() == manager.disk("two").all_files() == sorted(expected)


def test_a_listing_is_right_when_every_disk_missed_something(pair: tuple[StorageManager, list[FaultProxy]]) -> None:
    manager, (first, second) = pair
    disk = _failover(manager, replicate=True, write_quorum=1)
    for name in ("keep.txt", "doomed.txt", "dir/old.txt"):
        disk.put(name, b"before")
    first.mode = "refuse"
    disk.put("dir/only-two.txt", b"2")
    first.mode, second.mode = "forward", "refuse"
    disk.put("only-one.txt", b"1")
    disk.delete("doomed.txt")
    disk.put("keep.txt", b"rewritten on one")
    second.mode = "forward"
    assert set(disk.pending()) == {"one", "two"}
    assert disk.all_files() == ["dir/old.txt", "dir/only-two.txt", "keep.txt", "only-one.txt"]
    assert disk.files() == ["keep.txt", "only-one.txt"]
    assert disk.files("dir") == ["dir/old.txt", "dir/only-two.txt"]
    assert disk.get("keep.txt") == b"rewritten on one"
    with pytest.raises(FileNotFound):
        disk.get("doomed.txt")
    report = disk.repair()
    assert report.complete and disk.pending() == {}
    assert report.deleted == {"two": ["doomed.txt"]}
    assert manager.disk("two").get("keep.txt") == b"rewritten on one"
    assert manager.disk("one").all_files() == manager.disk("two").all_files() == disk.all_files()


def test_an_upload_url_marks_the_other_replicas_behind_until_repair(
    pair: tuple[StorageManager, list[FaultProxy]],
) -> None:
    manager, _ = pair
    disk = _failover(manager, replicate=True)
    url, headers = disk.temporary_upload_url("direct/report.csv", 600)
    assert httpx.put(url, content=b"a,b\n", headers=headers).status_code == 200
    assert disk.pending() == {"two": ["direct/report.csv"]}
    assert disk.get("direct/report.csv") == b"a,b\n"  # read from the disk that took the upload
    disk.repair()
    assert manager.disk("two").get("direct/report.csv") == b"a,b\n"


def test_a_ledger_past_its_bound_marks_the_whole_disk_behind(pair: tuple[StorageManager, list[FaultProxy]]) -> None:
    manager, (first, _) = pair
    disk = _failover(manager, replicate=True, write_quorum=1, failure_threshold=100)
    disk.put("old.txt", b"stale soon")
    disk.backend.ledger.max_entries = 4  # type: ignore[attr-defined]
    first.mode = "refuse"
    for number in range(6):
        disk.put(f"n/{number}.txt", b"new")
    disk.put("old.txt", b"fresh")
    first.mode = "forward"
    assert disk.pending() == {"one": ["/"]}
    assert disk.get("old.txt") == b"fresh"  # the whole of disk one is skipped
    assert disk.all_files() == ["n/0.txt", "n/1.txt", "n/2.txt", "n/3.txt", "n/4.txt", "n/5.txt", "old.txt"]
    report = disk.repair()
    assert report.complete and disk.pending() == {}
    assert manager.disk("one").get("old.txt") == b"fresh"


def test_metadata_one_replica_cannot_hold_is_refused_before_anything_is_written(
    pair: tuple[StorageManager, list[FaultProxy]],
) -> None:
    manager, _ = pair
    manager.configure_disk("spare", "memory")
    disk = FailoverFilesystemAdapter([manager.disk("spare"), manager.disk("one")], name="f", manager=manager,
                                     replicate=True)
    assert disk.backend.metadata_limit == manager.disk("one").backend.metadata_limit  # s3's, the smaller
    with pytest.raises(InvalidMetadata):
        disk.put("m.txt", b"x", metadata={"note": "y" * 4096})  # the memory disk alone would take it
    assert manager.disk("spare").all_files() == manager.disk("one").all_files() == []


# -- the classification itself --------------------------------------------------------------------


def _client_error(status: int, code: str) -> BaseException:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "GetObject")


def _wrapped(cause: BaseException, kind: type[Any] = UnableToReadFile) -> BaseException:
    error: BaseException = kind.at("p", "failed", cause=cause)
    return error


@pytest.mark.parametrize(("error", "outage"), [
    (_wrapped(ConnectionRefusedError(errno.ECONNREFUSED, "refused")), True),
    (_wrapped(ConnectionResetError(errno.ECONNRESET, "reset")), True),
    (_wrapped(TimeoutError("timed out")), True),
    (_wrapped(OSError(errno.EIO, "input/output error")), True),
    (_wrapped(_client_error(503, "SlowDown")), True),
    (_wrapped(_client_error(500, "InternalError")), True),
    (_wrapped(_client_error(403, "AccessDenied")), False),
    (_wrapped(_client_error(404, "NoSuchBucket")), False),
    (_wrapped(PermissionError(errno.EACCES, "denied")), False),
    (_wrapped(ValueError("bad argument")), False),
    (UnableToWriteFile.at("p", "no cause given"), False),
    (FileNotFound.at("p", "gone", cause=ConnectionResetError()), False),
    (ReadOnlyDisk.at("p", "read-only"), False),
    (ConnectionRefusedError(errno.ECONNREFUSED, "a raw one"), True),
    (KeyError("not a storage failure"), False),
])
def test_only_transport_failures_and_server_errors_are_outages(error: BaseException, outage: bool) -> None:
    assert is_outage(error) is outage


def test_a_refusal_anywhere_in_the_chain_wins_over_a_transport_failure() -> None:
    denied = PermissionError(errno.EACCES, "denied")
    denied.__context__ = ConnectionResetError(errno.ECONNRESET, "then reset")
    assert is_outage(_wrapped(denied)) is False
    looping = ConnectionResetError(errno.ECONNRESET, "loop")
    looping.__context__ = _wrapped(looping)  # a cycle in the chain must not hang the check
    assert is_outage(_wrapped(looping)) is True


def _closed_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dead(driver: str, endpoint: str) -> dict[str, Any]:
    quick = {"retries": 0, "timeout": 1}
    if driver == "s3":
        return {"driver": "s3", "bucket": "b", "endpoint": endpoint, **CREDENTIALS, **quick}
    if driver == "gcs":
        return {"driver": "gcs", "bucket": "b", "endpoint": endpoint, "token": "anon", "project_id": "p", **quick}
    return {"driver": "azure", "container": "box", "account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY,
            "endpoint": f"{endpoint}/{AZURITE_ACCOUNT}", **quick}


@pytest.mark.parametrize("driver", ["s3", "gcs", "azure"])
def test_every_cloud_drivers_refused_connection_is_an_outage_and_is_failed_over(driver: str) -> None:
    manager = StorageManager({"disks": {"dead": _dead(driver, f"http://127.0.0.1:{_closed_port()}"),
                                        "spare": {"driver": "memory"}}})
    dead: FilesystemAdapter = manager.disk("dead")
    for action in (lambda: dead.get("a.txt"), lambda: dead.put("a.txt", b"x"), lambda: dead.exists("a.txt"),
                   lambda: dead.files("")):
        with pytest.raises(StorageError) as caught:
            action()
        assert is_outage(caught.value), (driver, caught.value, caught.value.__cause__)
    disk = FailoverFilesystemAdapter([dead, manager.disk("spare")], name="f", manager=manager)
    disk.put("a.txt", b"kept")
    assert disk.get("a.txt") == b"kept"
    with pytest.raises(UnableToListContents):
        disk.files()  # the spare's listing is not the disk's while the first disk cannot be listed
    assert disk.pending() == {"dead": ["a.txt"]}
    manager.configure({"disks": {}})

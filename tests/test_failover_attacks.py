"""Attacks on the failover disk's promises (docs/failover.md) by an unlucky production system.

An outage that starts in the middle of a streamed write, a primary that hangs
instead of refusing, answers that must never fail over (a tenant's quota), and a
repair after a restart that must not overwrite the copy a standby took during an
outage with the primary's older one. The primary is a real s3 disk on moto behind
tests/faultproxy.py; standbys are memory or local disks.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from flystore import (
    FileNotFound,
    FilesystemAdapter,
    QuotaExceeded,
    ReadOnlyDisk,
    ReplicationIncomplete,
    StorageError,
    StorageManager,
    UnableToListContents,
    UnableToWriteFile,
)
from flystore.decorators.failover import FailoverFilesystemAdapter
from tests.contract_fixtures import temporary_bucket
from tests.drivers.test_s3 import CREDENTIALS
from tests.faultproxy import FaultProxy


@pytest.fixture(scope="module")
def proxy(s3_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", int(urlsplit(s3_endpoint).port or 0)) as running:
        yield running


@pytest.fixture(scope="module")
def bucket(s3_endpoint: str) -> Iterator[str]:
    with temporary_bucket(s3_endpoint, "failover-attacks") as name:
        yield name


@pytest.fixture
def pair(proxy: FaultProxy, bucket: str) -> Iterator[tuple[FailoverFilesystemAdapter, FilesystemAdapter,
                                                            FilesystemAdapter]]:
    """(failover disk, its s3 primary behind the proxy, its memory standby); the proxy forwards."""
    proxy.mode = "forward"
    manager = StorageManager({"disks": {
        "primary": {"driver": "s3", "bucket": bucket, "prefix": uuid.uuid4().hex, "endpoint": proxy.url_for("http"),
                    "retries": 0, "timeout": 2, **CREDENTIALS},
        "standby": {"driver": "memory"},
        "f": {"driver": "failover", "disks": ["primary", "standby"], "failure_threshold": 1, "cooldown": 600},
    }})
    disk = manager.disk("f")
    assert isinstance(disk, FailoverFilesystemAdapter)
    yield disk, manager.disk("primary"), manager.disk("standby")
    proxy.mode = "forward"
    manager.configure({"disks": {}})


def _chunks_with_outage(proxy: FaultProxy, reads: list[int]) -> Iterator[bytes]:
    """64 chunks of 4 KiB; the primary's server goes away after the 10th has been read."""
    for number in range(64):
        reads.append(number)
        if number == 10:
            proxy.mode = "refuse"
        yield bytes([number]) * 4096


EXPECTED = b"".join(bytes([number]) * 4096 for number in range(64))


def test_an_outage_in_the_middle_of_a_streamed_write_lands_the_whole_file_on_the_standby(
    pair: tuple[FailoverFilesystemAdapter, FilesystemAdapter, FilesystemAdapter], proxy: FaultProxy
) -> None:
    disk, primary, standby = pair
    reads: list[int] = []
    disk.write_stream("streamed.bin", _chunks_with_outage(proxy, reads))
    assert standby.get("streamed.bin") == EXPECTED
    assert reads == list(range(64))  # the source was read once, though two disks were written
    proxy.mode = "forward"
    assert not primary.file_exists("streamed.bin")  # nothing half-written on the primary
    assert disk.pending() == {"primary": ["streamed.bin"]}
    assert disk.get("streamed.bin") == EXPECTED  # the primary is behind on it: read from the standby


def test_an_outage_while_open_wb_is_being_written_loses_no_byte(
    pair: tuple[FailoverFilesystemAdapter, FilesystemAdapter, FilesystemAdapter], proxy: FaultProxy
) -> None:
    disk, primary, standby = pair
    with disk.open("opened.bin", "wb") as handle:
        for number, chunk in enumerate(_chunks_with_outage(proxy, [])):
            handle.write(chunk)
            assert number < 64
    assert standby.get("opened.bin") == EXPECTED
    proxy.mode = "forward"
    assert not primary.file_exists("opened.bin")
    assert disk.get("opened.bin") == EXPECTED


def test_a_hanging_primary_fails_over_on_its_timeout_and_then_is_not_asked_again(
    pair: tuple[FailoverFilesystemAdapter, FilesystemAdapter, FilesystemAdapter], proxy: FaultProxy
) -> None:
    disk, primary, standby = pair
    proxy.mode = "blackhole"  # connections are accepted and never answered
    disk.put("slow.txt", b"after the timeout")
    assert standby.get("slow.txt") == b"after the timeout"
    assert disk.health()["primary"] == "open"
    connections = proxy.stats()["connections"]
    for number in range(5):
        disk.put(f"more/{number}.txt", b"x")
        assert disk.get(f"more/{number}.txt") == b"x"
    assert proxy.stats()["connections"] == connections  # the open circuit spared every call the hang
    proxy.mode = "forward"
    assert not primary.file_exists("slow.txt")


def test_a_tenants_quota_is_an_answer_and_never_sends_the_write_to_the_standby(tmp_path: Path) -> None:
    manager = StorageManager({
        "disks": {"files": {"driver": "memory"}, "spare": {"driver": "memory"}},
        "tenants": {"disk": "files", "max_bytes": 100, "max_files": 2},
    })
    acme = manager.tenant("acme")
    spare = manager.disk("spare")
    disk = FailoverFilesystemAdapter([acme, spare], name="f", manager=manager)
    disk.put("small.txt", b"fits")
    with pytest.raises(QuotaExceeded):
        disk.put("big.bin", b"\0" * 1000)
    with pytest.raises(QuotaExceeded):
        disk.write_stream("big-stream.bin", iter([b"\0" * 60, b"\0" * 60]))
    disk.put("second.txt", b"ok")
    with pytest.raises(QuotaExceeded):
        disk.put("third.txt", b"one file too many")
    assert spare.all_files() == []  # not one refused byte went to the standby
    assert disk.pending() == {} and disk.health() == {acme.name: "closed", "spare": "closed"}
    manager.configure({"disks": {}})


def _age(root: Path, path: str, seconds: float) -> None:
    target = root / path
    moment = time.time() - seconds
    os.utime(target, (moment, moment))


def test_repair_after_a_restart_keeps_the_copy_a_standby_took_during_the_outage(tmp_path: Path) -> None:
    settings: dict[str, Any] = {"disks": {
        "primary": {"driver": "local", "root": str(tmp_path / "primary")},
        "standby": {"driver": "local", "root": str(tmp_path / "standby")},
        "f": {"driver": "failover", "disks": ["primary", "standby"], "replicate": True, "write_quorum": 1},
    }}
    before = StorageManager(settings)
    before.disk("f").put("orders/7.json", b'{"state": "new"}')
    before.disk("f").put("orders/8.json", b'{"state": "new"}')
    # The primary was down when these were written: only the standby took them.
    before.disk("standby").put("orders/7.json", b'{"state": "paid"}')
    before.disk("primary").put("orders/8.json", b'{"state": "shipped"}')
    _age(tmp_path / "primary", "orders/7.json", 3600)  # the primary's stale copy is an hour older
    _age(tmp_path / "standby", "orders/8.json", 3600)
    before.configure({"disks": {}})

    after = StorageManager(settings)  # a restart: the ledger of what the primary missed is gone
    disk = after.disk("f")
    assert disk.pending() == {}
    report = disk.repair()
    assert report.complete
    assert report.copied == {"primary": ["orders/7.json"], "standby": ["orders/8.json"]}
    assert after.disk("primary").get("orders/7.json") == b'{"state": "paid"}'
    assert after.disk("standby").get("orders/8.json") == b'{"state": "shipped"}'
    assert disk.repair().copied == {}
    after.configure({"disks": {}})


def test_repair_takes_the_first_disk_on_a_tie_of_times(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {
        "a": {"driver": "local", "root": str(tmp_path / "a")},
        "b": {"driver": "local", "root": str(tmp_path / "b")},
        "f": {"driver": "failover", "disks": ["a", "b"]},
    }})
    manager.disk("a").put("same-second.txt", b"first disk")
    manager.disk("b").put("same-second.txt", b"second disk!")
    moment = time.time() - 60
    for root in ("a", "b"):
        os.utime(tmp_path / root / "same-second.txt", (moment, moment))
    assert manager.disk("f").repair().copied == {"b": ["same-second.txt"]}
    assert manager.disk("b").get("same-second.txt") == b"first disk"
    manager.configure({"disks": {}})


def test_one_replicated_write_fires_one_event_whatever_the_number_of_replicas() -> None:
    manager = StorageManager({"disks": {
        "a": {"driver": "memory"}, "b": {"driver": "memory"}, "c": {"driver": "memory"},
        "f": {"driver": "failover", "disks": ["a", "b", "c"], "replicate": True},
    }})
    disk = manager.disk("f")
    seen: list[str] = []
    lock = threading.Lock()

    def record(path: str) -> None:
        with lock:
            seen.append(path)

    disk.on("file_updated", record)
    disk.on("file_deleted", record)
    disk.put("once.txt", b"x")
    disk.delete("once.txt")
    assert seen == ["once.txt", "once.txt"]
    manager.configure({"disks": {}})


def test_in_half_open_state_one_of_many_concurrent_readers_probes_the_dead_primary(
    proxy: FaultProxy, bucket: str
) -> None:
    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    proxy.mode = "forward"
    manager = StorageManager({"disks": {
        "primary": {"driver": "s3", "bucket": bucket, "prefix": uuid.uuid4().hex, "endpoint": proxy.url_for("http"),
                    "retries": 0, "timeout": 1, **CREDENTIALS},
        "standby": {"driver": "memory"},
    }})
    disk = FailoverFilesystemAdapter([manager.disk("primary"), manager.disk("standby")], name="f", manager=manager,
                                     replicate=True, write_quorum=1, failure_threshold=1, cooldown=30, clock=clock)
    disk.put("shared.txt", b"on both")
    proxy.mode = "blackhole"
    disk.put("opened.txt", b"the primary hangs: its circuit opens")
    assert disk.health()["primary"] == "open"
    clock.now += 30
    assert disk.health()["primary"] == "half_open"
    connections = proxy.stats()["connections"]
    barrier = threading.Barrier(8)
    answers: list[bytes] = []
    lock = threading.Lock()

    def read() -> None:
        barrier.wait()
        content = disk.get("shared.txt")
        with lock:
            answers.append(content)

    readers = [threading.Thread(target=read) for _ in range(8)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert answers == [b"on both"] * 8
    assert proxy.stats()["connections"] - connections == 1  # exactly one probe reached the primary
    assert disk.health()["primary"] == "open"  # the probe failed: another cooldown
    proxy.mode = "forward"
    manager.configure({"disks": {}})


def _broken_upload() -> Iterator[bytes]:
    """A client's upload that dies half-way (the client's connection, not any disk, went away)."""
    yield b"x" * 10_000
    raise ConnectionResetError(104, "the uploading client went away")


@pytest.mark.parametrize("replicate", [False, True])
def test_a_source_stream_that_breaks_stores_nothing_anywhere_and_blames_no_disk(
    pair: tuple[FailoverFilesystemAdapter, FilesystemAdapter, FilesystemAdapter], replicate: bool
) -> None:
    disk, primary, standby = pair
    if replicate:
        disk = FailoverFilesystemAdapter([primary, standby], name="r", replicate=True, failure_threshold=1)
    with pytest.raises(UnableToWriteFile) as caught:
        disk.write_stream("upload.bin", _broken_upload())
    assert "uploading client went away" in str(caught.value)
    # Not a truncated file on the standby, as if the 10 000 bytes read were the whole upload.
    assert not primary.file_exists("upload.bin") and not standby.file_exists("upload.bin")
    assert disk.health() == {"primary": "closed", "standby": "closed"} and disk.pending() == {}
    with pytest.raises(RuntimeError), disk.open("opened.bin", "wb") as handle:
        handle.write(b"y" * 10_000)
        raise RuntimeError("the writer gave up")
    assert not primary.file_exists("opened.bin") and not standby.file_exists("opened.bin")


def test_a_replica_that_refuses_one_write_is_behind_on_it_not_down() -> None:
    manager = StorageManager({"disks": {
        "a": {"driver": "memory"}, "inner": {"driver": "memory"},
        "b": {"driver": "read_only", "disk": "inner"},
        "lenient": {"driver": "failover", "disks": ["a", "b"], "replicate": True, "write_quorum": 1,
                    "failure_threshold": 1},
        "strict": {"driver": "failover", "disks": ["a", "b"], "replicate": True, "failure_threshold": 1},
    }})
    lenient = manager.disk("lenient")
    assert isinstance(lenient, FailoverFilesystemAdapter)
    lenient.put("x.txt", b"1")
    assert lenient.pending() == {"b": ["x.txt"]} and lenient.get("x.txt") == b"1"
    assert lenient.health() == {"a": "closed", "b": "closed"}  # a refusal is an answer, not an outage
    report = lenient.repair()
    assert not report.complete and "read-only" in report.errors["b:x.txt"]
    assert lenient.pending() == {"b": ["x.txt"]}  # still behind: the repair could not copy it
    strict = manager.disk("strict")
    with pytest.raises(ReplicationIncomplete) as caught:
        strict.put("y.txt", b"2")
    assert caught.value.failed == ("b",) and isinstance(caught.value.causes["b"], ReadOnlyDisk)
    assert manager.disk("a").get("y.txt") == b"2"  # what the first disk took stands (no rollback)
    manager.configure({"disks": {}})


def test_a_standby_never_calls_missing_a_file_the_unreachable_primary_may_hold(
    pair: tuple[FailoverFilesystemAdapter, FilesystemAdapter, FilesystemAdapter], proxy: FaultProxy
) -> None:
    disk, primary, standby = pair
    disk.put("ledger.csv", b"on the primary only")
    proxy.mode = "refuse"
    with pytest.raises(StorageError) as caught:
        disk.get("ledger.csv")
    assert not isinstance(caught.value, FileNotFound)  # "missing" would invite the caller to recreate it
    assert "primary" in str(caught.value) and "standby" in str(caught.value)
    with pytest.raises(StorageError) as checked:
        disk.file_exists("ledger.csv")
    assert not isinstance(checked.value, FileNotFound)
    with pytest.raises(StorageError) as copied:
        disk.copy("ledger.csv", "ledger-copy.csv")
    assert not isinstance(copied.value, FileNotFound)
    assert standby.all_files() == []
    disk.put("during.txt", b"taken by the standby")
    assert disk.get("during.txt") == b"taken by the standby" and disk.file_exists("during.txt")
    proxy.mode = "forward"
    assert disk.get("ledger.csv") == b"on the primary only"
    with pytest.raises(FileNotFound):
        disk.get("nowhere.txt")  # with every disk answering, missing is missing


def test_a_non_replicated_listing_is_the_first_disks_corrected_never_a_standbys_alone(
    pair: tuple[FailoverFilesystemAdapter, FilesystemAdapter, FilesystemAdapter], proxy: FaultProxy
) -> None:
    disk, primary, standby = pair
    for number in range(3):
        disk.put(f"old/{number}.txt", b"x")
    proxy.mode = "refuse"
    disk.make_directory("made-during-outage")
    disk.put("during.txt", b"d")
    with pytest.raises(UnableToListContents):
        disk.all_files()  # the standby's two entries are not the disk's listing
    proxy.mode = "forward"
    disk.backend.member("primary").breaker.succeeded()  # type: ignore[attr-defined]  # past the cooldown
    assert disk.all_files() == ["during.txt", "old/0.txt", "old/1.txt", "old/2.txt"]
    assert disk.directories() == ["made-during-outage", "old"]
    assert disk.files("old") == ["old/0.txt", "old/1.txt", "old/2.txt"]
    assert disk.repair().complete and disk.pending() == {}
    assert disk.all_files() == primary.all_files() == ["during.txt", "old/0.txt", "old/1.txt", "old/2.txt"]


def test_a_directory_made_during_an_outage_hides_nothing_the_primary_holds_inside_it(
    pair: tuple[FailoverFilesystemAdapter, FilesystemAdapter, FilesystemAdapter], proxy: FaultProxy
) -> None:
    disk, primary, standby = pair
    disk.put("reports/2024.csv", b"on the primary")
    proxy.mode = "refuse"
    disk.make_directory("reports")  # the standby makes it; the primary missed only that
    assert disk.pending() == {"primary": ["reports/"]}
    proxy.mode = "forward"
    disk.backend.member("primary").breaker.succeeded()  # type: ignore[attr-defined]  # past the cooldown
    assert disk.get("reports/2024.csv") == b"on the primary"
    assert disk.files("reports") == ["reports/2024.csv"] and disk.directory_exists("reports")
    assert disk.repair().complete and disk.pending() == {}

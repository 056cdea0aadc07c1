"""The failover disk: reads fall back, writes go to the first healthy disk or to all, a breaker skips a dead one.

The primary is a real s3 disk on moto reached through tests/faultproxy.py, which the
tests switch to "refuse" (connections refused, as with a stopped server) and back;
the fallback is a memory disk. A refusal from a server that answers is a tiny real
HTTP server on loopback that says 403 or 503 to every request.
"""

from __future__ import annotations

import http.server
import pickle
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from flystore import (
    FileNotFound,
    FilesystemAdapter,
    InvalidConfiguration,
    MultiBackendStorage,
    ReadOnlyDisk,
    ReplicationIncomplete,
    StorageError,
    StorageManager,
    UnableToReadFile,
    UnableToWriteFile,
)
from flystore.decorators.failover import FailoverFilesystemAdapter
from tests.faultproxy import FaultProxy

CREDENTIALS = {"key": "testing", "secret": "testing", "region": "us-east-1"}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def bucket(s3_endpoint: str) -> Iterator[str]:
    name = f"failover-{uuid.uuid4().hex[:12]}"
    direct = StorageManager({"disks": {"d": {"driver": "s3", "bucket": name, "endpoint": s3_endpoint,
                                             "create_bucket": True, **CREDENTIALS}}}).disk("d")
    direct.put(".keep", b"")
    yield name
    for path in direct.all_files():
        direct.delete(path)
    direct.close()


@pytest.fixture(scope="module")
def proxy(s3_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", int(urlsplit(s3_endpoint).port or 0)) as running:
        yield running


Make = Callable[..., tuple[FailoverFilesystemAdapter, FilesystemAdapter, FilesystemAdapter]]


@pytest.fixture
def make(proxy: FaultProxy, bucket: str) -> Iterator[Make]:
    """``make(**failover_options)`` -> (failover disk, its s3 primary, its memory fallback)."""
    proxy.mode = "forward"
    managers: list[StorageManager] = []

    def build(primary: dict[str, Any] | None = None, clock: Clock | None = None, **options: Any) -> Any:
        manager = StorageManager({"disks": {
            "primary": primary or {"driver": "s3", "bucket": bucket, "prefix": uuid.uuid4().hex,
                                   "endpoint": proxy.url_for("http"), "retries": 0, "timeout": 2, **CREDENTIALS},
            "fallback": {"driver": "memory"},
        }})
        managers.append(manager)
        primary_disk, fallback_disk = manager.disk("primary"), manager.disk("fallback")
        disk = FailoverFilesystemAdapter([primary_disk, fallback_disk], name="f", manager=manager,
                                         clock=clock or Clock(), **options)
        return disk, primary_disk, fallback_disk

    yield build
    proxy.mode = "forward"
    for manager in managers:
        manager.configure({"disks": {}})


# -- reads -------------------------------------------------------------------------------


def test_reads_fall_back_in_order_while_the_primary_is_unreachable(make: Make, proxy: FaultProxy) -> None:
    disk, _, fallback = make(replicate=True, write_quorum=1)
    disk.put("docs/a.txt", b"alpha")
    assert fallback.get("docs/a.txt") == b"alpha"
    proxy.mode = "refuse"
    assert disk.get("docs/a.txt") == b"alpha"
    assert disk.exists("docs/a.txt") and disk.file_exists("docs/a.txt") and disk.directory_exists("docs")
    assert disk.size("docs/a.txt") == 5
    assert disk.files("docs") == ["docs/a.txt"]
    with disk.read_stream("docs/a.txt") as stream:
        assert b"".join(stream) == b"alpha"
    with pytest.raises(FileNotFound):
        disk.get("docs/missing.txt")  # the healthy fallback's answer stands


def test_a_missing_file_on_a_reachable_primary_is_not_looked_for_elsewhere(make: Make) -> None:
    disk, _, fallback = make()
    fallback.put("only-here.txt", b"stray")
    with pytest.raises(FileNotFound) as caught:
        disk.get("only-here.txt")
    assert (caught.value.disk, caught.value.path) == ("f", "only-here.txt")
    assert disk.exists("only-here.txt") is False
    anywhere, _, fallback = make(read_any=True)
    fallback.put("only-here.txt", b"stray")
    assert anywhere.get("only-here.txt") == b"stray"
    assert anywhere.exists("only-here.txt") is True


def test_read_any_does_not_call_a_file_missing_while_a_disk_that_may_hold_it_is_unreachable(
    make: Make, proxy: FaultProxy
) -> None:
    disk, _, _ = make(read_any=True)
    proxy.mode = "refuse"
    with pytest.raises(UnableToReadFile) as caught:
        disk.get("anywhere.txt")
    assert "primary" in str(caught.value) and "fallback" in str(caught.value)


# -- writes --------------------------------------------------------------------------------


def test_writes_go_to_the_first_healthy_disk_and_the_skipped_one_catches_up_on_repair(
    make: Make, proxy: FaultProxy
) -> None:
    disk, primary, fallback = make()
    disk.put("a.txt", b"v1")
    assert primary.get("a.txt") == b"v1" and not fallback.exists("a.txt")
    proxy.mode = "refuse"
    disk.put("a.txt", b"version 2")
    disk.write_stream("b.bin", (bytes([n]) * 1000 for n in range(50)))
    assert disk.pending() == {"primary": ["a.txt", "b.bin"]}
    proxy.mode = "forward"
    assert primary.get("a.txt") == b"v1"  # the primary is stale ...
    assert disk.get("a.txt") == b"version 2"  # ... so reads skip it for that path
    assert disk.files() == ["a.txt", "b.bin"]
    assert disk.size("b.bin") == 50_000
    report = disk.repair()
    assert report.complete and sorted(report.copied["primary"]) == ["a.txt", "b.bin"]
    assert report.bytes == len(b"version 2") + 50_000
    assert primary.get("a.txt") == b"version 2" and primary.size("b.bin") == 50_000
    assert disk.pending() == {}


def test_an_answer_from_a_reachable_disk_is_never_failed_over(make: Make) -> None:
    manager = StorageManager({"disks": {
        "inner": {"driver": "memory"},
        "locked": {"driver": "read_only", "disk": "inner"},
        "spare": {"driver": "memory"},
        "f": {"driver": "failover", "disks": ["locked", "spare"]},
    }})
    disk = manager.disk("f")
    with pytest.raises(ReadOnlyDisk):
        disk.put("x.txt", b"nope")
    with pytest.raises(ReadOnlyDisk):
        disk.delete("x.txt")
    assert manager.disk("spare").all_files() == []
    assert disk.pending() == {}


class _Answering(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # answers botocore's "Expect: 100-continue" at once
    status = 403
    code = "AccessDenied"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = f"<?xml version='1.0'?><Error><Code>{self.code}</Code><Message>no</Message></Error>".encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _answer  # noqa: N815  # http.server's handler names

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def answering_server() -> Iterator[Callable[[int, str], str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(status: int, code: str) -> str:
        handler = type("Handler", (_Answering,), {"status": status, "code": code})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("status", "code", "fails_over"), [
    (403, "AccessDenied", False),
    (400, "InvalidRequest", False),
    (503, "ServiceUnavailable", True),
    (500, "InternalError", True),
])
def test_a_server_that_refuses_is_answered_but_a_server_error_fails_over(
    make: Make, answering_server: Callable[[int, str], str], status: int, code: str, fails_over: bool
) -> None:
    endpoint = answering_server(status, code)
    primary = {"driver": "s3", "bucket": "refusing", "endpoint": endpoint, "retries": 0, "timeout": 2,
               **CREDENTIALS}
    disk, _, fallback = make(primary=primary, replicate=True, write_quorum=1)
    fallback.put("doc.txt", b"from the fallback")
    if fails_over:
        assert disk.get("doc.txt") == b"from the fallback"
        disk.put("new.txt", b"n")
        assert disk.pending() == {"primary": ["new.txt"]}
    else:
        with pytest.raises(StorageError) as caught:
            disk.get("doc.txt")
        assert caught.value.disk == "f" and not isinstance(caught.value, FileNotFound)
        with pytest.raises(StorageError):
            disk.put("new.txt", b"n")
        assert not fallback.exists("new.txt")  # a refused write goes nowhere else
        assert disk.pending() == {}


# -- replication -----------------------------------------------------------------------------


def test_a_replicated_write_below_the_quorum_names_the_failed_replica_and_its_cause(
    make: Make, proxy: FaultProxy
) -> None:
    disk, primary, fallback = make(replicate=True)
    disk.put("r.txt", b"both")
    assert primary.get("r.txt") == fallback.get("r.txt") == b"both"
    proxy.mode = "refuse"
    with pytest.raises(ReplicationIncomplete) as caught:
        disk.put("r.txt", b"only one")
    error = caught.value
    assert (error.disk, error.path, error.failed, error.succeeded, error.required) == (
        "f", "r.txt", ("primary",), ("fallback",), 2)
    assert isinstance(error.causes["primary"], UnableToWriteFile)
    assert "primary" in str(error) and "1 of 2 replicas" in str(error)
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.failed, again.succeeded, again.required, again.disk) == (
        ReplicationIncomplete, ("primary",), ("fallback",), 2, "f")
    assert isinstance(again.causes["primary"], UnableToWriteFile)
    assert disk.get("r.txt") == b"only one"  # what landed is what reads see
    proxy.mode = "forward"
    assert disk.get("r.txt") == b"only one" and primary.get("r.txt") == b"both"
    disk.repair()
    assert primary.get("r.txt") == b"only one"


def test_a_quorum_met_despite_a_failed_replica_succeeds_and_records_what_is_behind(
    make: Make, proxy: FaultProxy
) -> None:
    disk, primary, fallback = make(replicate=True, write_quorum=1)
    for name in ("keep.txt", "gone.txt", "moved.txt"):
        disk.put(name, name.encode())
    proxy.mode = "refuse"
    disk.put("keep.txt", b"changed")
    disk.delete("gone.txt")
    disk.move("moved.txt", "dir/moved.txt")
    disk.make_directory("empty")
    assert disk.pending() == {"primary": ["dir/moved.txt", "empty/", "gone.txt", "keep.txt", "moved.txt"]}
    proxy.mode = "forward"
    assert primary.exists("gone.txt") and not disk.exists("gone.txt")
    assert disk.all_files() == ["dir/moved.txt", "keep.txt"]
    report = disk.repair()
    assert report.complete
    assert sorted(report.deleted["primary"]) == ["gone.txt", "moved.txt"]
    assert primary.all_files() == fallback.all_files() == ["dir/moved.txt", "keep.txt"]
    assert primary.directory_exists("empty")
    assert disk.pending() == {}


def test_a_copy_on_a_disk_that_missed_the_source_takes_the_source_from_a_disk_that_has_it(
    make: Make, proxy: FaultProxy
) -> None:
    disk, primary, _ = make()
    proxy.mode = "refuse"
    disk.put("src.txt", b"written during the outage")
    proxy.mode = "forward"
    disk.copy("src.txt", "dst.txt")  # lands on the primary, which never saw src.txt
    assert primary.get("dst.txt") == b"written during the outage"
    assert disk.pending() == {"primary": ["src.txt"]}


def test_a_streamed_write_is_replayed_to_the_next_disk_and_to_every_replica(make: Make, proxy: FaultProxy) -> None:
    reads: list[int] = []

    def chunks() -> Iterator[bytes]:
        for number in range(40):
            reads.append(number)
            yield bytes([number]) * 4096

    disk, primary, fallback = make(replicate=True)
    disk.write_stream("s.bin", chunks())
    assert primary.get("s.bin") == fallback.get("s.bin") == b"".join(bytes([n]) * 4096 for n in range(40))
    assert reads == list(range(40))  # the source was read once
    proxy.mode = "refuse"
    single, _, spare = make()
    single.write_stream("t.bin", iter([b"x" * 100_000]))
    assert spare.get("t.bin") == b"x" * 100_000


# -- the circuit breaker -----------------------------------------------------------------------


def test_the_circuit_opens_after_the_threshold_and_one_probe_closes_it_after_the_cooldown(
    make: Make, proxy: FaultProxy
) -> None:
    clock = Clock()
    disk, primary, _ = make(failure_threshold=2, cooldown=30, clock=clock)
    proxy.mode = "refuse"
    disk.put("one.txt", b"1")
    assert disk.health() == {"primary": "closed", "fallback": "closed"}
    disk.put("two.txt", b"2")
    assert disk.health()["primary"] == "open"
    proxy.mode = "forward"  # the primary is back, but its circuit still skips it
    disk.put("three.txt", b"3")
    assert not primary.exists("three.txt")
    assert disk.pending() == {"primary": ["one.txt", "three.txt", "two.txt"]}
    clock.now += 30
    assert disk.health()["primary"] == "half_open"
    disk.put("four.txt", b"4")  # the probe
    assert primary.get("four.txt") == b"4"
    assert disk.health()["primary"] == "closed"
    proxy.mode = "refuse"
    clock.now += 1
    disk.put("five.txt", b"5")
    disk.put("six.txt", b"6")
    clock.now += 30
    disk.put("seven.txt", b"7")  # the probe fails: open again for a whole cooldown
    assert disk.health()["primary"] == "open"
    clock.now += 29
    assert disk.health()["primary"] == "open"


def test_in_half_open_state_only_one_caller_probes(make: Make) -> None:
    from flystore.decorators.failover import CircuitBreaker

    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=5, clock=clock)
    breaker.failed()
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 5
    barrier = threading.Barrier(16)
    allowed: list[bool] = []

    def contend() -> None:
        barrier.wait()
        allowed.append(breaker.allow())

    threads = [threading.Thread(target=contend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False] * 15 + [True]
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.allow() and breaker.times_opened == 1


def test_when_every_circuit_is_open_the_disks_are_still_tried(make: Make, proxy: FaultProxy) -> None:
    clock = Clock()
    disk, primary, _ = make(failure_threshold=1, cooldown=60, clock=clock, replicate=True, write_quorum=1)
    proxy.mode = "refuse"
    disk.put("a.txt", b"a")
    assert disk.health()["primary"] == "open"
    proxy.mode = "forward"
    disk.backend.member("fallback").breaker.failed()  # type: ignore[attr-defined]
    assert set(disk.health().values()) == {"open"}
    assert disk.get("a.txt") == b"a"


# -- repair --------------------------------------------------------------------------------------


def test_repair_copies_only_what_differs_and_never_deletes_without_the_ledgers_word(make: Make) -> None:
    disk, primary, fallback = make(replicate=True)
    for number in range(12):
        disk.put(f"set/{number}.txt", f"file {number}".encode())
    fallback.put("set/3.txt", b"a longer stray version")   # differs in size
    fallback.put("set/5.txt", b"FILE 5")                   # same size: only a hash tells
    fallback.put("only-on-fallback.txt", b"keep me")       # no ledger entry: copied, not deleted
    for stray in ("set/3.txt", "set/5.txt"):                # older than the primary's: the primary's wins
        fallback.backend._files[stray].modified -= 3600  # type: ignore[attr-defined]
    report = disk.repair()
    assert report.copied == {"fallback": ["set/3.txt"], "primary": ["only-on-fallback.txt"]}
    assert report.deleted == {}
    assert fallback.get("set/3.txt") == b"file 3"
    assert primary.get("only-on-fallback.txt") == b"keep me"
    verified = disk.repair(verify=True)
    assert verified.copied == {"fallback": ["set/5.txt"]} and fallback.get("set/5.txt") == b"file 5"
    assert disk.repair(verify=True).copied == {}


def test_repair_streams_a_large_file_in_bounded_memory(tmp_path: Any) -> None:
    import tracemalloc

    manager = StorageManager({"disks": {
        "a": {"driver": "local", "root": str(tmp_path / "a")},
        "b": {"driver": "local", "root": str(tmp_path / "b")},
        "f": {"driver": "failover", "disks": ["a", "b"], "replicate": True},
    }})
    chunk = bytes(range(256)) * 4096  # 1 MiB
    manager.disk("a").write_stream("big.bin", (chunk for _ in range(48)))
    tracemalloc.start()
    try:
        report = manager.disk("f").repair()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.copied == {"b": ["big.bin"]} and report.bytes == 48 * len(chunk)
    assert manager.disk("b").checksum("big.bin") == manager.disk("a").checksum("big.bin")
    assert peak < 12 * len(chunk), f"repair held {peak / len(chunk):.1f} MiB for a 48 MiB file"


def test_repair_names_an_unreachable_disk_and_keeps_its_entries(make: Make, proxy: FaultProxy) -> None:
    disk, _, _ = make(replicate=True, write_quorum=1)
    proxy.mode = "refuse"
    disk.put("late.txt", b"l")
    report = disk.repair()
    assert not report.complete and "primary" in report.errors
    assert disk.pending() == {"primary": ["late.txt"]}


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "option"), [
    ({}, "disks"),
    ({"disks": "a"}, "disks"),
    ({"disks": ["a"]}, "disks"),
    ({"disks": ["a", "a"]}, "disks"),
    ({"disks": ["a", "nowhere"]}, "disk"),
    ({"disks": ["a", "b"], "write_quorum": 1}, "write_quorum"),
    ({"disks": ["a", "b"], "replicate": True, "write_quorum": 3}, "write_quorum"),
    ({"disks": ["a", "b"], "replicate": "yes"}, "replicate"),
    ({"disks": ["a", "b"], "failure_threshold": 0}, "failure_threshold"),
    ({"disks": ["a", "b"], "cooldown": -1}, "cooldown"),
    ({"disks": ["a", "b"], "read_anywhere": True}, "read_anywhere"),
])
def test_bad_options_name_the_disk_and_the_option(options: dict[str, Any], option: str) -> None:
    manager = StorageManager({"disks": {"a": {"driver": "memory"}, "b": {"driver": "memory"},
                                        "f": {"driver": "failover", **options}}})
    with pytest.raises(InvalidConfiguration) as caught:
        manager.disk("f")
    assert (caught.value.disk, caught.value.option) == ("f", option)


def test_multi_backend_storage_takes_the_seeds_dict_of_named_backends() -> None:
    storage = MultiBackendStorage(
        {"primary": {"backend": "memory"}, "fallback": {"driver": "memory"}}, replicate=True, name="files"
    )
    assert isinstance(storage, FilesystemAdapter) and storage.name == "files"
    assert [member.name for member in storage.disks] == ["primary", "fallback"]
    storage.put("seed.txt", "both")
    assert [member.get("seed.txt") for member in storage.disks] == [b"both", b"both"]
    with pytest.raises(InvalidConfiguration) as caught:
        MultiBackendStorage({"primary": {"bucket": "b"}, "fallback": {"backend": "memory"}})
    assert caught.value.option == "primary"
    storage.close()


def test_a_failover_disk_of_named_disks_leaves_them_open_when_closed() -> None:
    manager = StorageManager({"disks": {"a": {"driver": "memory"}, "b": {"driver": "memory"},
                                        "f": {"driver": "failover", "disks": ["a", "b"]}}})
    manager.disk("f").put("x.txt", b"x")
    manager.forget_disk("f")
    assert manager.disk("a").get("x.txt") == b"x"


def test_a_refused_replicated_write_leaves_a_half_open_disk_free_to_be_probed() -> None:
    manager = StorageManager({"disks": {
        "inner": {"driver": "memory"},
        "locked": {"driver": "read_only", "disk": "inner"},
        "spare": {"driver": "memory"},
    }})
    clock = Clock()
    disk = FailoverFilesystemAdapter([manager.disk("locked"), manager.disk("spare")], replicate=True,
                                     failure_threshold=1, cooldown=10, name="f", clock=clock)
    spare = disk.backend.member("spare").breaker  # type: ignore[attr-defined]
    spare.failed()
    clock.now += 10
    assert spare.state == "half_open"
    with pytest.raises(ReadOnlyDisk):
        disk.put("x.txt", b"refused by the first disk")
    assert manager.disk("spare").all_files() == []
    assert spare.allow(), "the refused write kept the probe's reservation"


def test_a_failover_disk_travels_as_its_configuration(tmp_path: Any) -> None:
    storage = MultiBackendStorage({"p": {"backend": "local", "root": str(tmp_path / "p")},
                                   "q": {"backend": "local", "root": str(tmp_path / "q")}}, replicate=True)
    storage.put("shared.txt", b"seen by workers")
    travelled = pickle.loads(pickle.dumps(storage.fs))
    assert travelled.cat_file("shared.txt") == b"seen by workers"
    rebuilt = pickle.loads(pickle.dumps(storage))
    assert [disk.name for disk in rebuilt.disks] == ["p", "q"] and rebuilt.backend.replicate  # type: ignore[attr-defined]
    rebuilt.put("back.txt", b"both")
    assert (tmp_path / "p" / "back.txt").read_bytes() == (tmp_path / "q" / "back.txt").read_bytes() == b"both"
    with pytest.raises(TypeError):  # a disk object given directly cannot travel
        pickle.dumps(MultiBackendStorage({"p": storage.disks[0], "q": {"backend": "memory"}}).fs)
    storage.close()

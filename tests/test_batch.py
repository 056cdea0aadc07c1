"""Batch operations on both APIs: per-item results, bounded concurrency, progress, S3 DeleteObjects."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from flystore import FileNotFound, FilesystemAdapter, PathTraversalDetected, StorageManager
from flystore.attributes import WriteOptions
from flystore.batch import BatchResult
from flystore.drivers.memory import MemoryBackend
from tests.drivers.test_s3 import build, raw_client, remove_bucket


class SlowMemory(MemoryBackend):
    """A real memory backend whose writes take 20 ms, counting how many run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most = 0
        self._gate = threading.Lock()

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        with self._gate:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            time.sleep(0.02)
            super().write(path, data, options)
        finally:
            with self._gate:
                self.in_flight -= 1


def memory() -> FilesystemAdapter:
    return StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")


# The memory disk runs async items inline, one task each; a local disk runs them in lanes of threads.
@pytest.mark.parametrize("api", ["sync", "async", "async-local"])
def test_per_item_results_and_errors(api: str, tmp_path: Path) -> None:
    disk = memory() if api != "async-local" else StorageManager(
        {"disks": {"m": {"driver": "local", "root": str(tmp_path)}}}).disk("m")
    disk.put("present.txt", b"p")

    def run(name: str, *args: Any, **kwargs: Any) -> BatchResult[Any, Any]:
        if api == "sync":
            return getattr(disk, name)(*args, **kwargs)  # type: ignore[no-any-return]
        return asyncio.run(getattr(disk.aio, name)(*args, **kwargs))  # type: ignore[no-any-return]

    updated: list[str] = []
    disk.on("file_updated", updated.append)
    put = run("put_many", {"a.txt": b"a", "../escape.txt": b"x", "b.txt": "b"})
    assert not put.ok and put.failed == ["../escape.txt"] and put.succeeded == ["a.txt", "b.txt"]
    assert isinstance(put.errors["../escape.txt"], PathTraversalDetected)
    assert put["a.txt"] == "a.txt" and sorted(updated) == ["a.txt", "b.txt"]  # each event once
    with pytest.raises(PathTraversalDetected):
        put.raise_for_errors()
    got = run("get_many", ["a.txt", "missing.txt", "b.txt"])
    assert got.results == {"a.txt": b"a", "b.txt": b"b"}
    assert isinstance(got.errors["missing.txt"], FileNotFound) and got.errors["missing.txt"].disk == "m"
    with pytest.raises(FileNotFound):
        got["missing.txt"]
    assert run("exists_many", ["a.txt", "nope"]).results == {"a.txt": True, "nope": False}
    copied = run("copy_many", {"a.txt": "c/a.txt", "missing.txt": "c/m.txt"})
    assert copied.results == {"a.txt": "c/a.txt"} and copied.failed == ["missing.txt"]
    deleted = run("delete_many", ["a.txt", "b.txt", "missing.txt"])
    assert deleted.results == {"a.txt": True, "b.txt": True, "missing.txt": False}
    assert disk.all_files() == ["c/a.txt", "present.txt"]


@pytest.mark.parametrize("api", ["sync", "async", "async-lanes"])
def test_max_concurrency_bounds_the_items_in_flight_and_progress_reports_each(api: str) -> None:
    backend = SlowMemory()
    disk = FilesystemAdapter(backend, name="slow")
    items = {f"f{number}.txt": b"x" for number in range(40)}
    progress: list[tuple[int, int]] = []

    def report(done: int, total: int, key: Any, error: Exception | None) -> None:
        progress.append((done, total))

    if api == "sync":
        result = disk.put_many(items, max_concurrency=4, progress=report)
    elif api == "async":
        result = asyncio.run(disk.aio.put_many(items, max_concurrency=4, progress=report))
    else:  # no progress callback: the items run in lanes
        result = asyncio.run(disk.aio.put_many(items, max_concurrency=4))
        progress = [(done, 40) for done in range(1, 41)]
    assert result.ok and len(result) == 40 and disk.all_files() == sorted(items)
    assert backend.most == 4  # concurrent, and never more than asked
    assert progress == [(done, 40) for done in range(1, 41)]
    with pytest.raises(ValueError):
        disk.put_many(items, max_concurrency=0)


class GatedMemory(MemoryBackend):
    """A real memory backend whose reads wait until ``width`` of them are in flight at once."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.gate = threading.Barrier(width, timeout=30)  # a deadlock guard, not a timing
        self.threads: set[str] = set()

    def read(self, path: str) -> bytes:
        self.threads.add(threading.current_thread().name.rsplit("_", 1)[0])
        self.gate.wait()
        return super().read(path)


@pytest.mark.parametrize("path", ["lanes", "per-item"])
def test_an_async_batch_wider_than_the_shared_pool_runs_max_concurrency_items_at_once(path: str) -> None:
    from flystore.aio._pool import MAX_THREADS

    width = MAX_THREADS + 8  # the shared pool alone would leave the barrier waiting for ever
    backend = GatedMemory(width)
    disk = FilesystemAdapter(backend, name="gated")
    paths = [f"f{number}.txt" for number in range(width * 2)]
    for path in paths:
        backend.write(path, path.encode(), WriteOptions())
    reports: list[int] = []
    progress = None if path == "lanes" else (lambda done, *_: reports.append(done))
    result = asyncio.run(disk.aio.get_many(paths, max_concurrency=width, progress=progress))
    assert reports == ([] if path == "lanes" else list(range(1, len(paths) + 1)))
    assert result.ok, result.errors
    assert result.results == {path: path.encode() for path in paths}
    assert not backend.gate.broken and backend.threads == {"flystore-aio-batch"}
    # A batch the shared pool can hold runs there: no threads of its own.
    narrow = GatedMemory(4)
    for path in paths[:8]:
        narrow.write(path, b"x", WriteOptions())
    assert asyncio.run(FilesystemAdapter(narrow, name="n").aio.get_many(paths[:8], max_concurrency=4)).ok
    assert narrow.threads == {"flystore-aio"}


class HeldMemory(MemoryBackend):
    """A real memory backend whose writes wait for ``release``; it counts the writes begun and in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.begun = 0
        self.in_flight = 0
        self.on_four: Any = None  # called when four writes are in flight
        self._counting = threading.Lock()

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        with self._counting:
            self.begun += 1
            self.in_flight += 1
            if self.in_flight == 4 and self.on_four is not None:
                self.on_four()
        try:
            self.release.wait(30)  # a deadlock guard, not a timing
            super().write(path, data, options)
        finally:
            with self._counting:
                self.in_flight -= 1


def test_a_cancelled_batch_starts_nothing_more_and_settles_its_items_before_it_raises() -> None:
    backend = HeldMemory()
    disk = FilesystemAdapter(backend, name="held")
    items = {f"f{number:02}.txt": b"x" for number in range(20)}

    async def scenario() -> None:
        four = asyncio.Event()
        loop = asyncio.get_running_loop()
        backend.on_four = lambda: loop.call_soon_threadsafe(four.set)
        batch = asyncio.ensure_future(disk.aio.put_many(items, max_concurrency=4))
        await four.wait()
        batch.cancel()
        asyncio.get_running_loop().call_later(0.05, backend.release.set)
        with pytest.raises(asyncio.CancelledError):
            await batch
        assert backend.in_flight == 0  # every thread was done with the batch when it raised

    asyncio.run(scenario())
    assert backend.begun == 4  # nothing started after the cancellation
    assert len(disk.all_files()) == 4  # and what was in flight was written whole


ACTOR: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="nobody")


class ActorMemory(MemoryBackend):
    """A real memory backend that records the context variable each read sees, then changes it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def read(self, path: str) -> bytes:
        self.seen.append(ACTOR.get())
        ACTOR.set(f"changed by {path}")
        return super().read(path)


def test_items_in_a_lane_each_see_the_callers_context_and_leak_nothing_to_the_next() -> None:
    backend = ActorMemory()
    disk = FilesystemAdapter(backend, name="actor")
    for number in range(5):
        backend.write(f"f{number}", b"x", WriteOptions())

    async def scenario() -> None:
        ACTOR.set("caller")
        assert (await disk.aio.get_many([f"f{number}" for number in range(5)], max_concurrency=1)).ok
        assert ACTOR.get() == "caller"

    asyncio.run(scenario())
    assert backend.seen == ["caller"] * 5


@pytest.fixture
def s3_disk(s3_endpoint: str) -> Iterator[tuple[FilesystemAdapter, Any]]:
    from tests.faultproxy import FaultProxy

    bucket = f"flystore-batch-{uuid.uuid4().hex[:12]}"
    with FaultProxy("127.0.0.1", int(urlsplit(s3_endpoint).port or 0)) as proxy:
        direct = build(s3_endpoint, bucket)
        disk = build(proxy.url_for("http"), bucket)
        yield disk, (proxy, direct)
        disk.close()
        direct.close()
    client = raw_client(s3_endpoint)
    remove_bucket(client, bucket)
    client.close()


def test_s3_deletes_go_out_as_delete_objects_of_1000(s3_disk: tuple[FilesystemAdapter, Any]) -> None:
    disk, (proxy, direct) = s3_disk
    paths = [f"many/{number:05}.txt" for number in range(1001)]
    assert direct.put_many({path: b"x" for path in paths}, max_concurrency=16).ok
    deleted: list[str] = []
    disk.on("file_deleted", deleted.append)
    before = proxy.stats()["connections"]  # moto closes every connection: one connection, one request
    result = asyncio.run(disk.aio.delete_many([*paths, "../bad"]))
    requests = proxy.stats()["connections"] - before
    assert requests == 2  # 1,001 keys: one request of 1,000 and one of 1
    assert result.succeeded == paths and result.failed == ["../bad"]
    assert sorted(deleted) == paths
    assert disk.all_files() == []
    # The other batches send one request per item: a PUT, a GET or a HEAD each, in lanes.
    few = {f"few/{number}.bin": bytes([number]) * 4096 for number in range(20)}
    batches: list[tuple[Callable[..., Any], Any, Callable[[Any], bool]]] = [
        (disk.aio.put_many, few, lambda result: result.ok),
        (disk.aio.get_many, list(few), lambda result: result.results == few),
        (disk.aio.exists_many, list(few), lambda result: result.results == dict.fromkeys(few, True)),
    ]
    for batch, argument, check in batches:
        before = proxy.stats()["connections"]
        assert check(asyncio.run(batch(argument, max_concurrency=8)))
        assert proxy.stats()["connections"] - before == len(few), batch.__name__


@pytest.mark.parametrize("api", ["sync", "async"])
def test_s3_delete_many_answers_for_every_spelling_of_one_key(
    api: str, s3_disk: tuple[FilesystemAdapter, Any]
) -> None:
    disk, (proxy, _) = s3_disk
    disk.put("a.txt", b"a")
    disk.put("b.txt", b"b")
    spellings = ["a.txt", "./a.txt", "/a.txt", "b.txt"]
    deleted: list[str] = []
    disk.on("file_deleted", deleted.append)
    before = proxy.stats()["connections"]
    result = disk.delete_many(spellings) if api == "sync" else asyncio.run(disk.aio.delete_many(spellings))
    assert proxy.stats()["connections"] - before == 1  # still one DeleteObjects request, each key once
    assert result.ok and result.results == dict.fromkeys(spellings, True)  # no item left without an answer
    assert deleted == ["a.txt", "b.txt"]  # one event per key deleted, not per spelling
    assert disk.all_files() == []


def test_s3_async_delete_many_reports_progress_on_the_loop_and_awaits_async_callbacks(
    s3_disk: tuple[FilesystemAdapter, Any]
) -> None:
    disk, _ = s3_disk
    paths = [f"p/{number:04}.txt" for number in range(1001)]
    assert disk.put_many(dict.fromkeys(paths, b"x"), max_concurrency=16).ok
    reports: list[tuple[int, int, bool]] = []
    threads: set[int] = set()

    async def report(done: int, total: int, key: Any, error: Exception | None) -> None:
        threads.add(threading.get_ident())
        await asyncio.sleep(0)
        reports.append((done, total, error is None))

    async def main() -> int:
        result = await disk.aio.delete_many([*paths, "../bad"], progress=report)
        assert result.succeeded == paths and result.failed == ["../bad"]
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert threads == {loop_thread}  # called on the loop, as on every other async batch, and awaited
    assert [done for done, _, _ in reports] == list(range(1, 1003))
    assert reports[0] == (1, 1002, False) and all(ok for _, _, ok in reports[1:])


def test_a_cancelled_s3_delete_many_stops_between_requests(s3_disk: tuple[FilesystemAdapter, Any]) -> None:
    disk, (proxy, direct) = s3_disk
    paths = [f"c/{number:04}.txt" for number in range(3000)]
    assert direct.put_many(dict.fromkeys(paths, b"x"), max_concurrency=16).ok
    before = proxy.stats()["connections"]

    async def main() -> None:
        first = asyncio.Event()
        loop = asyncio.get_running_loop()

        def report(done: int, total: int, key: Any, error: Exception | None) -> None:
            if done == 1000:
                loop.call_soon(first.set)

        batch = asyncio.ensure_future(disk.aio.delete_many(paths, progress=report))
        await first.wait()
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch

    asyncio.run(main())
    requests = proxy.stats()["connections"] - before
    assert requests < 3  # the request in flight finished; no further one was sent
    assert len(direct.all_files()) >= 1000  # what was not yet requested is still there

"""flystore.aio on real disks: the loop is never starved, streams stay bounded, cancellation is safe,
and the seed's room-style code runs as written."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import flystore
from flystore import FileNotFound, StorageManager, UnableToWriteFile
from flystore.aio import AsyncDisk, AsyncStorageManager, Download, WriteHandle
from tests.drivers.test_s3 import build, raw_client, remove_bucket

MiB = 1024 * 1024


def local(tmp_path: Path) -> AsyncDisk:
    return StorageManager({"disks": {"l": {"driver": "local", "root": str(tmp_path / "root")}}}).disk("l").aio


@pytest.fixture
def s3(s3_endpoint: str) -> Iterator[AsyncDisk]:
    bucket = f"flystore-aio-{uuid.uuid4().hex[:12]}"
    disk = build(s3_endpoint, bucket)
    yield disk.aio
    disk.close()
    client = raw_client(s3_endpoint)
    remove_bucket(client, bucket)
    client.close()


BOUND = 0.05  # the bound: the loop never waits more than 50 ms
ATTEMPTS = 3


def least_gap(attempt: Callable[[], tuple[float, Any]], tries: int = ATTEMPTS) -> tuple[float, Any]:
    """The smallest worst gap of up to ``tries`` attempts (stopping at the first under the bound).

    Why retries, and why they cannot hide starvation: the machine the tests run on is shared (two
    cores, several test runs at once), and the kernel may leave this process off the CPU for 50 ms
    or more now and then, which is the machine's doing, not flystore's. ``worst_gap`` already takes
    out the time the loop's own thread waited for a CPU; the retries cover what that cannot see (a
    worker holding the GIL while the kernel has descheduled it). A loop that flystore really blocks
    (a sync call on the loop, a worker holding the GIL through a long call) is blocked on every
    attempt, so it fails all of them: ``test_the_heartbeat_check_sees_a_blocked_loop_on_every_attempt``
    proves the check does fail that way, through this very function. The bound itself stays 50 ms.
    """
    results: list[tuple[float, Any]] = []
    for _ in range(tries):
        gap, value = attempt()
        results.append((gap, value))
        if gap < BOUND:
            break
    return min(results, key=lambda item: item[0])


def cpu_wait() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat; else 0)."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


async def worst_gap(work: Awaitable[Any]) -> tuple[float, Any]:
    """The longest time a 5 ms heartbeat was kept waiting while ``work`` ran, and the work's result.

    Each beat's lateness is its wall-clock gap less the time the kernel kept the loop's thread
    waiting for a CPU in that gap (its run-queue wait, from ``/proc/thread-self/schedstat``): on a
    machine whose two cores other processes are using, that wait is the machine's, not something
    flystore did. Waiting for the GIL held by a worker, or a sync call on the loop, is not run-queue
    time and counts in full, so a starved or blocked loop still shows its whole gap.
    """
    gaps: list[float] = []
    running = True

    async def heartbeat() -> None:
        last, waited = time.perf_counter(), cpu_wait()
        while running:
            await asyncio.sleep(0.005)
            now, waiting = time.perf_counter(), cpu_wait()
            gaps.append(now - last - (waiting - waited))
            last, waited = now, waiting

    # A full collection of a big test-process heap stops every thread whatever the loop does;
    # freezing the heap first (as servers with large long-lived heaps do) keeps it out.
    gc.collect()
    gc.freeze()
    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.02)
    try:
        result = await work
    finally:
        running = False
        await beat
        gc.unfreeze()
    return max(gaps), result


async def chunks(count: int, size: int = MiB, pause: float = 0.0) -> AsyncIterator[bytes]:
    block = b"x" * size
    for _ in range(count):
        if pause:
            await asyncio.sleep(pause)
        yield block


# -- the loop is never starved ------------------------------------------------------------


def test_a_256_mib_local_write_never_starves_the_loop(tmp_path: Path) -> None:
    disk = local(tmp_path)
    gap, _ = least_gap(lambda: asyncio.run(worst_gap(disk.write_stream("big.bin", chunks(256)))))
    assert disk.sync.size("big.bin") == 256 * MiB
    assert gap < BOUND, f"the heartbeat waited {gap * 1000:.0f} ms at best of {ATTEMPTS} attempts"


@pytest.fixture(scope="module")
def moto_process() -> Iterator[str]:
    """moto in its own process: the in-thread fixture's server would compete with the loop for the GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto.server did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)


def test_a_64_mib_s3_put_never_starves_the_loop(moto_process: str) -> None:
    s3 = build(moto_process, f"flystore-aio-{uuid.uuid4().hex[:12]}").aio
    data = os.urandom(64 * MiB)
    # botocore loads each operation's model on its first call (seconds of GIL-held JSON parsing
    # once per process); warm it up so that the measurement is of the put itself.
    asyncio.run(s3.put("warm.bin", data))
    gap, _ = least_gap(lambda: asyncio.run(worst_gap(s3.put("big.bin", data))))
    assert s3.sync.size("big.bin") == 64 * MiB
    s3.sync.close()
    assert gap < BOUND, f"the heartbeat waited {gap * 1000:.0f} ms at best of {ATTEMPTS} attempts"


def test_a_50000_file_listing_never_starves_the_loop() -> None:
    # The memory driver lists in pure Python: the worker holds the GIL except at switch intervals,
    # the hardest case for the loop (a local listing waits on the kernel and releases it).
    disk = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    for number in range(50_000):
        disk.put(f"d{number % 50}/f{number}.txt", b"")
    gap, found = least_gap(lambda: asyncio.run(worst_gap(disk.aio.all_files())))
    assert len(found) == 50_000
    assert gap < BOUND, f"the heartbeat waited {gap * 1000:.0f} ms at best of {ATTEMPTS} attempts"


def test_the_heartbeat_check_sees_a_blocked_loop_on_every_attempt(tmp_path: Path) -> None:
    """The check can fail: a loop blocked by a sync call fails every attempt of ``least_gap``.

    Two ways of blocking are tried, each through the same retrying check the tests above use:
    the sync disk called on the loop (I/O on the loop thread), and the async disk's own write with
    the pool's hand-off taken away (``offload`` replaced by a direct call), which is what a
    regression that ran a verb inline would look like.
    """
    disk = local(tmp_path)
    attempts: list[float] = []

    async def blocking() -> None:
        disk.sync.put("blocked.bin", b"x" * (256 * MiB))

    def measured(work: Callable[[], Awaitable[Any]]) -> Callable[[], tuple[float, Any]]:
        def attempt() -> tuple[float, Any]:
            gap, value = asyncio.run(worst_gap(work()))
            attempts.append(gap)
            return gap, value
        return attempt

    gap, _ = least_gap(measured(blocking))
    assert attempts and len(attempts) == ATTEMPTS and gap > BOUND  # blocked on every attempt, so it fails

    import flystore.aio.disk as aio_disk

    async def inline(function: Callable[..., Any], *args: Any, on_cancel: Any = None, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    attempts.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aio_disk, "offload", inline)
        gap, _ = least_gap(measured(lambda: disk.put("inline.bin", b"x" * (256 * MiB))))
    assert len(attempts) == ATTEMPTS and gap > BOUND
    assert disk.sync.size("inline.bin") == 256 * MiB


# -- async streams in bounded memory ------------------------------------------------------------


def test_async_streams_stay_bounded(tmp_path: Path) -> None:
    disk = local(tmp_path)

    async def main() -> tuple[int, int]:
        await disk.write_stream("s.bin", chunks(64))
        total = 0
        async with disk.read_stream("s.bin", chunk_size=MiB) as stream:
            async for chunk in stream:
                assert len(chunk) <= MiB
                total += len(chunk)
        return total, 0

    tracemalloc.start()
    try:
        total, _ = asyncio.run(main())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 64 * MiB
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB for a 64 MiB round trip"


def test_read_stream_errors_surface_on_entry_and_read_works(tmp_path: Path) -> None:
    disk = local(tmp_path)

    async def main() -> None:
        with pytest.raises(FileNotFound):
            async with disk.read_stream("missing.bin"):
                pass
        await disk.put("a.txt", b"hello world")
        async with disk.read_stream("a.txt") as stream:
            assert await stream.read(5) == b"hello"
            assert await stream.read() == b" world"

    asyncio.run(main())


# -- cancellation ----------------------------------------------------------------------------------


def _workers_writing() -> list[int]:
    return [ident for ident, frame in sys._current_frames().items() if _in_bridge(frame)]


def _in_bridge(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "bridge_chunks":
            return True
        frame = frame.f_back
    return False


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_a_cancelled_write_stream_keeps_the_old_file_and_frees_its_thread(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    disk = local(tmp_path) if kind == "local" else request.getfixturevalue("s3")
    closed: list[bool] = []

    async def slow() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks(10_000, size=256 * 1024, pause=0.005):
                yield chunk
        finally:
            closed.append(True)

    async def main() -> None:
        await disk.put("f.bin", b"old content")
        writer = asyncio.create_task(disk.write_stream("f.bin", slow()))
        other = asyncio.create_task(disk.write_stream("new/never.bin", slow()))
        await asyncio.sleep(0.3)
        writer.cancel()
        other.cancel()
        for task in (writer, other):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert _workers_writing() == []  # the worker threads are released before cancel returns
        await asyncio.sleep(0.2)
        assert closed == [True, True]

    asyncio.run(main())
    assert disk.sync.get("f.bin") == b"old content"
    assert disk.sync.file_missing("new/never.bin")
    assert disk.sync.all_files() == ["f.bin"]
    if kind == "local":
        assert sorted(path.name for path in (tmp_path / "root").rglob("*") if path.is_file()) == ["f.bin"]


def test_a_cancelled_big_put_leaves_old_content_or_new_never_partial(tmp_path: Path) -> None:
    disk = local(tmp_path)
    new = b"n" * (200 * MiB)

    async def main() -> None:
        await disk.put("f.bin", b"old")
        task = asyncio.create_task(disk.put("f.bin", new))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert disk.sync.size("f.bin") in (3, len(new))
    assert disk.sync.all_files() == ["f.bin"]


# -- the room-style interface and the seed's code -----------------------------------------------------


def test_the_seed_room_example_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    flystore.Storage.configure_disk("rooms", "memory", url="https://cdn.example.test/rooms")
    updated: list[str] = []

    async def on_file_updated(path: str) -> None:
        await asyncio.sleep(0)
        updated.append(path)

    async def main() -> list[tuple[str, bool]]:
        from flystore.aio import Storage

        storage = Storage.disk("rooms")
        storage.on("file_updated", on_file_updated)
        path = "example.txt"
        if not await storage.exists(path="example.txt"):
            handle = await storage.open(path="example.txt", overwrite=True)
            await storage.write(handle=handle, data=b"Hello, Storage!")
            assert not await storage.exists(path="example.txt")  # nothing visible before close
            await storage.close(handle=handle)
        response = await storage.download(path="example.txt")
        assert response.data == b"Hello, Storage!"
        assert (response.size, response.mime_type) == (15, "text/plain")
        url = await storage.download_url(path="files/report.pdf")
        assert url == "https://cdn.example.test/rooms/files/report.pdf"
        await storage.put("some_folder/a.txt", b"a")
        await storage.make_directory("some_folder/sub")
        entries = [(e.name, e.is_folder) for e in await storage.list(path="some_folder")]
        await storage.delete("example.txt")
        assert not await storage.exists(path)
        await asyncio.sleep(0.05)
        return entries

    try:
        assert asyncio.run(main()) == [("a.txt", False), ("sub", True)]
        assert updated == ["example.txt", "some_folder/a.txt"]
    finally:
        flystore.Storage.forget_disk("rooms")


def test_open_without_overwrite_appends_and_unclosed_handles_publish_nothing() -> None:
    disk = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m").aio

    async def main() -> None:
        await disk.put("log.txt", b"one,")
        handle = await disk.open(path="log.txt")
        await disk.write(handle=handle, data=b"two,")
        await disk.write(handle=handle, data="three")
        assert await disk.get("log.txt") == b"one,"
        await disk.close(handle=handle)
        assert await disk.get("log.txt") == b"one,two,three"
        with pytest.raises(UnableToWriteFile):
            await disk.write(handle=handle, data=b"late")
        with pytest.raises(UnableToWriteFile):
            await disk.write(handle="not a handle", data=b"x")  # type: ignore[arg-type]
        dropped = await disk.open(path="dropped.txt", overwrite=True)
        await disk.write(handle=dropped, data=b"never published")
        await dropped.abort()
        assert await disk.file_missing("dropped.txt")

        async def writer() -> None:
            handle = await disk.open(path="cancelled.txt", overwrite=True)
            await disk.write(handle=handle, data=b"half")
            await asyncio.sleep(10)
            await disk.close(handle=handle)

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await disk.file_missing("cancelled.txt")

    asyncio.run(main())


def test_download_url_falls_back_to_a_temporary_url() -> None:
    disk = StorageManager({"disks": {"m": {"driver": "memory", "signing_key": "k" * 32}}}).disk("m").aio

    async def main() -> str:
        await disk.put("files/report.pdf", b"%PDF")
        return await disk.download_url(path="files/report.pdf")

    url = asyncio.run(main())
    assert "files/report.pdf" in url and "signature=" in url


def test_the_facade_hands_out_twins_of_the_managers_disks() -> None:
    manager = StorageManager({"default": "m", "disks": {"m": {"driver": "memory"}}})
    storage = AsyncStorageManager(manager)
    assert storage.disk("m") is manager.disk("m").aio
    assert storage.disk().sync is manager.disk("m")

    async def main() -> bytes:
        await storage.put("x.txt", b"via the default disk")
        return bytes(await storage.get("x.txt"))

    assert asyncio.run(main()) == b"via the default disk"
    assert isinstance(Download("p", b"", "text/plain").size, int)
    assert WriteHandle.__name__ == "WriteHandle"

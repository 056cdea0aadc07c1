"""Cancellation of async writes at awkward moments, on real disks (memory, local, s3).

Whenever a writing task is cancelled, before its first chunk, mid-stream, mid-``write`` of an open
handle, during ``open`` or during ``close``, the cancellation returns only once the worker thread is
done, and what is stored is the old content (or nothing), or for a close that had begun the whole new
content: never a partial file, never a temporary file left behind, never a change after the cancel.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from flystore import StorageManager
from flystore.aio import AsyncDisk
from tests.drivers.test_s3 import build, raw_client, remove_bucket

MiB = 1024 * 1024
KINDS = ["memory", "local", "s3"]


@pytest.fixture(params=KINDS)
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AsyncDisk]:
    if request.param == "memory":
        yield StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m").aio
        return
    if request.param == "local":
        yield StorageManager({"disks": {"l": {"driver": "local", "root": str(tmp_path / "root")}}}).disk("l").aio
        assert [path.name for path in (tmp_path / "root").rglob("*") if ".flystore-tmp" in path.name] == []
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"flystore-cancel-{uuid.uuid4().hex[:12]}"
    sync = build(endpoint, bucket)
    yield sync.aio
    sync.close()
    client = raw_client(endpoint)
    try:
        assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # none left open
    finally:
        remove_bucket(client, bucket)
        client.close()


async def cancel_twice_mid_listener(
    task: asyncio.Task[Any], gate: threading.Event, settled: Callable[[], None]
) -> None:
    """Cancel ``task`` twice while a worker sits in ``slow_listener`` (whose ``gate`` opens 0.3 s later) and
    run ``settled`` (the caller's assertions) the moment the cancellation comes out, before the gate is forced."""
    while not workers_in("slow_listener"):  # noqa: ASYNC110 - waits on another thread
        await asyncio.sleep(0.001)
    task.cancel()
    await asyncio.sleep(0)  # the task now waits for its worker (or its lanes)
    task.cancel()
    releaser = threading.Timer(0.3, gate.set)
    releaser.start()
    try:
        with pytest.raises(asyncio.CancelledError):
            await task
        settled()
    finally:
        gate.set()
        releaser.join()


def workers_in(*names: str) -> list[str]:
    """Functions among ``names`` that some thread is running right now."""
    busy = []
    for top in sys._current_frames().values():
        frame: FrameType | None = top
        while frame is not None:
            if frame.f_code.co_name in names:
                busy.append(frame.f_code.co_name)
            frame = frame.f_back
    return busy


async def settled(disk: AsyncDisk, path: str) -> bytes | None:
    """What ``path`` holds now, after checking that nothing changes it any more."""
    first = await disk.get(path) if await disk.file_exists(path) else None
    await asyncio.sleep(0.3)
    later = await disk.get(path) if await disk.file_exists(path) else None
    assert first == later, "the file changed after the cancellation returned"
    return first


class SlowFile:
    """A binary file object whose reads take a while: an upload the caller may give up on."""

    def __init__(self, chunks: int, size: int = 64 * 1024) -> None:
        self.left = chunks
        self.size = size
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.left == 0:
            return b""
        self.left -= 1
        threading.Event().wait(0.005)
        return b"n" * self.size

    def readable(self) -> bool:
        return True


def test_a_cancelled_put_of_a_file_object_keeps_the_old_content_and_stops_reading(disk: AsyncDisk) -> None:
    source = SlowFile(2_000)  # 10 s at 5 ms a chunk: not finished by a put that honours the cancel

    async def main() -> bytes | None:
        await disk.put("f.bin", b"old")
        task = asyncio.create_task(disk.put("f.bin", source))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        reads = source.reads
        await asyncio.sleep(0.1)
        assert source.reads == reads  # nobody reads the source after the cancel returned
        return await settled(disk, "f.bin")

    assert asyncio.run(main()) == b"old"
    assert source.left > 1_500


def test_a_write_stream_cancelled_before_its_first_chunk_writes_nothing(disk: AsyncDisk) -> None:
    """A source with nothing to give yet does not hold the cancellation: its wait is cancelled too."""
    closed: list[bool] = []
    interrupted: list[bool] = []

    async def late() -> AsyncIterator[bytes]:
        try:
            await asyncio.sleep(30)
            yield b"never"
        except asyncio.CancelledError:
            interrupted.append(True)
            raise
        finally:
            closed.append(True)

    async def main() -> bytes | None:
        await disk.put("f.bin", b"old")
        task = asyncio.create_task(disk.write_stream("f.bin", late()))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert workers_in("bridge_chunks") == []
        assert interrupted == [True]  # the pull waiting for the source was cancelled, not waited out
        return await settled(disk, "f.bin")

    assert asyncio.run(main()) == b"old"
    assert closed == [True]


def test_a_big_str_put_is_as_cancellable_as_bytes(disk: AsyncDisk) -> None:
    async def main() -> bytes | None:
        await disk.put("f.txt", "old")
        task = asyncio.create_task(disk.put("f.txt", "n" * (96 * MiB)))
        await asyncio.sleep(0)  # the put has handed its write to a worker, which has 96 slices to go
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await settled(disk, "f.txt")

    # A text sent whole could not be stopped: the cancellation would wait for the new content.
    assert asyncio.run(main()) == b"old"




def test_a_handle_cancelled_mid_write_publishes_nothing_and_frees_its_thread(disk: AsyncDisk) -> None:
    async def main() -> bytes | None:
        await disk.put("f.bin", b"old")
        started = asyncio.Event()
        chunk = b"w" * (64 * MiB)  # each write copies it into the spool, which takes a while

        async def writer() -> None:
            handle = await disk.open(path="f.bin", overwrite=True)
            started.set()
            for _ in range(50):
                await disk.write(handle=handle, data=chunk)
            await disk.close(handle=handle)

        task = asyncio.create_task(writer())
        await started.wait()
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert workers_in("write", "abort") == []  # the handle's thread is done before the cancel returns
        return await settled(disk, "f.bin")

    assert asyncio.run(main()) == b"old"


def test_a_handle_cancelled_during_close_is_whole_or_absent_and_settled_when_the_cancel_returns(
    disk: AsyncDisk,
) -> None:
    content = b"c" * (48 * MiB)  # beyond the in-memory spool: close streams a temporary file to the disk

    async def main() -> bytes | None:
        handle = await disk.open(path="closing.bin", overwrite=True)
        await disk.write(handle=handle, data=content)
        task = asyncio.create_task(disk.close(handle=handle))
        while not task.done() and not workers_in("close"):  # noqa: ASYNC110 - waits on another thread
            await asyncio.sleep(0.001)
        task.cancel()  # mid-close (a local disk's close is a rename: it may be done already)
        try:
            await task
        except asyncio.CancelledError:
            pass
        assert workers_in("close", "_commit", "commit") == []
        return await settled(disk, "closing.bin")

    assert asyncio.run(main()) in (None, content)


def test_a_task_cancelled_while_opening_leaves_no_writer_behind(disk: AsyncDisk) -> None:
    async def main() -> list[str]:
        await disk.put("f.bin", b"old")
        for _ in range(5):
            task = asyncio.create_task(disk.open(path="f.bin"))  # appending: open copies the old content
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return await disk.all_files()

    assert asyncio.run(main()) == ["f.bin"]
    assert disk.sync.get("f.bin") == b"old"


def test_async_file_left_by_cancellation_discards_its_content(disk: AsyncDisk) -> None:
    async def main() -> bytes | None:
        await disk.put("f.bin", b"old")

        async def writer() -> None:
            async with await disk.open("f.bin", "wb") as file:
                await file.write(b"half")
                await asyncio.sleep(30)

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await settled(disk, "f.bin")

    assert asyncio.run(main()) == b"old"




class SlowChunks:
    """A sync read stream whose chunks take a while, recording whether a read overlapped its close."""

    def __init__(self) -> None:
        self.reading = False
        self.closed_while_reading = False
        self.closed = False

    def read(self, size: int = -1, /) -> bytes:
        return next(iter(self))

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.reading = True
            threading.Event().wait(0.05)
            self.reading = False
            yield b"r" * 1024

    def close(self) -> None:
        self.closed_while_reading = self.closed_while_reading or self.reading
        self.closed = True


def test_a_cancelled_read_stream_closes_after_its_read_settles() -> None:
    from flystore.aio import AsyncReadStream

    source = SlowChunks()

    async def main() -> None:
        async def reader() -> None:
            async with AsyncReadStream(lambda: source) as stream:
                async for _ in stream:
                    pass

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.12)  # mid-read
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert source.closed and not source.closed_while_reading


def test_a_read_stream_cancelled_while_opening_closes_what_it_opened(disk: AsyncDisk) -> None:
    async def main() -> None:
        await disk.put("r.bin", b"r" * MiB)
        for _ in range(5):
            task = asyncio.create_task(disk.read_stream("r.bin").open())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert workers_in("read_stream", "opening") == []

    asyncio.run(main())


def test_a_cancelled_driver_verb_is_settled_when_the_cancel_returns(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {
        "files": {"driver": "local", "root": str(tmp_path / "files")},
        "v": {"driver": "versioned", "disk": "files"},
    }})
    versioned = manager.disk("v")
    versioned.put("doc.bin", b"1" * (64 * MiB))
    versioned.put("doc.bin", b"2")
    first = versioned.versions("doc.bin")[-1].id  # type: ignore[attr-defined]

    async def main() -> bytes | None:
        task = asyncio.create_task(versioned.aio.restore_version("doc.bin", first))  # offloaded by __getattr__
        await asyncio.sleep(0.005)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return await settled(versioned.aio, "doc.bin")

    assert asyncio.run(main()) in (b"2", b"1" * (64 * MiB))


@pytest.mark.parametrize("verb", ["put", "copy"])
def test_a_write_cancelled_twice_still_waits_for_its_worker(tmp_path: Path, verb: str) -> None:
    # A task can be cancelled again while it waits for its worker to settle (a timeout, then a
    # TaskGroup or asyncio.run shutting down); the second cancel must not cut that wait short.
    disk = StorageManager({"disks": {"l": {"driver": "local", "root": str(tmp_path / "root")}}}).disk("l")
    disk.put("source.txt", b"s")
    gate, finished = threading.Event(), threading.Event()

    def slow_listener(path: str) -> None:  # runs in the worker thread, as part of the write
        if path == "target.txt":
            gate.wait(10)
            finished.set()

    disk.on("file_updated", slow_listener)

    async def main() -> None:
        call = disk.aio.put("target.txt", b"t") if verb == "put" else disk.aio.copy("source.txt", "target.txt")
        def settled() -> None:
            assert finished.is_set(), "the cancellation returned while the worker was still writing"

        await cancel_twice_mid_listener(asyncio.create_task(call), gate, settled)

    asyncio.run(main())


def test_a_batch_cancelled_twice_still_waits_for_the_items_in_flight(tmp_path: Path) -> None:
    disk = StorageManager({"disks": {"l": {"driver": "local", "root": str(tmp_path / "root")}}}).disk("l")
    gate, finished = threading.Event(), threading.Event()

    def slow_listener(path: str) -> None:  # runs in a lane's worker thread, as part of the item's put
        gate.wait(10)
        finished.set()

    disk.on("file_updated", slow_listener)

    async def main() -> None:
        batch = disk.aio.put_many({"a.txt": b"a", "b.txt": b"b"}, max_concurrency=2)
        def settled() -> None:
            assert finished.is_set() and workers_in("slow_listener") == [], "a lane was still writing"

        await cancel_twice_mid_listener(asyncio.create_task(batch), gate, settled)

    asyncio.run(main())


def test_clean_up_awaited_to_the_end_outlasts_a_second_cancellation() -> None:
    """What room handles' abort goes through: a second cancel does not cut the clean-up short."""
    from flystore.aio._pool import to_the_end

    async def scenario() -> list[str]:
        steps: list[str] = []
        release = asyncio.Event()

        async def clean_up() -> None:
            await release.wait()
            steps.append("cleaned")

        async def caller() -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                await to_the_end(clean_up())
                raise

        task = asyncio.create_task(caller())
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.sleep(0.01)
        task.cancel()  # a timeout, then a shutdown
        await asyncio.sleep(0.01)
        assert not task.done()  # still waiting for its clean-up
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        steps.append("propagated")
        return steps

    assert asyncio.run(scenario()) == ["cleaned", "propagated"]


def test_a_room_handle_cancelled_twice_mid_write_has_discarded_its_file_when_the_cancel_returns(
    tmp_path: Path,
) -> None:
    """End to end, on a real handle (the timing of a second cancel is the test above's to pin down)."""
    disk = StorageManager({"disks": {"l": {"driver": "local", "root": str(tmp_path)}}}).disk("l").aio

    async def scenario() -> None:
        handle = await disk.open(path="room.txt", overwrite=True)
        await disk.write(handle=handle, data=b"first")

        async def writer() -> None:
            await disk.write(handle=handle, data=b"x" * (64 << 20))

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.005)
        task.cancel()
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    leftovers = [entry.name for entry in tmp_path.iterdir()]
    assert leftovers == [], leftovers  # nothing published, no temporary file left behind

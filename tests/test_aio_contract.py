"""The whole DiskContract, run through the async API: the two APIs cannot drift.

``AwaitingDisk`` exposes the sync method names and awaits the async disk's
coroutine for each call on a loop running in another thread; ``read_stream``
and ``open`` results are driven through their async faces too. Only the
AsyncDisk is reachable from the contract, never the sync disk.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from flystore import StorageManager
from flystore.aio import AsyncDisk, AsyncFile, AsyncReadStream
from flystore.testing import DiskContract
from tests.drivers.test_s3 import build, raw_client, remove_bucket


class _Loop:
    """An event loop in a thread, for sync code to await coroutines on."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.awaited = 0

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        self.awaited += 1
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class _SyncStream:
    def __init__(self, stream: AsyncReadStream, loop: _Loop) -> None:
        self._stream, self._loop = stream, loop
        loop.run(stream.open())  # errors surface at the call, as in the sync API

    def read(self, size: int = -1) -> bytes:
        return bytes(self._loop.run(self._stream.read(size)))

    def __iter__(self) -> Iterator[bytes]:
        async def step() -> bytes | None:
            try:
                return await self._stream.__anext__()
            except StopAsyncIteration:
                return None

        while (chunk := self._loop.run(step())) is not None:
            yield chunk

    def close(self) -> None:
        self._loop.run(self._stream.aclose())

    def __enter__(self) -> _SyncStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _SyncFile:
    def __init__(self, file: AsyncFile, loop: _Loop) -> None:
        self._file, self._loop = file, loop

    def read(self, size: int = -1) -> bytes:
        return bytes(self._loop.run(self._file.read(size)))

    def write(self, data: bytes) -> int:
        return int(self._loop.run(self._file.write(data)))

    def close(self) -> None:
        self._loop.run(self._file.close())

    def __enter__(self) -> _SyncFile:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._loop.run(self._file.__aexit__(exc_type, *rest))  # type: ignore[arg-type]


class AwaitingDisk:
    """The sync method names over an AsyncDisk, each call awaited on the loop."""

    def __init__(self, disk: AsyncDisk, loop: _Loop) -> None:
        self._disk, self._loop = disk, loop

    def __getattr__(self, name: str) -> Any:
        member = getattr(self._disk, name)
        if name == "read_stream":
            return lambda *args, **kwargs: _SyncStream(member(*args, **kwargs), self._loop)
        if name == "open":
            return lambda path, mode="rb", **kwargs: _SyncFile(self._loop.run(member(path, mode, **kwargs)), self._loop)
        if inspect.iscoroutinefunction(member):
            return lambda *args, **kwargs: self._loop.run(member(*args, **kwargs))
        return member


@pytest.fixture(scope="module")
def loop() -> Iterator[_Loop]:
    running = _Loop()
    yield running
    running.stop()


class TestMemoryThroughAio(DiskContract):
    @pytest.fixture
    def disk(self, loop: _Loop) -> Iterator[Any]:
        sync = StorageManager({"disks": {"mem": {"driver": "memory"}}}).disk("mem")
        before = loop.awaited
        yield AwaitingDisk(sync.aio, loop)
        assert loop.awaited > before  # the test went through the coroutines


class TestLocalThroughAio(DiskContract):
    @pytest.fixture
    def disk(self, loop: _Loop, tmp_path: Any) -> Iterator[Any]:
        sync = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path / "root")}}}).disk("local")
        yield AwaitingDisk(sync.aio, loop)


@pytest.fixture(scope="module")
def raw(s3_endpoint: str) -> Iterator[Any]:
    client = raw_client(s3_endpoint)
    yield client
    client.close()


class TestS3ThroughAio(DiskContract):
    stateful_examples = 5
    stateful_steps = 10

    @pytest.fixture
    def disk(self, loop: _Loop, s3_endpoint: str, raw: Any) -> Iterator[Any]:
        bucket = f"flystore-aio-{uuid.uuid4().hex[:12]}"
        sync = build(s3_endpoint, bucket)
        yield AwaitingDisk(sync.aio, loop)
        sync.close()
        remove_bucket(raw, bucket)


def test_the_async_disk_has_every_sync_verb() -> None:
    from flystore.disk import DISK_METHODS

    twin = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m").aio
    plain = {"on", "off", "read_stream", "fs", "aio", "signing_key", "download_response", "recipe"}
    blocking = [
        name for name in DISK_METHODS
        if name not in plain and not inspect.iscoroutinefunction(getattr(twin, name))
    ]
    assert blocking == []
    assert [name for name in DISK_METHODS if not hasattr(twin, name)] == []

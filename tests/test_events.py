"""Live change events: the process-wide hub, async handlers, events() streams, a FastAPI websocket,
and watch=True on a real local directory (inotify through watchdog)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, WebSocket  # a test dependency: missing fails collection
from fastapi.testclient import TestClient

from flystore import DriverNotInstalled, StorageManager, events
from flystore.events import StorageEvent


@pytest.fixture
def heard() -> Iterator[list[StorageEvent]]:
    seen: list[StorageEvent] = []
    events.on(None, seen.append)
    yield seen
    events.off(None, seen.append)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_every_change_through_any_disk_is_published_once(heard: list[StorageEvent]) -> None:
    manager = StorageManager({"disks": {
        "base": {"driver": "memory"},
        "scoped": {"driver": "scoped", "disk": "base", "prefix": "tenant"},
    }})
    base, scoped = manager.disk("base"), manager.disk("scoped")
    base_heard: list[str] = []
    base.on("file_updated", base_heard.append)
    scoped.put("a.txt", b"a")  # through the decorator: fired by the decorator disk alone
    base.put("b.txt", b"b")
    asyncio.run(base.aio.put("c.txt", b"c"))  # the async API fires through the same disk
    scoped.delete("a.txt")
    assert [(e.type, e.disk, e.path) for e in heard] == [
        ("file_updated", "scoped", "a.txt"),
        ("file_updated", "base", "b.txt"),
        ("file_updated", "base", "c.txt"),
        ("file_deleted", "scoped", "a.txt"),
    ]
    assert base_heard == ["b.txt", "c.txt"]
    with pytest.raises(ValueError):
        events.on("file_renamed", print)


def test_async_handlers_are_awaited_without_blocking_the_writer() -> None:
    disk = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    done: list[str] = []

    async def slow_handler(path: str) -> None:
        await asyncio.sleep(0.3)
        done.append(path)

    async def main() -> float:
        disk.aio.on("file_updated", slow_handler)
        started = time.perf_counter()
        await disk.aio.put("x.txt", b"x")
        elapsed = time.perf_counter() - started
        assert done == []
        await asyncio.sleep(0.5)
        return elapsed

    assert asyncio.run(main()) < 0.2
    assert done == ["x.txt"]
    # From sync code with no loop running, the hub's own loop runs the handler.
    disk.put("y.txt", b"y")
    wait_for(lambda: done == ["x.txt", "y.txt"])


def test_async_for_event_in_disk_events() -> None:
    disk = StorageManager({"disks": {"m": {"driver": "memory"}, "other": {"driver": "memory"}}}).disk("m")
    other = disk.manager.disk("other")  # type: ignore[union-attr]

    async def main() -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        async with disk.aio.events() as stream:
            await disk.aio.put("one.txt", b"1")
            if other is not None:
                other.put("elsewhere.txt", b"x")  # another disk: not in this stream
            await asyncio.to_thread(disk.put, "two.txt", b"2")  # from another thread
            await disk.aio.delete("one.txt")
            async for event in stream:
                seen.append((event.type, event.path))
                if len(seen) == 3:
                    break
        return seen

    assert asyncio.run(main()) == [
        ("file_updated", "one.txt"), ("file_updated", "two.txt"), ("file_deleted", "one.txt"),
    ]


def test_a_fastapi_websocket_forwards_events() -> None:
    disk = StorageManager({"disks": {"rooms": {"driver": "memory"}}}).disk("rooms")
    app = FastAPI()

    @app.websocket("/events")
    async def forward(socket: WebSocket) -> None:
        await socket.accept()
        async with disk.aio.events() as stream:
            await socket.send_json({"ready": True})
            async for event in stream:
                await socket.send_json({"type": event.type, "path": event.path})

    with TestClient(app) as client, client.websocket_connect("/events") as socket:
        assert socket.receive_json() == {"ready": True}
        disk.put("room/a.txt", b"hello")
        disk.delete("room/a.txt")
        assert socket.receive_json() == {"type": "file_updated", "path": "room/a.txt"}
        assert socket.receive_json() == {"type": "file_deleted", "path": "room/a.txt"}


# -- watch=True ----------------------------------------------------------------------------------


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Any, Path, list[tuple[str, str]]]]:
    from flystore.watch import stop_watching

    root = tmp_path / "root"
    disk = StorageManager({"disks": {"w": {"driver": "local", "root": str(root), "watch": True}}}).disk("w")
    seen: list[tuple[str, str]] = []
    disk.on("file_updated", lambda path: seen.append(("file_updated", path)))
    disk.on("file_deleted", lambda path: seen.append(("file_deleted", path)))
    time.sleep(0.2)
    yield disk, root, seen
    stop_watching(disk)


def test_watch_reports_changes_made_behind_flystores_back(watched: Any) -> None:
    disk, root, seen = watched
    (root / "sub").mkdir()
    with open(root / "sub" / "by-hand.txt", "wb") as handle:
        for _ in range(20):  # a burst of writes is one event
            handle.write(b"x" * 1000)
            handle.flush()
    wait_for(lambda: ("file_updated", "sub/by-hand.txt") in seen)
    os.remove(root / "sub" / "by-hand.txt")
    wait_for(lambda: ("file_deleted", "sub/by-hand.txt") in seen)
    time.sleep(0.4)
    assert seen == [("file_updated", "sub/by-hand.txt"), ("file_deleted", "sub/by-hand.txt")]


def test_watch_never_reports_temporary_files_nor_flystores_own_writes_twice(watched: Any) -> None:
    disk, root, seen = watched

    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            time.sleep(0.01)  # the temporary file lives for a while
            yield b"y" * 10_000

    disk.write_stream("streamed.bin", chunks())
    disk.put("put.txt", b"p")
    time.sleep(0.6)
    assert seen == [("file_updated", "streamed.bin"), ("file_updated", "put.txt")]
    assert all(".flystore-tmp" not in path for _, path in seen)


def test_watch_without_watchdog_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "watchdog", None)
    monkeypatch.setitem(sys.modules, "watchdog.events", None)
    monkeypatch.setitem(sys.modules, "watchdog.observers", None)
    with pytest.raises(DriverNotInstalled, match=r'pip install "flystore\[watch\]"'):
        StorageManager({"disks": {"w": {"driver": "local", "root": str(tmp_path), "watch": True}}}).disk("w")

"""Attacks on live change events: streams closed or cancelled under a waiting consumer, the watcher's
tell-apart of flystore's own writes from a later change by another process, and events of every
decorator stack through both APIs, each once."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import ReadOnlyDisk, StorageManager, events
from flystore.events import StorageEvent, hub


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


# -- events() streams ---------------------------------------------------------------------------------


def test_closing_a_stream_ends_the_iteration_of_a_consumer_waiting_on_it() -> None:
    disk = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")

    async def main() -> list[str]:
        stream = disk.aio.events()
        seen: list[str] = []

        async def consume() -> None:
            async for event in stream:
                seen.append(event.path)

        consumer = asyncio.create_task(consume())
        await disk.aio.put("one.txt", b"1")
        await asyncio.sleep(0.05)
        await stream.aclose()
        await asyncio.wait_for(consumer, 5)  # a deadlock guard: without the fix it waits for ever
        await disk.aio.put("two.txt", b"2")
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()  # a closed stream stays ended
        return seen

    before = len(hub._streams)
    assert asyncio.run(main()) == ["one.txt"]
    assert len(hub._streams) == before  # unsubscribed


def test_a_cancelled_consumer_leaves_the_stream_usable_and_async_with_unsubscribes() -> None:
    disk = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")

    async def main() -> list[str]:
        async with disk.aio.events() as stream:
            waiting = asyncio.create_task(stream.__anext__())
            await asyncio.sleep(0.02)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await disk.aio.put("after.txt", b"x")
            event = await asyncio.wait_for(stream.__anext__(), 5)
        return [event.path]

    before = len(hub._streams)
    assert asyncio.run(main()) == ["after.txt"]
    assert len(hub._streams) == before


def test_a_stream_whose_loop_has_ended_is_forgotten_by_the_next_write() -> None:
    disk = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    kept: list[Any] = []

    async def main() -> None:
        kept.append(disk.aio.events())  # never closed, still referenced

    before = len(hub._streams)
    asyncio.run(main())
    assert len(hub._streams) == before + 1
    disk.put("later.txt", b"x")
    assert len(hub._streams) == before


# -- watch=True: flystore's own writes once, another process's later change too -------------------------


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Any, Path, list[tuple[str, str, str]]]]:
    from flystore.watch import stop_watching

    root = tmp_path / "root"
    disk = StorageManager({"disks": {"w": {"driver": "local", "root": str(root), "watch": True}}}).disk("w")
    seen: list[tuple[str, str, str]] = []

    def record(event: StorageEvent) -> None:
        if event.disk == "w":
            seen.append((event.source, event.type, event.path))

    events.on(None, record)
    time.sleep(0.2)
    yield disk, root, seen
    events.off(None, record)
    stop_watching(disk)


def by_another_process(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_change_by_another_process_soon_after_flystores_own_write_is_reported(watched: Any) -> None:
    disk, root, seen = watched
    disk.put("shared.txt", b"written by flystore")
    time.sleep(0.5)  # the watcher has seen (and dropped) its sighting of flystore's own write
    by_another_process(f"open({str(root / 'shared.txt')!r}, 'ab').write(b' and by hand')")
    wait_for(lambda: ("watch", "file_updated", "shared.txt") in seen)
    disk.delete("shared.txt")
    time.sleep(0.5)
    by_another_process(f"open({str(root / 'shared.txt')!r}, 'wb').write(b'again')")
    wait_for(lambda: seen.count(("watch", "file_updated", "shared.txt")) == 2)
    time.sleep(0.5)
    assert seen == [
        ("flystore", "file_updated", "shared.txt"),
        ("watch", "file_updated", "shared.txt"),
        ("flystore", "file_deleted", "shared.txt"),
        ("watch", "file_updated", "shared.txt"),
    ]


def test_flystores_own_writes_moves_and_deletes_are_reported_once(watched: Any) -> None:
    disk, root, seen = watched
    disk.put("a/one.txt", b"1")
    disk.move("a/one.txt", "a/two.txt")
    disk.copy("a/two.txt", "b/three.txt")
    disk.append("b/three.txt", b"more")
    with disk.open("c.bin", "wb") as handle:
        handle.write(b"c")
    disk.delete_directory("a")
    time.sleep(0.8)
    assert [change for change in seen if change[0] == "watch"] == []
    assert len(seen) == 7
    assert sorted(name for name in os.listdir(root) if name.startswith(".")) == []


def test_open_handles_held_a_while_are_one_event_at_close_and_none_when_dropped(watched: Any) -> None:
    disk, root, seen = watched

    async def main() -> None:
        handle = await disk.aio.open(path="room/held.txt", overwrite=True)
        await disk.aio.write(handle=handle, data=b"first ")
        await asyncio.sleep(0.5)  # its temporary file sits in the root, past the debounce
        await disk.aio.write(handle=handle, data=b"second")
        await disk.aio.close(handle=handle)
        dropped = await disk.aio.open(path="room/dropped.txt", overwrite=True)
        await disk.aio.write(handle=dropped, data=b"never")
        await asyncio.sleep(0.5)
        await dropped.abort()

    with disk.open("sync-held.bin", "wb") as file:
        file.write(b"s")
        time.sleep(0.5)
    asyncio.run(main())
    time.sleep(0.6)
    assert seen == [("flystore", "file_updated", "sync-held.bin"), ("flystore", "file_updated", "room/held.txt")]
    assert disk.all_files() == ["room/held.txt", "sync-held.bin"]


def test_directories_moved_by_hand_report_each_file_they_take_or_bring(watched: Any, tmp_path: Path) -> None:
    disk, root, seen = watched
    disk.put("old/kept.txt", b"there before the hand moves")  # known to the watcher from flystore's write
    os.makedirs(root / "made" / "deep")
    (root / "made" / "deep" / "x.txt").write_bytes(b"x")
    (root / "made" / "y.txt").write_bytes(b"y")
    wait_for(lambda: len(seen) == 3)
    os.rename(root / "made", root / "renamed")  # within the root
    wait_for(lambda: len(seen) == 7)
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "z.txt").write_bytes(b"z")
    os.rename(outside, root / "brought")  # into the root: one event for the directory
    wait_for(lambda: ("watch", "file_updated", "brought/sub/z.txt") in seen)
    os.rename(root / "renamed", tmp_path / "taken")  # out of the root: one event for the directory
    os.rename(root / "old", tmp_path / "old")
    wait_for(lambda: len(seen) == 11)
    time.sleep(0.5)
    assert sorted(seen[3:7]) == [
        ("watch", "file_deleted", "made/deep/x.txt"), ("watch", "file_deleted", "made/y.txt"),
        ("watch", "file_updated", "renamed/deep/x.txt"), ("watch", "file_updated", "renamed/y.txt"),
    ]
    assert sorted(seen[8:]) == [
        ("watch", "file_deleted", "old/kept.txt"), ("watch", "file_deleted", "renamed/deep/x.txt"),
        ("watch", "file_deleted", "renamed/y.txt"),
    ]


def test_files_already_there_when_watching_starts_are_reported_when_their_directory_goes(tmp_path: Path) -> None:
    from flystore.watch import stop_watching

    root = tmp_path / "root"
    (root / "early").mkdir(parents=True)
    (root / "early" / "a.txt").write_bytes(b"a")
    disk = StorageManager({"disks": {"w": {"driver": "local", "root": str(root), "watch": True}}}).disk("w")
    seen: list[str] = []
    disk.on("file_deleted", seen.append)
    try:
        wait_for(lambda: "early/a.txt" in disk.__dict__["_watcher"]._files)
        os.rename(root / "early", tmp_path / "early")
        wait_for(lambda: seen == ["early/a.txt"])
    finally:
        stop_watching(disk)


def test_a_watched_disk_that_is_forgotten_stops_being_watched(tmp_path: Path) -> None:
    import gc

    root = tmp_path / "root"
    manager = StorageManager({"disks": {"gone": {"driver": "local", "root": str(root), "watch": True}}})
    watcher = manager.disk("gone").__dict__["_watcher"]
    seen: list[StorageEvent] = []
    events.on(None, seen.append)
    try:
        (root / "before.txt").write_bytes(b"b")
        wait_for(lambda: len(seen) == 1)
        del manager
        gc.collect()
        wait_for(lambda: not watcher._observer.is_alive())  # its threads end with the disk
        (root / "after.txt").write_bytes(b"a")
        time.sleep(0.5)
    finally:
        events.off(None, seen.append)
    assert [(event.path, event.source) for event in seen] == [("before.txt", "watch")]
    assert watcher.disk is None


# -- every decorator stack, both APIs, each event once; a refused write fires nothing ---------------------

KEY = "base64:" + base64.b64encode(b"k" * 32).decode()
STACKS: dict[str, dict[str, Any]] = {
    "scoped": {"driver": "scoped", "disk": "base", "prefix": "t"},
    "encrypted": {"driver": "encrypted", "disk": "base", "key": KEY},
    "cached": {"driver": "cached", "disk": "base", "store": "memory"},
    "compressed": {"driver": "compressed", "disk": "base"},
    "versioned": {"driver": "versioned", "disk": "base"},
    "deduplicated": {"driver": "deduplicated", "disk": "base"},
    "failover": {"driver": "failover", "disks": ["base", "standby"], "replicate": True},
    "audited": {"driver": "audited", "disk": "base", "logger": "flystore.tests.audit"},
    "nested": {"driver": "compressed", "disk": "inner"},
}
EXPECTED = [
    ("file_updated", "a.txt"), ("file_updated", "b.txt"), ("file_deleted", "b.txt"), ("file_updated", "c.txt"),
    ("file_updated", "a.txt"), ("file_updated", "s.bin"), ("file_updated", "o.bin"), ("file_deleted", "a.txt"),
    ("file_deleted", "c.txt"),
]


def changes_through(disk: Any, api: str) -> None:
    if api == "sync":
        disk.put("a.txt", b"a")
        disk.copy("a.txt", "b.txt")
        disk.move("b.txt", "c.txt")
        disk.append("a.txt", b"z")
        disk.write_stream("s.bin", iter([b"x" * 10, b"y"]))
        with disk.open("o.bin", "wb") as handle:
            handle.write(b"o")
        disk.delete("a.txt")
        disk.delete(["c.txt"])
        return

    async def chunks() -> Any:
        yield b"x" * 10
        yield b"y"

    async def main() -> None:
        aio = disk.aio
        await aio.put("a.txt", b"a")
        await aio.copy("a.txt", "b.txt")
        await aio.move("b.txt", "c.txt")
        await aio.append("a.txt", b"z")
        await aio.write_stream("s.bin", chunks())
        handle = await aio.open(path="o.bin", overwrite=True)
        await aio.write(handle=handle, data=b"o")
        await aio.close(handle=handle)
        await aio.delete("a.txt")
        await aio.delete(["c.txt"])

    asyncio.run(main())


@pytest.mark.parametrize("api", ["sync", "async"])
@pytest.mark.parametrize("stack", sorted(STACKS))
def test_each_change_through_a_decorator_stack_is_one_event_of_that_disk(stack: str, api: str) -> None:
    manager = StorageManager({"disks": {
        "base": {"driver": "memory"}, "standby": {"driver": "memory"},
        "inner": {"driver": "encrypted", "disk": "scoped", "key": KEY},
        "scoped": {"driver": "scoped", "disk": "base", "prefix": "p"}, "d": STACKS[stack],
    }})
    seen: list[tuple[str, str, str]] = []

    def record(event: StorageEvent) -> None:
        seen.append((event.disk, event.type, event.path))

    events.on(None, record)
    try:
        changes_through(manager.disk("d"), api)
    finally:
        events.off(None, record)
    assert seen == [("d", *change) for change in EXPECTED]


@pytest.mark.parametrize("api", ["sync", "async"])
def test_a_read_only_disk_refuses_and_fires_nothing(api: str) -> None:
    manager = StorageManager({"disks": {"base": {"driver": "memory"}, "ro": {"driver": "read_only", "disk": "base"}}})
    manager.disk("base").put("kept.txt", b"k")
    seen: list[StorageEvent] = []
    events.on(None, seen.append)
    try:
        with pytest.raises(ReadOnlyDisk):
            changes_through(manager.disk("ro"), api)
        disk = manager.disk("ro")
        refused = disk.delete_many(["kept.txt"]) if api == "sync" else asyncio.run(
            disk.aio.put_many({"x.txt": b"x", "kept.txt": b"y"}))
        assert not refused.succeeded and all(isinstance(error, ReadOnlyDisk) for error in refused.errors.values())
    finally:
        events.off(None, seen.append)
    assert seen == []
    assert manager.disk("base").all_files() == ["kept.txt"]


@pytest.mark.parametrize("value", ["yes", -1, 0, float("nan"), [1]])
def test_a_watch_option_that_is_no_delay_is_a_configuration_error_naming_the_disk(value: Any, tmp_path: Path) -> None:
    from flystore import InvalidConfiguration, StorageManager

    manager = StorageManager({"disks": {"w": {"driver": "local", "root": str(tmp_path), "watch": value}}})
    with pytest.raises(InvalidConfiguration, match="'watch'") as caught:
        manager.disk("w")
    assert caught.value.disk == "w"


def test_a_watch_option_from_an_unset_environment_variable_leaves_the_disk_unwatched(tmp_path: Path) -> None:
    from flystore import StorageManager
    from flystore.config import env

    os.environ.pop("FLYSTORE_TEST_UNSET_WATCH", None)
    options = {"driver": "local", "root": str(tmp_path), "watch": env("FLYSTORE_TEST_UNSET_WATCH", cast=bool)}
    disk = StorageManager({"disks": {"w": options}}).disk("w")  # env()'s default is None: not watched
    assert "_watcher" not in disk.__dict__
    disk.put("a.txt", b"a")
    assert disk.get("a.txt") == b"a"


def test_watchdogs_double_watch_warning_never_kills_the_watcher_under_w_error(watched: Any) -> None:
    """watchdog warns from its own thread when a directory made mid-scan is watched twice (it happened in a
    run: the warning, made an error by filterwarnings, killed the thread and later changes went unseen)."""
    import inspect
    import re
    import threading
    import warnings

    from watchdog.observers.inotify_c import InotifyFD

    from flystore.watch import WATCHDOG_DOUBLE_WATCH

    source = inspect.getsource(InotifyFD._add_callback)  # notices when watchdog rewords or drops the warning
    assert "already exists for watch" in source and "RuntimeWarning" in source
    worded = "Callback with id '140111035642768' already exists for watch <Watch wd=4>. It will be Overwritten."
    assert re.match(WATCHDOG_DOUBLE_WATCH, worded)
    assert any(action == "error" for action, *_ in warnings.filters)  # the suite's filterwarnings=error is on
    raised: list[BaseException] = []

    def as_watchdogs_thread_does() -> None:
        try:
            warnings.warn(worded, RuntimeWarning, stacklevel=1)
        except BaseException as error:  # what would kill watchdog's thread
            raised.append(error)

    thread = threading.Thread(target=as_watchdogs_thread_does)
    thread.start()
    thread.join()
    assert raised == []
    disk, root, seen = watched
    (root / "after.txt").write_bytes(b"still watched")
    wait_for(lambda: ("watch", "file_updated", "after.txt") in seen)

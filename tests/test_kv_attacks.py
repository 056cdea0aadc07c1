"""Attacks on flystore.kv on every kind of disk (memory, local, s3): awkward keys, KeyError, the async
twin, values that are never seen half-written while another thread rewrites them, and scopes that
plugin or workspace names cannot break out of."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import StorageManager
from flystore.aio import AsyncStorageManager
from flystore.kv import AsyncKeyValueStore, KeyValueStore, StorageContext

NASTY = ["", " ", "/", "//", "..", "../..", "../../etc/passwd", "a/../b", ".", "K", "k", "ünï/cødé", "\x00\n\t",
         "\U0001f600" * 50, "x" * 600, "\ud800"]


@pytest.fixture(params=["memory", "local", "s3"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
        return
    if request.param == "local":
        yield StorageManager({"disks": {"l": {"driver": "local", "root": str(tmp_path / "root")}}}).disk("l")
        assert all(path.resolve().is_relative_to(tmp_path / "root") for path in (tmp_path / "root").rglob("*"))
        return
    from tests.drivers.test_s3 import build, raw_client, remove_bucket

    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"flystore-kv-{uuid.uuid4().hex[:12]}"
    s3 = build(endpoint, bucket)
    yield s3
    s3.close()
    client = raw_client(endpoint)
    remove_bucket(client, bucket)
    client.close()


def test_nasty_keys_round_trip_and_list_as_given(disk: Any) -> None:
    store = KeyValueStore(disk, "../ns/..")
    for index, key in enumerate(NASTY):
        store.set(key, f"value {index}")
    assert store.keys() == sorted(NASTY)
    for index, key in enumerate(NASTY):
        assert store.get(key) == f"value {index}".encode() and store.exists(key) and key in store
    assert [path for path in disk.all_files() if not path.startswith("kv/")] == []  # nothing climbed out
    for key in NASTY:
        store.delete(key)
        with pytest.raises(KeyError) as missing:
            store.get(key)
        assert missing.value.args == (key,)
        with pytest.raises(KeyError):
            store.delete(key)
        with pytest.raises(KeyError):
            store.get_json(key)
    assert store.keys() == [] and not store.exists("")


def test_the_async_twin_is_the_same_store(disk: Any) -> None:
    store = KeyValueStore(disk, "shared")

    async def main() -> list[str]:
        twin = AsyncKeyValueStore(disk.aio, "shared")
        await twin.set("a/b", b"1")
        await twin.set_json("cfg", {"n": [1, "ü"]})
        assert await twin.get("a/b") == b"1" and await twin.get_json("cfg") == {"n": [1, "ü"]}
        assert await twin.exists("cfg") and not await twin.exists("nope")
        with pytest.raises(KeyError):
            await twin.get("nope")
        with pytest.raises(KeyError):
            await twin.delete("nope")
        assert store.aio.namespace == "shared"
        return await twin.keys()

    assert asyncio.run(main()) == ["a/b", "cfg"] == store.keys()
    assert store.get_json("cfg") == {"n": [1, "ü"]}


def test_a_value_being_rewritten_is_read_whole(disk: Any) -> None:
    store = KeyValueStore(disk, "atomic")
    values = [bytes([65 + number]) * (256 * 1024 * (number + 1)) for number in range(4)]
    store.set("hot", values[0])
    stop = threading.Event()
    failures: list[BaseException] = []

    def rewrite() -> None:
        try:
            for round_ in range(12):
                store.set("hot", values[round_ % len(values)])
        except BaseException as error:  # reported by the assertion below
            failures.append(error)
        finally:
            stop.set()

    writer = threading.Thread(target=rewrite)
    writer.start()
    reads = 0
    while not stop.is_set() or reads == 0:
        assert store.get("hot") in values  # never a mix nor a prefix of two values
        reads += 1
    writer.join()
    assert failures == [] and reads > 0


def test_plugin_and_workspace_names_cannot_reach_each_others_keys(disk: Any) -> None:
    storage = AsyncStorageManager(disk.manager)
    names = [("p", "w"), ("w", "p"), ("p/../q", "w"), ("q", "w"), ("p", "w/plugin/p"), ('p", "x', "w")]

    async def main() -> dict[tuple[str, str], tuple[list[str], list[str]]]:
        contexts = {pair: StorageContext(storage.disk(disk.name), plugin=pair[0], workspace=pair[1]) for pair in names}
        for (plugin, workspace), context in contexts.items():
            await context.set_plugin_storage(f"mine-{plugin}", plugin.encode())
            await context.set_workspace_storage(f"ours-{plugin}", workspace.encode())
        return {pair: (await context.get_plugin_storage_keys(), await context.get_workspace_storage_keys())
                for pair, context in contexts.items()}

    seen = asyncio.run(main())
    for (plugin, workspace), (mine, ours) in seen.items():
        assert mine == [f"mine-{plugin}"]  # private to the plugin in its workspace
        sharing = sorted(f"ours-{other}" for other, space in names if space == workspace)
        assert ours == sharing  # shared with exactly the plugins of the same workspace
    with pytest.raises(TypeError):
        StorageContext(disk, plugin="", workspace="w")


def test_a_cancelled_async_set_is_settled_when_the_cancel_returns(disk: Any) -> None:
    twin = KeyValueStore(disk, "cancel").aio
    value = b"v" * (32 * 1024 * 1024)

    async def main() -> tuple[bool, bool]:
        await twin.set("k", b"old")
        task = asyncio.create_task(twin.set("k", value))
        await asyncio.sleep(0.01)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        now = await twin.get("k")
        await asyncio.sleep(0.5)
        later = await twin.get("k")
        return now == later, now in (b"old", value)

    assert asyncio.run(main()) == (True, True)  # whole old or whole new, and no change after the cancel

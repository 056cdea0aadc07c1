"""flystore.kv on real disks (memory and local): encoding, scopes, atomicity, KeyError."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flystore import StorageManager, UnableToWriteFile
from flystore.kv import KeyValueStore, StorageContext
from flystore.kv.keys import decode_key, encode_key, encode_namespace

any_key = st.text(alphabet=st.characters(codec="utf-8"), max_size=400) | st.sampled_from(
    ["", "/", "..", "../..", "a/../b", ".", "x" * 5000, "K", "k", "ünï/cødé"]
)


def memory_disk() -> Any:
    return StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")


@given(st.lists(any_key, unique=True, max_size=8))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_keys_round_trip_without_collisions(keys: list[str]) -> None:
    store = KeyValueStore(memory_disk(), "ns")
    for index, key in enumerate(keys):
        store.set(key, str(index))
    assert store.keys() == sorted(keys)
    for index, key in enumerate(keys):
        assert store.get(key) == str(index).encode()


@given(any_key)
@settings(max_examples=200, deadline=None)
def test_the_encoding_is_reversible_and_never_climbs(key: str) -> None:
    path = encode_key(key)
    assert decode_key(path) == key
    assert all(segment not in {"", ".", ".."} for segment in path.split("/"))
    assert all(len(segment) <= 129 and segment.isalnum() for segment in path.split("/"))


@given(any_key, any_key)
def test_distinct_keys_get_distinct_paths(first: str, second: str) -> None:
    if first != second:
        assert encode_key(first) != encode_key(second)
        assert encode_namespace(first) != encode_namespace(second)


def test_a_long_key_and_its_prefix_do_not_collide_on_a_local_disk(tmp_path: Path) -> None:
    disk = StorageManager({"disks": {"l": {"driver": "local", "root": str(tmp_path)}}}).disk("l")
    store = KeyValueStore(disk, "n")
    long_key = "é" * 800  # 1,600 bytes of UTF-8: 2,560 characters of path, in 21 directories
    store.set(long_key, b"long")
    store.set(long_key[:-1], b"shorter")
    store.set("../../escape", b"contained")
    assert store.get(long_key) == b"long" and store.get(long_key[:-1]) == b"shorter"
    assert sorted(store.keys()) == sorted([long_key, long_key[:-1], "../../escape"])
    assert all(str(path).startswith(str(tmp_path)) for path in tmp_path.rglob("*"))
    assert not (tmp_path.parent / "escape").exists()
    with pytest.raises(UnableToWriteFile):
        store.set("é" * 3000, b"beyond the filesystem's PATH_MAX")  # refused whole, never truncated
    assert store.keys() == sorted([long_key, long_key[:-1], "../../escape"])


def test_missing_keys_raise_key_error_and_json_round_trips() -> None:
    store = KeyValueStore(memory_disk(), "ns")
    with pytest.raises(KeyError):
        store.get("nope")
    with pytest.raises(KeyError):
        store.delete("nope")
    store.set_json("cfg", {"a": [1, 2.5, None, "ü"]})
    assert store.get_json("cfg") == {"a": [1, 2.5, None, "ü"]}
    assert store.exists("cfg") and "cfg" in store
    store.delete("cfg")
    assert not store.exists("cfg")
    with pytest.raises(TypeError):
        store.set("k", 42)  # type: ignore[arg-type]


def test_namespaces_are_separate() -> None:
    disk = memory_disk()
    one, two = KeyValueStore(disk, "one"), KeyValueStore(disk, "two")
    one.set("k", b"1")
    assert two.keys() == []
    with pytest.raises(KeyError):
        two.get("k")


def test_a_failed_write_keeps_the_old_value(tmp_path: Path) -> None:
    disk = StorageManager({"disks": {"l": {"driver": "local", "root": str(tmp_path)}}}).disk("l")
    store = KeyValueStore(disk, "n")
    store.set("k", b"old")
    with pytest.raises(TypeError):
        store.set_json("k", object())
    assert store.get("k") == b"old"


def test_the_seed_context_scopes() -> None:
    from flystore.aio import AsyncStorageManager

    manager = StorageManager({"disks": {"plugins": {"driver": "memory"}}})
    aio_storage = AsyncStorageManager(manager)

    async def main() -> None:
        context = StorageContext(aio_storage.disk("plugins"), plugin="my_plugin", workspace="main")
        other = StorageContext(aio_storage.disk("plugins"), plugin="other", workspace="main")
        elsewhere = StorageContext(aio_storage.disk("plugins"), plugin="my_plugin", workspace="second")
        await context.set_plugin_storage("pref_theme", b"dark")
        assert await context.get_plugin_storage("pref_theme") == b"dark"
        with pytest.raises(KeyError):
            await other.get_plugin_storage("pref_theme")  # private to the plugin
        await context.set_workspace_storage("global_x", b"...")
        assert await other.get_workspace_storage("global_x") == b"..."  # shared in the workspace
        assert await context.get_workspace_storage_keys() == ["global_x"]
        with pytest.raises(KeyError):
            await elsewhere.get_workspace_storage("global_x")
        await context.set_storage("user_count", 42)
        assert await context.get_storage("user_count") == 42
        assert await context.get_plugin_storage_keys() == ["pref_theme", "user_count"]
        await context.delete_plugin_storage("pref_theme")
        await context.delete_workspace_storage("global_x")
        assert await context.get_plugin_storage_keys() == ["user_count"]
        assert await other.get_workspace_storage_keys() == []

    asyncio.run(main())

"""The seeds' code of issue #10, character for character, against the process-wide facade.

The two blocks below are copied from the issue as they are (only indented into a coroutine); they run
against ``from flystore.aio import Storage`` with the disks configured the way an app would, and the
test then checks what they did on the disks themselves.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import flystore

ROOM_SEED = """
from flystore.aio import Storage
storage = Storage.disk("rooms")
storage.on("file_updated", on_file_updated)          # handlers get the path; async handlers allowed
if not await storage.exists(path="example.txt"):
    handle = await storage.open(path="example.txt", overwrite=True)
    await storage.write(handle=handle, data=b"Hello, Storage!")
    await storage.close(handle=handle)
response = await storage.download(path="example.txt"); response.data
url = await storage.download_url(path="files/report.pdf")
for e in await storage.list(path="some_folder"): print(e.name, e.is_folder)
await storage.delete("example.txt")
"""

KV_SEED = """
from flystore.kv import StorageContext
context = StorageContext(Storage.disk("plugins"), plugin="my_plugin", workspace="main")
await context.set_plugin_storage("pref_theme", b"dark"); await context.get_plugin_storage("pref_theme")
await context.set_workspace_storage("global_x", b"..."); await context.get_workspace_storage_keys()
await context.set_storage("user_count", 42); await context.get_storage("user_count")
"""


async def run_seed(seed: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run ``seed`` as the body of a coroutine; returns its local variables."""
    source = "async def __seed__():\n" + textwrap.indent(seed, "    ") + "\n    return locals()\n"
    exec(compile(source, "<seed>", "exec"), namespace)  # the issue's own code is what is under test
    return await namespace["__seed__"]()  # type: ignore[no-any-return]


@pytest.fixture
def app_disks(tmp_path: Path) -> Iterator[Path]:
    flystore.Storage.configure_disk("rooms", "local", root=str(tmp_path / "rooms"), url="https://cdn.test/rooms")
    flystore.Storage.configure_disk("plugins", "local", root=str(tmp_path / "plugins"))
    try:
        yield tmp_path
    finally:
        flystore.Storage.forget_disk("rooms")
        flystore.Storage.forget_disk("plugins")


def test_the_room_seed_runs_as_written(app_disks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    updated: list[str] = []
    rooms = flystore.Storage.disk("rooms")
    rooms.put("some_folder/notes.txt", b"n")
    rooms.make_directory("some_folder/archive")

    async def on_file_updated(path: str) -> None:
        updated.append(path)

    async def main() -> dict[str, Any]:
        found = await run_seed(ROOM_SEED, {"on_file_updated": on_file_updated})
        assert not rooms.exists("example.txt")  # the seed's last line deleted it
        await asyncio.sleep(0.05)  # the async handler was scheduled, not awaited by the writer
        return found

    found = asyncio.run(main())
    assert found["response"].data == b"Hello, Storage!" and found["response"].size == 15
    assert found["url"] == "https://cdn.test/rooms/files/report.pdf"
    assert capsys.readouterr().out.splitlines() == ["archive True", "notes.txt False"]
    assert updated == ["example.txt"]
    from flystore.aio import Storage

    entries = {entry.name: entry for entry in asyncio.run(Storage.disk("rooms").list(path="some_folder"))}
    notes, archive = entries["notes.txt"], entries["archive"]
    assert (notes.path, notes.size, notes.is_folder) == ("some_folder/notes.txt", 1, False)
    assert notes.last_modified is not None and (archive.path, archive.is_folder) == ("some_folder/archive", True)
    assert found["e"].name == "notes.txt"  # the seed's loop variable: the last entry it printed


def test_the_kv_seed_runs_as_written(app_disks: Path) -> None:
    from flystore.aio import Storage

    found = asyncio.run(run_seed(KV_SEED, {"Storage": Storage}))
    context = found["context"]

    async def check() -> None:
        assert await context.get_plugin_storage("pref_theme") == b"dark"
        assert await context.get_workspace_storage_keys() == ["global_x"]
        assert await context.get_storage("user_count") == 42

    asyncio.run(check())
    stored = sorted(path.relative_to(app_disks / "plugins").parts[0] for path in (app_disks / "plugins").rglob("*"))
    assert set(stored) == {"kv"}  # everything under the store's own directory, nothing else on the disk


def test_the_sync_facades_disks_have_their_async_twin() -> None:
    flystore.Storage.configure_disk("s3ish", "memory")
    try:
        twin = flystore.Storage.disk("s3ish").aio
        assert twin.sync is flystore.Storage.disk("s3ish")
        assert asyncio.run(twin.put("a.txt", b"a")) == "a.txt"
        assert flystore.Storage.disk("s3ish").get("a.txt") == b"a"
    finally:
        flystore.Storage.forget_disk("s3ish")

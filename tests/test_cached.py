"""The ``cached`` decorator disk: never stale through the disk, on real memory, filesystem and redis stores."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import CachedFilesystemAdapter, FileNotFound, FilesystemAdapter, InvalidConfiguration, StorageManager
from flystore.decorators.base import DecoratedBackend
from flystore.decorators.cached import CachedBackend
from flystore.stores import CacheUnavailableWarning
from flystore.stores.filesystem import FilesystemStore
from flystore.stores.memory import MemoryStore
from tests.services import REPO_ROOT

STORES = ["memory", "filesystem", "redis"]


class CountingBackend(DecoratedBackend):
    """A real pass-through layer that counts the reads reaching the disk below the cache."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def read(self, path: str) -> bytes:
        self._count("read")
        return self.inner.read(path)

    def stat(self, path: str) -> Any:
        self._count("stat")
        return self.inner.stat(path)

    def file_exists(self, path: str) -> bool:
        self._count("file_exists")
        return self.inner.file_exists(path)

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        self._count("list_paths")
        return self.inner.list_paths(path, deep)

    def list_contents(self, path: str, deep: bool) -> Iterator[Any]:
        self._count("list_contents")
        return self.inner.list_contents(path, deep)


def store_options(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    if kind == "filesystem":
        return {"path": str(tmp_path / "cache")}
    if kind == "redis":
        return {"redis_url": request.getfixturevalue("redis_url")}
    return {}


@pytest.fixture(params=STORES)
def cached(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[CachedFilesystemAdapter, CountingBackend]]:
    base = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    counting = CountingBackend(base.backend)
    base_disk = FilesystemAdapter(counting, name="base")
    disk = CachedFilesystemAdapter(
        base_disk, request.param, 60, namespace=f"t-{uuid.uuid4().hex}:",
        **store_options(request.param, tmp_path, request),
    )
    yield disk, counting
    disk.close()


def test_a_second_read_is_served_by_the_cache(cached: tuple[CachedFilesystemAdapter, CountingBackend]) -> None:
    disk, counting = cached
    disk.put("docs/a.txt", "alpha")
    for _ in range(3):
        assert disk.get("docs/a.txt") == b"alpha"
        assert disk.size("docs/a.txt") == 5
        assert disk.files("docs") == ["docs/a.txt"]
        assert disk.file_exists("docs/a.txt")
    assert counting.calls == {"read": 1, "stat": 1, "list_paths": 1, "file_exists": 1}
    stats = disk.cache_stats()
    assert stats["hits"] == 8 and stats["misses"] == 4 and stats["bytes"] > 0


WRITES: dict[str, Callable[[FilesystemAdapter], object]] = {
    "put": lambda d: d.put("docs/a.txt", "changed"),
    "write_stream": lambda d: d.write_stream("docs/a.txt", iter([b"chan", b"ged"])),
    "open_wb": lambda d: _write_with_open(d),
    "append": lambda d: d.append("docs/a.txt", "changed"),
    "copy": lambda d: d.copy("other.txt", "docs/a.txt"),
    "move": lambda d: d.move("other.txt", "docs/a.txt"),
    "delete": lambda d: d.delete("docs/a.txt"),
    "delete_directory": lambda d: d.delete_directory("docs"),
    "set_visibility": lambda d: d.set_visibility("docs/a.txt", "private"),
    "make_directory": lambda d: d.make_directory("docs/new"),
    "prepend": lambda d: d.prepend("docs/a.txt", "changed"),
    "put_json": lambda d: d.put_json("docs/a.txt", {"changed": True}),
    "put_file_as": lambda d: d.put_file_as("docs", io.BytesIO(b"changed"), "a.txt"),
    "fs_pipe": lambda d: d.fs.pipe_file("docs/a.txt", b"changed"),
    "fs_rm": lambda d: d.fs.rm_file("docs/a.txt"),
}


def _write_with_open(disk: FilesystemAdapter) -> None:
    with disk.open("docs/a.txt", "wb") as handle:
        handle.write(b"changed")


def _view(disk: FilesystemAdapter) -> dict[str, Any]:
    present = disk.file_exists("docs/a.txt")
    return {
        "exists": present,
        "bytes": disk.get("docs/a.txt") if present else None,
        "size": disk.size("docs/a.txt") if present else None,
        "visibility": disk.get_visibility("docs/a.txt") if present else None,
        "files": disk.files("docs"),
        "all": disk.all_files(),
        "dirs": disk.directories("docs"),
        "docs_dir": disk.directory_exists("docs"),
        "other": disk.file_exists("other.txt"),
        "list": [(entry.path, entry.size) for entry in disk.list("", recursive=True)],
    }


@pytest.mark.parametrize("write", sorted(WRITES))
def test_no_stale_read_after_any_kind_of_write(
    cached: tuple[CachedFilesystemAdapter, CountingBackend], write: str
) -> None:
    disk, _ = cached
    uncached = FilesystemAdapter(disk.backend.inner, name="truth")  # type: ignore[attr-defined]
    disk.put("docs/a.txt", "original", visibility="public")
    disk.put("other.txt", "other!")
    before = _view(disk)
    assert _view(disk) == before  # now everything is cached
    WRITES[write](disk)
    after = _view(disk)
    assert after == _view(uncached), write
    assert after != before, write


def test_the_cache_survives_a_restart_and_is_bounded(tmp_path: Path) -> None:
    store = FilesystemStore("ns:", str(tmp_path), max_bytes=4096)
    store.set("k", b"v" * 100)
    assert FilesystemStore("ns:", str(tmp_path), max_bytes=4096).get("k") == b"v" * 100
    assert FilesystemStore("other:", str(tmp_path), max_bytes=4096).get("k") is None
    for number in range(100):
        store.set(f"key{number}", b"x" * 200)
    stats = store.stats()
    assert stats.bytes <= 4096 and stats.evictions > 0
    assert store.get("key99") == b"x" * 200
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


def test_the_memory_store_is_an_lru_bounded_by_bytes_and_thread_safe() -> None:
    store = MemoryStore("ns:", max_bytes=1000)
    store.set("a", b"1" * 400)
    store.set("b", b"2" * 400)
    assert store.get("a") is not None  # a is now the most recent
    store.set("c", b"3" * 400)
    assert store.get("b") is None and store.get("a") is not None and store.get("c") is not None
    assert store.stats().evictions == 1 and store.stats().bytes <= 1000

    def hammer(worker: int) -> None:
        for number in range(2000):
            store.set(f"{worker}-{number % 50}", bytes([worker]) * (number % 90))
            value = store.get(f"{worker}-{(number * 7) % 50}")
            assert value is None or set(value) <= {worker}

    threads = [threading.Thread(target=hammer, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = store.stats()
    assert stats.bytes <= 1000
    assert stats.bytes == sum(len(k) + len(v) for k, (v, _) in store._entries.items())


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_a_corrupt_cache_entry_is_detected_and_refetched(tmp_path: Path, damage: str) -> None:
    base = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    disk = CachedFilesystemAdapter(base, "filesystem", 60, path=str(tmp_path / "cache"))
    payload = os.urandom(5000)
    disk.put("blob.bin", payload)
    assert disk.get("blob.bin") == payload
    entries = [path for path in (tmp_path / "cache").rglob("*.entry")]
    assert len(entries) == 1
    raw = bytearray(entries[0].read_bytes())
    if damage == "flip":
        raw[-100] ^= 0x01
    elif damage == "truncate":
        raw = raw[:-1]
    else:
        raw = raw[: len(raw) - len(payload) - 36]
    entries[0].write_bytes(bytes(raw))
    misses = disk.cache_stats()["misses"]
    assert disk.get("blob.bin") == payload
    assert disk.cache_stats()["misses"] == misses + 1
    assert disk.get("blob.bin") == payload  # refetched entry is whole again


def test_a_store_that_is_down_degrades_to_uncached_reads_with_a_warning(tmp_path: Path) -> None:
    from tests.drivers.test_s3 import closed_port

    base = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path)}}}).disk("local")
    disk = CachedFilesystemAdapter(base, "redis", 60, redis_url=f"redis://127.0.0.1:{closed_port()}/0",
                                   socket_timeout=0.2)
    with pytest.warns(CacheUnavailableWarning, match="unavailable"):
        disk.put("a.txt", "one")
        assert disk.get("a.txt") == b"one"
        disk.put("a.txt", "two")
        assert disk.get("a.txt") == b"two"
        assert disk.files() == ["a.txt"]
        assert disk.cache_stats()["bytes"] is None
    disk.close()


def test_cached_reads_equal_uncached_reads_for_many_sizes(redis_url: str) -> None:
    base = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    disk = CachedFilesystemAdapter(base, "redis", 60, redis_url=redis_url, namespace=f"{uuid.uuid4().hex}:",
                                   max_file_size=64 * 1024)
    for size in (0, 1, 35, 4096, 65535, 65536, 65537, 200_000):
        data = os.urandom(size)
        disk.put(f"f{size}", data)
        assert disk.get(f"f{size}") == data == base.get(f"f{size}")
        assert disk.get(f"f{size}") == data
        with disk.read_stream(f"f{size}") as stream:
            assert b"".join(stream) == data
        with disk.open(f"f{size}") as handle:
            handle.seek(size // 2)
            assert handle.read() == data[size // 2 :]
    disk.close()


def test_large_files_stream_past_the_cache_in_bounded_memory(tmp_path: Path) -> None:
    base = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path)}}}).disk("local")
    disk = CachedFilesystemAdapter(base, "memory", 60)
    chunk = os.urandom(1024 * 1024)
    disk.write_stream("big.bin", iter([chunk] * 48))
    tracemalloc.start()
    try:
        total = 0
        with disk.read_stream("big.bin") as stream:
            for piece in stream:
                total += len(piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 48 * 1024 * 1024
    assert peak < 12 * 1024 * 1024
    assert disk.cache_stats()["bytes"] < 1024 * 1024


def test_clear_cache_forgets_a_path_or_everything() -> None:
    base = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    disk = CachedFilesystemAdapter(base, "memory", None)
    disk.put("a/one.txt", "1")
    disk.put("b/two.txt", "2")
    disk.get("a/one.txt"), disk.get("b/two.txt")
    base.put("a/one.txt", "changed behind the cache")
    base.put("b/two.txt", "changed too")
    assert disk.get("a/one.txt") == b"1"  # outside changes are seen only after the ttl (documented)
    disk.clear_cache("a")
    assert disk.get("a/one.txt") == b"changed behind the cache" and disk.get("b/two.txt") == b"2"
    disk.clear_cache()
    assert disk.get("b/two.txt") == b"changed too"
    assert disk.cache_stats()["entries"] == 1  # only what was read since the clear


def test_the_ttl_expires_entries(tmp_path: Path) -> None:
    import time

    base = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    disk = CachedFilesystemAdapter(base, "memory", 0.2)
    disk.put("a.txt", "1")
    disk.get("a.txt")
    base.put("a.txt", "2")
    assert disk.get("a.txt") == b"1"
    time.sleep(0.3)
    assert disk.get("a.txt") == b"2"


def test_the_config_form_and_bad_options(redis_url: str, tmp_path: Path) -> None:
    manager = StorageManager({"disks": {
        "origin": {"driver": "local", "root": str(tmp_path / "o"), "url": "https://files.example"},
        "fast": {"driver": "cached", "disk": "origin", "store": "redis", "ttl": 3600, "redis_url": redis_url,
                 "namespace": f"{uuid.uuid4().hex}:"},
        "typo": {"driver": "cached", "disk": "origin", "stor": "redis"},
        "bad-store": {"driver": "cached", "disk": "origin", "store": "memcached"},
        "bad-ttl": {"driver": "cached", "disk": "origin", "ttl": -1},
        "fs-needs-path": {"driver": "cached", "disk": "origin", "store": "filesystem"},
        "mem-with-path": {"driver": "cached", "disk": "origin", "store": "memory", "path": "/tmp/x"},
    }})
    fast = manager.disk("fast")
    assert isinstance(fast, CachedFilesystemAdapter) and isinstance(fast.backend, CachedBackend)
    fast.put("x.txt", "x")
    assert fast.get("x.txt") == b"x" and fast.url("x.txt") == "https://files.example/x.txt"
    for name, option in [("typo", "stor"), ("bad-store", "store"), ("bad-ttl", "ttl"),
                         ("fs-needs-path", "path"), ("mem-with-path", "path")]:
        with pytest.raises(InvalidConfiguration) as caught:
            manager.disk(name)
        assert caught.value.option == option and caught.value.disk == name
    with pytest.raises(FileNotFound):
        fast.get("missing.txt")


def test_the_seed_constructor_works_as_written(redis_url: str, tmp_path: Path) -> None:
    from flystore import Storage

    Storage.configure({"disks": {"s3": {"driver": "local", "root": str(tmp_path)}}})
    try:
        cached_s3 = CachedFilesystemAdapter(base_adapter=Storage.disk("s3"), cache_driver="redis", cache_ttl=3600,
                                            redis_url=redis_url)
        cached_s3.put("seed.txt", "ok")
        assert cached_s3.get("seed.txt") == b"ok" and cached_s3.get("seed.txt") == b"ok"
        assert cached_s3.cache_stats()["hits"] == 1
        cached_s3.clear_cache()
        cached_s3.close()
    finally:
        Storage.configure({"disks": {"local": {"driver": "memory"}}})


_PEER = """
import sys
from flystore import StorageManager
root, redis_url, namespace, command = sys.argv[1:5]
disk = StorageManager({"disks": {
    "local": {"driver": "local", "root": root},
    "cached": {"driver": "cached", "disk": "local", "store": "redis", "ttl": 3600, "redis_url": redis_url,
               "namespace": namespace},
}}).disk("cached")
if command == "read":
    print(disk.get("shared.txt").decode(), disk.files())
else:
    disk.put("shared.txt", command)
    disk.put("added-by-peer.txt", "x")
disk.close()
"""


def test_two_processes_sharing_redis_see_each_others_writes(redis_url: str, tmp_path: Path) -> None:
    namespace = f"{uuid.uuid4().hex}:"
    manager = StorageManager({"disks": {
        "local": {"driver": "local", "root": str(tmp_path)},
        "cached": {"driver": "cached", "disk": "local", "store": "redis", "ttl": 3600, "redis_url": redis_url,
                   "namespace": namespace},
    }})
    disk = manager.disk("cached")

    def peer(command: str) -> str:
        done = subprocess.run([sys.executable, "-c", _PEER, str(tmp_path), redis_url, namespace, command],
                              capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, check=True)
        return done.stdout.strip()

    disk.put("shared.txt", "from parent")
    assert disk.get("shared.txt") == b"from parent" and disk.files() == ["shared.txt"]  # cached now
    peer("from child")
    assert disk.get("shared.txt") == b"from child"
    assert disk.files() == ["added-by-peer.txt", "shared.txt"]
    assert peer("read") == "from child ['added-by-peer.txt', 'shared.txt']"  # the child caches it
    disk.put("shared.txt", "parent again")
    disk.delete("added-by-peer.txt")
    assert peer("read") == "parent again ['shared.txt']"
    disk.close()


def test_disk_fs_works_through_the_cache(tmp_path: Path) -> None:
    base = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    disk = CachedFilesystemAdapter(base, "filesystem", 60, path=str(tmp_path / "c"))
    with disk.fs.open("dir/data.csv", "wb") as handle:
        handle.write(b"a,b\n1,2\n")
    assert disk.fs.cat_file("dir/data.csv") == b"a,b\n1,2\n"
    assert disk.fs.ls("dir", detail=False) == ["dir/data.csv"]
    disk.fs.rm("dir/data.csv")
    assert not disk.fs.exists("dir/data.csv") and not disk.file_exists("dir/data.csv")


def test_redis_by_host_port_db_and_password_with_one_pooled_connection(tmp_path: Path) -> None:
    import redis

    from tests.services import free_port, require_executable, spawned

    executable = require_executable("redis-server")
    port = free_port()
    argv = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp_path), "--requirepass", "s3cret"]
    with spawned(argv, port, tmp_path / "redis.log"):
        base = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
        disk = CachedFilesystemAdapter(base, "redis", 60, host="127.0.0.1", port=port, db=3, password="s3cret")
        observer = redis.Redis(host="127.0.0.1", port=port, password="s3cret", db=3)
        before = int(observer.info("stats")["total_connections_received"])
        disk.put("a.txt", "pooled")
        for _ in range(200):
            assert disk.get("a.txt") == b"pooled"
        assert int(observer.info("stats")["total_connections_received"]) - before == 1  # one pooled connection
        assert observer.dbsize() > 0  # the entries are in db 3
        assert disk.cache_stats()["hits"] == 199
        wrong = CachedFilesystemAdapter(base, "redis", 60, host="127.0.0.1", port=port, db=3, password="nope")
        with pytest.warns(CacheUnavailableWarning):
            assert wrong.get("a.txt") == b"pooled"
        wrong.close()
        disk.close()
        observer.close()


def test_evictions_show_in_cache_stats() -> None:
    base = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    disk = CachedFilesystemAdapter(base, "memory", 60, max_bytes=10_000)
    for number in range(20):
        disk.put(f"f{number}", os.urandom(1000))
        disk.get(f"f{number}")
    stats = disk.cache_stats()
    assert stats["evictions"] >= 10 and stats["bytes"] <= 10_000
    assert all(disk.get(f"f{number}") == base.get(f"f{number}") for number in range(20))


class StallingBackend(DecoratedBackend):
    """Reads the old bytes, then waits: a read that overlaps a write, made deterministic."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.stall = False
        self.read_done = threading.Event()
        self.release = threading.Event()

    def read(self, path: str) -> bytes:
        data = self.inner.read(path)
        if self.stall:
            self.read_done.set()
            self.release.wait(10)
        return data


def test_a_read_that_raced_a_write_is_not_stored() -> None:
    base = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    stalling = StallingBackend(base.backend)
    disk = CachedFilesystemAdapter(FilesystemAdapter(stalling, name="m"), "memory", None)
    disk.put("a.txt", "old")
    stalling.stall = True
    seen: list[bytes] = []
    reader = threading.Thread(target=lambda: seen.append(disk.get("a.txt")))
    reader.start()
    assert stalling.read_done.wait(10)
    stalling.stall = False
    disk.put("a.txt", "new")  # lands while the reader holds the old bytes
    stalling.release.set()
    reader.join()
    assert seen == [b"old"]  # that reader began before the write: old bytes are fair for it
    assert disk.get("a.txt") == b"new"  # but they were not cached


def test_filesystem_entries_are_whole_or_absent_under_concurrent_writers(tmp_path: Path) -> None:
    store = FilesystemStore("ns:", str(tmp_path), max_bytes=64 * 1024 * 1024)
    values = [bytes([number]) * (number * 20_000 + 1) for number in range(1, 5)]
    stop = threading.Event()
    torn: list[int] = []

    def writer(value: bytes) -> None:
        while not stop.is_set():
            store.set("shared", value)

    def reader() -> None:
        for _ in range(400):
            got = store.get("shared")
            if got is not None and got not in values:
                torn.append(len(got))

    writers = [threading.Thread(target=writer, args=(value,)) for value in values]
    for thread in writers:
        thread.start()
    reader()
    stop.set()
    for thread in writers:
        thread.join()
    assert torn == []
    assert [name for name in tmp_path.rglob("*.tmp")] == []


def test_the_redis_store_without_the_redis_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from flystore import DriverNotInstalled

    monkeypatch.setitem(sys.modules, "redis", None)  # what an environment without the package looks like
    manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                        "c": {"driver": "cached", "disk": "m", "store": "redis"}}})
    with pytest.raises(DriverNotInstalled) as caught:
        manager.disk("c")
    assert 'flystore[redis]' in str(caught.value) and caught.value.disk == "c"


def test_config_built_cached_and_cdn_disks_travel_as_configuration(tmp_path: Path) -> None:
    import pickle

    manager = StorageManager({"disks": {
        "l": {"driver": "local", "root": str(tmp_path / "root")},
        "c": {"driver": "cached", "disk": "l", "store": "filesystem", "path": str(tmp_path / "cache")},
        "cdn": {"driver": "cdn", "disk": "c", "cdn_url": "https://cdn.example"},
    }})
    disk = manager.disk("cdn")
    disk.put("a.txt", "x")
    back = pickle.loads(pickle.dumps(disk))
    assert type(back).__name__ == "CDNFilesystemAdapter" and back.get("a.txt") == b"x"
    assert back.url("a.txt") == "https://cdn.example/a.txt"
    assert pickle.loads(pickle.dumps(manager.disk("c").fs)).cat_file("a.txt") == b"x"

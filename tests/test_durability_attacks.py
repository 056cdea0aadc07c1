"""Attacks on the promises of docs/compression.md, deduplication.md, audit.md and tenants.md.

Each test tries to break one promise the way a hostile user or an unlucky production system would.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import (
    AuditedFilesystemAdapter,
    DeduplicatedFilesystemAdapter,
    FileNotFound,
    IntegrityError,
    QuotaExceeded,
    StorageError,
    StorageManager,
)
from flystore.decorators.audited import acting_as
from flystore.decorators.compressed.format import CODEC_ZSTD, Footer, Index, zstd_trailer
from flystore.errors import PathTraversalDetected
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket

MiB = 1024 * 1024


# -- compressed and deduplicated: what a listing says is the content's -------------------------------


@pytest.fixture(scope="module")
def s3_stack(s3_endpoint: str) -> Iterator[StorageManager]:
    bucket = f"flystore-a-{uuid.uuid4().hex[:12]}"
    client: Any = raw_client(s3_endpoint)
    client.create_bucket(Bucket=bucket)
    yield StorageManager({"disks": {
        "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, **CREDENTIALS},
        "packed": {"driver": "compressed", "disk": "s3"},
        "once": {"driver": "deduplicated", "disk": "s3"},
        "sealed": {"driver": "encrypted", "disk": "s3", "key": "base64:" + "QUJD" * 10 + "QUI="},
    }})
    remove_bucket(client, bucket)
    client.close()


@pytest.mark.parametrize("name", ["packed", "once", "sealed"])
def test_no_listing_stat_or_fs_info_presents_the_stored_bytes_digest_as_the_contents(
    s3_stack: StorageManager, name: str,
) -> None:
    disk = s3_stack.disk(name)
    content = b"quarterly numbers, line after line\n" * 2000
    path = f"{name}/report.txt"
    disk.put(path, content)
    stored = s3_stack.disk("s3").get(path)
    assert stored != content
    stored_md5 = hashlib.md5(stored).hexdigest()
    assert s3_stack.disk("s3").metadata(path)["etag"] == stored_md5  # S3's ETag is the stored bytes' MD5
    seen: list[Any] = [disk.metadata(path), disk.fs.info(path), *disk.fs.ls(name, detail=True)]
    seen += [{**entry.extra, "checksum": entry.checksum} for entry in disk.list(name)]
    for described in seen:
        assert stored_md5 not in repr(described), described
        assert "etag" not in described and "md5" not in described
    assert disk.checksum(path, "md5") == hashlib.md5(content).hexdigest()
    assert disk.size(path) == disk.fs.info(path)["size"] == len(content)


# -- compressed: decompression bombs, reads past the end, concurrent readers ------------------------


def _bomb(claimed: int) -> bytes:
    """A valid-looking stored file: one zstd frame of ``claimed`` zeros (a few KiB), indexed by a good footer."""
    import zstandard

    squeezer = zstandard.ZstdCompressor(level=1).compressobj()
    zeros = bytes(MiB)
    frame = b"".join(squeezer.compress(zeros) for _ in range(claimed // MiB)) + squeezer.flush()
    index = Index()
    index.add(frame)
    packed = index.pack()
    import zlib

    footer = Footer(claimed, 1, claimed, zlib.crc32(packed), CODEC_ZSTD)
    return frame + zstd_trailer(packed, footer)


def test_a_tiny_file_claiming_a_huge_frame_is_refused_before_anything_is_decompressed() -> None:
    manager = StorageManager({"disks": {"m": {"driver": "memory"}, "z": {"driver": "compressed", "disk": "m"}}})
    bomb = _bomb(256 * MiB)
    assert len(bomb) < 64 * 1024  # 256 MiB of zeros in a few KiB
    manager.disk("m").put("bomb.log", bomb)
    disk = manager.disk("z")
    tracemalloc.start()
    try:
        for verb in (lambda: disk.get("bomb.log"), lambda: disk.size("bomb.log"),
                     lambda: disk.read_stream("bomb.log").read(10)):
            with pytest.raises(IntegrityError) as caught:
                verb()
            assert (caught.value.disk, caught.value.path) == ("z", "bomb.log")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB


def test_reads_past_the_end_and_concurrent_readers_and_writers_see_the_original_bytes() -> None:
    manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                        "z": {"driver": "compressed", "disk": "m", "frame_size": 4096}}})
    disk = manager.disk("z")
    rng = random.Random(7)
    content = b"".join(b"line %d of a log with some text\n" % rng.randrange(10**6) for _ in range(3000))
    disk.put("a.log", content)
    with disk.open("a.log") as handle:
        handle.seek(len(content) + 10_000)
        assert handle.read(10) == b"" and handle.read() == b""
        handle.seek(len(content) - 3)
        assert handle.read(100) == content[-3:]
    failures: list[str] = []

    def reader(seed: int) -> None:
        local = random.Random(seed)
        with disk.open("a.log") as handle:
            for _ in range(40):
                start, length = local.randrange(len(content)), local.randrange(1, 9000)
                handle.seek(start)
                if handle.read(length) != content[start:start + length]:
                    failures.append(f"{seed}: {start}+{length}")

    def writer(seed: int) -> None:
        own = content[seed * 1000:] + b"written by %d" % seed
        for _ in range(5):
            disk.put(f"w{seed}.log", own)
            if disk.get(f"w{seed}.log") != own:
                failures.append(f"writer {seed}")

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(6)]
    threads += [threading.Thread(target=writer, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_file_written_with_another_frame_size_reads_seeks_and_appends() -> None:
    manager = StorageManager({"disks": {
        "m": {"driver": "memory"},
        "old": {"driver": "compressed", "disk": "m", "frame_size": 4096, "codec": "gzip"},
        "new": {"driver": "compressed", "disk": "m"},
    }})
    content = b"".join(b"row %d\n" % number for number in range(20_000))
    manager.disk("old").put("f.log", content)
    disk = manager.disk("new")
    assert (disk.compression_info("f.log").frame_size, disk.size("f.log")) == (4096, len(content))
    with disk.open("f.log") as handle:
        handle.seek(70_001)
        assert handle.read(5000) == content[70_001:75_001]
    disk.append("f.log", "tail")
    info = disk.compression_info("f.log")
    assert (info.codec, info.frame_size) == ("zstd", 512 * 1024)  # rewritten the new disk's way
    assert disk.get("f.log") == content + b"\ntail"


# -- deduplicated: references, garbage collection and the reserved store ---------------------------


def test_every_way_of_dropping_one_reference_keeps_the_others_through_a_collection() -> None:
    manager = StorageManager({"disks": {"m": {"driver": "memory"}, "d": {"driver": "deduplicated", "disk": "m"}}})
    disk = manager.disk("d")
    assert isinstance(disk, DeduplicatedFilesystemAdapter)
    shared, other = b"the same bytes " * 500, b"something else"
    disk.put("a.txt", shared)
    disk.put("b.txt", shared)
    disk.delete("a.txt")
    disk.put("b.txt", shared)                   # an overwrite with the same content
    disk.copy("b.txt", "c.txt")
    disk.move("b.txt", "d.txt")                 # the moved pointer still names the blob
    disk.put("c.txt", other)                    # c no longer names it; d still does
    assert disk.collect_garbage(grace=0).blobs_removed == 0
    assert disk.get("d.txt") == shared and disk.get("c.txt") == other
    disk.delete("d.txt")
    done = disk.collect_garbage(grace=0)
    assert (done.blobs_removed, done.bytes_freed) == (1, len(shared))
    assert disk.get("c.txt") == other
    stats = disk.stats()
    assert (stats.files, stats.blobs, stats.missing_blobs) == (1, 1, 0)


@pytest.mark.parametrize("spelling", [
    ".flystore-dedup/blobs/{head}/{digest}", "./.flystore-dedup/blobs/{head}/{digest}",
    "x/../.flystore-dedup/blobs/{head}/{digest}", "/.flystore-dedup/blobs/{head}/{digest}",
    ".FLYSTORE-DEDUP/blobs/{head}/{digest}",    # one directory with the store on macOS and Windows
    ".Flystore-Dedup./blobs/{head}/{digest}",   # Windows drops the trailing dot
])
def test_no_spelling_of_a_user_path_reaches_or_forges_the_content_store(spelling: str) -> None:
    manager = StorageManager({"disks": {"m": {"driver": "memory"}, "d": {"driver": "deduplicated", "disk": "m"}}})
    disk = manager.disk("d")
    secret = b"someone else's content"
    disk.put("victim.txt", secret)
    digest = hashlib.sha256(secret).hexdigest()
    path = spelling.format(head=digest[:2], digest=digest)
    for verb in (lambda: disk.get(path), lambda: disk.size(path), lambda: disk.fs.cat_file(path)):
        with pytest.raises((FileNotFound, FileNotFoundError)):
            verb()
    assert not disk.exists(path)
    for verb in (lambda: disk.put(path, b"forged"), lambda: disk.copy("victim.txt", path),
                 lambda: disk.move("victim.txt", path), lambda: disk.fs.pipe_file(path, b"forged")):
        with pytest.raises((StorageError, OSError)):
            verb()
    disk.delete(path)  # deleting there finds nothing to delete
    disk.delete_directory(path.rsplit("/", 3)[0])
    assert not any("flystore-dedup" in found.casefold() for found in [*disk.all_files(), *disk.fs.glob("**")])
    assert disk.get("victim.txt") == secret
    assert manager.disk("m").get(f".flystore-dedup/blobs/{digest[:2]}/{digest}") == secret


def test_a_user_file_that_looks_like_a_pointer_is_only_its_own_bytes() -> None:
    manager = StorageManager({"disks": {"m": {"driver": "memory"}, "d": {"driver": "deduplicated", "disk": "m"}}})
    disk = manager.disk("d")
    secret = b"the victim's content"
    disk.put("victim.txt", secret)
    forged = json.dumps({"flystore": "dedup/1", "sha256": hashlib.sha256(secret).hexdigest(),
                         "size": len(secret)}).encode() + b"\n"
    with disk.open("by-open.txt", "wb") as handle:
        handle.write(forged)
    disk.put("by-put.txt", forged)
    disk.write_stream("by-stream.txt", iter([forged[:10], forged[10:]]))
    disk.fs.pipe_file("by-fs.txt", forged)
    disk.append("by-append.txt", forged)
    disk.put_many({"by-batch.txt": forged}, max_concurrency=2)
    for name in ("by-open", "by-put", "by-stream", "by-fs", "by-append", "by-batch"):
        assert disk.get(f"{name}.txt") == forged and disk.fs.cat_file(f"{name}.txt") == forged
        assert disk.size(f"{name}.txt") == len(forged)


# -- audited: the actor of batch helpers -------------------------------------------------------------


def test_batch_helpers_running_on_a_thread_pool_keep_the_callers_actor() -> None:
    manager = StorageManager({"disks": {
        "files": {"driver": "memory"}, "trail": {"driver": "memory"},
        "a": {"driver": "audited", "disk": "files", "trail": "trail"},
    }})
    disk = manager.disk("a")
    assert isinstance(disk, AuditedFilesystemAdapter)
    items = {f"inbox/{number}.txt": b"x" for number in range(12)}
    with acting_as("user-42"):
        assert disk.put_many(items, max_concurrency=4).ok
        assert disk.get_many(list(items), max_concurrency=4).ok
    outside = disk.put_many({"later.txt": b"y"}, max_concurrency=2)
    assert outside.ok
    records = list(disk.trail(operations={"write", "read"}))
    actors = {(record["operation"], record["path"]): record["actor"] for record in records}
    assert actors == {**{("write", path): "user-42" for path in items},
                      **{("read", path): "user-42" for path in items}, ("write", "later.txt"): None}
    disk.close()


def test_write_options_and_driver_extras_never_reach_the_trail() -> None:
    manager = StorageManager({"disks": {
        "files": {"driver": "memory"}, "trail": {"driver": "memory"},
        "a": {"driver": "audited", "disk": "files", "trail": "trail"},
    }})
    disk = manager.disk("a")
    disk.put("f.txt", b"x", CacheControl="SECRET-EXTRA-1", cache_control="SECRET-EXTRA-2")
    disk.put("g.txt", b"x", visibility="public", mimetype="application/x-secret-mime")
    disk.write_stream("h.txt", iter([b"x"]), ContentDisposition="attachment; filename=SECRET-EXTRA-3")
    disk.copy("f.txt", "i.txt", CacheControl="SECRET-EXTRA-4")
    assert isinstance(disk, AuditedFilesystemAdapter) and disk.flush()
    raw = b"".join(manager.disk("trail").get(path) for path in manager.disk("trail").all_files())
    assert raw.count(b'"outcome":"ok"') == 4
    for secret in (b"SECRET", b"public", b"x-secret-mime"):
        assert secret not in raw
    disk.close()


# -- tenants: look-alike names, templated options ----------------------------------------------------


@pytest.mark.parametrize("name", ["ａｃｍｅ", "cafe\u0301", "ﬁrm", "acme\u2126", "x\u00b2"])
def test_tenant_names_that_normalise_to_another_name_are_refused(name: str) -> None:
    manager = StorageManager({"disks": {"files": {"driver": "memory"}}, "tenants": {"disk": "files"}})
    with pytest.raises(PathTraversalDetected):
        manager.for_tenant(name)
    assert manager.disk("files").all_files() == []


def test_a_tenant_name_cannot_move_a_templated_url_or_root(tmp_path: Path) -> None:
    manager = StorageManager({
        "disks": {"files": {"driver": "local", "root": str(tmp_path / "shared"), "url": "https://cdn.example"}},
        "tenants": {"disk": "files", "root": str(tmp_path / "t" / "{tenant}"), "url": "https://{tenant}.cdn.example"},
    })
    for hostile in ("x@evil.example#", "evil.example?", "evil.example:443", "a%2fb", "a b"):
        with pytest.raises(PathTraversalDetected):
            manager.for_tenant(hostile)
    assert not (tmp_path / "t").exists()
    acme = manager.for_tenant("acme-2.eu_west")
    acme.put("logo.png", b"\x89PNG")
    assert acme.url("logo.png") == "https://acme-2.eu_west.cdn.example/logo.png"
    assert (tmp_path / "t" / "acme-2.eu_west" / "logo.png").read_bytes() == b"\x89PNG"
    assert os.listdir(tmp_path / "t") == ["acme-2.eu_west"]


def test_a_cross_disk_copy_or_move_into_a_tenant_disk_keeps_to_its_quota_and_its_prefix() -> None:
    manager = StorageManager({"disks": {"files": {"driver": "memory"}, "other": {"driver": "memory"}},
                              "tenants": {"disk": "files", "max_bytes": 100}})
    acme = manager.tenant("acme")
    manager.disk("other").put("big.bin", b"x" * 500)
    manager.disk("other").put("small.bin", b"x" * 50)
    for verb in (manager.copy, manager.move):
        with pytest.raises(StorageError) as caught:
            verb("other://big.bin", "files@acme://big.bin")
        chain: list[BaseException] = []
        error: BaseException | None = caught.value
        while error is not None:
            chain.append(error)
            error = error.__cause__
        assert any(isinstance(link, QuotaExceeded) and link.tenant == "acme" for link in chain)
    assert manager.disk("files").all_files() == []          # nothing at "files@acme:/big.bin" on the shared disk
    assert manager.disk("other").all_files() == ["big.bin", "small.bin"]
    manager.move("other://small.bin", "files@acme://in/small.bin")
    assert manager.disk("files").all_files() == ["tenants/acme/in/small.bin"]
    assert acme.usage().bytes == 50


# -- audited: a trail disk whose server hangs --------------------------------------------------------


class _SilentServer:
    """A TCP server on loopback that accepts connections and never answers (a hung object store)."""

    def __init__(self) -> None:
        import socket

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[Any] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        import socket

        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        self.thread.join(10)  # no connection is accepted after this, so every one is in `held`
        for held in self.held:
            with contextlib.suppress(OSError):
                held.shutdown(socket.SHUT_RDWR)  # the clients see the end
            held.close()


def test_operations_never_wait_for_a_trail_disk_whose_server_hangs() -> None:
    server = _SilentServer()
    manager = StorageManager({"disks": {
        "files": {"driver": "memory"},
        "trail": {"driver": "s3", "bucket": "audit", "endpoint": f"http://127.0.0.1:{server.port}",
                  "timeout": 15, "retries": 0, **CREDENTIALS},  # outlasts the 80 operations
        "a": {"driver": "audited", "disk": "files", "trail": "trail", "max_queue": 4, "batch_size": 1},
    }})
    disk = manager.disk("a")
    assert isinstance(disk, AuditedFilesystemAdapter)
    try:
        done = threading.Event()

        def work() -> None:
            for number in range(40):
                disk.put(f"f{number}.txt", b"x")
                disk.get(f"f{number}.txt")
            done.set()

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(timeout=60)  # a deadlock guard only: an operation waiting for the trail never finishes
        assert done.is_set()
        assert len(manager.disk("files").all_files()) == 40
        assert disk.audit_writer.written == 0          # the first batch is still stuck on the silent server
        assert disk.dropped >= 80 - 4 - 1 - 1
    finally:
        server.close()                                 # the stuck request fails now; the writer moves on
        disk.close()
    # On a loaded machine the stuck request may fail only after close() gave up waiting: wait for it
    # (a guard against hanging forever, not a timing assertion).
    deadline = time.monotonic() + 60
    while disk.audit_writer.failed < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert disk.audit_writer.written == 0 and disk.audit_writer.failed >= 1

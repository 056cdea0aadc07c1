"""Streaming stays in bounded memory: 256 MiB through flystore, < 32 MiB Python peak.

One 256 MiB file is produced once per module (``put`` of a generator onto
local disk ``a``) and then serves as the source of every other check:
``read_stream``, ``put`` of a binary file object, ``write_stream`` and the
cross-disk ``StorageManager.copy("a://...", "b://...")``. Each operation runs
inside a ``tracemalloc`` window and its peak of Python-allocated memory above
the window's starting point must stay under 32 MiB. Contents are checked by
SHA-256 digests computed while streaming, never by loading a file whole.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flystore import FilesystemAdapter, StorageManager

MiB = 1024 * 1024
CHUNK = MiB
TOTAL = 256 * MiB
LIMIT = 32 * MiB


@dataclass
class Peak:
    """Peak Python-allocated bytes above the starting point of a ``traced()`` window."""

    bytes: int = 0

    def __str__(self) -> str:
        return f"{self.bytes / MiB:.1f} MiB"


@functools.lru_cache(maxsize=1)
def _block() -> bytes:
    # Made once, before any window opens: chunks are this block behind an 8-byte counter.
    return os.urandom(CHUNK)


class _Traced:
    def __enter__(self) -> Peak:
        self._started = not tracemalloc.is_tracing()
        if self._started:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]
        self.peak = Peak()
        return self.peak

    def __exit__(self, *exc_info: object) -> None:
        self.peak.bytes = tracemalloc.get_traced_memory()[1] - self._base
        if self._started:
            tracemalloc.stop()


def traced() -> _Traced:
    """``with traced() as peak:`` measures the peak of Python allocations inside the block."""
    return _Traced()


def generated_chunks(total: int, digest: hashlib._Hash) -> Iterator[bytes]:
    """``total`` bytes as 1 MiB chunks made on the fly (distinct per index), hashed as they go."""
    block = memoryview(_block())[8:]
    for index in range(total // CHUNK):
        chunk = index.to_bytes(8, "big") + block
        digest.update(chunk)
        yield chunk


def disk_sha256(disk: FilesystemAdapter, path: str) -> str:
    """SHA-256 of a stored file, computed chunk by chunk."""
    digest = hashlib.sha256()
    with disk.read_stream(path) as stream:
        for chunk in stream:
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class BigFile:
    manager: StorageManager
    a: FilesystemAdapter
    b: FilesystemAdapter
    sha256: str
    put_peak: Peak


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigFile]:
    """Two local disks; ``a://big.bin`` holds 256 MiB written by ``put`` of a generator."""
    base = tmp_path_factory.mktemp("streaming")
    manager = StorageManager(
        {
            "disks": {
                "a": {"driver": "local", "root": str(base / "a")},
                "b": {"driver": "local", "root": str(base / "b")},
            }
        }
    )
    a, b = manager.disk("a"), manager.disk("b")
    digest = hashlib.sha256()
    _block()
    with traced() as peak:
        a.put("big.bin", generated_chunks(TOTAL, digest))
    yield BigFile(manager, a, b, digest.hexdigest(), peak)
    manager.forget_disk("a", "b")
    shutil.rmtree(base, ignore_errors=True)  # don't leave 512 MiB behind in pytest's kept temp dirs


@pytest.mark.slow
class TestStreamingIn256MiB:
    def test_put_of_a_generator(self, big: BigFile) -> None:
        assert big.put_peak.bytes < LIMIT, f"put(generator) peaked at {big.put_peak}"
        assert big.a.size("big.bin") == TOTAL
        assert disk_sha256(big.a, "big.bin") == big.sha256

    def test_read_stream_iteration(self, big: BigFile) -> None:
        digest = hashlib.sha256()
        seen = 0
        with traced() as peak:
            with big.a.read_stream("big.bin") as stream:
                for chunk in stream:
                    seen += len(chunk)
                    digest.update(chunk)
        assert peak.bytes < LIMIT, f"read_stream peaked at {peak}"
        assert seen == TOTAL
        assert digest.hexdigest() == big.sha256

    def test_put_of_a_binary_file_object(self, big: BigFile) -> None:
        source = big.a.path("big.bin")  # written beforehand, in chunks, by the fixture
        with traced() as peak:
            with open(source, "rb") as handle:
                big.b.put("from-file.bin", handle)
        assert peak.bytes < LIMIT, f"put(file object) peaked at {peak}"
        assert big.b.size("from-file.bin") == TOTAL
        assert disk_sha256(big.b, "from-file.bin") == big.sha256
        big.b.delete("from-file.bin")

    def test_write_stream(self, big: BigFile) -> None:
        source = big.a.path("big.bin")
        with traced() as peak:
            with open(source, "rb", buffering=0) as raw:
                big.b.write_stream("streamed.bin", iter(functools.partial(raw.read, CHUNK), b""))
        assert peak.bytes < LIMIT, f"write_stream peaked at {peak}"
        assert big.b.size("streamed.bin") == TOTAL
        assert disk_sha256(big.b, "streamed.bin") == big.sha256
        big.b.delete("streamed.bin")

    def test_copy_across_local_disks(self, big: BigFile) -> None:
        with traced() as peak:
            written = big.manager.copy("a://big.bin", "b://big.bin")
        assert peak.bytes < LIMIT, f"StorageManager.copy peaked at {peak}"
        assert written == "big.bin"
        assert big.b.size("big.bin") == TOTAL
        assert disk_sha256(big.b, "big.bin") == big.sha256
        assert big.a.file_exists("big.bin")  # a copy, not a move


def _assert_progress(calls: list[tuple[int, int | None]], total: int, *, total_known: bool) -> None:
    assert calls, "the progress callback was never called"
    done = [count for count, _ in calls]
    assert all(later > earlier for earlier, later in zip(done, done[1:], strict=False)), done
    assert done[-1] == total
    if total_known:
        assert {reported for _, reported in calls} == {total}


def test_progress_callbacks_on_a_local_disk(tmp_path: Path) -> None:
    disk = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path)}}}).disk("local")
    size = 3 * MiB + 12_345  # several chunks and a short last one
    data = os.urandom(size)

    put_calls: list[tuple[int, int | None]] = []
    disk.put("file.bin", io.BytesIO(data), progress=lambda done, total: put_calls.append((done, total)))
    _assert_progress(put_calls, size, total_known=True)
    assert len(put_calls) > 1

    generator_calls: list[tuple[int, int | None]] = []
    pieces = (data[start : start + 700_000] for start in range(0, size, 700_000))
    disk.put("gen.bin", pieces, progress=lambda done, total: generator_calls.append((done, total)))
    _assert_progress(generator_calls, size, total_known=False)

    bytes_calls: list[tuple[int, int | None]] = []
    disk.put("bytes.bin", data, progress=lambda done, total: bytes_calls.append((done, total)))
    _assert_progress(bytes_calls, size, total_known=True)

    get_calls: list[tuple[int, int | None]] = []
    assert disk.get("file.bin", progress=lambda done, total: get_calls.append((done, total))) == data
    _assert_progress(get_calls, size, total_known=True)
    assert len(get_calls) > 1
    assert disk.get("gen.bin") == data

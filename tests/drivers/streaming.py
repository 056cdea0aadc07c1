"""A shared check: a disk moves a large file through put and read_stream in bounded memory."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator

from flystore import FilesystemAdapter


def assert_streams_in_bounded_memory(
    disk: FilesystemAdapter, *, size: int, limit: int, path: str = "large.bin"
) -> None:
    """Put ``size`` bytes from a generator, read them back as a stream, and check the bytes and
    that Python's peak allocation stayed under ``limit`` (the file itself never sits in memory)."""
    block = os.urandom(1024 * 1024)
    written = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            written.update(block)
            yield block

    tracemalloc.start()
    try:
        disk.put(path, chunks())
        read = hashlib.sha256()
        total = 0
        with disk.read_stream(path) as stream:
            for chunk in stream:
                read.update(chunk)
                total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    assert read.hexdigest() == written.hexdigest()
    assert peak < limit, f"peak {peak / 2**20:.1f} MiB for a {size // 2**20} MiB file"

"""The compressed disk against zstandard (and zlib) alone: ratio and throughput, text and random bytes.

    python benchmarks/bench_compressed.py             # 64 MiB of each corpus, best of 5
    python benchmarks/bench_compressed.py --mib 256

Measures, in one run, on a generated text corpus (log lines in JSON) and on random bytes:
- zstandard alone (level 3): one ``compress()`` call on the whole buffer and ``copy_stream`` into a
  sink that keeps nothing, and one ``decompress()`` call;
- the compressed disk (zstd level 3): ``put`` of a stream into a base disk that discards what it is
  given (the disk's own work, like the library runs), ``put`` into a memory disk, and ``read_stream``
  from a memory disk;
- zlib alone (gzip level 6, one stream) against the disk with ``codec: gzip``;
- a 4 KiB ranged read in the middle of the text file: bytes read from the base disk and time.
Times are the process's CPU time (best of ``--repeats``, runs interleaved), so other load on the
machine does not skew the ratios. It prints ratios flystore/library (target for zstd: >= 0.85x
zstandard's throughput).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import zstandard

from flystore import CompressedFilesystemAdapter, FilesystemAdapter
from flystore.decorators.base import DecoratedBackend
from flystore.drivers.memory import MemoryBackend
from tests.counting import Counting

MIB = 1024 * 1024


class _Sink(io.RawIOBase):
    """Counts what is written and keeps nothing."""

    written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = len(data)
        self.written += size
        return size


class Discarding(DecoratedBackend):
    """Drains what is written and keeps nothing: the disk's own work, as the libraries' runs measure theirs."""

    def write_stream(self, path: str, stream: Any, options: Any) -> None:
        while stream.read(MIB):
            pass


def text_corpus(size: int, seed: int = 42) -> bytes:
    """JSON log lines: the kind of text an application stores."""
    rng = random.Random(seed)
    paths = [f"/api/v{v}/{noun}/{{id}}" for v in (1, 2) for noun in ("users", "orders", "items", "carts", "search")]
    agents = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "python-httpx/0.27", "okhttp/4.12"]
    lines = []
    total = 0
    while total < size:
        line = json.dumps({
            "ts": 1_700_000_000 + total // 97, "level": rng.choice(["info", "info", "info", "warn", "error"]),
            "method": rng.choice(["GET", "GET", "POST", "PUT", "DELETE"]),
            "path": rng.choice(paths).format(id=rng.randrange(100_000)),
            "status": rng.choice([200, 200, 201, 404, 500]),
            "ms": round(rng.expovariate(1 / 40), 2), "agent": rng.choice(agents), "user": rng.randrange(5000),
        }) + "\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def interleaved(repeats: int, runs: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """The best CPU time of each run; the runs take turns within every repeat.

    Everything measured runs on this one thread, so the process's CPU time is its work, and
    other load on a shared machine (which stretches wall-clock times unevenly) does not count.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.process_time()
            run()
            times[name].append(time.process_time() - started)
    return {name: min(values) for name, values in times.items()}


def _drain(disk: CompressedFilesystemAdapter) -> None:
    with disk.read_stream("f") as stream:
        for _ in stream:
            pass


def measure(name: str, data: bytes, repeats: int) -> list[tuple[str, str]]:
    size = len(data)

    def rate(seconds: float) -> str:
        return f"{size / MIB / seconds:8.0f} MiB/s"

    cctx, dctx = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
    zstd_stored = cctx.compress(data)

    def zlib_stream() -> None:
        squeezer = zlib.compressobj(6, zlib.DEFLATED, 31)
        view = memoryview(data)
        for start in range(0, size, MIB):
            squeezer.compress(view[start:start + MIB])
        squeezer.flush()

    counting = Counting(MemoryBackend())
    zdisk = CompressedFilesystemAdapter(FilesystemAdapter(counting, name="base"), "zstd")
    gdisk = CompressedFilesystemAdapter(FilesystemAdapter(MemoryBackend(), name="base"), "gzip")
    zdisk.put("f", data)
    gdisk.put("f", data)
    znull = CompressedFilesystemAdapter(FilesystemAdapter(Discarding(MemoryBackend()), name="null"), "zstd")
    gnull = CompressedFilesystemAdapter(FilesystemAdapter(Discarding(MemoryBackend()), name="null"), "gzip")
    t = interleaved(repeats, {
        "zstd put": lambda: cctx.compress(data),
        "zstd stream put": lambda: cctx.copy_stream(io.BytesIO(data), _Sink()),
        "disk zstd put": lambda: znull.put("f", io.BytesIO(data)),
        "disk zstd memory put": lambda: zdisk.put("f", io.BytesIO(data)),
        "zstd get": lambda: dctx.decompress(zstd_stored),
        "disk zstd get": lambda: _drain(zdisk),
        "zlib put": zlib_stream,
        "disk gzip put": lambda: gnull.put("f", io.BytesIO(data)),
        "disk gzip get": lambda: _drain(gdisk),
    })
    zinfo, ginfo = zdisk.compression_info("f"), gdisk.compression_info("f")
    skipped = ", skipped" if zinfo.skipped else ""
    rows = [
        (f"{name}: zstandard alone, compress (one call, in memory)", rate(t["zstd put"])),
        (f"{name}: zstandard alone, compress (copy_stream)", rate(t["zstd stream put"])),
        (f"{name}: compressed disk (zstd) put, output discarded", rate(t["disk zstd put"])),
        ("  put throughput vs zstandard's faster (target >= 0.85x)",
         f"{min(t['zstd put'], t['zstd stream put']) / t['disk zstd put']:8.2f}x"),
        (f"{name}: compressed disk (zstd) put, into a memory disk", rate(t["disk zstd memory put"])),
        (f"{name}: zstandard alone, decompress (one call)", rate(t["zstd get"])),
        (f"{name}: compressed disk (zstd) read_stream", rate(t["disk zstd get"])),
        ("  read throughput vs zstandard", f"{t['zstd get'] / t['disk zstd get']:8.2f}x"),
        (f"{name}: size ratio, zstandard alone (one frame)", f"{size / len(zstd_stored):8.2f}"),
        (f"{name}: size ratio, compressed disk ({zinfo.frames} frames{skipped})", f"{size / zinfo.stored_size:8.2f}"),
        (f"{name}: zlib alone, gzip level 6", rate(t["zlib put"])),
        (f"{name}: compressed disk (gzip) put, output discarded", rate(t["disk gzip put"])),
        ("  put throughput vs zlib", f"{t['zlib put'] / t['disk gzip put']:8.2f}x"),
        (f"{name}: compressed disk (gzip) read_stream", rate(t["disk gzip get"])),
        (f"{name}: size ratio, compressed disk (gzip{', skipped' if ginfo.skipped else ''})",
         f"{size / ginfo.stored_size:8.2f}"),
    ]
    if name == "text":
        counting.counter.clear()
        started = time.perf_counter()
        with zdisk.open("f") as handle:
            handle.seek(size // 2)
            assert handle.read(4096) == data[size // 2:size // 2 + 4096]
        ranged = time.perf_counter() - started
        rows += [(f"{name}: 4 KiB at the middle, bytes read from the base disk", f"{counting.counter['bytes']:8d}"),
                 (f"{name}: 4 KiB at the middle, time", f"{ranged * 1000:8.1f} ms")]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=64, help="corpus size in MiB (default 64)")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs (default 5)")
    args = parser.parse_args(argv)
    size = args.mib * MIB
    rows = measure("text", text_corpus(size), args.repeats) + measure("random", os.urandom(size), args.repeats)
    print(f"compressed disk, {args.mib} MiB per corpus, frames of 512 KiB, zstd level 3 / gzip level 6, "
          f"best of {args.repeats}, CPU time")
    for label, value in rows:
        print(f"  {label:<62} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

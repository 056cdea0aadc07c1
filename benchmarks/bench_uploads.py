#!/usr/bin/env python
"""Upload and thumbnail benchmark (issue 9, section 5). One run, prints figures and ratios.

1. ``UploadHandler.process_file`` of a 100 MiB non-seekable upload (type check, markup scan,
   clamd INSTREAM, store on a local disk) against a plain ``disk.put`` of the same stream
   followed by a plain clamd INSTREAM of it. Target <= 1.2x; peak traced memory < 32 MiB.
2. Thumbnails of a 24-megapixel JPEG: ``ImageProcessor.sync.generate_thumbnails`` against
   Pillow alone (``Image.draft`` + ``thumbnail`` + save). Target <= 1.1x.

Needs Debian's clamd (``/usr/sbin/clamd``); it is started here with the offline EICAR database.

    python benchmarks/bench_uploads.py [--mib 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(HERE.parent))

from flystore import StorageManager  # noqa: E402
from flystore.images import ImageProcessor  # noqa: E402
from flystore.uploads import UploadConfig, UploadHandler, scan_stream  # noqa: E402
from tests.services_clamd import running_clamd  # noqa: E402

MIB = 1024 * 1024


class Stream(io.RawIOBase):
    """A non-seekable upload of ``total`` bytes, made on the fly (no 100 MiB buffer)."""

    def __init__(self, total: int, name: str = "data.bin") -> None:
        self.total, self.served, self.name = total, 0, name
        self.block = (b"flystore benchmark payload " * 40000)[:MIB]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = min(size if size and size > 0 else MIB, self.total - self.served, MIB)
        self.served += size
        return self.block[:size]


def upload_bench(mib: int, repeats: int, workdir: Path, address: str) -> None:
    storage = StorageManager({"default": "local", "disks": {"local": {"driver": "local", "root": str(workdir)}}})
    disk = storage.disk("local")
    total = mib * MIB
    handler = UploadHandler(
        UploadConfig(disk="local", max_file_size=total + 1, virus_scan=True, clamd=address), manager=storage
    )
    flystore_times, plain_times, peaks = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        disk.put("plain.bin", Stream(total))
        again = Stream(total)
        verdict = scan_stream(iter(functools.partial(again.read, MIB), b""), address)
        plain_times.append(time.perf_counter() - started)
        assert not verdict.infected
        started = time.perf_counter()
        result = asyncio.run(handler.process_file(Stream(total, "data.bin")))
        flystore_times.append(time.perf_counter() - started)
        disk.delete([result.file_path, "plain.bin"])
    tracemalloc.start()  # a separate run: tracing slows Python down, so it is not timed
    result = asyncio.run(handler.process_file(Stream(total, "data.bin")))
    peaks.append(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    disk.delete(result.file_path)
    ours, plain = statistics.median(flystore_times), statistics.median(plain_times)
    ratio = ours / plain
    print(f"process_file {mib} MiB (validate + clamd + local store): {ours:.2f} s")
    print(f"plain disk.put + plain INSTREAM:                   {plain:.2f} s")
    print(f"ratio {ratio:.2f}x (target <= 1.2x) {'PASS' if ratio <= 1.2 else 'MISS'}")
    peak = max(peaks) / MIB
    print(f"peak traced memory {peak:.1f} MiB (target < 32 MiB) {'PASS' if peak < 32 else 'MISS'}")


def thumbnail_bench(repeats: int, workdir: Path) -> None:
    from PIL import Image

    source = workdir / "big.jpg"
    Image.effect_noise((6000, 4000), 40).convert("RGB").save(source, "JPEG", quality=90)  # 24 MP
    storage = StorageManager({"default": "local", "disks": {"local": {"driver": "local", "root": str(workdir)}}})
    processor = ImageProcessor(manager=storage).sync
    ours, pillow = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        with Image.open(source) as image:
            image.draft("RGB", (600, 600))
            image.thumbnail((300, 300))
            image.save(workdir / "pillow_thumb.jpg", "JPEG", quality=85)
        pillow.append(time.perf_counter() - started)
        started = time.perf_counter()
        processor.generate_thumbnails("big.jpg", [(300, 300)], crop=False, quality=85)
        ours.append(time.perf_counter() - started)
    a, b = statistics.median(ours), statistics.median(pillow)
    print(f"thumbnail of a 24 MP JPEG: flystore {a * 1000:.0f} ms, Pillow draft+thumbnail {b * 1000:.0f} ms")
    print(f"ratio {a / b:.2f}x (target <= 1.1x) {'PASS' if a / b <= 1.1 else 'MISS'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "clamd").mkdir()
        (work / "disk").mkdir()
        with running_clamd(work / "clamd", stream_max=f"{args.mib + 10}M") as clamd:
            upload_bench(args.mib, args.repeats, work / "disk", f"unix://{clamd['socket']}")
        thumbnail_bench(args.repeats, work / "disk")


if __name__ == "__main__":
    main()

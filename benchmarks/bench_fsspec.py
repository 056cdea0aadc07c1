"""Benchmark ``disk.fs`` against the raw fsspec filesystem underneath (issue 8, item 6).

A standalone script, not a test. In one run, for a memory, a local and an s3
disk (on a moto server it starts on 127.0.0.1), it times on 2,000 small files
``pipe_file``, ``cat_file``, ``info`` and ``find``, and one 64 MiB sequential
read in 1 MiB chunks, through ``disk.fs`` and through the raw fsspec filesystem
(fsspec's ``MemoryFileSystem``, ``LocalFileSystem`` under the same root, the
disk's own ``s3fs`` instance). It prints seconds (CPU time of this process, in
which the moto server runs too, unless ``--wall``) and the ratio flystore/raw;
the target is <= 1.15x for each. Each operation alternates raw and disk.fs
``--rounds`` times and keeps each side's best.

Run: ``python benchmarks/bench_fsspec.py [--files 2000] [--big-mib 64] [--rounds 5] [--skip-s3]``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flystore import StorageManager

TARGET = 1.15


#: What ``timed`` measures: this process's CPU time (user + system; the moto server and s3fs's loop
#: run in it too), so other processes on a busy machine do not count; ``--wall`` measures wall time.
CLOCK = time.process_time


def timed(action: Callable[[], Any]) -> float:
    gc.disable()
    try:
        start = CLOCK()
        action()
        return CLOCK() - start
    finally:
        gc.enable()


def _operations(files: int) -> dict[str, Callable[[Any, str], Any]]:
    """Each timed operation, given a filesystem and the base directory of its 2,000 files."""
    payload = b"x" * 512
    names = [f"d{i % 20}/f{i}.txt" for i in range(files)]

    def read_big(fs: Any, base: str) -> None:
        with fs.open(f"{base}/big.bin", "rb") as handle:
            while handle.read(1024 * 1024):
                pass

    fresh = itertools.count()

    def pipe_new(fs: Any, base: str) -> None:
        # New names every time (parents included), as a writer of new files sees it. Timed last:
        # the files it adds would slow raw memory's info, which scans them all.
        batch = f"{base}/new{next(fresh)}"
        for name in names:
            fs.pipe_file(f"{batch}/{name}", payload)

    return {
        "cat_file": lambda fs, base: [fs.cat_file(f"{base}/{name}") for name in names],
        "info": lambda fs, base: [fs.info(f"{base}/{name}") for name in names],
        "find": lambda fs, base: fs.find(base),
        "read 64 MiB": read_big,
        "pipe_file": pipe_new,
    }


def jail_floor(root: str, files: int, ours: Any, rounds: int) -> tuple[float, float]:
    """``(disk.fs ratio, floor ratio)`` of local ``info``, measured together (see docs/fsspec.md).

    Raw fsspec's ``info`` is one ``stat``. The jail reaches each file's directory without
    following links: it opens every directory on the way with ``O_NOFOLLOW`` (and closes it)
    before an ``fstatat``, two directories per file here. The floor is raw plus just those
    system calls, ``(raw + 2 * open_close) / raw``: disk.fs with no Python of flystore's at all.
    """
    import fsspec

    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    root = os.path.realpath(root)
    paths = [f"bench/d{i % 20}/f{i}.txt" for i in range(files)]
    absolute = [f"{root}/{path}" for path in paths]
    directories = [os.path.dirname(path) for path in absolute]
    raw_fs = fsspec.filesystem("file", skip_instance_cache=True)
    close, open_ = os.close, os.open
    actions: dict[str, Callable[[], Any]] = {
        "raw": lambda: [raw_fs.info(path) for path in absolute],
        "ours": lambda: [ours.info(path) for path in paths],
        "open_close": lambda: [close(open_(directory, flags)) for directory in directories],
    }
    best = dict.fromkeys(actions, float("inf"))
    for _ in range(max(rounds, 5)):
        for key, action in actions.items():
            best[key] = min(best[key], timed(action))
    return best["ours"] / best["raw"], (best["raw"] + 2 * best["open_close"]) / best["raw"]


def compare(label: str, ours: Any, raw: Any, raw_base: str, files: int, big: bytes, rounds: int = 5) -> list[float]:
    """Time every operation on both sides, alternating raw and disk.fs ``rounds`` times; each keeps its best.

    Alternating per operation (not per whole workload) means a busy machine's drift hits both alike.
    """
    sides = {"raw": (raw, raw_base), "ours": (ours, "bench")}
    operations = _operations(files)
    payload = b"x" * 512
    for fs, base in sides.values():  # the files the reads time, written once, untimed
        for i in range(files):
            fs.pipe_file(f"{base}/d{i % 20}/f{i}.txt", payload)
        fs.pipe_file(f"{base}/big.bin", big)
    ratios = []
    for key, operation in operations.items():
        best = dict.fromkeys(sides, float("inf"))
        spent = 0.0
        trials = 0
        # At least ``rounds`` alternations; quick operations (a few ms) get more, up to 50, until both
        # sides have spent a second together, so one scheduler hiccup cannot decide their ratio.
        # (pipe_file adds files every time: it keeps to ``rounds``.)
        while trials < rounds or (spent < 1.0 and trials < 50 and key != "pipe_file"):
            trials += 1
            for side, (fs, base) in sides.items():
                seconds = timed(lambda fs=fs, base=base: operation(fs, base))  # noqa: B023
                spent += seconds
                best[side] = min(best[side], seconds)
        ratio = best["ours"] / best["raw"]
        ratios.append(ratio)
        flag = "" if ratio <= TARGET else "  (over target)"
        print(f"{label:7} {key:12} raw {best['raw']:8.3f}s  disk.fs {best['ours']:8.3f}s  "
              f"ratio {ratio:5.2f}x{flag}", flush=True)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--big-mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5, help="alternations per operation; each side keeps its best")
    parser.add_argument("--skip-s3", action="store_true")
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of this process's CPU time")
    args = parser.parse_args()
    if args.wall:
        global CLOCK
        CLOCK = time.perf_counter
    big = os.urandom(1024 * 1024) * args.big_mib
    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    with tempfile.TemporaryDirectory() as tmp:
        manager = StorageManager({"disks": {"memory": {"driver": "memory"}, "local": {"driver": "local", "root": tmp}}})
        raw_memory = MemoryFileSystem(skip_instance_cache=True)
        raw_memory.store = {}
        raw_memory.pseudo_dirs = [""]
        raw_base = f"/raw-{uuid.uuid4().hex[:6]}"
        compare("memory", manager.disk("memory").fs, raw_memory, raw_base, args.files, big, args.rounds)
        raw_local = fsspec.filesystem("file", auto_mkdir=True, skip_instance_cache=True)
        compare("local", manager.disk("local").fs, raw_local, f"{tmp}/raw", args.files, big, args.rounds)
        ours_ratio, floor = jail_floor(tmp, args.files, manager.disk("local").fs, args.rounds)
        print(f"local   info again with the floor: disk.fs {ours_ratio:5.2f}x; the jail's system calls alone "
              f"(no Python of flystore's) {floor:5.2f}x", flush=True)
    if args.skip_s3:
        return
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        disk = StorageManager({"disks": {"s3": {"driver": "s3", "bucket": bucket, "endpoint": endpoint,
                                                "key": "testing", "secret": "testing", "region": "us-east-1",
                                                "create_bucket": True}}}).disk("s3")
        disk.put("warm", b"1")
        raw_s3 = disk.backend.fs  # type: ignore[attr-defined]  # the s3fs instance the disk uses
        compare("s3", disk.fs, raw_s3, f"{bucket}/raw", args.files, big, args.rounds)
        disk.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()

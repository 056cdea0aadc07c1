"""Benchmark ``disk.fs`` against the raw fsspec filesystem underneath (issue 8, item 6).

A standalone script, not a test. In one run, for a memory, a local and an s3
disk (on a moto server it starts on 127.0.0.1), it times on 2,000 small files
``pipe_file``, ``cat_file``, ``info`` and ``find``, and one 64 MiB sequential
read in 1 MiB chunks, through ``disk.fs`` and through the raw fsspec filesystem
(fsspec's ``MemoryFileSystem``, ``LocalFileSystem`` under the same root, the
disk's own ``s3fs`` instance). It prints seconds and the ratio
flystore/raw; the target is <= 1.15x for each.

Run: ``python benchmarks/bench_fsspec.py [--files 2000] [--big-mib 64]``.
"""

from __future__ import annotations

import argparse
import gc
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


def timed(action: Callable[[], Any]) -> float:
    gc.disable()
    try:
        start = time.perf_counter()
        action()
        return time.perf_counter() - start
    finally:
        gc.enable()


def workload(fs: Any, base: str, files: int, big: bytes) -> dict[str, float]:
    names = [f"{base}/d{i % 20}/f{i}.txt" for i in range(files)]
    payload = b"x" * 512
    results = {
        "pipe_file": timed(lambda: [fs.pipe_file(name, payload) for name in names]),
        "cat_file": timed(lambda: [fs.cat_file(name) for name in names]),
        "info": timed(lambda: [fs.info(name) for name in names]),
        "find": timed(lambda: fs.find(base)),
    }
    fs.pipe_file(f"{base}/big.bin", big)

    def read_big() -> None:
        with fs.open(f"{base}/big.bin", "rb") as handle:
            while handle.read(1024 * 1024):
                pass

    results["read 64 MiB"] = timed(read_big)
    return results


def jail_floor(root: str, files: int) -> float:
    """The local ``info`` ratio the jail's system calls alone impose (see docs/fsspec.md).

    For the files ``info`` timed, it times only the system calls a jailed stat makes
    (``open`` every directory with ``O_NOFOLLOW`` from the root, ``fstatat`` the name, ``close``)
    against one plain ``stat`` of the same path, raw fsspec's single system call, and returns
    ``(raw + walk - stat) / raw``: disk.fs with zero Python overhead of its own.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    root = os.path.realpath(root)
    paths = [f"bench/r0ours/d{i % 20}/f{i}.txt" for i in range(files)]

    def walk() -> None:
        for path in paths:
            *directories, name = path.split("/")
            fd = os.open(f"{root}/{directories[0]}", flags)
            for segment in directories[1:]:
                child = os.open(segment, flags, dir_fd=fd)
                os.close(fd)
                fd = child
            os.stat(name, dir_fd=fd, follow_symlinks=False)
            os.close(fd)

    def plain() -> None:
        for path in paths:
            os.stat(f"{root}/{path}", follow_symlinks=False)

    raw_fs = __import__("fsspec").filesystem("file", skip_instance_cache=True)
    absolute = [f"{root}/{path}" for path in paths]
    best = {"walk": 1e9, "stat": 1e9, "raw": 1e9}
    for _ in range(5):
        best["walk"] = min(best["walk"], timed(walk))
        best["stat"] = min(best["stat"], timed(plain))
        best["raw"] = min(best["raw"], timed(lambda: [raw_fs.info(path) for path in absolute]))
    return (best["raw"] + best["walk"] - best["stat"]) / best["raw"]


def compare(label: str, ours: Any, raw: Any, raw_base: str, files: int, big: bytes, rounds: int = 3) -> list[float]:
    ratios = []
    # Interleave: raw, ours, raw, ours; keep each one's best, so drift (and a busy machine) hits both alike.
    best_raw: dict[str, float] = {}
    best_ours: dict[str, float] = {}
    for round_ in range(rounds):
        for which, fs, base, best in (("raw", raw, raw_base, best_raw), ("ours", ours, "bench", best_ours)):
            run_base = f"{base}/r{round_}{which}"
            for key, seconds in workload(fs, run_base, files, big).items():
                best[key] = min(best.get(key, seconds), seconds)
    for key in best_raw:
        ratio = best_ours[key] / best_raw[key]
        ratios.append(ratio)
        flag = "" if ratio <= TARGET else "  (over target)"
        print(f"{label:7} {key:12} raw {best_raw[key]:8.3f}s  disk.fs {best_ours[key]:8.3f}s  "
              f"ratio {ratio:5.2f}x{flag}")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--big-mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each side keeps its best")
    parser.add_argument("--skip-s3", action="store_true")
    args = parser.parse_args()
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
        floor = jail_floor(tmp, args.files)
        print(f"local   info floor: the jail's system calls alone (no Python of flystore's) make {floor:5.2f}x")
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

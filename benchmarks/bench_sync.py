"""Benchmark ``flystore.sync`` against rclone and a plain s3fs baseline (issue 11, part 2).

A standalone script, not a test. It starts moto's server as a process of its
own on 127.0.0.1 (so no client shares the server's interpreter), writes a tree
of files of 1-100 KiB (2,000 files, about 100 MB; ``--quick``: 200), and syncs
it to one bucket per tool in one run:

1. a first, full sync;
2. a re-sync with nothing changed (rclone plain, which HEADs every object, and
   rclone ``--checksum --fast-list``; flystore by size and time, and by checksum);
   the quick ones take turns over three rounds and the best of each is kept;
3. a re-sync after changing 20 files, counting the uploads (three rounds, 20 other
   files each, best of each tool).

The baseline is s3fs as a user would write a sync by hand: list the bucket,
compare sizes, ``put`` what differs. It prints seconds per step and the
targets of the issue: a first sync no slower than the baseline, a no-change
re-sync no slower than ``rclone --checksum --fast-list``, and a 20-changed
re-sync that uploads exactly 20 objects within 1.5x the no-change time plus
the 20 uploads.

Needs ``moto[server]``, ``s3fs`` and the ``rclone`` binary (``apt-get install rclone``;
scripts/provision.sh installs it). Run: ``python benchmarks/bench_sync.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flystore import StorageManager
from flystore.sync import SyncReport

CHANGED = 20
ROUNDS = 3


def free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_moto() -> tuple[subprocess.Popen[bytes], int]:
    """moto's server on a free port; another port is tried when a busy machine takes the first one."""
    for _ in range(5):
        port = free_port()
        with open(os.devnull, "wb") as quiet:
            process = subprocess.Popen([shutil.which("moto_server") or "moto_server", "-H", "127.0.0.1", "-p",
                                        str(port)], stdout=quiet, stderr=quiet)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
            time.sleep(0.1)
        process.kill()
        process.wait(10)
    raise RuntimeError("moto_server did not start")


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's server CLI on a loopback port, in a process of its own."""
    process, port = _start_moto()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def make_tree(root: Path, files: int, seed: int = 11) -> int:
    """``files`` files of 1-100 KiB under ``root`` in 40 directories; returns the bytes written."""
    rng = random.Random(seed)
    total = 0
    for number in range(files):
        size = rng.randint(1024, 100 * 1024)
        path = root / f"d{number % 40:02}" / f"f{number:05}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
        total += size
    return total


def change_files(root: Path, count: int, round_: int = 0) -> list[str]:
    """Rewrite ``count`` files (another set each round) with new contents of the same size."""
    rng = random.Random(99 + round_)
    every = sorted(str(path.relative_to(root)) for path in root.rglob("*.bin"))
    names = every[round_ :: max(1, len(every) // count)][:count]
    later = time.time() + 5  # clearly newer than the first upload, for size-and-time compares
    for name in names:
        path = root / name
        path.write_bytes(rng.randbytes(path.stat().st_size))
        os.utime(path, (later, later))
    return names


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


# -- the three tools --------------------------------------------------------------------------------


def rclone(endpoint: str, source: Path, bucket: str, *flags: str) -> int:
    """``rclone sync`` of ``source`` to ``bucket``; returns the number of objects it uploaded."""
    env = {key: value for key, value in os.environ.items() if key != "AWS_CA_BUNDLE"}
    env.update({"RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_MOTO_TYPE": "s3", "RCLONE_CONFIG_MOTO_PROVIDER": "Other",
                "RCLONE_CONFIG_MOTO_ENDPOINT": endpoint, "RCLONE_CONFIG_MOTO_ACCESS_KEY_ID": "testing",
                "RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY": "testing", "RCLONE_CONFIG_MOTO_REGION": "us-east-1",
                "RCLONE_CONFIG_MOTO_FORCE_PATH_STYLE": "true"})
    done = subprocess.run(["rclone", "sync", str(source), f"moto:{bucket}/tree", "--transfers", "8", "-v", *flags],
                          env=env, capture_output=True, text=True, check=True)
    return done.stderr.count(": Copied (")


def flystore_sync(manager: StorageManager, compare: str = "size_mtime") -> SyncReport:
    report = manager.sync("local://", "s3://tree", mode="mirror", delete=True, compare=compare, transfers=8)
    if not report.ok:
        raise RuntimeError(f"flystore sync failed: {dict(list(report.errors.items())[:3])}")
    return report


def put_directly(manager: StorageManager, source: Path, names: list[str]) -> None:
    """Upload ``names`` over their keys with 8 threads, as the sync's transfers do, and nothing else."""
    from concurrent.futures import ThreadPoolExecutor

    disk = manager.disk("s3")

    def put(name: str) -> None:
        with open(source / name, "rb") as handle:
            disk.put(f"tree/{name}", handle)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, names))


def s3fs_baseline(endpoint: str, source: Path, bucket: str) -> int:
    """List the bucket, compare sizes, put what differs: a hand-written sync over s3fs. Returns uploads."""
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint, use_listings_cache=False)
    remote = {info["name"][len(bucket) + 6 :]: info["size"]
              for info in fs.find(f"{bucket}/tree", detail=True).values()}
    local = {str(path.relative_to(source)): path.stat().st_size for path in source.rglob("*") if path.is_file()}
    todo = sorted(name for name, size in local.items() if remote.get(name) != size)
    if todo:
        fs.put([str(source / name) for name in todo], [f"{bucket}/tree/{name}" for name in todo])
    return len(todo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 files instead of 2,000")
    parser.add_argument("--files", type=int, default=None)
    arguments = parser.parse_args()
    files = arguments.files or (200 if arguments.quick else 2000)
    if shutil.which("rclone") is None:
        raise SystemExit("rclone is not installed: apt-get install rclone (scripts/provision.sh does it)")
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        source = work / "tree"
        total = make_tree(source, files)
        print(f"tree: {files} files, {total / 1e6:.1f} MB")
        with moto_server() as endpoint:
            manager = StorageManager({"disks": {
                "local": {"driver": "local", "root": str(source)},
                "s3": {"driver": "s3", "bucket": "flystore", "endpoint": endpoint, "key": "testing",
                       "secret": "testing", "region": "us-east-1", "create_bucket": True},
            }})
            import s3fs

            s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint).mkdir("rclone")
            s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint).mkdir("baseline")
            rows: dict[str, float] = {}

            rows["rclone first"], _ = timed(lambda: rclone(endpoint, source, "rclone"))
            rows["s3fs baseline first"], _ = timed(lambda: s3fs_baseline(endpoint, source, "baseline"))
            rows["flystore first"], first = timed(lambda: flystore_sync(manager))
            assert len(first.copied) == files, "flystore's first sync did not copy every file"

            rows["rclone no-change"], _ = timed(lambda: rclone(endpoint, source, "rclone"))
            rows["flystore no-change (checksum, first hashing)"], _ = timed(lambda: flystore_sync(manager, "checksum"))
            # The quick re-syncs take turns, three rounds, best of each: a busy machine's drift hits all alike.
            quick: dict[str, Callable[[], Any]] = {
                "rclone --checksum --fast-list no-change":
                    lambda: rclone(endpoint, source, "rclone", "--checksum", "--fast-list"),
                "s3fs baseline no-change": lambda: s3fs_baseline(endpoint, source, "baseline"),
                "flystore no-change (size_mtime)": lambda: flystore_sync(manager),
                "flystore no-change (checksum, cached hashes)": lambda: flystore_sync(manager, "checksum"),
            }
            for _ in range(ROUNDS):
                for label, action in quick.items():
                    seconds, result = timed(action)
                    rows[label] = min(rows.get(label, seconds), seconds)
                    if isinstance(result, SyncReport) and result.bytes:
                        raise RuntimeError("a no-change re-sync moved bytes")

            # Three rounds of 20 other files each, best of each tool: the same treatment as the quick re-syncs.
            uploads: dict[str, set[int]] = {"rclone": set(), "flystore": set()}
            for round_ in range(ROUNDS):
                changed_names = change_files(source, CHANGED, round_)
                seconds, copied = timed(lambda: rclone(endpoint, source, "rclone", "--checksum", "--fast-list"))
                label = "rclone --checksum --fast-list 20 changed"
                rows[label] = min(rows.get(label, seconds), seconds)
                uploads["rclone"].add(copied)
                seconds, report = timed(lambda: flystore_sync(manager, "checksum"))
                label = "flystore 20 changed (checksum)"
                rows[label] = min(rows.get(label, seconds), seconds)
                uploads["flystore"].add(len(report.updated))
                # What the 20 uploads cost by themselves: the same files put again over the same keys.
                seconds, _ = timed(lambda names=changed_names: put_directly(manager, source, names))  # type: ignore[misc]
                label = "20 direct uploads (8 threads)"
                rows[label] = min(rows.get(label, seconds), seconds)
            manager.disk("s3").close()

        width = max(map(len, rows))
        for label, seconds in rows.items():
            print(f"  {label:<{width}}  {seconds:7.2f} s")
        budget = 1.5 * rows["flystore no-change (checksum, cached hashes)"] + rows["20 direct uploads (8 threads)"]
        print("targets:")
        print(f"  first sync vs s3fs baseline: {rows['flystore first'] / rows['s3fs baseline first']:.2f}x (<= 1.00)")
        anchor = rows["rclone --checksum --fast-list no-change"]
        plain, cached = rows["flystore no-change (size_mtime)"], rows["flystore no-change (checksum, cached hashes)"]
        print(f"  no-change vs rclone --checksum --fast-list: {plain / anchor:.2f}x (size_mtime), "
              f"{cached / anchor:.2f}x (checksum, cached) (<= 1.00)")
        print(f"  20 changed: uploaded {sorted(uploads['flystore'])} per round (rclone {sorted(uploads['rclone'])}), "
              f"{rows['flystore 20 changed (checksum)']:.2f} s against a budget of {budget:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

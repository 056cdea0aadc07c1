"""The failover disk: what it costs while healthy, how fast it fails over, how fast it repairs.

A standalone script, not a test. It starts its own moto server on 127.0.0.1 and puts
tests/faultproxy.py in front of it, so the primary can be made unreachable in two
ways: "refuse" (nothing listens: a stopped server) and "blackhole" (connections are
accepted and never answered: a hung server or a dropped route). In one run it measures

1. healthy overhead: 4 KiB put/get/exists through a plain disk, through
   failover(disk, memory) and through replicated failover(disk, memory), interleaved in
   rounds, with a memory disk as the primary (flystore's own cost) and with s3; prints
   the time per operation and the ratio to the plain disk;
2. failover latency: the first put and get after the primary becomes unreachable
   (the calls that pay the driver's timeouts), and a put once its circuit is open,
   with the s3 driver's defaults and with ``retries: 0, timeout: 1``;
3. repair: files written while the primary was down, then ``repair()``: files/s, MiB/s.

Run: ``python benchmarks/bench_failover.py [--small 300] [--rounds 3] [--repair-files 200]``.
Needs ``flystore[s3]`` and ``moto[server]``; well under a minute with the defaults,
plus the blackhole timeouts (about 2 x 15 s with the driver's defaults).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.update({"AWS_EC2_METADATA_DISABLED": "true"})
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flystore import FilesystemAdapter, StorageManager
from flystore.decorators.failover import FailoverFilesystemAdapter
from tests.faultproxy import FaultProxy

KiB = 1024
MiB = 1024 * KiB
CREDENTIALS = {"key": "testing", "secret": "testing", "region": "us-east-1"}


def _s3(endpoint: str, bucket: str, **options: Any) -> dict[str, Any]:
    return {"driver": "s3", "bucket": bucket, "prefix": uuid.uuid4().hex, "endpoint": endpoint, **CREDENTIALS,
            **options}


def _per_op(action: Callable[[int], Any], count: int) -> float:
    started = time.perf_counter()
    for number in range(count):
        action(number)
    return (time.perf_counter() - started) / count


def healthy_overhead(endpoint: str | None, bucket: str, small: int, rounds: int) -> None:
    """Plain disk vs failover vs replicated failover; the primary is s3 (``endpoint``) or memory (None)."""
    payload = os.urandom(4 * KiB)
    contenders: dict[str, FilesystemAdapter] = {}
    managers = []
    primary = _s3(endpoint, bucket) if endpoint else {"driver": "memory"}
    for label, failover in (("plain", None), ("failover", {}), ("replicated", {"replicate": True})):
        manager = StorageManager({"disks": {"first": primary, "second": {"driver": "memory"}}})
        managers.append(manager)
        if failover is None:
            contenders[label] = manager.disk("first")
        else:
            contenders[label] = FailoverFilesystemAdapter([manager.disk("first"), manager.disk("second")],
                                                          name=label, **failover)
    figures: dict[tuple[str, str], list[float]] = {}
    for round_number in range(rounds):
        order = list(contenders.items())
        order = order[round_number % len(order):] + order[: round_number % len(order)]
        for label, disk in order:
            for verb, action in (
                ("put", lambda n, disk=disk: disk.put(f"k/{n}.bin", payload)),
                ("get", lambda n, disk=disk: disk.get(f"k/{n}.bin")),
                ("exists", lambda n, disk=disk: disk.exists(f"k/{n}.bin")),
            ):
                figures.setdefault((label, verb), []).append(_per_op(action, small))
    kind = "s3 (moto)" if endpoint else "memory"
    print(f"\n1. healthy, primary {kind}, 4 KiB x {small}, median of {rounds} rounds "
          "(us per op; ratio to the plain disk)")
    for verb in ("put", "get", "exists"):
        base = statistics.median(figures[("plain", verb)])
        cells = [f"{label} {statistics.median(figures[(label, verb)]) * 1e6:8.1f}"
                 f" ({statistics.median(figures[(label, verb)]) / base:4.2f}x)" for label in contenders]
        print(f"   {verb:<7}" + "   ".join(cells))
    for manager in managers:
        manager.configure({"disks": {}})


def failover_latency(proxy: FaultProxy, bucket: str) -> None:
    print("\n2. failover latency: first put and get after the primary becomes unreachable, then a put "
          "with its circuit open (seconds)")
    for mode in ("refuse", "blackhole"):
        for label, options in (("driver defaults", {}), ("retries 0, timeout 1", {"retries": 0, "timeout": 1})):
            proxy.mode = "forward"
            manager = StorageManager({"disks": {"s3": _s3(proxy.url_for("http"), bucket, **options),
                                                "memory": {"driver": "memory"}}})
            disk = FailoverFilesystemAdapter([manager.disk("s3"), manager.disk("memory")], replicate=True,
                                             write_quorum=1, failure_threshold=2, name="f")
            disk.put("warm.txt", b"w")
            proxy.mode = mode  # type: ignore[assignment]
            timings = []
            for action in (lambda disk=disk: disk.put("a.txt", b"a"), lambda disk=disk: disk.get("warm.txt"),
                           lambda disk=disk: disk.put("b.txt", b"b")):
                started = time.perf_counter()
                action()
                timings.append(time.perf_counter() - started)
            state = disk.health()["s3"]
            print(f"   {mode:<9} {label:<22} first put {timings[0]:6.3f}   first get {timings[1]:6.3f}   "
                  f"put, circuit {state} {timings[2]:6.3f}")
            proxy.mode = "forward"
            manager.configure({"disks": {}})


def repair_speed(proxy: FaultProxy, bucket: str, files: int) -> None:
    proxy.mode = "forward"
    manager = StorageManager({"disks": {"s3": _s3(proxy.url_for("http"), bucket, retries=0, timeout=1),
                                        "memory": {"driver": "memory"}}})
    disk = FailoverFilesystemAdapter([manager.disk("s3"), manager.disk("memory")], replicate=True, write_quorum=1,
                                     name="f")
    proxy.mode = "refuse"
    payload = os.urandom(64 * KiB)
    for number in range(files):
        disk.put(f"r/{number}.bin", payload)
    proxy.mode = "forward"
    started = time.perf_counter()
    report = disk.repair()
    elapsed = time.perf_counter() - started
    again = time.perf_counter()
    disk.repair()
    idle = time.perf_counter() - again
    print(f"\n3. repair of {files} x 64 KiB missed by the s3 primary: {elapsed:.2f} s "
          f"({files / elapsed:.0f} files/s, {report.bytes / MiB / elapsed:.1f} MiB/s); "
          f"a repair with nothing to do: {idle:.2f} s")
    manager.configure({"disks": {}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repair-files", type=int, default=200)
    arguments = parser.parse_args()
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = int(server.get_host_and_port()[1])
    endpoint = f"http://127.0.0.1:{port}"
    bucket = f"bench-failover-{uuid.uuid4().hex[:8]}"
    StorageManager({"disks": {"d": {**_s3(endpoint, bucket), "create_bucket": True}}}).disk("d").put("k", b"")
    try:
        healthy_overhead(None, bucket, arguments.small * 10, arguments.rounds)
        healthy_overhead(endpoint, bucket, arguments.small, arguments.rounds)
        with FaultProxy("127.0.0.1", port) as proxy:
            failover_latency(proxy, bucket)
            repair_speed(proxy, bucket, arguments.repair_files)
    finally:
        server.stop()


if __name__ == "__main__":
    main()

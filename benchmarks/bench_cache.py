"""Benchmark the cached and cdn decorators: cache hits against uncached S3 gets, and CDN API calls.

A standalone script, not a test. It starts its own moto server (S3 and
CloudFront) and a redis-server on 127.0.0.1, then in one run measures

- ``get`` of a 4 KiB object on an S3 disk (moto), uncached, and as a cache hit
  through a ``cached`` disk on each store (memory, filesystem, redis);
- the CloudFront ``create_invalidation`` calls a ``cdn`` disk makes for 1,000
  overwrites (read back from moto's ``list_invalidations``).

It prints microseconds per get (median of batches, stores taking turns), the
ratio hit/uncached per store beside the targets (memory <= 0.05x, redis <=
0.5x), and the CDN call count. Run: ``python benchmarks/bench_cache.py
[--gets 300] [--batch 50]``. Needs ``flystore[s3,redis]``, ``moto[server]`` and
Debian's ``redis-server``; about 20 s.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGETS = {"memory": 0.05, "redis": 0.5}


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    finally:
        server.stop()


@contextlib.contextmanager
def redis_server(directory: str) -> Iterator[str]:
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def timed(operation: Callable[[], Any], count: int) -> float:
    """Seconds per call of ``count`` calls, with the garbage collector paused."""
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(count):
            operation()
        return (time.perf_counter() - start) / count
    finally:
        gc.enable()


def bench_gets(endpoint: str, redis_url: str, scratch: str, gets: int, batch: int) -> dict[str, float]:
    from flystore import CachedFilesystemAdapter, StorageManager

    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    s3 = StorageManager({"disks": {"s3": {"driver": "s3", "bucket": bucket, "endpoint": endpoint,
                                          "create_bucket": True, "key": "testing", "secret": "testing",
                                          "region": "us-east-1"}}}).disk("s3")
    payload = os.urandom(4096)
    s3.put("object.bin", payload)
    disks: dict[str, Any] = {
        "uncached": s3,
        "memory": CachedFilesystemAdapter(s3, "memory", 3600),
        "filesystem": CachedFilesystemAdapter(s3, "filesystem", 3600, path=os.path.join(scratch, "fs-cache")),
        "redis": CachedFilesystemAdapter(s3, "redis", 3600, redis_url=redis_url, namespace=f"{bucket}:"),
    }
    for disk in disks.values():
        assert disk.get("object.bin") == payload  # warms each cache
    samples: dict[str, list[float]] = {name: [] for name in disks}
    names = list(disks)
    for round_number in range(max(1, gets // batch)):
        order = names[round_number % len(names):] + names[: round_number % len(names)]
        for name in order:
            samples[name].append(timed(functools.partial(disks[name].get, "object.bin"), batch))
    for name in ("memory", "filesystem", "redis"):
        stats = disks[name].cache_stats()
        assert stats["misses"] == 1, (name, stats)  # every timed get was a hit
    return {name: statistics.median(values) for name, values in samples.items()}


def bench_cdn(endpoint: str, overwrites: int) -> tuple[int, int]:
    import boto3

    from flystore import CDNFilesystemAdapter, StorageManager

    client = boto3.session.Session().client("cloudfront", endpoint_url=endpoint, region_name="us-east-1")
    made = client.create_distribution(DistributionConfig={
        "CallerReference": uuid.uuid4().hex, "Comment": "bench", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "o.s3.amazonaws.com",
                                               "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all", "MinTTL": 0,
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0}},
    })
    distribution_id = made["Distribution"]["Id"]
    origin = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    disk = CDNFilesystemAdapter(origin, "https://cdn.example.com", True, distribution_id=distribution_id,
                                endpoint=endpoint, key="testing", secret="testing", batch_window=60)
    for number in range(overwrites):
        disk.put(f"assets/{number % 1000}.css", str(number))
    disk.close()
    listed = client.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get("Items", [])
    paths = 0
    for item in listed:
        detail = client.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
        paths += detail["Invalidation"]["InvalidationBatch"]["Paths"]["Quantity"]
    client.close()
    return len(listed), paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gets", type=int, default=300, help="timed gets per disk")
    parser.add_argument("--batch", type=int, default=50, help="gets per timed batch")
    parser.add_argument("--overwrites", type=int, default=1000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, moto_server() as endpoint, redis_server(scratch) as redis_url:
        figures = bench_gets(endpoint, redis_url, scratch, arguments.gets, arguments.batch)
        calls, paths = bench_cdn(endpoint, arguments.overwrites)
    uncached = figures["uncached"]
    print(f"get 4 KiB from S3 (moto), median of batches of {arguments.batch}:")
    print(f"  {'uncached':<15} {uncached * 1e6:9.1f} us")
    for name in ("memory", "filesystem", "redis"):
        ratio = figures[name] / uncached
        target = TARGETS.get(name)
        verdict = "" if target is None else f"   target <= {target:.2f}x  {'PASS' if ratio <= target else 'MISS'}"
        print(f"  {name + ' hit':<15} {figures[name] * 1e6:9.1f} us   {ratio:6.3f}x uncached{verdict}")
    print(f"cdn: {arguments.overwrites} overwrites -> {calls} create_invalidation call(s), {paths} path(s)")


if __name__ == "__main__":
    main()

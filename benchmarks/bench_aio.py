"""Benchmark flystore.aio batches against sequential boto3, obstore's async API and s3fs's batches.

A standalone script, not a test. It starts one moto server (in a child
process, so that it does not share the clients' GIL) and in one run measures
``put_many`` and ``get_many`` of N x 4 KiB objects through

- flystore.aio (``await disk.aio.put_many(...)`` / ``get_many``),
- boto3, one object after the other (what code without batches does),
- obstore's async API (``obs.put_async``/``get_async`` under ``asyncio.gather``),
- s3fs's native batches (``await fs._pipe({...})`` / ``await fs._cat([...])``),

each with the same concurrency, clients taking turns over the rounds, and
prints the best time per batch and the ratios. Targets: flystore.aio at least
5x faster than sequential boto3 and within 1.2x of obstore. It also measures
the async overhead on a memory disk: ``await disk.aio.get`` vs ``disk.get``.

Run: ``python benchmarks/bench_aio.py [--objects 500] [--rounds 3] [--concurrency 32]``.
Needs ``flystore[s3]``, ``moto[server]``, ``obstore`` and ``aiobotocore`` (the test extra).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
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

SMALL = 4096


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise SystemExit("moto.server did not start") from None
            time.sleep(0.1)


def best(runs: list[float]) -> float:
    return min(runs)


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    arguments = parser.parse_args()
    count, concurrency = arguments.objects, arguments.concurrency

    import boto3
    import obstore
    import s3fs
    from obstore.store import S3Store

    from flystore import StorageManager

    server, endpoint = start_moto()
    try:
        bucket = f"bench-aio-{uuid.uuid4().hex[:10]}"
        disk = StorageManager({"disks": {"s3": {
            "driver": "s3", "bucket": bucket, "endpoint": endpoint, "create_bucket": True,
            "key": "testing", "secret": "testing", "region": "us-east-1",
            "max_concurrency": concurrency,
        }}}).disk("s3")
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        store = S3Store(bucket, endpoint=endpoint, region="us-east-1", access_key_id="testing",
                        secret_access_key="testing", client_options={"allow_http": True})
        fs = s3fs.S3FileSystem(key="testing", secret="testing", asynchronous=True,
                               client_kwargs={"endpoint_url": endpoint, "region_name": "us-east-1"},
                               max_concurrency=concurrency)
        payload = os.urandom(SMALL)

        def keys(who: str, round_number: int) -> list[str]:
            return [f"{who}/{round_number}/{number:05}.bin" for number in range(count)]

        async def bounded(jobs: list[Callable[[], Awaitable[Any]]]) -> None:
            gate = asyncio.Semaphore(concurrency)

            async def one(job: Callable[[], Awaitable[Any]]) -> None:
                async with gate:
                    await job()

            await asyncio.gather(*(one(job) for job in jobs))

        async def run() -> dict[str, dict[str, list[float]]]:
            await fs.set_session()
            results: dict[str, dict[str, list[float]]] = {}

            def note(who: str, what: str, seconds: float) -> None:
                results.setdefault(who, {}).setdefault(what, []).append(seconds)

            async def one_round(round_number: int) -> None:
                # flystore.aio
                names = keys("flystore", round_number)
                note("flystore.aio", "put", await timed(lambda: disk.aio.put_many(
                    {name: payload for name in names}, max_concurrency=concurrency)))
                got: Any = None

                async def flystore_get() -> None:
                    nonlocal got
                    got = await disk.aio.get_many(names, max_concurrency=concurrency)

                note("flystore.aio", "get", await timed(flystore_get))
                assert got.ok and all(value == payload for value in got.results.values())

                # boto3, sequential (in a thread, so that the loop is not the one blocked)
                names_b = keys("boto3", round_number)

                def boto_put() -> None:
                    for name in names_b:
                        client.put_object(Bucket=bucket, Key=name, Body=payload)

                def boto_get() -> None:
                    for name in names_b:
                        client.get_object(Bucket=bucket, Key=name)["Body"].read()

                note("boto3 sequential", "put", await timed(lambda: asyncio.to_thread(boto_put)))
                note("boto3 sequential", "get", await timed(lambda: asyncio.to_thread(boto_get)))

                # obstore async
                names_o = keys("obstore", round_number)
                note("obstore async", "put", await timed(lambda: bounded(
                    [functools.partial(obstore.put_async, store, name, payload) for name in names_o])))

                async def obstore_get(name: str) -> bytes:
                    return bytes(await (await obstore.get_async(store, name)).bytes_async())

                note("obstore async", "get", await timed(lambda: bounded(
                    [functools.partial(obstore_get, name) for name in names_o])))

                # s3fs batches
                names_s = [f"{bucket}/{name}" for name in keys("s3fs", round_number)]
                note("s3fs _pipe/_cat", "put", await timed(lambda: fs._pipe(
                    {name: payload for name in names_s}, batch_size=concurrency)))
                note("s3fs _pipe/_cat", "get", await timed(lambda: fs._cat(names_s, batch_size=concurrency)))

            for round_number in range(arguments.rounds):
                await one_round(round_number)
            return results

        results = asyncio.run(run())
        print(f"{count} x 4 KiB objects, concurrency {concurrency}, best of {arguments.rounds} rounds, "
              "moto in a child process")
        print(f"{'client':<20}{'put_many':>12}{'get_many':>12}")
        for who, times in results.items():
            print(f"{who:<20}{best(times['put']) * 1000:>10.0f}ms{best(times['get']) * 1000:>10.0f}ms")
        ours = results["flystore.aio"]
        for other in ("boto3 sequential", "obstore async", "s3fs _pipe/_cat"):
            for what in ("put", "get"):
                ratio = best(results[other][what]) / best(ours[what])
                print(f"  {what}: flystore.aio is {ratio:.2f}x the speed of {other}")
        disk.close()
    finally:
        server.terminate()
        server.wait(10)

    memory = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    memory.put("k.txt", b"x" * SMALL)
    calls = 2000
    started = time.perf_counter()
    for _ in range(calls):
        memory.get("k.txt")
    sync_each = (time.perf_counter() - started) / calls

    async def awaited() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            await memory.aio.get("k.txt")
        return (time.perf_counter() - started) / calls

    async_each = asyncio.run(awaited())
    print(f"memory disk, per call: get {sync_each * 1e6:.1f} us, await aio.get {async_each * 1e6:.1f} us "
          f"(overhead {(async_each - sync_each) * 1e6:.1f} us, {async_each / sync_each:.1f}x)")


if __name__ == "__main__":
    main()

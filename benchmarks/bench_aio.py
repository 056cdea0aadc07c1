"""Benchmark flystore.aio batches against sequential boto3, obstore's async API and s3fs's batches.

A standalone script, not a test. It starts one moto server (in a child
process, so that it does not share the clients' GIL) and in one run measures
``put_many`` and ``get_many`` of N x 4 KiB objects through

- flystore.aio (``await disk.aio.put_many(...)`` / ``get_many``),
- boto3, one object after the other (what code without batches does),
- obstore's async API (``obs.put_async``/``get_async`` under ``asyncio.gather``),
- s3fs's native batches (``await fs._pipe({...})`` / ``await fs._cat([...])``),

each with the same concurrency. The clients take turns inside every round
(the order reverses from one round to the next), so a loaded machine slows
them alike; it prints the best, median and worst time of each and the ratios
of the medians. Targets: flystore.aio at least 5x faster than sequential boto3
and within 1.2x of obstore.

On loopback the server sets the ceiling. moto answers every request with ``Connection:
close`` (a new connection and a new server thread per request) and is one
Python process, so its own CPU per request bounds every client. The script
shows that ceiling in the same run: the fastest concurrent client (obstore
with four times the concurrency is one more), and two bounds from CPU times.
The server's user CPU for a batch is the least time any client could take
(its Python code runs one thread at a time); boto3's CPU plus the server's
for the sequential batch is what the loop would take on an idle machine,
where nothing else waits for a core. Their ratio is the most any client
could be faster than sequential boto3 there.

Loopback has no latency, so a batch there is bound by CPU alone, and on two
cores by moto's. Real S3 answers a small request in tens of milliseconds (AWS's
guidance for latency-sensitive applications: requests under 512 KB have median
latencies in the tens of milliseconds), time a client spends waiting, not
computing. So every run makes one pass per ``--latency-ms`` value (default 0
and 10) against the same server: with a value set, every request waits that
long in its server thread before moto handles it (a sleep: no CPU, and
requests in flight wait side by side, as they do at S3). The 10 ms pass is the
low end of what S3 answers with; the targets are judged there, and the
loopback pass shows the CPU ceiling.

It also measures the async overhead on a memory disk: ``await disk.aio.get``
vs ``disk.get``.

Run: ``python benchmarks/bench_aio.py [--objects 500] [--rounds 5] [--concurrency 32] [--latency-ms 0 10]``.
Needs ``flystore[s3]``, ``moto[server]``, ``obstore`` and ``aiobotocore`` (the test extra).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
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
CLIENTS = ("flystore.aio", "boto3 sequential", "obstore async", "s3fs _pipe/_cat")
PROBE = "obstore, 4x in flight"
FLOOR = "moto's user CPU"
IDLE = "boto3 sequential, CPU"


def serve_moto(port: int) -> None:
    """Run moto's own WSGI app (what ``python -m moto.server`` runs) behind a latency switch.

    ``GET /__latency__/<ms>`` sets how long every later request waits in its server thread before moto
    handles it: time without CPU, the way a request to real S3 spends tens of milliseconds in the network
    and the service. The switch lets one server serve every pass of a run.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    moto = DomainDispatcherApplication(create_backend_app)
    latency = [0.0]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/__latency__/"):
            latency[0] = float(path.rsplit("/", 1)[1]) / 1000
            start_response("204 No Content", [("Content-Length", "0")])
            return [b""]
        if latency[0]:
            time.sleep(latency[0])
        return moto(environ, start_response)

    run_simple("127.0.0.1", port, app, threaded=True)


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve-moto", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise SystemExit("moto did not start") from None
            time.sleep(0.1)


def set_latency(endpoint: str, milliseconds: float) -> None:
    with urllib.request.urlopen(f"{endpoint}/__latency__/{milliseconds}", timeout=10) as answer:
        assert answer.status == 204


def cpu_times(pid: int) -> tuple[float, float] | None:
    """Seconds of user and system CPU the process has used (all its threads), or None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def spread(runs: list[float]) -> str:
    return f"{min(runs) * 1000:6.0f} {statistics.median(runs) * 1000:6.0f} {max(runs) * 1000:6.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0.0, 10.0],
                        help="one pass per value: the time every request waits in the server (default: 0 10)")
    parser.add_argument("--serve-moto", type=int, metavar="PORT", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_moto:
        serve_moto(arguments.serve_moto)
        return
    count, concurrency = arguments.objects, arguments.concurrency

    import boto3
    import obstore
    import s3fs
    from obstore.store import S3Store

    from flystore import StorageManager

    server, endpoint = start_moto()
    passes: dict[float, dict[str, dict[str, list[float]]]] = {}
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

        def keys(who: str, latency: float, round_number: int) -> list[str]:
            return [f"{who.split()[0]}/{latency}/{round_number}/{number:05}.bin" for number in range(count)]

        async def bounded(jobs: list[Callable[[], Awaitable[Any]]], width: int) -> list[Any]:
            gate = asyncio.Semaphore(width)

            async def one(job: Callable[[], Awaitable[Any]]) -> Any:
                async with gate:
                    return await job()

            return await asyncio.gather(*(one(job) for job in jobs))

        async def obstore_get(name: str) -> bytes:
            return bytes(await (await obstore.get_async(store, name)).bytes_async())

        def obstore_batch(names: list[str], what: str, width: int) -> Awaitable[list[Any]]:
            if what == "put":
                return bounded([functools.partial(obstore.put_async, store, name, payload) for name in names], width)
            return bounded([functools.partial(obstore_get, name) for name in names], width)

        async def flystore_batch(names: list[str], what: str) -> None:
            if what == "put":
                assert (await disk.aio.put_many({name: payload for name in names}, max_concurrency=concurrency)).ok
                return
            got = await disk.aio.get_many(names, max_concurrency=concurrency)
            assert got.ok and all(value == payload for value in got.results.values())

        def boto_batch(names: list[str], what: str) -> Awaitable[float]:
            def run() -> float:  # in a thread, so that the loop is not the one blocked
                started = time.thread_time()
                for name in names:
                    if what == "put":
                        client.put_object(Bucket=bucket, Key=name, Body=payload)
                    else:
                        client.get_object(Bucket=bucket, Key=name)["Body"].read()
                return time.thread_time() - started  # boto3's own CPU for the batch

            return asyncio.to_thread(run)

        async def s3fs_batch(names: list[str], what: str) -> None:
            paths = [f"{bucket}/{name}" for name in names]
            if what == "put":
                await fs._pipe(dict.fromkeys(paths, payload), batch_size=concurrency)
            else:
                await fs._cat(paths, batch_size=concurrency)

        batches: dict[str, Callable[[list[str], str], Awaitable[Any]]] = {
            "flystore.aio": flystore_batch,
            "boto3 sequential": boto_batch,
            "obstore async": lambda names, what: obstore_batch(names, what, concurrency),
            "s3fs _pipe/_cat": s3fs_batch,
            PROBE: lambda names, what: obstore_batch(names, what, concurrency * 4),
        }

        def note(latency: float, who: str, what: str, seconds: float) -> None:
            passes.setdefault(latency, {}).setdefault(who, {}).setdefault(what, []).append(seconds)

        async def one_pass(latency: float) -> None:
            for round_number in range(arguments.rounds):
                order = list(batches) if round_number % 2 == 0 else list(reversed(batches))
                for what in ("put", "get"):
                    for who in order:
                        names = keys(who, latency, round_number)
                        before = cpu_times(server.pid)
                        started = time.perf_counter()
                        outcome = await batches[who](names, what)
                        note(latency, who, what, time.perf_counter() - started)
                        after = cpu_times(server.pid)
                        if before is None or after is None:
                            continue
                        if who == PROBE:
                            note(latency, FLOOR, what, after[0] - before[0])
                        elif who == "boto3 sequential" and not latency:  # client CPU + server CPU, in turn
                            note(latency, IDLE, what, outcome + after[0] - before[0] + after[1] - before[1])

        async def run() -> None:
            await fs.set_session()
            try:
                for latency in arguments.latency_ms:
                    set_latency(endpoint, latency)
                    await one_pass(latency)
            finally:
                await fs._s3.close()  # s3fs leaves its aiohttp session open otherwise

        asyncio.run(run())
        client.close()
        disk.close()
    finally:
        server.terminate()
        server.wait(10)

    for latency, results in passes.items():
        report(results, count, concurrency, arguments.rounds, latency)
    memory_overhead()


def report(results: dict[str, dict[str, list[float]]], count: int, concurrency: int, rounds: int,
           latency: float) -> None:
    median = {who: {what: statistics.median(runs) for what, runs in times.items()} for who, times in results.items()}
    wait = f"every request waits {latency:g} ms in the server" if latency else "no added latency (loopback)"
    print(f"\n{count} x 4 KiB objects, concurrency {concurrency}, {rounds} rounds (clients take turns), "
          f"moto in a child process, {wait}")
    print(f"{'':<28}{'put_many ms: best median worst':>32}{'get_many ms: best median worst':>34}")
    for who in (*CLIENTS, PROBE, FLOOR, IDLE):
        if who in results:
            print(f"{who:<28}{spread(results[who]['put']):>32}{spread(results[who]['get']):>34}")
    notes = [f"{PROBE}: {concurrency * 4} requests at once",
             f"{FLOOR}: the server's user CPU for that batch, the least time any client could take"]
    if IDLE in results:
        notes.append(f"{IDLE}: boto3's CPU + the server's for its batch, its time on an idle machine")
    print("  (" + ";\n   ".join(notes) + ")")
    ours = median["flystore.aio"]
    print("ratios of the medians (above 1: flystore.aio is faster):")
    for other, target in (("boto3 sequential", ">= 5"), ("obstore async", ">= 0.83"), ("s3fs _pipe/_cat", "")):
        cells = "  ".join(f"{what} {median[other][what] / ours[what]:5.2f}x" for what in ("put", "get"))
        print(f"  vs {other:<18}{cells}" + (f"   (target {target})" if target else ""))
    concurrent = [who for who in (*CLIENTS, PROBE) if who in median and who != "boto3 sequential"]
    print("the ceiling (how much faster than sequential boto3 any client can be):")
    for what in ("put", "get"):
        fastest = min(concurrent, key=lambda who: median[who][what])
        best = median["boto3 sequential"][what] / median[fastest][what]
        share = median[fastest][what] / ours[what]
        line = f"  {what}: the fastest client here ({fastest}) is {best:.2f}x; flystore.aio reaches {share:.2f} of it"
        if FLOOR in median and IDLE in median:
            line += (f"; bounds: {median['boto3 sequential'][what] / median[FLOOR][what]:.2f}x on this loaded machine, "
                     f"{median[IDLE][what] / median[FLOOR][what]:.2f}x on an idle one")
        print(line)


def memory_overhead() -> None:
    from flystore import StorageManager

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

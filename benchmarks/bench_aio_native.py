"""Benchmark flystore.aio batches against gcsfs's and adlfs's native async batches (GCS and Azure).

A standalone script, not a test. flystore.aio runs a disk's calls in a thread
pool; gcsfs and adlfs can instead batch on the caller's own event loop. This
measures which is faster for the gcs and azure drivers, in one run, with
``put_many`` and ``get_many`` of N x 4 KiB objects through

- flystore.aio (``await disk.aio.put_many(...)`` / ``get_many``),
- the library's native async batch on the caller's loop: gcsfs
  ``GCSFileSystem(asynchronous=True)`` / adlfs ``AzureBlobFileSystem(asynchronous=True)``,
  ``await fs._pipe({...})`` / ``await fs._cat([...])`` with ``batch_size`` = the concurrency,
- the same native put, each preceded by the one listing request that flystore's
  write makes first (to refuse a file over a directory), so that the
  comparison separates the thread pool from that extra request,
- the same disk, one call after the other (``disk.put`` / ``disk.get``), the baseline.

The servers run outside this process, so that they do not share the clients'
GIL: gcp-storage-emulator in a child Python process, Azurite (Node, from
``node_modules/.bin/azurite-blob``) as a subprocess, both on 127.0.0.1. The
emulator's own server is a single-threaded ``http.server.HTTPServer``; the
child serves it with ``ThreadingHTTPServer`` instead so that requests in
flight are answered side by side, as a real service does, and it skips the
emulator's rewrite of one JSON document of all objects' metadata after every
write (in memory nothing reads it back; left in, a put costs O(objects
stored) and, threaded, races the dict being written). Each GCS pass per
``--latency-ms`` value starts a fresh emulator whose every request sleeps that
long before it is handled (no CPU: the wait a client of real GCS spends on the
network); Azurite is measured on bare loopback only (its server cannot be
given a wait without a proxy in front, which would add its own CPU).

The clients take turns inside every round (the order reverses from one round
to the next), so a loaded machine slows them alike; the script prints the
best, median and worst time of each, the client process's CPU per request
(``time.process_time`` over the batch / N: every thread of this process,
servers excluded) and the ratios of the medians.

Run: ``python benchmarks/bench_aio_native.py [--objects 300] [--rounds 5] [--concurrency 32]
[--latency-ms 0 10] [--only gcs azure]``. Needs ``flystore[gcs,azure]``, ``gcp-storage-emulator``
and Azurite (``npm ci``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # else gcsfs waits on a gRPC fallback

SMALL = 4096
OURS, NATIVE, CHECKED, SEQUENTIAL = "flystore.aio", "native async", "native + dir check", "sequential disk"
CLIENTS = (OURS, NATIVE, CHECKED, SEQUENTIAL)
AZURITE_ACCOUNT = "devstoreaccount1"  # Azurite's fixed, publicly documented development account and key
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

Batch = Callable[[list[str], str], Awaitable[None]]
Check = Callable[[str], Awaitable[None]]


def serve_gcs(port: int, latency_ms: float) -> None:
    """Run gcp-storage-emulator in memory on ``port``, threaded, every request waiting ``latency_ms`` first."""
    import http.server
    import logging

    from gcp_storage_emulator import server as emulator  # type: ignore[import-untyped]
    from gcp_storage_emulator import storage  # type: ignore[import-untyped]

    logging.getLogger("gcp_storage_emulator").setLevel(logging.CRITICAL)
    http.server.HTTPServer = http.server.ThreadingHTTPServer  # type: ignore[misc]  # this child process only
    http.server.ThreadingHTTPServer.request_queue_size = 256
    http.server.ThreadingHTTPServer.daemon_threads = True
    if latency_ms:
        handle = emulator.RequestHandler.handle_one_request

        def waiting(self: Any) -> None:
            time.sleep(latency_ms / 1000)
            handle(self)

        emulator.RequestHandler.handle_one_request = waiting  # type: ignore[method-assign]
    # In memory, the emulator re-serialises the metadata of every object it holds (one JSON
    # document, read back only at start-up) after every write: a put would cost O(objects stored)
    # and, threaded, race the dict it iterates. Nothing reads that document back here.
    storage.Storage._write_config_to_file = lambda self: None
    emulator.RequestHandler.log_message = lambda *args: None  # type: ignore[method-assign]
    running = emulator.create_server("127.0.0.1", port, in_memory=True)
    running.start()
    while True:
        time.sleep(3600)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def spawned(argv: list[str], port: int, cwd: str | None = None) -> Iterator[None]:
    """Start ``argv``, wait until ``port`` accepts connections, stop the process afterwards.

    Raises:
        SystemExit: the process exited or did not open its port within 60 s.
    """
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{argv[0]} did not start") from None
                time.sleep(0.1)
        yield
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def spread(runs: list[float], scale: float = 1000, width: int = 6, digits: int = 0) -> str:
    return " ".join(f"{value * scale:{width}.{digits}f}" for value in (min(runs), statistics.median(runs), max(runs)))


class Run:
    """Times of every client, per operation, over the rounds of one pass."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.seconds: dict[str, dict[str, list[float]]] = {}
        self.cpu: dict[str, dict[str, list[float]]] = {}

    def note(self, who: str, what: str, seconds: float, cpu: float) -> None:
        self.seconds.setdefault(who, {}).setdefault(what, []).append(seconds)
        self.cpu.setdefault(who, {}).setdefault(what, []).append(cpu)


async def measure(run: Run, batches: dict[str, Batch], rounds: int, count: int) -> None:
    for who, batch in batches.items():  # untimed: opens each client's connections and fills its pools
        for what in ("put", "get"):
            await batch([f"{who.split()[0]}/warm/{number:05}.bin" for number in range(min(count, 64))], what)
    for round_number in range(rounds):
        order = list(batches) if round_number % 2 == 0 else list(reversed(batches))
        for what in ("put", "get"):
            for who in order:
                names = [f"{who.split()[0]}/{round_number}/{number:05}.bin" for number in range(count)]
                cpu = time.process_time()
                started = time.perf_counter()
                await batches[who](names, what)
                elapsed = time.perf_counter() - started
                run.note(who, what, elapsed, (time.process_time() - cpu) / count)


def disk_batches(disk: Any, payload: bytes, concurrency: int) -> dict[str, Batch]:
    """flystore.aio's batch and the sequential loop over the same disk."""

    async def flystore_batch(names: list[str], what: str) -> None:
        if what == "put":
            done = await disk.aio.put_many(dict.fromkeys(names, payload), max_concurrency=concurrency)
            assert done.ok, list(done.errors.items())[:3]
            return
        got = await disk.aio.get_many(names, max_concurrency=concurrency)
        assert got.ok and all(value == payload for value in got.results.values())

    async def sequential_batch(names: list[str], what: str) -> None:
        def loop() -> None:  # in a thread, so that the event loop is not the one blocked
            for name in names:
                if what == "put":
                    disk.put(name, payload)
                else:
                    assert disk.get(name) == payload

        await asyncio.to_thread(loop)

    return {OURS: flystore_batch, SEQUENTIAL: sequential_batch}


def native_batch(fs: Any, root: str, payload: bytes, concurrency: int, check: Check | None = None) -> Batch:
    """The library's own ``_pipe`` / ``_cat`` on the caller's loop, ``batch_size`` requests in flight.

    With ``check``, every put first awaits ``check(path)`` (one listing request, as flystore's
    write makes to refuse a file over a directory), ``concurrency`` puts in flight.
    """

    async def checked_put(gate: asyncio.Semaphore, path: str) -> None:
        async with gate:
            assert check is not None
            await check(path)
            await fs._pipe_file(path, payload)

    async def batch(names: list[str], what: str) -> None:
        paths = [f"{root}/{name}" for name in names]
        if what == "put" and check is not None:
            gate = asyncio.Semaphore(concurrency)
            await asyncio.gather(*(checked_put(gate, path) for path in paths))
            return
        if what == "put":
            await fs._pipe(dict.fromkeys(paths, payload), batch_size=concurrency)
            return
        got = await fs._cat(paths, batch_size=concurrency)
        assert len(got) == len(paths) and all(value == payload for value in got.values())

    return batch


def bench_gcs(latency_ms: float, count: int, concurrency: int, rounds: int) -> Run:
    import gcsfs

    from flystore import StorageManager

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    run = Run("gcs (gcp-storage-emulator, threaded, child process), "
              + (f"every request waits {latency_ms:g} ms" if latency_ms else "no added latency (loopback)"))
    with spawned([sys.executable, __file__, "--serve-gcs", str(port), str(latency_ms)], port):
        bucket = f"bench-native-{uuid.uuid4().hex[:10]}"
        manager = StorageManager({"disks": {"gcs": {
            "driver": "gcs", "bucket": bucket, "endpoint": endpoint, "token": "anon", "project_id": "test",
            "create_bucket": True,
        }}})
        disk = manager.disk("gcs")
        payload = os.urandom(SMALL)

        async def main() -> None:
            fs = gcsfs.GCSFileSystem(asynchronous=True, token="anon", project="test", endpoint_url=endpoint,
                                     skip_instance_cache=True, use_listings_cache=False)
            await fs._set_session()
            try:
                batches = disk_batches(disk, payload, concurrency)
                batches[NATIVE] = native_batch(fs, f"{bucket}/native", payload, concurrency)

                async def listed(path: str) -> None:  # what flystore's _refuse_directory asks
                    page = await fs._call("GET", "b/{}/o", bucket, json_out=True,
                                          prefix=path.split("/", 1)[1] + "/", maxResults=1)
                    assert not page.get("items") and not page.get("prefixes")

                batches[CHECKED] = native_batch(fs, f"{bucket}/checked", payload, concurrency, listed)
                await measure(run, dict(sorted(batches.items())), rounds, count)
            finally:
                await fs.session.close()
                cache = getattr(fs, "_mrd_pool_cache", None)
                if cache is not None:  # else its finalizer, at exit, wants this (closed) loop
                    await cache.close()

        asyncio.run(main())
        manager.configure({"disks": {}})  # closes the disk
    return run


def bench_azure(count: int, concurrency: int, rounds: int) -> Run:
    from adlfs import AzureBlobFileSystem

    from flystore import StorageManager

    azurite = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not azurite.exists() or shutil.which("node") is None:
        raise SystemExit(f"Azurite needs node and {azurite} (npm ci)")
    port = free_port()
    connection = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                  f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};")
    run = Run("azure (Azurite in memory, Node subprocess), no added latency (loopback)")
    with tempfile.TemporaryDirectory() as workdir, spawned(
        [str(azurite), "--silent", "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck",
         "--loose", "--blobHost", "127.0.0.1", "--blobPort", str(port), "--extentMemoryLimit", "512"],
        port, cwd=workdir,
    ):
        container = f"bench-native-{uuid.uuid4().hex[:10]}"
        manager = StorageManager({"disks": {"az": {
            "driver": "azure", "container": container, "create_container": True, "connection_string": connection,
        }}})
        disk = manager.disk("az")
        payload = os.urandom(SMALL)

        async def main() -> None:
            fs = AzureBlobFileSystem(connection_string=connection, asynchronous=True, skip_instance_cache=True)
            try:
                batches = disk_batches(disk, payload, concurrency)
                batches[NATIVE] = native_batch(fs, f"{container}/native", payload, concurrency)
                client = fs.service_client.get_container_client(container)

                async def listed(path: str) -> None:  # what flystore's _refuse_directory_for asks
                    pages = client.list_blobs(name_starts_with=path.split("/", 1)[1] + "/", results_per_page=1)
                    async for page in pages.by_page():
                        assert not [blob async for blob in page]
                        break

                batches[CHECKED] = native_batch(fs, f"{container}/checked", payload, concurrency, listed)
                await measure(run, dict(sorted(batches.items())), rounds, count)
            finally:
                await fs.service_client.close()
                # adlfs's finalizers would close it again at exit, through this loop, closed by then
                for finalizer in list(getattr(weakref.finalize, "_registry", {})):
                    if (finalizer.peek() or (None,))[0] is fs:
                        finalizer.detach()

        asyncio.run(main())
        manager.configure({"disks": {}})
    return run


def report(run: Run, count: int, concurrency: int, rounds: int) -> None:
    print(f"\n{run.title}: {count} x 4 KiB objects, concurrency {concurrency}, {rounds} rounds (clients take turns)")
    print(f"{'':<18}{'put_many ms: best median worst':>32}{'get_many ms: best median worst':>34}"
          f"{'CPU us/request, put | get (median)':>38}")
    for who in CLIENTS:
        times, cpu = run.seconds[who], run.cpu[who]
        cpu_cell = f"{statistics.median(cpu['put']) * 1e6:8.0f} | {statistics.median(cpu['get']) * 1e6:<8.0f}"
        print(f"{who:<18}{spread(times['put']):>32}{spread(times['get']):>34}{cpu_cell:>38}")
    median = {who: {what: statistics.median(runs) for what, runs in times.items()}
              for who, times in run.seconds.items()}
    print("ratios of the medians (above 1: flystore.aio is faster):")
    for other in (NATIVE, CHECKED, SEQUENTIAL):
        cells = "  ".join(f"{what} {median[other][what] / median[OURS][what]:5.2f}x" for what in ("put", "get"))
        print(f"  vs {other:<20}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0.0, 10.0],
                        help="GCS: one pass per value, the time every request waits in the server (default: 0 10)")
    parser.add_argument("--only", nargs="*", choices=("gcs", "azure"), default=["gcs", "azure"])
    parser.add_argument("--serve-gcs", nargs=2, metavar=("PORT", "LATENCY_MS"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_gcs:
        serve_gcs(int(arguments.serve_gcs[0]), float(arguments.serve_gcs[1]))
        return
    count, concurrency, rounds = arguments.objects, arguments.concurrency, arguments.rounds
    runs: list[Run] = []
    if "gcs" in arguments.only:
        runs += [bench_gcs(latency, count, concurrency, rounds) for latency in arguments.latency_ms]
    if "azure" in arguments.only:
        runs.append(bench_azure(count, concurrency, rounds))
    for run in runs:
        report(run, count, concurrency, rounds)


if __name__ == "__main__":
    main()

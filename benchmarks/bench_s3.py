"""Benchmark the s3 driver against raw s3fs and boto3 (and obstore when installed).

A standalone script, not a test: it starts its own moto server on 127.0.0.1,
then in one run measures

- 4 KiB objects x 500: put, get, exists;
- 64 MiB objects: put (from bytes) and get (whole object);

through flystore, s3fs and boto3 (the default client as users get it, and
the same client with flystore's checksum policy for custom endpoints). The
4 KiB work runs in batches with the clients taking turns (rotating who goes
first), so drift of the shared machine and of the in-process server hits them
alike; the garbage collector is paused inside each timed batch, as timeit does.
It prints the time per operation (median over the batches) and the ratios
flystore/boto3 and flystore/s3fs (time ratios: below 1.00, flystore is faster).

Run: ``python benchmarks/bench_s3.py [--rounds 2] [--small 500] [--batch 50]
[--big-rounds 8] [--server-process]``. Needs ``flystore[s3]`` and
``moto[server]``; about a minute and a half on two cores.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.update(
    {  # fake credentials before any SDK is imported; never probe instance metadata
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MiB = 1024 * 1024
SMALL = 4096
BIG = 64 * MiB

Operation = Callable[[int], Any]


class Contender:
    """One client: how it puts, gets and checks existence of key number ``i``."""

    def __init__(self, name: str, put: Callable[[str, bytes], Any], get: Callable[[str], bytes],
                 exists: Callable[[str], bool], close: Callable[[], Any]) -> None:
        self.name = name
        self.put = put
        self.get = get
        self.exists = exists
        self.close = close


def start_moto() -> tuple[Any, str]:
    """moto's ThreadedMotoServer in this process (as the test suite runs it)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{server.get_host_and_port()[1]}"


def stop_moto(server: Any) -> None:
    server.stop()
    inner = getattr(server, "_server", None)
    if inner is not None:
        inner.server_close()  # stop() leaves the listening socket open


def _serve_in_child(connection: Any) -> None:
    server, endpoint = start_moto()
    connection.send(endpoint)
    connection.recv()  # wait for the parent to say stop
    stop_moto(server)


class ChildServer:
    """The same ThreadedMotoServer in a child process: it no longer shares the clients' GIL."""

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve_in_child, args=(child,), daemon=True)
        self._process.start()
        self.endpoint = str(self._connection.recv())

    def stop(self) -> None:
        self._connection.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._connection.close()


def contenders(endpoint: str, bucket: str) -> list[Contender]:
    import boto3
    import s3fs
    from botocore.config import Config

    from flystore import StorageManager

    made: list[Contender] = []
    disk = StorageManager(
        {"disks": {"s3": {"driver": "s3", "bucket": bucket, "endpoint": endpoint, "key": "testing",
                          "secret": "testing", "region": "us-east-1", "create_bucket": True}}}
    ).disk("s3")
    made.append(Contender("flystore", disk.put, disk.get, disk.exists, disk.close))

    def boto3_contender(name: str, client: Any) -> Contender:
        def exists(key: str) -> bool:
            try:
                client.head_object(Bucket=bucket, Key=key)
            except client.exceptions.ClientError as error:
                if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
            return True

        return Contender(
            name,
            lambda key, data: client.put_object(Bucket=bucket, Key=key, Body=data),
            lambda key: client.get_object(Bucket=bucket, Key=key)["Body"].read(),
            exists,
            client.close,
        )

    made.append(boto3_contender("boto3", boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")))
    # The same client with the checksum policy flystore uses for custom endpoints (no CRC32
    # on uploads, no check on downloads): separates what that policy buys from the rest.
    same_policy = Config(request_checksum_calculation="when_required", response_checksum_validation="when_required")
    made.append(boto3_contender("boto3-wr", boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                                         config=same_policy)))

    fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="testing", secret="testing", skip_instance_cache=True,
                           use_listings_cache=False)
    made.append(
        Contender(
            "s3fs",
            lambda key, data: fs.pipe_file(f"{bucket}/{key}", data),
            lambda key: fs.cat_file(f"{bucket}/{key}"),
            lambda key: fs.exists(f"{bucket}/{key}"),
            lambda: s3fs.S3FileSystem.close_session(fs.loop, fs._s3creator) if fs._s3 is not None else None,
        )
    )

    try:  # optional: obstore, when installed
        from obstore.store import S3Store  # type: ignore[import-not-found]  # optional, often absent

        store = S3Store(bucket, endpoint=endpoint, access_key_id="testing", secret_access_key="testing",
                        region="us-east-1", client_options={"allow_http": True})
        import obstore  # type: ignore[import-not-found]  # optional, often absent

        def obstore_exists(key: str) -> bool:
            try:
                obstore.head(store, key)
            except FileNotFoundError:
                return False
            return True

        made.append(
            Contender(
                "obstore",
                lambda key, data: obstore.put(store, key, data),
                lambda key: bytes(obstore.get(store, key).bytes()),
                obstore_exists,
                lambda: None,
            )
        )
    except ImportError:
        print("obstore is not installed: skipped")
    return made


def timed(operation: Callable[[], Any]) -> float:
    started = time.perf_counter()
    operation()
    return time.perf_counter() - started


def run(rounds: int, small_count: int, batch: int, big_rounds: int, *, child: bool = False
        ) -> dict[tuple[str, str], float]:
    if child:
        process = ChildServer()
        server, endpoint = None, process.endpoint
    else:
        server, endpoint = start_moto()
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    clients = contenders(endpoint, bucket)
    small = os.urandom(SMALL)
    big = os.urandom(BIG)
    samples: dict[tuple[str, str], list[float]] = {}

    def rotated(offset: int) -> list[Contender]:
        offset %= len(clients)
        return clients[offset:] + clients[:offset]

    def measure(client: Contender, operation: str, work: Callable[[], Any], count: int) -> None:
        gc.collect()
        gc.disable()  # like timeit: no collector pauses of the in-process server inside a sample
        try:
            seconds = timed(work)
        finally:
            gc.enable()
        samples.setdefault((client.name, operation), []).append(seconds / count)

    small_operations: dict[str, Callable[[Contender, str], Any]] = {
        "put 4 KiB": lambda client, key: client.put(key, small),
        "get 4 KiB": lambda client, key: len(client.get(key)) == SMALL or sys.exit(f"{client.name}: short read"),
        "exists 4 KiB": lambda client, key: client.exists(key) or sys.exit(f"{client.name}: missing {key}"),
    }
    try:
        for client in clients:  # warm up connections and code paths
            for index in range(20):
                client.put(f"{client.name}/warm-{index}", small)
                client.get(f"{client.name}/warm-{index}")
                client.exists(f"{client.name}/warm-{index}")
        # 4 KiB: batches of `batch` keys, every client in turn (rotating who goes first), so
        # slow drift of the shared machine and of the in-process server hits all clients alike.
        for operation, action in small_operations.items():
            step = 0
            for _ in range(rounds):
                for first in range(0, small_count, batch):
                    for client in rotated(step):
                        span = range(first, min(first + batch, small_count))
                        keys = [f"{client.name}/small-{index}" for index in span]

                        def work(client: Contender = client, keys: list[str] = keys,
                                 action: Callable[[Contender, str], Any] = action) -> None:
                            for key in keys:
                                action(client, key)

                        measure(client, operation, work, len(keys))
                    step += 1
        for round_number in range(big_rounds):
            for client in rotated(round_number):
                key = f"{client.name}/big.bin"
                got: list[bytes] = []

                def put_big(client: Contender = client, key: str = key) -> None:
                    client.put(key, big)

                def get_big(client: Contender = client, key: str = key, got: list[bytes] = got) -> None:
                    got.append(client.get(key))

                measure(client, "put 64 MiB", put_big, 1)
                measure(client, "get 64 MiB", get_big, 1)
                if len(got[0]) != BIG:
                    sys.exit(f"{client.name}: short 64 MiB read")
    finally:
        for client in clients:
            client.close()
        if server is not None:
            stop_moto(server)
        else:
            process.stop()
    return {key: statistics.median(values) for key, values in samples.items()}


def report(results: dict[tuple[str, str], float]) -> None:
    names = []
    for name, _ in results:
        if name not in names:
            names.append(name)
    operations = ["put 4 KiB", "get 4 KiB", "exists 4 KiB", "put 64 MiB", "get 64 MiB"]

    def show(seconds: float, operation: str) -> str:
        return f"{seconds * 1000:8.2f} ms" if "4 KiB" in operation else f"{seconds:8.3f} s "

    header = (f"{'operation':<14}" + "".join(f"{name:>13}" for name in names)
              + f"{'fly/boto3':>11}{'fly/b3-wr':>11}{'fly/s3fs':>10}")
    print(header)
    print("-" * len(header))
    for operation in operations:
        row = f"{operation:<14}" + "".join(f"{show(results[(name, operation)], operation):>13}" for name in names)
        fly = results[("flystore", operation)]
        row += (f"{fly / results[('boto3', operation)]:>11.2f}{fly / results[('boto3-wr', operation)]:>11.2f}"
                f"{fly / results[('s3fs', operation)]:>10.2f}")
        print(row)
    print("\ntime per operation: median over the timed samples; ratios are time ratios (< 1.00: flystore is faster)")
    print("boto3: default client; boto3-wr: checksums 'when_required', flystore's default for custom endpoints")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="passes over the 4 KiB objects")
    parser.add_argument("--small", type=int, default=500, help="4 KiB objects per client")
    parser.add_argument("--batch", type=int, default=50, help="4 KiB operations per timed sample")
    parser.add_argument("--big-rounds", type=int, default=8, help="rounds of the 64 MiB workloads")
    parser.add_argument("--server-process", action="store_true",
                        help="run the moto server in a child process (less noise: it no longer shares the GIL)")
    arguments = parser.parse_args()
    started = time.perf_counter()
    results = run(arguments.rounds, arguments.small, arguments.batch, arguments.big_rounds,
                  child=arguments.server_process)
    where = "a child process" if arguments.server_process else "this process"
    print(f"moto ThreadedMotoServer in {where}; {arguments.small} x 4 KiB objects per client, "
          f"{arguments.rounds} passes; 64 MiB x {arguments.big_rounds}")
    report(results)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

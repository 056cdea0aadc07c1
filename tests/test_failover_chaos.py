"""Chaos: the primary's S3 server stops in the middle of 200 mixed operations and comes back later.

The primary is an s3 disk on a ThreadedMotoServer of its own, which the test stops
after operation 60 and restarts on the same port after operation 140 (moto keeps its
buckets in-process across the restart). The fallback is a memory disk; the failover
disk replicates with a write quorum of 1. Every answer is checked against a model:
no operation may raise anything the model does not expect, no write may be lost, and
after the run ``repair()`` must leave both replicas holding the model's files, equal
by listing and by checksum. The breakers run on a logical clock (one tick per
operation), so when the primary is probed again does not depend on the machine's speed.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from flystore import FileNotFound, StorageManager
from flystore.decorators.failover import FailoverFilesystemAdapter

CREDENTIALS = {"key": "testing", "secret": "testing", "region": "us-east-1"}
OPERATIONS = 200
STOP_AT, RESTART_AT = 60, 140


class StoppableMoto:
    """A moto server on loopback that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._factory = ThreadedMotoServer
        self._server: Any = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        self.port = int(self._server.get_host_and_port()[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.stop()
        self._server._server.server_close()  # stop() leaves the listening socket open

    def start(self) -> None:
        self._server = self._factory(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()


@pytest.fixture
def moto() -> Iterator[StoppableMoto]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = StoppableMoto()
    yield server
    server.stop()


class Tick:
    """One logical second per operation."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _content(rng: random.Random, step: int) -> bytes:
    return f"step {step} ".encode() * rng.randint(1, 400)


def test_a_primary_that_stops_mid_run_loses_nothing_and_repair_makes_the_replicas_equal(
    moto: StoppableMoto,
) -> None:
    manager = StorageManager({"disks": {
        "primary": {"driver": "s3", "bucket": f"chaos-{uuid.uuid4().hex[:12]}", "endpoint": moto.endpoint,
                    "create_bucket": True, "retries": 0, "timeout": 2, **CREDENTIALS},
        "fallback": {"driver": "memory"},
    }})
    primary, fallback = manager.disk("primary"), manager.disk("fallback")
    tick = Tick()
    disk = FailoverFilesystemAdapter([primary, fallback], replicate=True, write_quorum=1, failure_threshold=2,
                                     cooldown=5, name="chaos", manager=manager, clock=tick)
    rng = random.Random(20261202)
    paths = [f"{folder}/{number}.txt" for folder in ("a", "b/c", "d") for number in range(6)]
    model: dict[str, bytes] = {}
    seen_states: set[str] = set()
    missed_in_outage = 0
    slowest_in_outage = 0.0
    for step in range(OPERATIONS):
        if step == STOP_AT:
            moto.stop()
        if step == RESTART_AT:
            missed_in_outage = len(disk.pending().get("primary", []))
            moto.start()
        tick.now += 1
        path = rng.choice(paths)
        verb = rng.choice(["put", "put", "stream", "get", "get", "exists", "delete", "list"])
        started = time.perf_counter()
        if verb == "put":
            model[path] = _content(rng, step)
            disk.put(path, model[path])
        elif verb == "stream":
            model[path] = _content(rng, step)
            disk.write_stream(path, iter([model[path][:100], model[path][100:]]))
        elif verb == "get":
            if path in model:
                assert disk.get(path) == model[path], (step, path)
            else:
                with pytest.raises(FileNotFound):
                    disk.get(path)
        elif verb == "exists":
            assert disk.exists(path) is (path in model), (step, path)
        elif verb == "delete":
            assert disk.delete(path) is (path in model), (step, path)
            model.pop(path, None)
        else:
            assert disk.all_files() == sorted(model), step
        if STOP_AT <= step < RESTART_AT:
            slowest_in_outage = max(slowest_in_outage, time.perf_counter() - started)
        seen_states.add(disk.health()["primary"])
    assert missed_in_outage >= 10, "the outage hardly touched the primary: the test did not test"
    assert {"open", "closed"} <= seen_states  # the primary was skipped, and used again after it came back
    assert disk.health()["primary"] == "closed"
    behind = disk.pending().get("primary", [])
    for path, data in model.items():  # nothing lost, before any repair
        assert disk.get(path) == data, path
    report = disk.repair()
    assert report.complete, report.errors
    assert disk.pending() == {}
    assert primary.all_files() == fallback.all_files() == sorted(model)
    for path, data in model.items():
        expected = hashlib.md5(data).hexdigest()
        assert primary.checksum(path) == fallback.checksum(path) == expected, path
    assert disk.repair(verify=True).copied == {}  # equal means nothing more to copy
    print(f"\nchaos: the primary missed {missed_in_outage} paths in the outage, {len(behind)} were still behind "
          f"at the end; repair copied "
          f"{sum(map(len, report.copied.values()))} and deleted {sum(map(len, report.deleted.values()))}; "
          f"slowest operation while the primary was down: {slowest_in_outage * 1000:.0f} ms")
    manager.configure({"disks": {}})

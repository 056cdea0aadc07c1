"""Dead endpoints fail fast and quietly; transient faults are retried (issue 6 items 6 and 7).

The timing and stderr checks run each driver in a fresh interpreter
(``cloud_dead_probe.py``): there no logging handler is configured, so anything a
client logs at WARNING or above reaches stderr through logging's last-resort
handler, exactly as in a user's script. Endpoints are a closed port ("refuse")
and tests/faultproxy.py in blackhole mode (connections accepted, never answered).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from flystore import FilesystemAdapter, StorageManager
from tests.faultproxy import FaultProxy

PROBE = Path(__file__).with_name("cloud_dead_probe.py")
ROOT = Path(__file__).resolve().parents[2]
PROMISE = 15.0  # seconds: the documented bound for failing on a dead endpoint
DRIVERS = ["s3", "gcs", "azure"]
EXPECTED = {"put": "UnableToWriteFile", "get": "UnableToReadFile", "exists": "UnableToCheckExistence",
            "delete": "UnableToDeleteFile", "files": "UnableToListContents"}


def _closed_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_probe(driver: str, endpoint: str, verbs: list[str]) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "GOOGLE_APPLICATION_CREDENTIALS"):
        environment.pop(name, None)
    return subprocess.Popen(
        [sys.executable, str(PROBE), driver, endpoint, ",".join(verbs)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=ROOT,
    )


def _finish(process: subprocess.Popen[str], driver: str) -> list[dict[str, Any]]:
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, f"{driver}: {stderr}"
    assert stderr == "", f"{driver} printed to stderr:\n{stderr}"
    return list(json.loads(stdout))


def _check(results: list[dict[str, Any]], driver: str, mode: str) -> None:
    for outcome in results:
        verb = outcome["verb"]
        assert outcome["error"] == EXPECTED[verb], f"{driver} {mode} {verb}: {outcome}"
        assert outcome["disk"] == "dead" and outcome["path"] == "a/b.txt", outcome
        assert outcome["cause"] is not None, outcome  # the client's exception is kept
        assert outcome["seconds"] < PROMISE, f"{driver} {mode} {verb} took {outcome['seconds']} s"


def test_a_refused_connection_fails_fast_quietly_with_the_verbs_error() -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    verbs = ["put", "get", "exists", "delete", "files"]
    running = {driver: _start_probe(driver, endpoint, verbs) for driver in DRIVERS}
    for driver, process in running.items():
        results = _finish(process, driver)
        assert [outcome["verb"] for outcome in results] == verbs
        _check(results, driver, "refused")


def test_a_blackholed_endpoint_fails_within_the_promise_quietly() -> None:
    with FaultProxy("127.0.0.1", _closed_port()) as proxy:
        proxy.mode = "blackhole"
        running = {driver: _start_probe(driver, proxy.url_for("http"), ["get"]) for driver in DRIVERS}
        for driver, process in running.items():
            _check(_finish(process, driver), driver, "blackhole")


# -- transient faults are retried ------------------------------------------------------------


def _disk_through(proxy: FaultProxy, driver: str, request: pytest.FixtureRequest) -> FilesystemAdapter:
    url = proxy.url_for("http")
    config: dict[str, Any]
    if driver == "gcs":
        config = {"driver": "gcs", "bucket": f"retry-{uuid.uuid4().hex[:10]}", "endpoint": url, "token": "anon",
                  "project_id": "test", "create_bucket": True, "retries": 8}
    else:
        from tests.services import AZURITE_ACCOUNT, AZURITE_KEY

        config = {"driver": "azure", "container": f"retry-{uuid.uuid4().hex[:10]}", "account_name": AZURITE_ACCOUNT,
                  "account_key": AZURITE_KEY, "endpoint": f"{url}/{AZURITE_ACCOUNT}", "create_container": True,
                  "retries": 8}
    return StorageManager({"disks": {"flaky": config}}).disk("flaky")


@pytest.fixture(params=["gcs", "azure"])
def flaky(request: pytest.FixtureRequest) -> Iterator[tuple[FilesystemAdapter, FaultProxy]]:
    driver = str(request.param)
    target = request.getfixturevalue("gcs_endpoint") if driver == "gcs" else _azurite_endpoint(request)
    with FaultProxy("127.0.0.1", int(urlsplit(target).port or 0), seed=11) as proxy:
        disk = _disk_through(proxy, driver, request)  # the bucket is made on a clean line ...
        # ... then connections are dropped, or reset after the server answered (the request happened)
        proxy.drop_rate, proxy.reset_rate = 0.25, 0.15
        try:
            yield disk, proxy
        finally:
            proxy.drop_rate = proxy.reset_rate = 0.0
            with contextlib.suppress(Exception):
                disk.delete_directory("r")
            disk.close()


def _azurite_endpoint(request: pytest.FixtureRequest) -> str:
    connection_string = request.getfixturevalue("azure_connection_string")
    fields = dict(part.split("=", 1) for part in connection_string.split(";") if part)
    return str(fields["BlobEndpoint"])


def test_dropped_and_reset_connections_are_retried(flaky: tuple[FilesystemAdapter, FaultProxy]) -> None:
    disk, proxy = flaky
    blobs = {f"r/{index}.bin": os.urandom(1000 + index) for index in range(12)}
    for index, (path, data) in enumerate(blobs.items()):
        if index % 3 == 0:  # kill the pooled connections too: the next request meets a dead socket
            proxy.mode = "refuse"
            proxy.mode = "forward"
        disk.put(path, data)
    for path, data in blobs.items():
        assert disk.get(path) == data
    assert disk.all_files("r") == sorted(blobs)
    stats = proxy.stats()
    assert stats["dropped"] + stats["reset"] > 0 or stats["connections"] >= 4, stats  # faults really happened

"""Run verbs of one cloud disk against a dead endpoint and print the outcomes as JSON.

Used by test_cloud_failures.py in a fresh interpreter, where no logging handler is
configured: whatever a client logs at WARNING or above reaches stderr through
logging's last-resort handler, as it would in a user's script.

Usage: ``python cloud_dead_probe.py DRIVER ENDPOINT VERB[,VERB...]``
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from flystore import StorageError, StorageManager

_AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _config(driver: str, endpoint: str) -> dict[str, Any]:
    if driver == "s3":
        return {"driver": "s3", "bucket": "b", "endpoint": endpoint, "key": "k", "secret": "s", "region": "us-east-1"}
    if driver == "gcs":
        return {"driver": "gcs", "bucket": "b", "endpoint": endpoint, "token": "anon", "project_id": "p"}
    return {"driver": "azure", "container": "box", "account_name": "devstoreaccount1", "account_key": _AZURITE_KEY,
            "endpoint": f"{endpoint}/devstoreaccount1"}


def main(driver: str, endpoint: str, verbs: list[str]) -> list[dict[str, Any]]:
    disk = StorageManager({"disks": {"dead": _config(driver, endpoint)}}).disk("dead")
    calls: dict[str, Callable[[], object]] = {
        "put": lambda: disk.put("a/b.txt", b"x"),
        "get": lambda: disk.get("a/b.txt"),
        "exists": lambda: disk.exists("a/b.txt"),
        "files": lambda: disk.files("a/b.txt"),
        "delete": lambda: disk.delete("a/b.txt"),
    }
    results: list[dict[str, Any]] = []
    for verb in verbs:
        started = time.monotonic()
        outcome: dict[str, Any] = {"verb": verb, "error": None}
        try:
            calls[verb]()
        except StorageError as error:
            outcome.update(error=type(error).__name__, disk=error.disk, path=error.path, message=str(error),
                           cause=type(error.__cause__).__name__ if error.__cause__ is not None else None)
        outcome["seconds"] = round(time.monotonic() - started, 2)
        results.append(outcome)
    disk.close()
    return results


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3].split(","))))

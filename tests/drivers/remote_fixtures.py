"""One fixture shape for the ftp, sftp and webdav driver tests.

Each server fixture (``ftp_server``, ``sftp_server``, ``webdav_server`` in
tests/services.py) yields a dict; ``disk_config`` turns any of them into a disk
config, so the three test modules build disks the same way and the shared
tests in test_remote.py run unchanged against all three.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager

__all__ = ["REMOTE_DRIVERS", "TEMP_PREFIX", "Remote", "build", "dead_endpoint", "disk_config", "temp_files"]

TEMP_PREFIX = ".flystore-tmp-"
REMOTE_DRIVERS = ("ftp", "sftp", "webdav")
_FIXTURES = {"ftp": "ftp_server", "sftp": "sftp_server", "webdav": "webdav_server"}
# The disk name each driver's tests have always used (messages are asserted against it).
DISK_NAMES = {"ftp": "ftp", "sftp": "sftp", "webdav": "dav"}


def disk_config(driver: str, server: dict[str, Any], root: str, **extra: Any) -> dict[str, Any]:
    """The config of a ``driver`` disk on the test ``server`` (a fixture dict), under ``root``."""
    config: dict[str, Any]
    if driver == "webdav":
        username, password = server["auth"]
        config = {"driver": "webdav", "base_url": server["url"], "username": username, "password": password}
    else:
        config = {
            "driver": driver,
            "host": server["host"],
            "port": server["port"],
            "username": server["username"],
            "password": server.get("password"),
        }
        if driver == "sftp":
            config["known_hosts"] = None  # the test server's key is made fresh each session
    config["root"] = root
    config.update(extra)
    return config


def build(driver: str, server: dict[str, Any], root: str, *, name: str | None = None, **extra: Any
          ) -> FilesystemAdapter:
    """A ``driver`` disk on the test ``server`` under ``root`` (named like that driver's tests expect)."""
    disk_name = name or DISK_NAMES[driver]
    return StorageManager({"disks": {disk_name: disk_config(driver, server, root, **extra)}}).disk(disk_name)


def dead_endpoint(driver: str, port: int, **extra: Any) -> dict[str, Any]:
    """The config of a ``driver`` disk pointing at a loopback port where nothing listens."""
    if driver == "webdav":
        return {"driver": "webdav", "base_url": f"http://127.0.0.1:{port}/dav/", **extra}
    config: dict[str, Any] = {"driver": driver, "host": "127.0.0.1", "port": port, "username": "u", "password": "p"}
    if driver == "sftp":
        config["known_hosts"] = None
    config.update(extra)
    return config


def temp_files(directory: str) -> list[str]:
    """Temporary upload names left anywhere under ``directory`` on the server's filesystem."""
    found: list[str] = []
    for folder, _, names in os.walk(directory):
        found.extend(os.path.join(folder, name) for name in names if name.startswith(TEMP_PREFIX))
    return found


@dataclass
class Remote:
    """A disk on one of the three test servers, and where its files live on the server's filesystem."""

    driver: str
    server: dict[str, Any]
    root_name: str
    disk: FilesystemAdapter

    def real(self, *parts: str) -> str:
        """The server-side filesystem path of ``parts`` under the disk root."""
        return os.path.join(self.server["root"], self.root_name, *parts)

    def build(self, **extra: Any) -> FilesystemAdapter:
        """Another disk on the same server and root, with ``extra`` options."""
        return build(self.driver, self.server, self.root_value, **extra)

    @property
    def root_value(self) -> str:
        return self.root_name if self.driver == "webdav" else f"/{self.root_name}"


def unique_root(server: dict[str, Any]) -> Iterator[str]:
    """A fresh directory name under the server root, removed afterwards (a fixture body)."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    yield name
    shutil.rmtree(os.path.join(server["root"], name), ignore_errors=True)


@pytest.fixture(params=REMOTE_DRIVERS)
def remote(request: pytest.FixtureRequest) -> Iterator[Remote]:
    """A fresh disk on each of the ftp, sftp and webdav test servers in turn."""
    driver = str(request.param)
    server: dict[str, Any] = request.getfixturevalue(_FIXTURES[driver])
    for root_name in unique_root(server):
        root = root_name if driver == "webdav" else f"/{root_name}"
        remote = Remote(driver, server, root_name, build(driver, server, root))
        try:
            yield remote
        finally:
            remote.disk.close()

"""A real redis-server on loopback for the cache tests (a pytest plugin).

``redis_url`` yields ``redis://127.0.0.1:PORT/0`` of a Debian ``redis-server``
started for the session with persistence off; a missing binary fails the run
when services are required (see ``tests.services.require``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import LOOPBACK, free_port, require_executable, spawned

__all__ = ["redis_url"]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run redis-server for the session and yield its URL."""
    executable = require_executable("redis-server")
    directory = tmp_path_factory.mktemp("redis")
    port = free_port()
    argv = [executable, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no",
            "--dir", str(directory)]
    with spawned(argv, port, directory / "redis.log"):
        yield f"redis://{LOOPBACK}:{port}/0"

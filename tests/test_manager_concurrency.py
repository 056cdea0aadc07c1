"""Building disks from many threads: a slow disk holds up only its own callers, each disk is built once,
a build overtaken by a reconfiguration is not installed, and disks wrapping each other in a loop never deadlock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from flystore import InvalidConfiguration, StorageManager
from flystore.drivers.memory import MemoryBackend


class ClosingBackend(MemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def close(self) -> None:
        self.closed = True


def slow_manager(gate: threading.Event, started: threading.Event, built: list[ClosingBackend]) -> StorageManager:
    def factory(options: dict[str, Any], manager: Any) -> ClosingBackend:
        started.set()
        assert gate.wait(30), "the test never opened the gate"
        backend = ClosingBackend()
        built.append(backend)
        return backend

    manager = StorageManager({"disks": {"slow": {"driver": "slow"}, "fast": {"driver": "memory"}}})
    manager.extend("slow", factory)
    return manager


def test_a_disk_that_hangs_while_building_holds_up_no_other_disk() -> None:
    gate, started, built = threading.Event(), threading.Event(), []
    manager = slow_manager(gate, started, built)
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(manager.disk, "slow")
        assert started.wait(10)
        fast = pool.submit(manager.disk, "fast")
        fast.result(timeout=5).put("a.txt", b"no waiting")  # would time out behind one manager-wide lock
        assert not slow.done()
        gate.set()
        assert slow.result(timeout=10).backend is built[0]


def test_threads_asking_for_one_disk_build_it_once() -> None:
    gate, started, built = threading.Event(), threading.Event(), []
    manager = slow_manager(gate, started, built)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(manager.disk, "slow") for _ in range(8)]
        assert started.wait(10)
        gate.set()
        disks = {id(future.result(timeout=10)) for future in futures}
    assert len(disks) == 1 and len(built) == 1


def test_a_build_overtaken_by_a_reconfiguration_is_closed_not_installed() -> None:
    gate, started, built = threading.Event(), threading.Event(), []
    manager = slow_manager(gate, started, built)
    with ThreadPoolExecutor(1) as pool:
        stale = pool.submit(manager.disk, "slow")
        assert started.wait(10)
        manager.configure_disk("slow", "memory")  # while the old one is still being built
        gate.set()
        answer = stale.result(timeout=10)
    assert built[0].closed, "the stale disk was left open"
    assert answer.backend is not built[0] and manager.disk("slow").backend is answer.backend
    assert type(answer.backend).__name__ == "MemoryBackend"


def test_disks_wrapping_each_other_fail_fast_from_many_threads() -> None:
    manager = StorageManager({"disks": {
        "a": {"driver": "scoped", "disk": "b", "prefix": "x"},
        "b": {"driver": "encrypted", "disk": {"driver": "scoped", "prefix": "y", "disk": "a"},
              "key": "base64:" + "QUJD" * 10 + "QUI="},
    }})
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(manager.disk, name) for name in ("a", "b", "a", "b")]
        for future in futures:
            with pytest.raises(InvalidConfiguration, match="loop: (a -> b -> a|b -> a -> b)"):
                future.result(timeout=10)


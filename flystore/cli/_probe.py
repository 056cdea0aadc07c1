"""``flystore test``: write, read, list and delete a probe file on each disk, timing each step.

Disks are probed at once, each in a daemon thread with a manager of its own, so one
disk that hangs (a firewall dropping packets) costs at most the timeout, holds up no
other disk and never keeps the process alive.
"""

from __future__ import annotations

import posixpath
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..disk import FilesystemAdapter
from ..errors import ReadOnlyDisk, StorageError
from ..manager import StorageManager

__all__ = ["PROBE_PREFIX", "DiskProbe", "Step", "probe_disk", "probe_disks"]

#: The probe lives in its own directory at the disk root, so listing it is one small request.
PROBE_PREFIX = ".flystore-probe-"
_STEPS = ("write", "read", "list", "delete")


@dataclass
class Step:
    """One step of a probe: ``ok`` is None when it was skipped."""

    name: str
    ok: bool | None = None
    milliseconds: float | None = None
    error: str | None = None


@dataclass
class DiskProbe:
    """What probing one disk found."""

    disk: str
    driver: str
    steps: list[Step] = field(default_factory=lambda: [Step(name) for name in _STEPS])
    error: str | None = None

    @property
    def ok(self) -> bool:
        """No step failed (a read-only disk skips writing and passes on listing)."""
        return self.error is None and all(step.ok is not False for step in self.steps)

    def step(self, name: str) -> Step:
        return next(step for step in self.steps if step.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "disk": self.disk,
            "driver": self.driver,
            "ok": self.ok,
            "error": self.error,
            "steps": {
                step.name: {"ok": step.ok, "ms": None if step.milliseconds is None else round(step.milliseconds, 2),
                            "error": step.error}
                for step in self.steps
            },
        }


def _timed(result: DiskProbe, name: str, action: Callable[[], object]) -> bool:
    """Run one step, recording its latency and how it failed; True when it worked."""
    step = result.step(name)
    started = time.perf_counter()
    try:
        action()
    except ReadOnlyDisk:
        step.error = "read-only disk"  # skipped, not failed: the disk does what it is configured to do
        return False
    except Exception as error:  # a probe reports whatever a disk (or a user's driver) raises
        step.ok = False
        step.error = " ".join(str(error).split()) or type(error).__name__
        result.error = result.error or f"{name}: {step.error}"
        return False
    finally:
        step.milliseconds = (time.perf_counter() - started) * 1000
    step.ok = True
    return True


def probe_disk(manager: StorageManager, name: str) -> DiskProbe:
    """Probe disk ``name``; a disk that fails is reported, never raised."""
    options = manager.config["disks"].get(name, {})
    result = DiskProbe(name, str(options.get("driver", "?")))
    try:
        disk: FilesystemAdapter = manager.disk(name)
    except Exception as error:  # building runs the driver's own code: report anything
        result.error = " ".join(str(error).split()) or type(error).__name__
        return result
    folder = f"{PROBE_PREFIX}{uuid.uuid4().hex[:12]}"
    probe = posixpath.join(folder, "probe.txt")
    payload = f"flystore probe {uuid.uuid4().hex}".encode()

    def read() -> None:
        if disk.get(probe) != payload:
            raise AssertionError("read back different bytes than were written")

    def listing(written: bool) -> None:
        found = disk.files(folder if written else "")
        if written and probe not in found:
            raise AssertionError(f"the probe file is missing from the listing of {folder}")

    def delete() -> None:
        disk.delete(probe)
        if disk.file_exists(probe):
            raise AssertionError("the probe file is still there after delete")

    written = _timed(result, "write", lambda: disk.put(probe, payload))
    if written:
        _timed(result, "read", read)
    _timed(result, "list", lambda: listing(written))
    if written:
        _timed(result, "delete", delete)
        try:
            disk.delete_directory(folder)  # the empty folder a local disk keeps
        except StorageError:
            pass
    return result


def _isolated(manager: StorageManager) -> StorageManager:
    """A manager of its own for one probe, with the same configuration, drivers and keys.

    A manager builds disks under one lock; a disk whose client hangs while it is built
    (credentials probing an unreachable metadata server) would hold every other probe.
    """
    isolated = StorageManager(manager.config, app_key=manager.app_key, app_url=manager.app_url)
    for driver, factory in getattr(manager, "_creators", {}).items():  # drivers added with extend()
        isolated.extend(driver, factory)
    return isolated


def probe_disks(manager: StorageManager, names: Sequence[str], *, timeout: float) -> list[DiskProbe]:
    """Probe every disk in ``names`` at once; a disk not done within ``timeout`` seconds is reported so."""
    results: dict[str, DiskProbe] = {}
    threads: list[tuple[str, threading.Thread]] = []

    def run(name: str) -> None:
        results[name] = probe_disk(_isolated(manager), name)

    for name in names:
        thread = threading.Thread(target=run, args=(name,), name=f"flystore-probe-{name}", daemon=True)
        thread.start()
        threads.append((name, thread))
    deadline = time.monotonic() + timeout
    ordered: list[DiskProbe] = []
    for name, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        found = results.get(name)
        if found is None:
            options = manager.config["disks"].get(name, {})
            found = DiskProbe(name, str(options.get("driver", "?")), error=f"no answer within {timeout:g} s")
        ordered.append(found)
    return ordered

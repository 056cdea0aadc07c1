"""kill -9 at any point of a deduplicated disk's writes leaves no file pointing to missing or wrong content.

Two ways to kill, both with SIGKILL (no cleanup runs): a process that forks once per step of
a fixed run of operations and kills itself before, in the middle of, or after that step's
call to the disk underneath; and a process looping over random operations, killed by the
test after a random delay. After every kill a fresh disk checks every file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

if __name__ == "__main__":  # run as the child process: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flystore import DeduplicatedFilesystemAdapter, FilesystemAdapter, IntegrityError, StorageManager
from flystore.attributes import WriteOptions
from flystore.backend import Readable
from flystore.decorators.base import DecoratedBackend
from flystore.decorators.deduplicated import backend as dedup_backend
from flystore.decorators.deduplicated.store import RESERVED, Pointer, blob_path

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL (POSIX)")

# Contents above 1 KiB take the streamed path through a staging file (the threshold is lowered below).
POOL = [bytes([65 + n]) * size for n, size in enumerate([10, 700, 1500, 3000, 6000, 9000])]
PATHS = ["a.txt", "b.txt", "d/c.txt", "d/e/f.txt", "g.txt"]


def raw_disk(root: str) -> FilesystemAdapter:
    return StorageManager({"disks": {"raw": {"driver": "local", "root": root}}}).disk("raw")


def problems(root: str) -> list[str]:
    """Every file must be a whole pointer naming a whole blob whose bytes are one of POOL's."""
    raw = raw_disk(root)
    found = []
    for path in raw.all_files():
        if path.startswith(RESERVED + "/"):
            continue
        try:
            pointer = Pointer.decode(raw.get(path), path)
        except IntegrityError:
            found.append(f"{path}: not a whole pointer")
            continue
        if not raw.file_exists(blob_path(pointer.digest)):
            found.append(f"{path}: points to missing content")
            continue
        content = raw.get(blob_path(pointer.digest))
        if hashlib.sha256(content).hexdigest() != pointer.digest or len(content) != pointer.size:
            found.append(f"{path}: blob does not match its address")
        elif content not in POOL:
            found.append(f"{path}: content that was never written")
    return found


class Killer(DecoratedBackend):
    """SIGKILLs the process at the ``target``-th changing call: before, during or after it."""

    def __init__(self, inner: Any, target: int, when: str) -> None:
        super().__init__(inner)
        self.target, self.when, self.calls = target, when, 0

    def _step(self) -> bool:
        self.calls += 1
        if self.calls == self.target and self.when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        return self.calls == self.target

    def _after(self, hit: bool) -> None:
        if hit:
            os.kill(os.getpid(), signal.SIGKILL)

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        hit = self._step()
        if hit and self.when == "during":
            self.inner.write_stream(path, _Dying(io.BytesIO(data)), options)
        else:
            self.inner.write(path, data, options)
        self._after(hit)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        hit = self._step()
        self.inner.write_stream(path, _Dying(stream) if hit and self.when == "during" else stream, options)
        self._after(hit)

    def delete(self, path: str) -> bool:
        hit = self._step()
        deleted = self.inner.delete(path)
        self._after(hit)
        return deleted

    def delete_directory(self, path: str) -> bool:
        hit = self._step()
        deleted = self.inner.delete_directory(path)
        self._after(hit)
        return deleted

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        hit = self._step()
        self.inner.copy(source, destination, options)
        self._after(hit)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        hit = self._step()
        self.inner.move(source, destination, options)
        self._after(hit)


class _Dying:
    """A stream that SIGKILLs the process after handing out its first bytes (a write cut in the middle)."""

    def __init__(self, stream: Readable) -> None:
        self._stream, self._given = stream, False

    def read(self, size: int = -1, /) -> bytes:
        if self._given:
            os.kill(os.getpid(), signal.SIGKILL)
        self._given = True
        return self._stream.read(min(size, 100) if size and size > 0 else 100)


def operate(disk: DeduplicatedFilesystemAdapter, rng: random.Random) -> None:
    """One random operation, as an application would do it."""
    path = rng.choice(PATHS)
    choice = rng.random()
    if choice < 0.35:
        disk.put(path, rng.choice(POOL))
    elif choice < 0.6:
        disk.put(path, io.BytesIO(rng.choice(POOL)))
    elif choice < 0.7 and disk.file_exists(path):
        disk.copy(path, rng.choice(PATHS))
    elif choice < 0.8 and disk.file_exists(path):
        disk.move(path, rng.choice(PATHS))
    elif choice < 0.9:
        disk.delete(path)
    elif choice < 0.95:
        disk.delete_directory("d")
    else:
        disk.collect_garbage(grace=0)  # this process is the only writer


def build(root: str, target: int = 0, when: str = "before") -> DeduplicatedFilesystemAdapter:
    base = raw_disk(root)
    inner = FilesystemAdapter(Killer(base.backend, target, when), name="raw") if target else base
    return DeduplicatedFilesystemAdapter(inner, grace=0, name="d")


def fork_run(root: str, steps: int) -> dict[str, Any]:
    """For each changing call of a fixed run, and before/during/after it: fork, run, kill there, check."""
    killed = 0
    failures: list[str] = []
    for target in range(1, steps + 1):
        for when in ("before", "during", "after"):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child dies by SIGKILL or exits quietly
                disk = build(root, target, when)
                rng = random.Random(target)
                for _ in range(12):
                    operate(disk, rng)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                killed += 1
            failures += [f"kill {when} call {target}: {problem}" for problem in problems(root)]
    return {"killed": killed, "failures": failures}


def loop(root: str, seed: int) -> None:
    disk = build(root)
    rng = random.Random(seed)
    print("ready", flush=True)
    while True:
        operate(disk, rng)


# -- the tests ---------------------------------------------------------------------------


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)


def test_a_kill_before_during_or_after_every_changing_call_leaves_every_file_whole(tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    child = _child("forks", root, "30")
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0
    result = json.loads(out)
    assert result["failures"] == []
    assert result["killed"] >= 60  # most steps really were cut (a run may end before its 30th call)
    disk = build(root)
    disk.collect_garbage(grace=0)
    stats = disk.stats()
    assert (stats.unreferenced_blobs, stats.missing_blobs, stats.foreign_files) == (0, 0, 0)
    assert all(disk.get(path) in POOL for path in disk.all_files())


def test_a_kill_after_a_random_delay_leaves_every_file_whole(tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    rng = random.Random(1)
    for seed in range(3):
        child = _child("loop", root, str(seed))
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.1, 0.3))  # the kill lands wherever the loop is
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        assert problems(root) == []
    assert raw_disk(root).all_files() != []  # the loops did write


if __name__ == "__main__":
    dedup_backend.SMALL_STREAM = 1024  # this process only
    if sys.argv[1] == "forks":
        print(json.dumps(fork_run(sys.argv[2], int(sys.argv[3]))))
    else:
        loop(sys.argv[2], int(sys.argv[3]))

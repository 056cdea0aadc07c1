"""The layout against real processes: two writers in separate processes, and a writer killed with SIGKILL.

Each writer is a fresh Python process with its own StorageManager over one local
directory, so nothing (locks, the disk object, the id counter) is shared but the files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from flystore import StorageManager, VersionedFilesystemAdapter

ROOT = Path(__file__).resolve().parents[1]

_OPEN = """
import os, sys, time
from flystore import StorageManager
root = sys.argv[1]
disk = StorageManager({"disks": {"f": {"driver": "local", "root": root},
                                 "v": {"driver": "versioned", "disk": "f"}}}).disk("v")
"""

_WRITER = _OPEN + """
tag, count = sys.argv[2], int(sys.argv[3])
go = os.path.join(root, "..", "go")
for _ in range(20000):  # both processes start writing together (bounded wait)
    if os.path.exists(go):
        break
    time.sleep(0.001)
for number in range(count):
    disk.put("shared.txt", f"{tag}-{number}")
"""

_KILLED_WHILE_RECORDING = _OPEN + """
def chunks():
    for number in range(8):
        yield b"new" * 1000
    open(os.path.join(root, "..", "recording"), "w").close()
    time.sleep(120)  # killed here, half-way through the record's upload
    yield b"never"

disk.write_stream("doc.txt", chunks())
"""

_KILLED_BEFORE_PUBLISHING = _OPEN + """
from flystore.decorators.versioned.layout import LayoutVersions

def crash(self, record, path, options):
    os.kill(os.getpid(), 9)  # the record is complete; the process dies before the path changes

LayoutVersions._publish_from = crash
disk.write_stream("doc.txt", iter([b"recorded, never published"]))
"""


def _spawn(script: str, *args: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _disk(root: Path) -> VersionedFilesystemAdapter:
    disk = StorageManager({"disks": {"f": {"driver": "local", "root": str(root)},
                                     "v": {"driver": "versioned", "disk": "f"}}}).disk("v")
    assert isinstance(disk, VersionedFilesystemAdapter)
    return disk


def test_two_writer_processes_lose_no_version(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    writers = [_spawn(_WRITER, str(root), tag, "25") for tag in ("a", "b")]
    (tmp_path / "go").touch()
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors.decode()
    disk = _disk(root)
    versions = disk.versions("shared.txt")
    contents = [disk.get_version("shared.txt", version.id).decode() for version in versions]
    assert sorted(contents) == sorted(f"{tag}-{number}" for tag in "ab" for number in range(25))
    assert len({version.id for version in versions}) == 50
    assert disk.get("shared.txt") in (b"a-24", b"b-24")  # each process's last write came last in it
    assert disk.all_files() == ["shared.txt"]


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "the writer never reached the point to kill it at"
        time.sleep(0.01)


def test_a_writer_killed_while_recording_leaves_the_versions_as_they_were(tmp_path: Path) -> None:
    root = tmp_path / "data"
    disk = _disk(root)
    disk.put("doc.txt", "old")
    before = disk.versions("doc.txt")
    writer = _spawn(_KILLED_WHILE_RECORDING, str(root))
    _wait_for(tmp_path / "recording", writer)
    writer.send_signal(signal.SIGKILL)
    writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    after = _disk(root)  # a fresh process's view
    assert after.versions("doc.txt") == before
    assert after.get("doc.txt") == b"old"
    assert after.all_files() == ["doc.txt"]
    after.put("doc.txt", "next")
    assert [after.get_version("doc.txt", version.id) for version in after.versions("doc.txt")] == [b"next", b"old"]


def test_a_writer_killed_between_record_and_publication_loses_nothing(tmp_path: Path) -> None:
    root = tmp_path / "data"
    disk = _disk(root)
    disk.put("doc.txt", "old")
    writer = _spawn(_KILLED_BEFORE_PUBLISHING, str(root))
    _, errors = writer.communicate(timeout=60)
    assert writer.returncode == -signal.SIGKILL, errors.decode()
    after = _disk(root)
    newest, oldest = after.versions("doc.txt")
    assert after.get("doc.txt") == b"old"  # the path never changed
    assert after.get_version("doc.txt", newest.id) == b"recorded, never published"  # the content was not lost
    assert after.get_version("doc.txt", oldest.id) == b"old"
    after.restore_version("doc.txt", newest.id)  # as docs/versioning.md says: restore puts things straight
    assert after.get("doc.txt") == b"recorded, never published"
    assert after.versions("doc.txt")[0].is_latest

"""clamd from Debian's clamav-daemon on loopback, with an offline EICAR-only signature DB (a pytest plugin).

The official database cannot be downloaded here (and ``freshclam`` is never run): two
one-line databases catch the EICAR test file by its MD5 and by a body signature, so an
EICAR string buried deep inside a larger file is found too.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import LOOPBACK, free_port, require_executable, spawned

__all__ = ["EICAR", "clamd_server", "running_clamd"]

# Split so that no file of this repository holds the test signature whole.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLAMD = "/usr/sbin/clamd"


@contextlib.contextmanager
def running_clamd(workdir: Path, *, stream_max: str = "25M") -> Iterator[dict[str, Any]]:
    """Start clamd in ``workdir``; yields ``{"host", "port", "socket"}``; stops it on exit."""
    exe = require_executable(CLAMD)
    port = free_port()
    db = workdir / "db"
    db.mkdir(exist_ok=True)
    (db / "flystore.hdb").write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Flystore.Test.EICAR\n")
    (db / "flystore.ndb").write_text(
        "Flystore.Test.EICAR-Body:0:*:" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE".hex() + "\n"
    )
    sock = workdir / "clamd.sock"
    (workdir / "clamd.conf").write_text(
        f"Foreground yes\nDatabaseDirectory {db}\nTCPSocket {port}\nTCPAddr {LOOPBACK}\n"
        f"LocalSocket {sock}\nPidFile {workdir}/clamd.pid\nLogFile {workdir}/clamd.log\n"
        f"StreamMaxLength {stream_max}\nMaxThreads 4\nSelfCheck 0\n"
    )
    with spawned([exe, "-c", str(workdir / "clamd.conf")], port, workdir / "out", timeout=60.0):
        yield {"host": LOOPBACK, "port": port, "socket": str(sock)}


@pytest.fixture(scope="session")
def clamd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real clamd; ``{"host", "port", "socket"}`` (``socket`` is its unix socket path)."""
    with running_clamd(tmp_path_factory.mktemp("clamd")) as server:
        yield server

"""The README's first command runs the main job on the embedded default configuration."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from flystore.demo import run_demo
from flystore.manager import StorageManager


def test_the_demo_writes_lists_reads_signs_and_fakes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLYSTORE_CONFIG", raising=False)
    monkeypatch.delenv("APP_KEY", raising=False)
    out = io.StringIO()
    assert run_demo(out, StorageManager()) == 0
    text = out.getvalue()
    assert "wrote: demo/hello.txt, demo/settings.json" in text
    assert "verified: grants GET on local://demo/hello.txt" in text
    assert "fake disk holds: ['demo/in-the-fake.txt']" in text
    assert "real disk untouched: True" in text
    assert (tmp_path / "storage" / "app" / "demo" / "hello.txt").read_text().startswith("Hello from flystore!")
    assert not (tmp_path / "storage" / "app" / "demo" / "in-the-fake.txt").exists()


def test_the_command_line_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flystore", "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert result.returncode == 0, result.stderr
    assert "real disk untouched: True" in result.stdout
    disks = subprocess.run(
        [sys.executable, "-m", "flystore", "disks"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert disks.stdout.splitlines() == ["* local: local", "  public: local"]

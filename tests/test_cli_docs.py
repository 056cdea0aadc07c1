"""The shell sessions of docs/cli.md run, and print what the page says they print.

Each ``console`` block is a session: ``$ flystore ...`` lines run in-process (CliRunner),
``$ echo $?`` shows the last exit code, other lines run in a shell. Expected output is
compared line by line; ``...`` in a line stands for any text, a line of only ``...`` for
any remaining lines. The page's ``config/filesystems.py`` block is the configuration.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from flystore import StorageManager
from flystore.cli.app import cli

PAGE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
_BLOCK = re.compile(r"^```(console|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def sessions(text: str) -> tuple[str, list[list[tuple[str, list[str]]]]]:
    """The page's FILESYSTEMS block and its console blocks as ``[(command, expected lines)]``."""
    config = next(body for kind, body in _BLOCK.findall(text) if kind == "python" and "FILESYSTEMS" in body)
    found = []
    for kind, body in _BLOCK.findall(text):
        if kind != "console":
            continue
        steps: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
        found.append(steps)
    return config, found


def matches(expected: list[str], actual: list[str]) -> bool:
    for index, line in enumerate(expected):
        if line == "...":
            return True
        if index >= len(actual):
            return False
        pattern = ".*".join(re.escape(part) for part in line.split("..."))
        if not re.fullmatch(pattern, actual[index].rstrip()):
            return False
    return len(actual) == len(expected)


def test_the_pages_sessions_print_what_it_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, blocks = sessions(PAGE.read_text())
    assert len(blocks) >= 6
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "filesystems.py").write_text(config)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLYSTORE_CONFIG", raising=False)
    manager = StorageManager()  # config/filesystems.py under the current directory, as documented
    runner = CliRunner()
    last_exit = 0
    for steps in blocks:
        for command, expected in steps:
            if command.startswith("flystore "):
                result = runner.invoke(cli, shlex.split(command)[1:], obj=manager, catch_exceptions=False)
                last_exit, output = result.exit_code, result.output
            elif command == "echo $?":
                output = f"{last_exit}\n"
            else:
                output = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True,
                                        check=True).stdout
            assert matches(expected, output.splitlines()), f"$ {command}\n{output}"

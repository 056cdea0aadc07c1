"""``flystore audit``: the trail of the configured audited disks, filtered, in text or JSON lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from flystore import StorageManager
from flystore.cli.app import cli
from flystore.cli.audit import parse_since
from flystore.decorators.audited.record import batch_files, encode, make_record


@pytest.fixture
def manager() -> StorageManager:
    manager = StorageManager({"disks": {
        "files": {"driver": "memory"},
        "trail": {"driver": "memory"},
        "docs": {"driver": "audited", "disk": "files", "trail": "trail"},
        "logged": {"driver": "audited", "disk": "files", "logger": "app.audit"},
    }})
    docs = manager.disk("docs")
    with manager.acting_as("ada"):
        docs.put("invoices/1.pdf", b"%PDF-1")
        docs.copy("invoices/1.pdf", "archive/1.pdf")
    with manager.acting_as("bob"):
        docs.get("invoices/1.pdf")
        docs.delete("invoices/1.pdf")
    docs.close()  # writes the queued records
    return manager


def invoke(manager: StorageManager, *args: str) -> Result:
    return CliRunner().invoke(cli, ["audit", *args], obj=manager, catch_exceptions=False)


def test_the_whole_trail_oldest_first_as_text(manager: StorageManager) -> None:
    result = invoke(manager)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    operations = [line.split("  ")[3] for line in lines]
    assert operations[:3] == ["write", "copy", "read"] and "delete" in operations
    write = lines[0].split("  ")
    assert write[1:5] == ["ada", "docs", "write", "invoices/1.pdf"] and write[5] == "6 B" and write[6] == "ok"
    assert "invoices/1.pdf -> archive/1.pdf" in lines[1]


def test_filters_by_actor_operation_path_and_disk_as_json_lines(manager: StorageManager) -> None:
    result = invoke(manager, "--actor", "bob", "--operation", "delete", "--operation", "read", "--json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(record["actor"], record["operation"]) for record in records] == [("bob", "read"), ("bob", "delete")]
    archived = [json.loads(line) for line in invoke(manager, "--path", "archive/*", "--json").stdout.splitlines()]
    assert [record["operation"] for record in archived] == ["copy"]  # matched on its destination
    assert invoke(manager, "--disk", "docs", "--since", "1h").stdout == invoke(manager).stdout
    assert invoke(manager, "--since", "2999-01-01").stdout == ""


def test_a_trail_disk_named_directly(manager: StorageManager) -> None:
    trail = manager.disk("trail")
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    record = make_record(started=moment, actor="cron", disk="elsewhere", operation="delete_directory",
                         path="tmp", outcome="ok", duration=0.5)
    for path, group in batch_files("other/prefix", [record]):
        trail.put(path, encode(group))
    result = invoke(manager, "--trail", "trail", "--prefix", "other/prefix", "--json")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [record]


@pytest.mark.parametrize(("args", "message"), [
    (["--disk", "files"], "disk 'files' is not an audited disk"),
    (["--disk", "logged"], "writes its audit records to a logger"),
    (["--disk", "nowhere"], "disk 'nowhere' is not configured"),
    (["--since", "yesterday"], "neither a duration"),
])
def test_usage_errors_exit_2_with_one_line(manager: StorageManager, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["audit", *args], obj=manager)
    assert result.exit_code == 2
    assert message in result.stderr


def test_relative_and_absolute_since() -> None:
    now = datetime(2026, 12, 2, 12, tzinfo=timezone.utc)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-12-01T10:00", now) == datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
    assert parse_since("2026-12-01T10:00+02:00", now).utcoffset() == timedelta(hours=2)
    with pytest.raises(click.BadParameter):
        parse_since("soon", now)


def test_through_a_real_process_with_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "filesystems.py"
    config.write_text(textwrap.dedent(f"""
        FILESYSTEMS = {{"default": "docs", "disks": {{
            "files": {{"driver": "local", "root": {str(tmp_path / "files")!r}}},
            "trail": {{"driver": "local", "root": {str(tmp_path / "trail")!r}}},
            "docs": {{"driver": "audited", "disk": "files", "trail": "trail"}},
        }}}}
    """))
    subprocess.run([sys.executable, "-m", "flystore", "--config", str(config), "put", __file__, "docs://t.py"],
                   check=True, capture_output=True, timeout=60)
    shown = subprocess.run([sys.executable, "-m", "flystore", "--config", str(config), "audit", "--json",
                            "--operation", "write"], check=True, capture_output=True, text=True, timeout=60)
    (record,) = [json.loads(line) for line in shown.stdout.splitlines()]
    assert (record["disk"], record["path"], record["size"]) == ("docs", "t.py", Path(__file__).stat().st_size)

"""``flystore sync`` and ``flystore backup`` through the sync engine, and the CLI against S3 (moto)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flystore import StorageManager
from flystore.cli.syncing import SNAPSHOT_NAME
from flystore.config import load_config_file
from tests.test_cli import Cli, one_error_line, write_config


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "index.html").write_text("<h1>hi</h1>")
    (site / "css" / "app.css").write_text("body{}")
    (site / "notes.tmp").write_text("scratch")
    return site


@pytest.fixture
def run(tmp_path: Path) -> Cli:
    return Cli(StorageManager(load_config_file(write_config(tmp_path))))


def test_sync_a_local_directory_to_a_disk_then_mirror_with_delete(run: Cli, tree: Path) -> None:
    mem = run.manager.disk("mem")
    first = run("sync", str(tree), "mem://www", "--exclude", "*.tmp", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["copied"] == ["css/app.css", "index.html"] and report["ok"] is True
    assert mem.all_files() == ["www/css/app.css", "www/index.html"]
    again = run("sync", str(tree), "mem://www", "--exclude", "*.tmp")
    assert again.stdout.strip().startswith("synced: 0 copied, 0 updated, 0 deleted, 2 skipped")
    mem.put("www/stale.html", "old")
    (tree / "index.html").write_text("<h1>changed, and longer</h1>")
    dry = run("sync", str(tree), "mem://www", "--mode", "mirror", "--delete", "--exclude", "*.tmp", "--dry-run")
    assert dry.stdout.splitlines()[:2] == ["would update index.html", "would delete stale.html"]
    assert mem.get_text("www/index.html") == "<h1>hi</h1>" and mem.file_exists("www/stale.html")
    done = run("sync", str(tree), "mem://www", "--mode", "mirror", "--delete", "--exclude", "*.tmp")
    assert done.exit_code == 0
    assert mem.all_files() == ["www/css/app.css", "www/index.html"]
    assert mem.get_text("www/index.html") == "<h1>changed, and longer</h1>"
    back = run("sync", "mem://www", str(tree.parent / "copy"), "--checksum")
    assert back.exit_code == 0 and (tree.parent / "copy" / "css" / "app.css").read_text() == "body{}"
    assert "local-dir" not in run.manager.disk_names()  # the local directory's disk was only for the command


def test_two_way_sync_reports_a_conflict_and_keeps_both_versions(run: Cli) -> None:
    mem = run.manager.disk("mem")
    mem.put("left/plan.txt", "v1")
    assert run("sync", "mem://left", "mem://right", "--mode", "two-way").exit_code == 0
    assert mem.get_text("right/plan.txt") == "v1"
    mem.put("left/plan.txt", "left edit")
    mem.put("right/plan.txt", "right edit, longer")
    result = run("sync", "mem://left", "mem://right", "--mode", "two-way")
    assert result.exit_code == 0, result.output
    assert "conflict: plan.txt" in result.stdout.splitlines()
    versions = {mem.get_text(path) for path in mem.all_files("right") if "plan" in path}
    assert {"left edit", "right edit, longer"} <= versions


def test_a_sync_with_failing_files_reports_each_and_exits_1(run: Cli, tree: Path) -> None:
    result = run("sync", str(tree), "ro://mirror")
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 3 and all(line.startswith("Error: ") for line in errors)
    assert any("index.html" in line for line in errors)
    assert run("sync", str(tree.parent / "absent"), "mem://x").exit_code == 3
    absent = run("sync", "mem://absent", "mem://x")  # a typo is not an empty tree
    assert absent.exit_code == 3 and "absent" in one_error_line(absent)
    assert run("sync", "mem://x", "mem://absent", "--mode", "destination-to-source").exit_code == 3
    assert run("backup", "mem://absent", "local://backups").exit_code == 3
    assert run.manager.disk("local").all_files() == []


def test_trees_that_hold_each_other_are_refused_whatever_disks_name_them(run: Cli, tree: Path,
                                                                        tmp_path: Path) -> None:
    run.manager.disk("local").put("pub-inside/x.txt", "x")
    run.manager.configure_disk("inner", "local", root=str(tmp_path / "a" / "pub-inside"))
    for source, destination in (("local://", "inner://"), ("inner://", "local://"), (str(tree), str(tree / "css")),
                                (str(tmp_path / "a"), "local://pub-inside")):
        result = run("sync", source, destination)
        assert result.exit_code == 2 and "overlap" in one_error_line(result), (source, destination)
    backup = run("backup", str(tmp_path), "local://backups")  # tmp_path holds local's root
    assert backup.exit_code == 2
    assert run.manager.disk("local").all_files() == ["pub-inside/x.txt"]
    assert sorted(os.listdir(tree)) == ["css", "index.html", "notes.tmp"]


def test_sync_progress_is_drawn_when_forced(run: Cli, tree: Path) -> None:
    result = run("--progress", "sync", str(tree), "mem://www")
    assert result.exit_code == 0
    assert "3/3 files (transfer)" in result.stderr


def test_backup_takes_dated_snapshots_and_keeps_the_newest(run: Cli, tree: Path) -> None:
    local = run.manager.disk("local")
    local.put("backups/unrelated/keep.txt", "not a snapshot")
    local.put("backups/2000-01-01T00-00-00", "a file named like a snapshot")  # never deleted: not a directory
    local.put("backups/2000-01-01T00-00-00-x/keep.txt", "almost a snapshot name")
    names = []
    for _ in range(3):
        result = run("backup", str(tree), "local://backups", "--keep", "2", "--json")
        assert result.exit_code == 0, result.output
        made = json.loads(result.stdout)
        names.append(made["snapshot"].rsplit("/", 1)[1])
        assert sorted(made["report"]["copied"]) == ["css/app.css", "index.html", "notes.tmp"]
    assert len(set(names)) == 3 and all(SNAPSHOT_NAME.match(name) for name in names)
    assert sorted(names) == names  # later snapshots sort later, even within one second
    kept = sorted(local.directories("backups"))
    assert kept == sorted(["backups/2000-01-01T00-00-00-x", "backups/unrelated",
                           f"backups/{names[1]}", f"backups/{names[2]}"])
    assert local.get_text(f"backups/{names[2]}/index.html") == "<h1>hi</h1>"
    assert local.file_exists("backups/2000-01-01T00-00-00")
    dry = run("backup", str(tree), "local://backups", "--keep", "1", "--dry-run")
    assert f"would delete old snapshot local://backups/{names[1]}" in dry.stdout
    assert sorted(local.directories("backups")) == kept


def test_a_failed_backup_deletes_no_old_snapshot(run: Cli, tree: Path) -> None:
    local = run.manager.disk("local")
    for name in ("2026-01-01T00-00-00", "2026-01-02T00-00-00"):
        local.put(f"backups/{name}/index.html", "old")
    result = run("backup", str(tree), "ro://backups", "--keep", "1")  # the same files, read-only
    assert result.exit_code == 1
    assert "old snapshot" not in result.stdout and result.stderr.startswith("Error: ")
    assert local.directories("backups") == ["backups/2026-01-01T00-00-00", "backups/2026-01-02T00-00-00"]


def test_backup_to_a_local_directory(run: Cli, tree: Path, tmp_path: Path) -> None:
    result = run("backup", "mem://", str(tmp_path / "snapshots"))
    assert result.exit_code == 0  # an empty disk is a valid (empty) snapshot
    run.manager.disk("mem").put("db/dump.sql", "select 1;")
    assert run("backup", "mem://db", str(tmp_path / "snapshots"), "--keep", "1").exit_code == 0
    (snapshot,) = os.listdir(tmp_path / "snapshots")
    assert (tmp_path / "snapshots" / snapshot / "dump.sql").read_text() == "select 1;"


# -- S3 through moto ---------------------------------------------------------------------------------


@pytest.fixture
def s3_cli(s3_endpoint: str, tmp_path: Path) -> Iterator[Cli]:
    from tests.drivers.test_s3 import raw_client, remove_bucket

    bucket = f"flystore-cli-{uuid.uuid4().hex[:12]}"
    config = write_config(tmp_path, extra=f"""
        "s3": {{"driver": "s3", "bucket": "{bucket}", "endpoint": "{s3_endpoint}", "create_bucket": True,
               "key": "testing", "secret": "testing", "region": "us-east-1"}},
    """)
    manager = StorageManager(load_config_file(config))
    yield Cli(manager)
    manager.forget_disk("s3")
    client = raw_client(s3_endpoint)
    remove_bucket(client, bucket)
    client.close()


def test_cp_ls_cat_sync_and_usage_against_s3(s3_cli: Cli, tree: Path, tmp_path: Path) -> None:
    run = s3_cli
    payload = os.urandom(6 * 1024 * 1024 + 11)  # more than one multipart chunk
    (tmp_path / "big.bin").write_bytes(payload)
    assert run("cp", str(tmp_path / "big.bin"), "s3://uploads/").exit_code == 0
    assert run("cp", "s3://uploads/big.bin", "local://from-s3/big.bin").exit_code == 0
    assert run.manager.disk("local").get("from-s3/big.bin") == payload
    listing = json.loads(run("ls", "s3://uploads", "--json").stdout)
    assert [(entry["path"], entry["size"]) for entry in listing] == [("uploads/big.bin", len(payload))]
    assert run("sync", str(tree), "s3://site").exit_code == 0
    assert run("ls", "-r", "s3://site").stdout.splitlines() == [
        "site/css/", "site/css/app.css", "site/index.html", "site/notes.tmp"]
    assert run("cat", "s3://site/index.html").stdout == "<h1>hi</h1>"
    (found,) = json.loads(run("usage", "s3://", "--json").stdout)
    assert (found["files"], found["bytes"]) == (4, len(payload) + 11 + 6 + 7)
    missing = run("cat", "s3://site/missing.html")
    assert missing.exit_code == 3 and "'s3'" in one_error_line(missing)
    assert run("rm", "-r", "s3://site").exit_code == 0
    assert run("ls", "s3://").stdout.splitlines() == ["uploads/"]

"""``<disk>@<tenant>://path`` operands work in cross-disk verbs before ``Storage.tenant()`` built the disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from flystore import StorageManager
from flystore.errors import DiskNotConfigured, PathTraversalDetected, QuotaExceeded, StorageError
from flystore.tenants import TenantDisk


def fresh(**tenants: object) -> StorageManager:
    manager = StorageManager({
        "disks": {"files": {"driver": "memory"}, "uploads": {"driver": "memory"}},
        "tenants": {"disk": "files", **tenants},
    })
    manager.disk("uploads").put("a.pdf", b"%PDF-1.7 a")
    manager.disk("uploads").put("big.bin", b"x" * 500)
    return manager


def test_a_copy_and_a_move_into_a_tenant_disk_never_built_before_land_under_its_prefix() -> None:
    manager = fresh()
    assert manager.copy("uploads://a.pdf", "files@acme://in/a.pdf") == "in/a.pdf"
    manager.move("uploads://big.bin", "files@acme://big.bin")
    assert manager.disk("files").all_files() == ["tenants/acme/big.bin", "tenants/acme/in/a.pdf"]
    assert manager.disk("uploads").all_files() == ["a.pdf"]
    acme = manager.tenant("acme")
    assert acme.all_files() == ["big.bin", "in/a.pdf"]


def test_out_of_a_tenant_disk_and_between_two_tenants() -> None:
    manager = fresh()
    manager.disk("files").put("tenants/acme/report.txt", b"acme's")
    manager.copy("files@acme://report.txt", "uploads://from-acme.txt")
    manager.copy("files@acme://report.txt", "files@globex://report.txt")
    assert manager.disk("uploads").get("from-acme.txt") == b"acme's"
    assert manager.disk("files").get("tenants/globex/report.txt") == b"acme's"


def test_the_operand_names_the_same_disk_and_quota_ledger_as_storage_tenant() -> None:
    manager = fresh(max_bytes=100)
    disk, path = manager.locate("files@acme://x.txt")
    assert isinstance(disk, TenantDisk) and (disk.tenant, disk.base, path) == ("acme", "files", "x.txt")
    assert manager.tenant("acme") is disk
    with pytest.raises(StorageError) as caught:
        manager.copy("uploads://big.bin", "files@acme://big.bin")
    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__
    assert any(isinstance(link, QuotaExceeded) and link.tenant == "acme" for link in chain)
    assert manager.disk("files").all_files() == []


def test_a_sync_into_a_tenant_disk_by_its_operand(tmp_path: Path) -> None:
    manager = fresh()
    report = manager.sync("uploads://", "files@acme://mirror")
    assert sorted(report.copied) == ["a.pdf", "big.bin"]
    assert manager.tenant("acme").all_files() == ["mirror/a.pdf", "mirror/big.bin"]


def test_a_tenant_operand_with_a_hostile_name_or_an_unknown_disk_is_refused_clearly() -> None:
    manager = fresh()
    with pytest.raises(PathTraversalDetected):
        manager.copy("uploads://a.pdf", "files@..://a.pdf")
    with pytest.raises(DiskNotConfigured) as caught:
        manager.copy("uploads://a.pdf", "nowhere@acme://a.pdf")
    assert "nowhere" in str(caught.value)
    assert manager.disk("files").all_files() == []


def test_disk_by_name_builds_a_tenant_disk_never_built_before() -> None:
    manager = fresh()
    acme = manager.disk("files@acme")
    assert isinstance(acme, TenantDisk) and (acme.tenant, acme.base) == ("acme", "files")
    acme.put("note.txt", b"acme's")
    assert manager.disk("files@acme") is acme is manager.tenant("acme")
    assert manager.disk("files").all_files() == ["tenants/acme/note.txt"]
    for unusable in ("@acme", "files@", "nowhere@acme"):
        with pytest.raises(DiskNotConfigured):
            manager.disk(unusable)
    with pytest.raises(PathTraversalDetected):
        manager.disk("files@..")


def test_the_command_line_reaches_a_tenant_disk_by_its_operand() -> None:
    from click.testing import CliRunner

    from flystore.cli.app import cli

    manager = fresh()
    manager.disk("files").put("tenants/acme/in/a.txt", b"acme's")
    runner = CliRunner()
    listed = runner.invoke(cli, ["ls", "files@acme://in"], obj=manager, catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    assert "a.txt" in listed.output
    shown = runner.invoke(cli, ["cat", "files@acme://in/a.txt"], obj=manager, catch_exceptions=False)
    assert shown.exit_code == 0 and shown.stdout_bytes == b"acme's"

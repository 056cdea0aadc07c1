"""The decorator mechanism: read_only and scoped specifics (their contracts run in test_contract_core)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flystore import FileNotFound, ReadOnlyDisk, StorageManager
from flystore.decorators import DecoratedBackend, PrefixedBackend


@pytest.fixture
def manager(tmp_path: Path) -> StorageManager:
    return StorageManager(
        {
            "disks": {
                "base": {"driver": "local", "root": str(tmp_path), "url": "https://files.example"},
                "ro": {"driver": "read_only", "disk": "base"},
                "tenants": {"driver": "scoped", "disk": "base", "prefix": "tenants"},
                "acme": {"driver": "scoped", "disk": "tenants", "prefix": "acme"},
                "acme-ro": {"driver": "read_only", "disk": "acme"},
                "flagged": {"driver": "memory", "read_only": True},
            }
        }
    )


def test_read_only_refuses_every_write_and_reads_work(manager: StorageManager) -> None:
    manager.disk("base").put("doc.txt", "keep me")
    disk = manager.disk("ro")
    assert disk.get("doc.txt") == b"keep me" and disk.files() == ["doc.txt"]
    writes = [
        lambda: disk.put("doc.txt", "x"),
        lambda: disk.write_stream("new.txt", iter([b"x"])),
        lambda: disk.append("doc.txt", "x"),
        lambda: disk.prepend("doc.txt", "x"),
        lambda: disk.put_json("j.json", {}),
        lambda: disk.copy("doc.txt", "c.txt"),
        lambda: disk.move("doc.txt", "m.txt"),
        lambda: disk.delete("doc.txt"),
        lambda: disk.make_directory("d"),
        lambda: disk.delete_directory("d"),
        lambda: disk.set_visibility("doc.txt", "public"),
        lambda: disk.open("doc.txt", "wb"),
        lambda: disk.temporary_upload_url("up.txt"),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyDisk) as caught:
            write()
        assert isinstance(caught.value, PermissionError) and caught.value.disk == "ro"
    assert manager.disk("base").all_files() == ["doc.txt"]
    assert manager.disk("base").get("doc.txt") == b"keep me"


def test_read_only_as_an_option_of_any_disk(manager: StorageManager) -> None:
    with pytest.raises(ReadOnlyDisk):
        manager.disk("flagged").put("x", "1")


def test_nested_scopes_join_prefixes_and_urls(manager: StorageManager) -> None:
    acme = manager.disk("acme")
    acme.put("invoices/1.pdf", "pdf")
    assert manager.disk("base").all_files() == ["tenants/acme/invoices/1.pdf"]
    assert manager.disk("tenants").all_files() == ["acme/invoices/1.pdf"]
    assert acme.all_files() == ["invoices/1.pdf"]
    assert acme.url("invoices/1.pdf") == "https://files.example/tenants/acme/invoices/1.pdf"
    assert isinstance(acme.backend, PrefixedBackend) and acme.backend.prefix == "tenants/acme"
    assert not isinstance(acme.backend.inner, PrefixedBackend)  # nesting flattened to one layer
    assert acme.path("invoices/1.pdf").endswith("tenants/acme/invoices/1.pdf")


def test_scoped_errors_name_the_users_path_not_the_key(manager: StorageManager) -> None:
    with pytest.raises(FileNotFound) as caught:
        manager.disk("acme").get("nope.txt")
    assert caught.value.path == "nope.txt" and caught.value.disk == "acme"
    assert "tenants" not in str(caught.value)


def test_decorators_stack_to_any_depth(manager: StorageManager) -> None:
    manager.disk("acme").put("x.txt", "x")
    stacked = manager.disk("acme-ro")
    assert stacked.get("x.txt") == b"x"
    with pytest.raises(ReadOnlyDisk):
        stacked.put("x.txt", "y")


def test_a_scope_cannot_escape_its_prefix(manager: StorageManager) -> None:
    from flystore import PathTraversalDetected

    manager.disk("base").put("outside.txt", "secret")
    with pytest.raises(PathTraversalDetected):
        manager.disk("acme").get("../../outside.txt")


def test_decorated_backend_forwards_everything() -> None:
    from flystore.disk import FilesystemAdapter
    from flystore.drivers.memory import MemoryBackend

    disk = FilesystemAdapter(DecoratedBackend(MemoryBackend()))
    disk.put("a/b.txt", "b")
    disk.copy("a/b.txt", "c.txt")
    assert disk.all_files() == ["a/b.txt", "c.txt"] and disk.checksum("c.txt")

"""A scoped disk over a versioned one has the version methods, for its own paths only."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path

import pytest

from flystore import PathTraversalDetected, StorageManager, VersionNotFound
from flystore.decorators.versioned.scoped import ScopedVersionsAdapter


@pytest.fixture
def manager(tmp_path: Path) -> StorageManager:
    return StorageManager({"disks": {
        "files": {"driver": "local", "root": str(tmp_path)},
        "docs": {"driver": "versioned", "disk": "files"},
        "acme": {"driver": "scoped", "disk": "docs", "prefix": "tenants/acme"},
        "globex": {"driver": "scoped", "disk": "docs", "prefix": "tenants/globex"},
        "acme-hr": {"driver": "scoped", "disk": "acme", "prefix": "hr"},
    }})


def _scoped(manager: StorageManager, name: str) -> ScopedVersionsAdapter:
    disk = manager.disk(name)
    assert isinstance(disk, ScopedVersionsAdapter)
    return disk


def test_the_version_methods_work_under_the_prefix_and_name_the_scoped_paths(manager: StorageManager) -> None:
    acme = _scoped(manager, "acme")
    events: list[tuple[str, str]] = []
    acme.on("file_updated", lambda path: events.append(("updated", path)))
    acme.put("a.txt", "one")
    acme.put("a.txt", "two")
    acme.delete("a.txt")
    marker, two, one = acme.versions("a.txt")
    assert {version.path for version in (marker, two, one)} == {"a.txt"}
    assert marker.is_deleted and acme.get_version("a.txt", one.id) == b"one"
    with acme.read_stream_version("a.txt", two.id, chunk_size=1) as stream:
        assert b"".join(stream) == b"two"
    assert acme.restore_version("a.txt", one.id) == "a.txt" and acme.get("a.txt") == b"one"
    assert ("updated", "a.txt") in events
    assert acme.delete_version("a.txt", acme.versions("a.txt")[0].id).path == "a.txt"
    assert not acme.file_exists("a.txt")  # the delete marker is current again
    # The same versions, seen from the versioned disk under the prefix.
    docs = manager.disk("docs")
    assert [version.id for version in docs.versions("tenants/acme/a.txt")] == [  # type: ignore[attr-defined]
        version.id for version in acme.versions("a.txt")]
    assert acme.versioning == "layout"
    assert asyncio.run(acme.aio.versions("a.txt"))[0].id == marker.id


def test_errors_name_the_scoped_disk_and_its_path_never_the_prefix(manager: StorageManager) -> None:
    acme = _scoped(manager, "acme")
    acme.put("b.txt", "b")
    with pytest.raises(VersionNotFound) as caught:
        acme.get_version("b.txt", "not-an-id")
    assert (caught.value.disk, caught.value.path) == ("acme", "b.txt")
    assert "tenants" not in str(caught.value)
    globex = _scoped(manager, "globex")
    globex.put("secret.txt", "globex's")
    theirs = globex.versions("secret.txt")[0].id
    for escape in ("../globex/secret.txt", "..\\globex\\secret.txt", "/../../tenants/globex/secret.txt"):
        for method in (acme.versions, lambda path: acme.get_version(path, theirs)):
            with pytest.raises(PathTraversalDetected):
                method(escape)
    with pytest.raises(VersionNotFound):
        acme.get_version("secret.txt", theirs)  # another tenant's id is no id of this path


def test_prune_of_a_scoped_disk_prunes_its_prefix_only(manager: StorageManager) -> None:
    acme, globex = _scoped(manager, "acme"), _scoped(manager, "globex")
    for number in range(3):
        acme.put("log.txt", str(number))
        globex.put("log.txt", str(number))
    assert acme.prune(keep=1) == 2
    assert (len(acme.versions("log.txt")), len(globex.versions("log.txt"))) == (1, 3)


def test_scopes_nest_and_travel_with_their_version_methods(manager: StorageManager) -> None:
    hr = _scoped(manager, "acme-hr")
    hr.put("pay.csv", "1")
    hr.put("pay.csv", "2")
    assert [version.path for version in hr.versions("pay.csv")] == ["pay.csv", "pay.csv"]
    assert len(_scoped(manager, "acme").versions("hr/pay.csv")) == 2
    travelled = pickle.loads(pickle.dumps(hr))
    assert isinstance(travelled, ScopedVersionsAdapter)
    assert [travelled.get_version("pay.csv", version.id) for version in travelled.versions("pay.csv")] == [b"2", b"1"]

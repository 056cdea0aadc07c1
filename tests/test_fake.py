"""Storage.fake(), the assertion helpers and the storage_fake pytest fixture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flystore import Storage, StorageManager, verify_temporary_url
from flystore.testing import FakeDisk


@pytest.fixture
def manager(tmp_path: Path) -> StorageManager:
    return StorageManager(
        {
            "default": "local",
            "disks": {
                "local": {"driver": "local", "root": str(tmp_path / "real")},
                "s3": {"driver": "memory", "url": "https://cdn.example.com", "visibility": "private"},
            },
        }
    )


def test_a_fake_replaces_the_disk_starts_empty_and_keeps_url_and_visibility(manager: StorageManager) -> None:
    manager.disk("s3").put("existing.txt", "real")
    fake = manager.fake("s3")
    assert isinstance(fake, FakeDisk)
    assert manager.disk("s3") is fake
    assert fake.all_files() == []
    fake.put("avatars/1.jpg", b"img")
    assert fake.url("avatars/1.jpg") == "https://cdn.example.com/avatars/1.jpg"
    assert fake.get_visibility("avatars/1.jpg") == "private"
    manager.restore("s3")
    assert manager.disk("s3").files() == ["existing.txt"]


def test_faking_the_default_disk_never_touches_the_real_directory(manager: StorageManager, tmp_path: Path) -> None:
    fake = manager.fake()
    manager.put("written-by-app.txt", "hello")
    fake.assert_exists("written-by-app.txt", "hello")
    assert not (tmp_path / "real" / "written-by-app.txt").exists()
    manager.restore()
    assert manager.file_missing("written-by-app.txt")


def test_fakes_are_isolated_from_each_other(manager: StorageManager) -> None:
    first = manager.fake("s3")
    first.put("x", "1")
    second = manager.fake("s3")
    assert second.all_files() == []


def test_fake_temporary_urls_work_without_an_app_key(manager: StorageManager) -> None:
    fake = manager.fake("s3")
    url = fake.temporary_url("a.txt")
    assert verify_temporary_url(url, manager=manager).path == "a.txt"


def test_assertion_messages_list_what_is_there(manager: StorageManager) -> None:
    fake = manager.fake("s3")
    fake.put("docs/a.txt", "alpha")
    fake.put("docs/b.txt", "beta")
    assert fake.assert_exists(["docs/a.txt", "docs/b.txt"]).assert_missing("docs/c.txt") is fake
    with pytest.raises(AssertionError) as missing:
        fake.assert_exists("docs/c.txt")
    assert "docs/c.txt" in str(missing.value) and "docs/a.txt, docs/b.txt" in str(missing.value)
    with pytest.raises(AssertionError) as wrong_content:
        fake.assert_exists("docs/a.txt", content="omega")
    assert "'omega'" in str(wrong_content.value) and "'alpha'" in str(wrong_content.value)
    with pytest.raises(AssertionError) as present:
        fake.assert_missing(["docs/zzz", "docs/b.txt"])
    assert "docs/b.txt" in str(present.value)
    fake.assert_count("docs", 2)
    with pytest.raises(AssertionError) as counted:
        fake.assert_count("docs", 3)
    assert "Expected 3" in str(counted.value) and "found 2" in str(counted.value)
    fake.put("docs/deeper/c.txt", "c")
    fake.assert_count("docs", 2).assert_count("docs", 3, recursive=True)
    fake.assert_directory_empty("elsewhere")
    with pytest.raises(AssertionError) as not_empty:
        fake.assert_directory_empty("docs")
    assert "docs/deeper/c.txt" in str(not_empty.value)
    with pytest.raises(AssertionError):
        fake.assert_empty()


def test_a_local_fake_has_real_paths_and_is_cleaned_up(manager: StorageManager) -> None:
    fake = manager.fake("s3", local=True)
    fake.put("x.txt", "on disk")
    path = Path(fake.path("x.txt"))
    assert path.read_text() == "on disk"
    manager.restore("s3")
    assert not path.exists()


def test_a_persistent_fake_keeps_its_files_across_restores(manager: StorageManager) -> None:
    first = manager.persistent_fake("s3")
    first.put("kept.txt", "k")
    manager.restore("s3")
    assert manager.disk("s3").file_missing("kept.txt")
    again = manager.persistent_fake("s3")
    assert again is first
    again.assert_exists("kept.txt", "k")
    assert manager.fake("s3").all_files() == []


def test_faking_as_a_context_manager(manager: StorageManager) -> None:
    real = manager.disk("s3")
    with manager.faking("s3") as fake:
        assert manager.disk("s3") is fake
    assert manager.disk("s3") is real


def test_overrides_apply_to_the_fake(manager: StorageManager) -> None:
    fake = manager.fake("s3", url="https://other.example")
    fake.put("a", "1")
    assert fake.url("a") == "https://other.example/a"


def test_the_storage_fake_fixture_fakes_and_restores(storage_fake) -> None:  # type: ignore[no-untyped-def]
    Storage.configure({"default": "files", "disks": {"files": {"driver": "memory", "url": "/f"}}})
    real = Storage.disk("files")
    fake = storage_fake("files")
    assert Storage.disk("files") is fake and fake is not real
    Storage.put("from-the-app.txt", "x")
    fake.assert_exists("from-the-app.txt")
    assert fake.url("a") == "/f/a"


def test_after_the_fixture_the_real_disk_is_back() -> None:
    # Runs after the test above (file order): the fake it made must be gone.
    if "files" in Storage.disk_names():
        assert not isinstance(Storage.disk("files"), FakeDisk)


def test_a_failing_assertion_shows_the_test_line_not_flystore_frames(tmp_path: Path) -> None:
    test_file = tmp_path / "test_user_code.py"
    test_file.write_text(
        "from flystore import StorageManager\n"
        "def test_upload():\n"
        "    fake = StorageManager({'disks': {'s3': {'driver': 'memory'}}}).fake('s3')\n"
        "    fake.put('a.txt', 'x')\n"
        "    fake.assert_exists('missing.png')  # the line users must see\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert run.returncode == 1, run.stdout
    assert "the line users must see" in run.stdout
    assert "Unable to find a file or directory at path [missing.png]" in run.stdout
    assert "flystore/testing/fake.py" not in run.stdout and "fake.py:" not in run.stdout


def test_disk_contract_without_hypothesis_names_the_testing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import requires

    from flystore.testing import DiskContract

    monkeypatch.setitem(sys.modules, "hypothesis", None)  # as if only "pip install flystore" were done
    monkeypatch.delitem(sys.modules, "flystore.testing.stateful", raising=False)
    disk = StorageManager({"disks": {"d": {"driver": "memory"}}}).disk("d")
    with pytest.raises(pytest.fail.Exception, match=r'pip install "flystore\[testing\]"'):
        DiskContract().test_random_operation_sequences_agree_with_a_model(disk)
    declared = requires("flystore") or []
    assert any(spec.startswith("hypothesis") and 'extra == "testing"' in spec for spec in declared)


def test_faking_a_disk_reaches_the_decorator_disks_already_built_over_it() -> None:
    manager = StorageManager({"disks": {
        "s3": {"driver": "memory"},
        "scoped": {"driver": "scoped", "disk": "s3", "prefix": "app"},
        "cached": {"driver": "cached", "disk": "scoped", "store": "memory"},
        "other": {"driver": "memory"},
    }})
    real = manager.disk("s3")
    other = manager.disk("other")
    manager.disk("cached").put("before.txt", b"real")  # built over the real disk
    fake = manager.fake("s3")
    manager.disk("cached").put("during.txt", b"faked")
    fake.assert_exists("app/during.txt")
    assert real.files("app") == ["app/before.txt"], "a decorator built before the fake wrote to the real disk"
    assert manager.disk("other") is other  # disks that do not wrap the faked one are kept
    manager.restore("s3")
    assert manager.disk("cached").get("before.txt") == b"real"
    assert not manager.disk("cached").exists("during.txt")

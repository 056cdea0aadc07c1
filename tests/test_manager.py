"""StorageManager: configuration, resolution, caching, extend, cross-disk copy."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import fsspec
import pytest

from flystore import (
    DiskNotConfigured,
    DriverNotFound,
    DriverNotInstalled,
    FileNotFound,
    FilesystemAdapter,
    InvalidConfiguration,
    InvalidPath,
    LocalFilesystemAdapter,
    PathTraversalDetected,
    StorageManager,
    env,
)
from flystore.drivers.memory import MemoryBackend
from flystore.registry import BUILTIN_DRIVERS


@pytest.fixture
def manager(tmp_path: Path) -> StorageManager:
    return StorageManager(
        {
            "default": "local",
            "disks": {
                "local": {"driver": "local", "root": str(tmp_path / "local")},
                "other": {"driver": "local", "root": str(tmp_path / "other")},
                "mem": {"driver": "memory"},
            },
        }
    )


def test_a_disk_is_built_once_and_reused(manager: StorageManager) -> None:
    assert manager.disk("mem") is manager.disk("mem")
    assert manager.disk() is manager.disk("local")
    assert isinstance(manager.disk("local"), LocalFilesystemAdapter)


def test_an_unknown_disk_names_the_configured_ones(manager: StorageManager) -> None:
    with pytest.raises(DiskNotConfigured) as caught:
        manager.disk("s4")
    assert "'s4'" in str(caught.value)
    for name in ("local", "other", "mem"):
        assert name in str(caught.value)


def test_the_facade_acts_on_the_default_disk(manager: StorageManager) -> None:
    manager.put("hello.txt", "hi")
    assert manager.get("hello.txt") == b"hi"
    assert manager.disk("local").exists("hello.txt")
    assert manager.files() == ["hello.txt"]
    with pytest.raises(AttributeError):
        manager.no_such_verb  # noqa: B018


def test_set_default_disk_changes_where_the_facade_writes(manager: StorageManager) -> None:
    manager.set_default_disk("mem")
    manager.put("x.txt", "in memory")
    assert manager.disk("mem").get("x.txt") == b"in memory"
    assert manager.disk("local").file_missing("x.txt")
    with pytest.raises(DiskNotConfigured):
        manager.set_default_disk("nope")


def test_configure_replaces_everything(manager: StorageManager, tmp_path: Path) -> None:
    old = manager.disk("mem")
    manager.configure({"disks": {"fresh": {"driver": "memory"}}})
    assert manager.disk_names() == ["fresh"]
    assert manager.default_disk_name == "fresh"
    assert manager.disk("fresh") is not old
    with pytest.raises(DiskNotConfigured):
        manager.disk("mem")


def test_bad_configurations_are_refused_with_the_disk_and_option_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfiguration):
        StorageManager({"default": "a"})
    with pytest.raises(InvalidConfiguration) as caught:
        StorageManager({"default": "missing", "disks": {"a": {"driver": "memory"}}})
    assert "missing" in str(caught.value)
    manager = StorageManager({"disks": {"bad": {"driver": "local"}, "nodriver": {"root": "x"}}})
    with pytest.raises(InvalidConfiguration) as caught_root:
        manager.disk("bad")
    assert caught_root.value.disk == "bad" and caught_root.value.option == "root"
    assert "'bad'" in str(caught_root.value) and "'root'" in str(caught_root.value)
    with pytest.raises(InvalidConfiguration) as caught_driver:
        manager.disk("nodriver")
    assert caught_driver.value.option == "driver"
    with pytest.raises(InvalidConfiguration) as caught_visibility:
        manager.build({"driver": "memory", "visibility": "secret"})
    assert caught_visibility.value.option == "visibility"


def test_an_unknown_driver_lists_the_built_in_ones() -> None:
    manager = StorageManager({"disks": {"x": {"driver": "floppy"}}})
    with pytest.raises(DriverNotFound) as caught:
        manager.disk("x")
    assert "floppy" in str(caught.value) and "s3" in str(caught.value) and caught.value.disk == "x"


def test_a_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BUILTIN_DRIVERS, "tape", ("flystore_tape_sdk_that_is_not_installed:create", "tape"))
    manager = StorageManager({"disks": {"archive": {"driver": "tape"}}})
    with pytest.raises(DriverNotInstalled) as caught:
        manager.disk("archive")
    assert 'pip install "flystore[tape]"' in str(caught.value)
    assert caught.value.extra == "tape" and caught.value.disk == "archive"
    assert isinstance(caught.value, ImportError)


def test_env_values_are_read_when_the_disk_is_built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLYSTORE_TEST_ROOT", raising=False)
    manager = StorageManager(
        {"disks": {"d": {"driver": "local", "root": env("FLYSTORE_TEST_ROOT", str(tmp_path / "default"))}}}
    )
    monkeypatch.setenv("FLYSTORE_TEST_ROOT", str(tmp_path / "from-env"))
    disk = manager.disk("d")
    disk.put("a.txt", "x")
    assert (tmp_path / "from-env" / "a.txt").read_text() == "x"


def test_env_casts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYSTORE_FLAG", "yes")
    monkeypatch.setenv("FLYSTORE_NUMBER", "42")
    monkeypatch.setenv("FLYSTORE_BAD", "maybe")
    assert env("FLYSTORE_FLAG", cast=bool).resolve() is True
    assert env("FLYSTORE_NUMBER", cast=int).resolve() == 42
    assert env("FLYSTORE_UNSET_VARIABLE", "fallback").resolve() == "fallback"
    with pytest.raises(InvalidConfiguration):
        env("FLYSTORE_BAD", cast=bool).resolve()


def test_configure_disk_adds_a_disk_at_runtime(manager: StorageManager, tmp_path: Path) -> None:
    assert manager.configure_disk("tenant-7", "local", root=str(tmp_path / "t7"), url="/t7") is None
    disk = manager.disk("tenant-7")
    assert manager.disk("tenant-7") is disk
    assert "tenant-7" in manager.disk_names()
    disk.put("a.txt", "x")
    assert disk.url("a.txt") == "/t7/a.txt"
    manager.configure_disk("tenant-7", "memory")
    replaced = manager.disk("tenant-7")
    assert replaced is not disk and replaced.file_missing("a.txt")
    manager.configure_disk("broken", "local")  # lazy: the missing root is reported on first use
    with pytest.raises(InvalidConfiguration) as caught:
        manager.disk("broken")
    assert caught.value.disk == "broken"


def test_configure_disk_is_lazy_and_reads_env_when_the_disk_is_built(
    manager: StorageManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, object]] = []

    def probe(options: dict[str, object], owner: StorageManager) -> FilesystemAdapter:
        seen.append(dict(options))
        return owner.build({"driver": "memory"})

    manager.extend("probe", probe)
    monkeypatch.delenv("FLYSTORE_N", raising=False)
    manager.configure_disk("probe", "probe", number=env("FLYSTORE_N", cast=int))
    assert seen == []  # nothing built yet
    monkeypatch.setenv("FLYSTORE_N", "42")
    manager.disk("probe")
    assert seen[0]["number"] == 42


def test_configure_disk_reports_a_missing_extra_on_first_use_not_at_configure_time(
    manager: StorageManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if flystore[s3] were not installed
    monkeypatch.delitem(sys.modules, "flystore.drivers.s3", raising=False)
    manager.configure_disk("later", "s3", bucket="b")
    with pytest.raises(DriverNotInstalled, match=r'pip install "flystore\[s3\]"'):
        manager.disk("later")


@pytest.mark.parametrize("config", ["local", [1, 2], 42, b"disks"])
def test_a_configuration_that_is_not_a_dict_is_refused_clearly(config: object) -> None:
    with pytest.raises(InvalidConfiguration, match="must be a dict"):
        StorageManager(config)  # type: ignore[arg-type]


def test_an_unknown_driver_is_an_invalid_configuration(manager: StorageManager) -> None:
    with pytest.raises(InvalidConfiguration, match="unknown driver 'nope'") as caught:
        manager.build({"driver": "nope"}, name="x")
    assert isinstance(caught.value, DriverNotFound) and caught.value.option == "driver"


def test_a_cross_disk_copy_to_a_hostile_path_is_a_traversal_not_a_copy_failure(manager: StorageManager) -> None:
    manager.disk("mem").put("a.txt", "x")
    for hostile in ("local://../escape.txt", "local://a/../../escape.txt"):
        with pytest.raises(PathTraversalDetected) as caught:
            manager.copy("mem://a.txt", hostile)
        assert caught.value.disk == "local"
        with pytest.raises(PathTraversalDetected):
            manager.move("mem://a.txt", hostile)
    with pytest.raises(PathTraversalDetected):
        manager.copy("mem://../a.txt", "local://b.txt")
    assert manager.disk("mem").file_exists("a.txt")


def test_build_makes_an_unregistered_disk(manager: StorageManager) -> None:
    disk = manager.build({"driver": "memory"})
    disk.put("x", "1")
    assert disk.get("x") == b"1"
    assert "ondemand" not in manager.disk_names()


def test_forget_disk_rebuilds_on_next_use(manager: StorageManager) -> None:
    first = manager.disk("mem")
    first.put("x", "1")
    manager.forget_disk("mem")
    second = manager.disk("mem")
    assert second is not first and second.file_missing("x")


def test_extend_with_a_factory_returning_a_disk_a_backend_or_an_fsspec_filesystem() -> None:
    seen: list[dict[str, Any]] = []

    def disk_factory(options: dict[str, Any], manager: StorageManager) -> FilesystemAdapter:
        seen.append(options)
        return FilesystemAdapter(MemoryBackend(), config={"url": options["url"]})

    def fsspec_factory(options: dict[str, Any], manager: StorageManager) -> Any:
        fs = fsspec.filesystem("memory", skip_instance_cache=True)
        fs.store, fs.pseudo_dirs = {}, [""]
        return fs

    manager = StorageManager(
        {
            "disks": {
                "custom": {"driver": "mine", "url": "https://files.example"},
                "raw": {"driver": "backend-only"},
                "fs": {"driver": "an-fsspec", "root": "/base"},
            }
        }
    )
    manager.extend("mine", disk_factory)
    manager.extend("backend-only", lambda options, manager: MemoryBackend())
    manager.extend("an-fsspec", fsspec_factory)
    custom = manager.disk("custom")
    assert custom.name == "custom" and seen == [{"driver": "mine", "url": "https://files.example"}]
    assert custom.url("a b.txt") == "https://files.example/a%20b.txt"
    manager.disk("raw").put("r.txt", "r")
    assert manager.disk("raw").get("r.txt") == b"r"
    fs_disk = manager.disk("fs")
    fs_disk.put("dir/f.txt", "via fsspec")
    assert fs_disk.get("dir/f.txt") == b"via fsspec" and fs_disk.all_files() == ["dir/f.txt"]
    manager.extend("bad", lambda options, manager: 42)
    with pytest.raises(InvalidConfiguration):
        manager.build({"driver": "bad"})


def test_extend_overrides_a_built_in_driver_and_drops_cached_disks(manager: StorageManager) -> None:
    before = manager.disk("mem")
    manager.extend("memory", lambda options, manager: MemoryBackend())
    assert manager.disk("mem") is not before


def test_decorator_disks_that_refer_to_each_other_in_a_loop_are_refused() -> None:
    manager = StorageManager(
        {
            "disks": {
                "a": {"driver": "scoped", "disk": "b", "prefix": "x"},
                "b": {"driver": "read_only", "disk": "a"},
            }
        }
    )
    with pytest.raises(InvalidConfiguration) as caught:
        manager.disk("a")
    assert "loop" in str(caught.value)
    with pytest.raises(InvalidConfiguration) as missing:
        StorageManager({"disks": {"s": {"driver": "scoped", "disk": "ghost", "prefix": "p"}}}).disk("s")
    assert "ghost" in str(missing.value)


def test_cross_disk_copy_and_move_stream_between_disks(manager: StorageManager) -> None:
    manager.disk("local").put("docs/report.txt", "quarterly")
    assert manager.copy("local://docs/report.txt", "mem://backup/report.txt") == "backup/report.txt"
    assert manager.disk("mem").get("backup/report.txt") == b"quarterly"
    deleted: list[str] = []
    manager.disk("local").on("file_deleted", deleted.append)
    manager.move("local://docs/report.txt", "other://moved.txt")
    assert manager.disk("other").get("moved.txt") == b"quarterly"
    assert manager.disk("local").file_missing("docs/report.txt")
    assert deleted == ["docs/report.txt"]
    # plain paths act on the default disk
    manager.put("plain.txt", "p")
    manager.copy("plain.txt", "plain-copy.txt")
    assert manager.get("plain-copy.txt") == b"p"
    with pytest.raises(FileNotFound):
        manager.copy("local://nothing.txt", "mem://x.txt")
    assert manager.disk("mem").file_missing("x.txt")


def test_cross_disk_copy_reports_progress(manager: StorageManager) -> None:
    manager.disk("mem").put("big.bin", b"z" * 3_000_000)
    seen: list[tuple[int, int | None]] = []
    manager.copy("mem://big.bin", "local://big.bin", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3_000_000, 3_000_000)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert manager.disk("local").size("big.bin") == 3_000_000


def test_lazy_configuration_prefers_flystore_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config_file = tmp_path / "elsewhere.py"
    root = str(tmp_path / "n")
    config_file.write_text(
        textwrap.dedent(
            f"""
            DISK = {{"driver": "local", "root": {root!r}}}
            FILESYSTEMS = {{"default": "named", "disks": {{"named": DISK}}}}
            """
        )
    )
    monkeypatch.setenv("FLYSTORE_CONFIG", str(config_file))
    assert StorageManager().disk_names() == ["named"]


def test_lazy_configuration_reads_config_filesystems_py(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLYSTORE_CONFIG", raising=False)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "filesystems.py").write_text(
        'FILESYSTEMS = {"default": "m", "disks": {"m": {"driver": "memory"}}}\n'
    )
    monkeypatch.chdir(tmp_path)
    assert StorageManager().default_disk_name == "m"


def test_lazy_configuration_falls_back_to_local_disks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLYSTORE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    manager = StorageManager()
    assert manager.disk_names() == ["local", "public"]
    manager.put("x.txt", "default disk")
    assert (tmp_path / "storage" / "app" / "x.txt").read_text() == "default disk"
    manager.disk("public").put("p.txt", "p")
    assert manager.disk("public").url("p.txt") == "/storage/p.txt"
    assert manager.disk("public").get_visibility("p.txt") == "public"


def test_a_broken_config_file_is_reported_with_its_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('typo in config')\n")
    monkeypatch.setenv("FLYSTORE_CONFIG", str(broken))
    with pytest.raises(InvalidConfiguration) as caught:
        StorageManager().disk()
    assert "broken.py" in str(caught.value) and "typo in config" in str(caught.value)
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    monkeypatch.setenv("FLYSTORE_CONFIG", str(empty))
    with pytest.raises(InvalidConfiguration, match="FILESYSTEMS"):
        StorageManager().disk()


def test_toml_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "filesystems.toml"
    toml.write_text('default = "t"\n[disks.t]\ndriver = "memory"\n')
    monkeypatch.setenv("FLYSTORE_CONFIG", str(toml))
    assert StorageManager().disk_names() == ["t"]


def test_the_sample_configuration_loads_and_its_local_disks_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sample = Path(__file__).resolve().parent.parent / "config" / "filesystems.py"
    monkeypatch.setenv("FLYSTORE_CONFIG", str(sample))
    monkeypatch.delenv("FILESYSTEM_DISK", raising=False)
    monkeypatch.chdir(tmp_path)
    manager = StorageManager()
    assert {"local", "public", "tmp", "s3", "gcs", "azure", "uploads", "archive"} <= set(manager.disk_names())
    assert manager.default_disk_name == "local"
    manager.disk("uploads").put("avatar.png", b"png")
    assert manager.disk("local").get("uploads/avatar.png") == b"png"
    assert manager.disk("local").get_visibility("uploads/avatar.png") == "private"
    assert manager.disk("archive").get("uploads/avatar.png") == b"png"


def test_a_copy_on_one_disk_reports_progress_once_complete(manager: StorageManager) -> None:
    manager.disk("mem").put("a.bin", b"q" * 1000)
    seen: list[tuple[int, int | None]] = []
    manager.copy("mem://a.bin", "mem://b.bin", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1000, 1000)]


@pytest.mark.parametrize(
    "options",
    [
        {"driver": "local", "root": "x", "bukket": "typo"},
        {"driver": "memory", "root": "memory has no root"},
        {"driver": "scoped", "disk": "mem", "prefix": "p", "prefx": "typo"},
        {"driver": "read_only", "disk": "mem", "extra": 1},
        {"driver": "fsspec", "protocol": "memory", "storage_option": {}},
    ],
)
def test_unknown_options_are_refused_by_name(manager: StorageManager, options: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        manager.build(options, name="typo-disk")
    assert caught.value.disk == "typo-disk"
    assert caught.value.option in {"bukket", "root", "prefx", "extra", "storage_option"}
    assert caught.value.option in str(caught.value)


def test_a_required_string_option_is_named_when_missing_or_mistyped() -> None:
    manager = StorageManager({"disks": {"f": {"driver": "ftp"}, "g": {"driver": "ftp", "host": 21}}})
    with pytest.raises(InvalidConfiguration) as missing:
        manager.disk("f")
    assert (missing.value.disk, missing.value.option) == ("f", "host")
    assert "the ftp driver needs 'host'" in str(missing.value)
    with pytest.raises(InvalidConfiguration) as mistyped:
        manager.disk("g")
    assert mistyped.value.option == "host" and "must be a string" in str(mistyped.value)


@pytest.mark.parametrize(
    ("config", "typo", "suggestion"),
    [
        ({"driver": "local", "root": "x"}, "visibilty", "visibility"),
        ({"driver": "memory"}, "urll", "url"),
        ({"driver": "scoped", "disk": "mem"}, "prefx", "prefix"),
        ({"driver": "read_only", "disk": "mem"}, "dsk", "disk"),
        ({"driver": "fsspec", "protocol": "memory"}, "storage_option", "storage_options"),
    ],
)
def test_an_unknown_option_lists_the_known_ones_and_suggests_the_closest(
    manager: StorageManager, config: dict[str, Any], typo: str, suggestion: str
) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        manager.build({**config, typo: "value"}, name="typo")
    message = str(caught.value)
    assert caught.value.option == typo and caught.value.disk == "typo"
    assert f"did you mean '{suggestion}'?" in message
    assert "this driver knows:" in message and suggestion in message.split("knows:")[1]


@pytest.mark.parametrize("operand", ["my disk://a.txt", "s3 ://a.txt", "://a.txt", "a/b://c"])
def test_an_operand_that_only_looks_like_disk_and_path_is_refused(operand: str) -> None:
    manager = StorageManager({"disks": {"local": {"driver": "memory"}}})
    manager.disk("local").put("src.txt", b"x")
    for call in (lambda: manager.copy("src.txt", operand), lambda: manager.copy(operand, "dst.txt"),
                 lambda: manager.move("src.txt", operand)):
        with pytest.raises(InvalidPath, match="names no disk"):
            call()
    assert manager.disk("local").all_files() == ["src.txt"]

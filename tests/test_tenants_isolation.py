"""No path of one tenant reaches another's files: hostile tenant names and hostile paths, every verb."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flystore import FilesystemAdapter, StorageManager
from flystore.errors import PathTraversalDetected, StorageError
from flystore.tenants import validate_tenant_name

HOSTILE_PIECES = ["..", ".", "/", "\\", "%2e%2e", "%2f", "\x00", "\n", "\u202e", "\u200b", "{tenant}", " ",
                  "tenants", "victim", "acme", "~", "*", "?", "\ud800"]
tenant_names = st.one_of(
    st.sampled_from(["victim", "victim2", "acme", "a", "ACME", "müller", "..", "../victim", "victim/..",
                     "a/../victim", "tenants/victim", "./victim", "\\victim", "victim\x00", "%2e%2e"]),
    # accepted names that look like the victim's (lookalikes, prefixes, suffixes, case, escapes)
    st.sampled_from(["Victim", "victim.", "vict", "v", "victim-x", "ｖｉｃｔｉｍ", "victim\u0301", "%76ictim",
                     "victim~", "victim*", "tenants", "victim%2f..", "-", "_", "victim victim"]),
    st.lists(st.sampled_from(HOSTILE_PIECES), min_size=1, max_size=4).map("".join),
    st.text(min_size=0, max_size=12),
)
hostile_paths = st.one_of(
    st.sampled_from(["../victim/secret.txt", "../../tenants/victim/secret.txt", "..\\victim\\secret.txt",
                     "/tenants/victim/secret.txt", "a/../../victim/secret.txt", "%2e%2e/victim/secret.txt",
                     "./../victim", "secret.txt", "", "/", "..", "victim/secret.txt", "tenants/victim",
                     "a\x00b", "dir/./../../victim/dir/inner.txt"]),
    st.lists(st.sampled_from([*HOSTILE_PIECES, "secret.txt", "dir", "inner.txt"]), min_size=1, max_size=6)
    .map("/".join),
    st.lists(st.sampled_from([*HOSTILE_PIECES, "secret.txt", "dir"]), min_size=1, max_size=5).map("".join),
)

SECRET = b"victim's secret"


def _usable(name: str) -> bool:
    try:
        validate_tenant_name(name)
    except PathTraversalDetected:
        return False
    return True


def _read_stream(disk: FilesystemAdapter, path: str) -> bytes:
    with disk.read_stream(path) as stream:
        return stream.read()


def _every_verb(disk: FilesystemAdapter, path: str) -> list[Callable[[], Any]]:
    return [
        lambda: disk.put(path, b"attacker"),
        lambda: disk.write_stream(path, iter([b"attacker"])),
        lambda: disk.append(path, "attacker"),
        lambda: disk.prepend(path, "attacker"),
        lambda: disk.get(path),
        lambda: _read_stream(disk, path),
        lambda: disk.exists(path),
        lambda: disk.file_exists(path),
        lambda: disk.directory_exists(path),
        lambda: disk.size(path),
        lambda: disk.metadata(path),
        lambda: disk.checksum(path),
        lambda: disk.files(path),
        lambda: disk.all_files(path),
        lambda: disk.directories(path, recursive=True),
        lambda: disk.list(path, recursive=True),
        lambda: disk.copy(path, "copied.txt"),
        lambda: disk.copy("own.txt", path),
        lambda: disk.move(path, "moved.txt"),
        lambda: disk.make_directory(path),
        lambda: disk.set_visibility(path, "public"),
        lambda: disk.delete(path),
        lambda: disk.delete_directory(path),
        lambda: disk.temporary_url(path),
    ]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(attacker=tenant_names.filter(_usable), paths=st.lists(hostile_paths, min_size=1, max_size=4))
def test_no_path_of_one_tenant_reaches_another_tenants_files(attacker: str, paths: list[str]) -> None:
    _attack({"driver": "memory"}, attacker, paths)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(attacker=tenant_names.filter(_usable), paths=st.lists(hostile_paths, min_size=1, max_size=3))
def test_no_path_of_one_tenant_reaches_another_tenants_files_on_a_local_disk(attacker: str, paths: list[str]) -> None:
    with tempfile.TemporaryDirectory() as parent:  # a fresh directory per example (no function-scoped fixture)
        root = os.path.join(parent, "root")
        _attack({"driver": "local", "root": root}, attacker, paths)
        assert os.listdir(parent) == ["root"]  # nothing was written beside the disk's root either


@settings(max_examples=60, deadline=None)
@given(attacker=tenant_names.filter(lambda name: not _usable(name)))
def test_a_refused_tenant_name_touches_nothing(attacker: str) -> None:
    manager = StorageManager({"disks": {"files": {"driver": "memory"}}, "tenants": {"disk": "files"}})
    manager.tenant("victim").put("secret.txt", SECRET)
    with pytest.raises(PathTraversalDetected):
        manager.tenant(attacker)
    assert manager.disk("files").all_files() == ["tenants/victim/secret.txt"]


def _attack(files: dict[str, Any], attacker: str, paths: list[str]) -> None:
    manager = StorageManager({"disks": {"files": files}, "tenants": {"disk": "files"}},
                             app_key="base64:" + "A" * 44)
    base = manager.disk("files")
    victim = manager.tenant("victim")
    victim.put("secret.txt", SECRET)
    victim.put("dir/inner.txt", SECRET)
    base.put("outside.txt", SECRET)
    before = {path: base.get(path) for path in base.all_files()}
    if attacker == "victim":
        return  # the same tenant; nothing to separate
    disk = manager.tenant(attacker)
    disk.put("own.txt", b"attacker")
    own_prefix = f"tenants/{attacker}/"
    for path in paths:
        for verb in _every_verb(disk, path):
            try:
                result = verb()
            except (StorageError, ValueError):
                continue
            if isinstance(result, bytes):
                assert SECRET not in result, "the attacker read another tenant's bytes"
            if isinstance(result, list):
                for item in result:
                    listed = item if isinstance(item, str) else item.path
                    assert base.exists(own_prefix + listed), f"{listed!r} is listed but not the attacker's"
    after = {path: base.get(path) for path in base.all_files()}
    untouched = {path: data for path, data in after.items() if not path.startswith(own_prefix)}
    assert untouched == before, "a file outside the attacker's prefix changed"
    assert victim.get("secret.txt") == SECRET and victim.all_files() == ["dir/inner.txt", "secret.txt"]


@settings(max_examples=40, deadline=None)
@given(first=tenant_names, second=tenant_names)
def test_two_accepted_tenants_never_share_a_directory(first: str, second: str) -> None:
    if not (_usable(first) and _usable(second)) or first == second:
        return
    manager = StorageManager({"disks": {"files": {"driver": "memory"}}, "tenants": {"disk": "files"}})
    manager.tenant(first).put("probe.txt", first)
    manager.tenant(second).put("probe.txt", second)
    assert manager.tenant(first).get("probe.txt") == first.encode()
    assert manager.tenant(second).all_files() == ["probe.txt"]
    assert len(manager.disk("files").all_files()) == 2

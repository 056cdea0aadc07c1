"""Exclusive create through ``disk.fs`` (``open(p, "xb")``, ``pipe_file(p, mode="create")``) is one step.

The check and the write cannot be split by another writer on memory (the store lock),
local (a hard link that fails if the name exists) and s3 (``If-None-Match: *``). Each
test lets every writer pass the early check first, so only the commit can decide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket
from tests.racing import race

WRITERS = 16


@pytest.fixture(params=["memory", "local"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FilesystemAdapter]:
    manager = StorageManager({"disks": {"memory": {"driver": "memory"},
                                        "local": {"driver": "local", "root": str(tmp_path / "root")}}})
    made = manager.disk(request.param)
    yield made
    made.close()


def _payload(index: int) -> bytes:
    return f"writer {index}\n".encode() * 64


def test_pipe_file_create_race_has_one_winner(disk: FilesystemAdapter) -> None:
    fs = disk.fs
    won, errors = race([lambda i=i: fs.pipe_file("race/one.bin", _payload(i), mode="create") for i in range(WRITERS)])
    assert len(won) == 1
    assert len(errors) == WRITERS - 1 and all(isinstance(error, FileExistsError) for error in errors)
    assert fs.cat_file("race/one.bin") == _payload(won[0])  # the winner's bytes, whole


def test_open_xb_writers_that_all_passed_the_check_have_one_winner(disk: FilesystemAdapter) -> None:
    fs = disk.fs
    handles = [fs.open("race/x.bin", "xb") for _ in range(WRITERS)]  # nothing there yet: every check passes
    for index, handle in enumerate(handles):
        handle.write(_payload(index))
    won, errors = race([handle.close for handle in handles])
    assert len(won) == 1
    assert len(errors) == WRITERS - 1 and all(isinstance(error, FileExistsError) for error in errors)
    assert fs.cat_file("race/x.bin") == _payload(won[0])


@pytest.mark.parametrize("inner", ["memory", "local"])
def test_a_scoped_disk_keeps_the_exclusive_create_of_the_disk_below(inner: str, tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"memory": {"driver": "memory"},
                                        "local": {"driver": "local", "root": str(tmp_path / "root")},
                                        "app": {"driver": "scoped", "disk": inner, "prefix": "tenant/app"}}})
    fs = manager.disk("app").fs
    handles = [fs.open("race/x.bin", "xb") for _ in range(WRITERS)]  # every check passes
    for index, handle in enumerate(handles):
        handle.write(_payload(index))
    won, errors = race([handle.close for handle in handles])
    assert len(won) == 1 and all(isinstance(error, FileExistsError) for error in errors)
    assert manager.disk(inner).get("tenant/app/race/x.bin") == _payload(won[0])


def test_a_read_only_disk_refuses_an_exclusive_create_as_read_only() -> None:
    from flystore import ReadOnlyDisk

    manager = StorageManager({"disks": {"m": {"driver": "memory"}, "ro": {"driver": "read_only", "disk": "m"}}})
    manager.disk("m").put("there.txt", b"1")
    for path in ("there.txt", "new.txt"):
        with pytest.raises(ReadOnlyDisk):
            manager.disk("ro").fs.pipe_file(path, b"2", mode="create")
    assert manager.disk("m").all_files() == ["there.txt"]


def test_a_losing_exclusive_writer_leaves_the_file_and_nothing_else(disk: FilesystemAdapter) -> None:
    fs = disk.fs
    first, second = fs.open("d/f.txt", "xb"), fs.open("d/f.txt", "xb")
    first.write(b"first")
    second.write(b"second, longer")
    first.close()
    with pytest.raises(FileExistsError) as caught:
        second.close()
    assert "d/f.txt" in str(caught.value) and disk.name in str(caught.value)
    assert fs.cat_file("d/f.txt") == b"first"
    assert disk.all_files() == ["d/f.txt"]
    local_root = disk.backend.local_path("d") if hasattr(disk.backend, "local_path") else None
    if local_root:  # no temporary file (hidden or not) left beside it
        assert os.listdir(local_root) == ["f.txt"]


def test_exclusive_create_refuses_a_directory_and_a_link(disk: FilesystemAdapter, tmp_path: Path) -> None:
    fs = disk.fs
    fs.makedirs("taken")
    with pytest.raises(FileExistsError):
        fs.pipe_file("taken", b"x", mode="create")
    assert fs.isdir("taken")
    if disk.backend.name == "local":
        outside = tmp_path / "outside.txt"
        outside.write_bytes(b"secret")
        os.symlink(outside, Path(disk.path("lnk")))
        with pytest.raises(FileExistsError):
            fs.pipe_file("lnk", b"overwritten?", mode="create")
        assert outside.read_bytes() == b"secret" and os.path.islink(disk.path("lnk"))


class TestS3Exclusive:
    """s3 on moto: the condition travels with the PUT (and with a multipart completion)."""

    @pytest.fixture(scope="class")
    @classmethod
    def s3(cls, s3_endpoint: str) -> Iterator[FilesystemAdapter]:
        bucket = f"excl-{uuid.uuid4().hex[:12]}"
        config: dict[str, Any] = {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, "create_bucket": True,
                                  "part_size": 5 * 1024 * 1024, **CREDENTIALS}
        manager = StorageManager({"disks": {"s3": config}})
        yield manager.disk("s3")
        manager.configure({"disks": {}})
        remove_bucket(raw_client(s3_endpoint), bucket)

    def test_a_put_behind_the_check_is_refused_by_the_server(self, s3: FilesystemAdapter, s3_endpoint: str) -> None:
        fs = s3.fs
        handle = fs.open("late.txt", "xb")  # the early check passes: nothing there
        handle.write(b"mine")
        raw_client(s3_endpoint).put_object(Bucket=s3.config["bucket"], Key="late.txt", Body=b"theirs")
        with pytest.raises(FileExistsError):
            handle.close()  # no second check in flystore: only If-None-Match can refuse this
        assert fs.cat_file("late.txt") == b"theirs"

    def test_a_multipart_exclusive_create_is_conditional_too(self, s3: FilesystemAdapter) -> None:
        fs = s3.fs
        big = os.urandom(256 * 1024) * 24  # 6 MiB: two parts
        first, second = fs.open("big.bin", "xb"), fs.open("big.bin", "xb")
        first.write(big)
        second.write(big[::-1])
        first.close()
        with pytest.raises(FileExistsError):
            second.close()
        assert fs.cat_file("big.bin") == big

    def test_pipe_file_create_on_a_new_key_writes_it(self, s3: FilesystemAdapter) -> None:
        s3.fs.pipe_file("fresh/one.txt", b"1", mode="create")
        assert s3.get("fresh/one.txt") == b"1"
        with pytest.raises(FileExistsError):
            s3.fs.pipe_file("fresh/one.txt", b"2", mode="create")
        assert s3.get("fresh/one.txt") == b"1"

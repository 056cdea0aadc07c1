"""Names too long for the filesystem (issue 6 item 5): no verb leaks OSError(36).

On a local disk a segment over NAME_MAX (255 bytes) or a path over PATH_MAX
(4,096 bytes) cannot exist: probes answer False, reads raise FileNotFound,
deletes and listings find nothing, and every write raises its own class with
nothing created. The memory disk has no such limit (it stands in for object
stores, whose keys have no segment limit): every verb works with such names.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flystore import (
    FileNotFound,
    FilesystemAdapter,
    LocalFilesystemAdapter,
    StorageError,
    StorageManager,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToMoveFile,
    UnableToWriteFile,
)

LONG_SEGMENT = "d/" + "n" * 300 + ".txt"
LONG_PATH = "/".join(["segment" * 10] * 70)  # every segment 70 bytes, 4,969 bytes in all
MULTIBYTE = "é" * 128  # 128 characters, 256 bytes: too long although it looks short enough
FORMS = {"segment": LONG_SEGMENT, "path": LONG_PATH, "multibyte": MULTIBYTE}

Verb = Callable[[FilesystemAdapter, str], Any]

WRITES: dict[str, tuple[Verb, type[StorageError]]] = {
    "put": (lambda disk, p: disk.put(p, b"x"), UnableToWriteFile),
    "put-str": (lambda disk, p: disk.put(p, "x", metadata={"a": 1}), UnableToWriteFile),
    "write_stream": (lambda disk, p: disk.write_stream(p, io.BytesIO(b"x")), UnableToWriteFile),
    "put_json": (lambda disk, p: disk.put_json(p, {"a": 1}), UnableToWriteFile),
    "put_file_as": (lambda disk, p: disk.put_file_as("", io.BytesIO(b"x"), p), UnableToWriteFile),
    "append": (lambda disk, p: disk.append(p, "x"), UnableToWriteFile),
    "prepend": (lambda disk, p: disk.prepend(p, "x"), UnableToWriteFile),
    "open-ab": (lambda disk, p: disk.open(p, "ab").close(), UnableToWriteFile),
    "open-wb": (lambda disk, p: disk.open(p, "wb").close(), UnableToWriteFile),
    "copy-to": (lambda disk, p: disk.copy("present.txt", p), UnableToCopyFile),
    "move-to": (lambda disk, p: disk.move("present.txt", p), UnableToMoveFile),
    "make_directory": (lambda disk, p: disk.make_directory(p), UnableToCreateDirectory),
}

READS: dict[str, Verb] = {
    "get": lambda disk, p: disk.get(p),
    "get_text": lambda disk, p: disk.get_text(p),
    "json": lambda disk, p: disk.json(p),
    "read_stream": lambda disk, p: disk.read_stream(p).close(),
    "open-rb": lambda disk, p: disk.open(p, "rb").close(),
    "stat": lambda disk, p: disk.stat(p),
    "size": lambda disk, p: disk.size(p),
    "last_modified": lambda disk, p: disk.last_modified(p),
    "mime_type": lambda disk, p: disk.mime_type(p),
    "checksum": lambda disk, p: disk.checksum(p),
    "metadata": lambda disk, p: disk.metadata(p),
    "get_visibility": lambda disk, p: disk.get_visibility(p),
    "set_visibility": lambda disk, p: disk.set_visibility(p, "private"),
    "copy-from": lambda disk, p: disk.copy(p, "elsewhere.txt"),
    "move-from": lambda disk, p: disk.move(p, "elsewhere.txt"),
}

NOTHING: dict[str, tuple[Verb, object]] = {
    "exists": (lambda disk, p: disk.exists(p), False),
    "missing": (lambda disk, p: disk.missing(p), True),
    "file_exists": (lambda disk, p: disk.file_exists(p), False),
    "file_missing": (lambda disk, p: disk.file_missing(p), True),
    "directory_exists": (lambda disk, p: disk.directory_exists(p), False),
    "directory_missing": (lambda disk, p: disk.directory_missing(p), True),
    "delete": (lambda disk, p: disk.delete(p), False),
    "delete-many": (lambda disk, p: disk.delete([p, p + "2"]), False),
    "delete_directory": (lambda disk, p: disk.delete_directory(p), False),
    "files": (lambda disk, p: disk.files(p), []),
    "all_files": (lambda disk, p: disk.all_files(p), []),
    "directories": (lambda disk, p: disk.directories(p), []),
    "all_directories": (lambda disk, p: disk.all_directories(p), []),
    "list": (lambda disk, p: disk.list(p, recursive=True), []),
    "find_files_older_than": (lambda disk, p: disk.find_files_older_than(datetime(2999, 1, 1), p), []),
}


@pytest.fixture
def local(tmp_path: Path) -> LocalFilesystemAdapter:
    disk = LocalFilesystemAdapter(tmp_path / "root", name="jail")
    disk.put("present.txt", "kept")
    return disk


def _untouched(disk: LocalFilesystemAdapter) -> None:
    assert disk.get("present.txt") == b"kept"
    assert sorted(os.listdir(disk.root)) == ["present.txt"]  # no file, directory or temporary file


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("verb", sorted(WRITES))
def test_local_writes_raise_their_own_class(local: LocalFilesystemAdapter, verb: str, form: str) -> None:
    call, expected = WRITES[verb]
    with pytest.raises(expected) as caught:
        call(local, FORMS[form])
    assert caught.value.disk == "jail"
    assert "too long" in caught.value.reason
    assert not isinstance(caught.value.__cause__, OSError) or caught.value.__cause__.errno != 36
    _untouched(local)


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("verb", sorted(READS))
def test_local_reads_find_no_file(local: LocalFilesystemAdapter, verb: str, form: str) -> None:
    with pytest.raises(FileNotFound) as caught:
        READS[verb](local, FORMS[form])
    assert caught.value.disk == "jail"
    _untouched(local)


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("verb", sorted(NOTHING))
def test_local_probes_deletes_and_listings_find_nothing(local: LocalFilesystemAdapter, verb: str, form: str) -> None:
    call, expected = NOTHING[verb]
    assert call(local, FORMS[form]) == expected
    _untouched(local)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_local_fsspec_view_says_missing(local: LocalFilesystemAdapter, form: str) -> None:
    with pytest.raises(FileNotFoundError):
        local.fs.ls(FORMS[form])
    assert local.fs.find(FORMS[form]) == []
    assert not local.fs.exists(FORMS[form])


def test_the_limits_are_bytes_and_the_longest_names_work(local: LocalFilesystemAdapter) -> None:
    longest = "n" * 255
    local.put(f"d/{longest}", "ok")
    assert local.get(f"d/{longest}") == b"ok"
    assert local.all_files("d") == [f"d/{longest}"]
    local.put("é" * 127 + "x", "254+1 bytes")
    assert local.file_exists("é" * 127 + "x")
    assert not local.file_exists("é" * 128)  # 256 bytes
    # The full path counts the root, and a write keeps 64 bytes for its temporary file's name.
    room = 4095 - len(os.fsencode(local.root)) - 1
    directories = (room - 64) // 201
    last = room - 201 * directories
    assert 64 <= last <= 255
    deep = "/".join(["s" * 200] * directories + ["t" * last])
    assert len(os.fsencode(os.path.join(local.root, deep))) == 4095
    local.put(deep, "deepest")
    assert local.get(deep) == b"deepest"
    assert local.all_files("/".join(["s" * 200] * directories)) == [deep]
    with pytest.raises(UnableToWriteFile) as caught:
        local.put(deep + "x", "one byte too many")
    assert "too long" in caught.value.reason
    assert not local.file_exists(deep + "x")
    short_last = "/".join(["s" * 200] * directories + ["t" * (last - 64)])
    with pytest.raises(UnableToWriteFile):
        local.put(short_last + "/" + "u" * 20, "no room for the temporary file")


@pytest.fixture
def memory() -> FilesystemAdapter:
    disk = StorageManager({"disks": {"mem": {"driver": "memory"}}}).disk("mem")
    disk.put("present.txt", "kept")
    return disk


@pytest.mark.parametrize("form", sorted(FORMS))
def test_memory_accepts_long_names_on_every_verb(memory: FilesystemAdapter, form: str) -> None:
    path = FORMS[form]
    for verb, (call, _expected) in WRITES.items():
        if verb in ("move-to",):
            continue
        try:
            call(memory, path)
        except StorageError as error:  # pragma: no cover - the assertion explains
            pytest.fail(f"memory {verb} refused a long name: {error}")
        if verb == "make_directory":
            assert memory.directory_exists(path) and memory.delete_directory(path)
        else:
            assert memory.file_exists(path), verb
            memory.delete(path)
    memory.put(path, "round trip", metadata={"n": 1})
    assert memory.get(path) == b"round trip"
    assert memory.metadata(path)["metadata"] == {"n": 1}
    parent = path.rpartition("/")[0]
    assert path in memory.all_files(parent)
    memory.move(path, path + "-moved")
    assert memory.get(path + "-moved") == b"round trip" and memory.file_missing(path)
    memory.set_visibility(path + "-moved", "private")
    assert memory.get_visibility(path + "-moved") == "private"
    assert memory.delete(path + "-moved")
    memory.make_directory(path)
    assert memory.directory_exists(path)
    assert memory.delete_directory(path)
    assert memory.get("present.txt") == b"kept"

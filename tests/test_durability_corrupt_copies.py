"""Copies and moves of a corrupt file: they raise IntegrityError and never pass the damage on.

For every transforming decorator (and the versioned one over a compressed disk), a stored file is
tampered with (one flipped byte in its middle) or cut short behind the disk's back; then a copy
or a move on the disk, and a cross-disk copy or move out of it, must raise ``IntegrityError``
naming the disk and the source path, leave the destination as it was (absent, or its old
content) and keep the source's stored bytes as they were.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flystore import FileNotFound, IntegrityError, StorageManager, VersionedFilesystemAdapter
from flystore.decorators.deduplicated.store import blob_path
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket

FRAME = 4096
KEY = "base64:" + "QUJD" * 10 + "QUI="


def _text(size: int) -> bytes:
    rng = random.Random(11)
    words = ["alpha", "beta", "gamma", "delta", "/api/v1", "200", "404", "ok"]
    out = bytearray()
    while len(out) < size:
        out += f"{rng.randrange(10**9)} {' '.join(rng.choices(words, k=5))}\n".encode()
    return bytes(out[:size])


CONTENT = _text(5 * FRAME + 321)  # six compressed frames
OLD = b"the destination's old content\n"

#: The disks under test, and where each keeps the stored form of a file.
DISKS = ["packed", "sealed", "once", "history"]


@pytest.fixture
def manager(tmp_path: Path) -> StorageManager:
    return StorageManager({"disks": {
        "raw": {"driver": "local", "root": str(tmp_path / "raw")},
        "raw2": {"driver": "local", "root": str(tmp_path / "raw2")},
        "packed": {"driver": "compressed", "disk": "raw", "frame_size": FRAME},
        "sealed": {"driver": "encrypted", "disk": "raw", "key": KEY},
        "once": {"driver": "deduplicated", "disk": "raw"},
        "squeezed": {"driver": "compressed", "disk": "raw2", "frame_size": FRAME},
        "history": {"driver": "versioned", "disk": "squeezed", "mode": "layout"},
        "other": {"driver": "memory"},
        "other_packed": {"driver": "compressed", "disk": "other"},
    }})


def _stored_path(manager: StorageManager, name: str, path: str) -> tuple[str, str]:
    """The base disk and path holding the stored bytes of ``path`` on disk ``name``."""
    if name == "once":
        digest = hashlib.sha256(CONTENT).hexdigest()
        return "raw", blob_path(digest)
    if name == "history":
        return "raw2", path
    return "raw", path


def _flip(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0x10
    return bytes(damaged)


def _cut(data: bytes) -> bytes:
    return data[: len(data) - 7]


Damage = Callable[[bytes], bytes]


def _damage(manager: StorageManager, name: str, path: str, how: Damage) -> tuple[str, str, bytes]:
    disk = manager.disk(name)
    disk.put(path, CONTENT)
    base, stored = _stored_path(manager, name, path)
    raw = manager.disk(base)
    damaged = how(raw.get(stored))
    raw.put(stored, damaged)
    return base, stored, damaged


def _chain(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


# A deduplicated copy shares the blob without reading it, so only a blob of the wrong size is caught
# there (see the next test for a flipped byte).
ON_THE_DISK = [pytest.param(name, how, id=f"{name}-{how.__name__[1:]}")
               for name in DISKS for how in (_flip, _cut) if (name, how) != ("once", _flip)]


@pytest.mark.parametrize("verb", ["copy", "move"])
@pytest.mark.parametrize(("name", "how"), ON_THE_DISK)
def test_a_copy_or_move_on_the_disk_refuses_a_corrupt_source(
    manager: StorageManager, name: str, verb: str, how: Damage
) -> None:
    disk = manager.disk(name)
    base, stored, damaged = _damage(manager, name, "docs/report.log", how)
    disk.put("kept/report.log", OLD)
    with pytest.raises(IntegrityError) as caught:
        getattr(disk, verb)("docs/report.log", "kept/report.log")
    assert (caught.value.disk, caught.value.path) == (name, "docs/report.log"), _chain(caught.value)
    assert disk.get("kept/report.log") == OLD
    with pytest.raises(IntegrityError):
        getattr(disk, verb)("docs/report.log", "fresh/report.log")
    assert not disk.exists("fresh/report.log")
    assert manager.disk(base).get(stored) == damaged
    assert disk.file_exists("docs/report.log")


@pytest.mark.parametrize("verb", ["copy", "move"])
def test_a_deduplicated_copy_of_a_flipped_blob_shares_it_and_every_read_of_it_raises(
    manager: StorageManager, verb: str
) -> None:
    disk = manager.disk("once")
    _damage(manager, "once", "docs/report.log", _flip)
    getattr(disk, verb)("docs/report.log", "kept/report.log")  # one pointer more, no content read or written
    for path in ("kept/report.log", "docs/report.log") if verb == "copy" else ("kept/report.log",):
        with pytest.raises(IntegrityError) as caught:
            disk.get(path)
        assert (caught.value.disk, caught.value.path) == ("once", path)
        with pytest.raises(IntegrityError):
            with disk.read_stream(path) as stream:
                b"".join(stream)
    assert disk.stats().blobs == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", [_flip, _cut], ids=["flipped", "cut"])
@pytest.mark.parametrize("verb", ["copy", "move"])
@pytest.mark.parametrize("target", ["other", "other_packed"])
@pytest.mark.parametrize("name", DISKS)
def test_a_cross_disk_copy_or_move_refuses_a_corrupt_source(
    manager: StorageManager, name: str, target: str, verb: str, how: Damage
) -> None:
    base, stored, damaged = _damage(manager, name, "docs/report.log", how)
    manager.disk(target).put("kept/report.log", OLD)
    with pytest.raises(IntegrityError) as caught:
        getattr(manager, verb)(f"{name}://docs/report.log", f"{target}://kept/report.log")
    assert (caught.value.disk, caught.value.path) == (name, "docs/report.log"), _chain(caught.value)
    assert manager.disk(target).get("kept/report.log") == OLD
    with pytest.raises(IntegrityError):
        getattr(manager, verb)(f"{name}://docs/report.log", f"{target}://fresh/report.log")
    assert not manager.disk(target).exists("fresh/report.log")
    assert manager.disk(base).get(stored) == damaged
    assert manager.disk(name).file_exists("docs/report.log")


@pytest.mark.parametrize("name", DISKS)
def test_a_sound_file_still_copies_and_moves_with_its_attributes(manager: StorageManager, name: str) -> None:
    disk = manager.disk(name)
    disk.put("a/report.log", CONTENT, visibility="public", mimetype="text/x-log", metadata={"team": "ops"})
    disk.copy("a/report.log", "b/report.log")
    disk.move("a/report.log", "c/report.log")
    manager.copy(f"{name}://c/report.log", "other_packed://d/report.log")
    for path in ("b/report.log", "c/report.log"):
        assert disk.get(path) == CONTENT
        assert disk.get_visibility(path) == "public"
        assert disk.mime_type(path) == "text/x-log"
        assert disk.metadata(path)["metadata"] == {"team": "ops"}
    with pytest.raises(FileNotFound):
        disk.get("a/report.log")
    assert manager.disk("other_packed").get("d/report.log") == CONTENT


def test_a_corrupt_frame_late_in_a_large_file_leaves_no_object_nor_upload_on_s3(
    tmp_path: Path, s3_endpoint: str
) -> None:
    bucket = f"flystore-cc-{uuid.uuid4().hex[:12]}"
    client: Any = raw_client(s3_endpoint)
    client.create_bucket(Bucket=bucket)
    try:
        manager = StorageManager({"disks": {
            "raw": {"driver": "local", "root": str(tmp_path / "raw")},
            "packed": {"driver": "compressed", "disk": "raw"},
            "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, **CREDENTIALS},
        }})
        content = os.urandom(24 * 1024 * 1024)  # stored as raw frames, each with its CRC
        manager.disk("packed").put("big.bin", content)
        stored = bytearray(manager.disk("raw").get("big.bin"))
        stored[len(content) - 1000] ^= 0x01  # in the last frame: most of the file is streamed before it
        manager.disk("raw").put("big.bin", bytes(stored))
        for verb in (manager.copy, manager.move):
            with pytest.raises(IntegrityError) as caught:
                verb("packed://big.bin", "s3://copied/big.bin")
            assert (caught.value.disk, caught.value.path) == ("packed", "big.bin")
        assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
        assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # none left open
        assert manager.disk("raw").get("big.bin") == bytes(stored)
    finally:
        remove_bucket(client, bucket)
        client.close()


def test_restoring_a_corrupt_version_over_a_compressed_disk_raises_and_keeps_the_current_file(
    manager: StorageManager,
) -> None:
    disk = manager.disk("history")
    assert isinstance(disk, VersionedFilesystemAdapter)
    disk.put("a.log", CONTENT)
    disk.put("a.log", OLD)
    old = disk.versions("a.log")[1]
    raw = manager.disk("raw2")
    record = next(path for path in raw.all_files() if path.startswith(".flystore-versions/") and old.id in path)
    raw.put(record, _flip(raw.get(record)))
    with pytest.raises(IntegrityError) as caught:
        disk.restore_version("a.log", old.id)
    assert caught.value.disk == "history"
    assert disk.get("a.log") == OLD
    assert len(disk.versions("a.log")) == 2


@pytest.mark.parametrize("size", [len(CONTENT), 5 * 1024 * 1024], ids=["in-memory", "streamed"])
def test_writing_a_deduplicated_content_again_replaces_a_cut_blob_instead_of_pointing_to_it(
    manager: StorageManager, size: int
) -> None:
    content = (CONTENT * (size // len(CONTENT) + 1))[:size]
    disk = manager.disk("once")
    disk.put("a.log", content)
    blob = blob_path(hashlib.sha256(content).hexdigest())
    raw = manager.disk("raw")
    raw.put(blob, _cut(raw.get(blob)))  # within the grace period: the blob is young, so it would be reused
    with pytest.raises(IntegrityError):
        disk.get("a.log")
    disk.write_stream("b.log", io.BytesIO(content))  # hashed in memory up to 4 MiB, else through staging
    assert disk.get("b.log") == content
    assert disk.get("a.log") == content, "the files sharing the blob read whole again"

"""A missing bucket or container is never taken for a missing file (issue 6 item 3).

Each cloud disk points at a bucket (container) that does not exist on its real
emulator: moto for s3, gcp-storage-emulator for gcs, Azurite for azure. Every verb
must raise its own ``UnableTo...`` error saying the bucket does not exist, never
``FileNotFound`` and never a False that looks like an empty bucket.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from flystore import (
    FileNotFound,
    FilesystemAdapter,
    StorageError,
    StorageManager,
    UnableToCheckExistence,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToListContents,
    UnableToMoveFile,
    UnableToProvideChecksum,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToSetVisibility,
    UnableToWriteFile,
)

DRIVERS = ["s3", "gcs", "azure"]


def _missing_disk(driver: str, request: pytest.FixtureRequest) -> FilesystemAdapter:
    absent = f"absent-{uuid.uuid4().hex[:12]}"
    config: dict[str, Any]
    if driver == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        config = {"driver": "s3", "bucket": absent, "endpoint": endpoint, "key": "testing", "secret": "testing",
                  "region": "us-east-1"}
    elif driver == "gcs":
        endpoint = request.getfixturevalue("gcs_endpoint")
        config = {"driver": "gcs", "bucket": absent, "endpoint": endpoint, "token": "anon", "project_id": "test"}
    else:
        connection_string = request.getfixturevalue("azure_connection_string")
        config = {"driver": "azure", "container": absent, "connection_string": connection_string}
    return StorageManager({"disks": {"cloud": config}}).disk("cloud")


@pytest.fixture(params=DRIVERS)
def missing(request: pytest.FixtureRequest) -> Iterator[FilesystemAdapter]:
    disk = _missing_disk(str(request.param), request)
    yield disk
    disk.close()


Verb = Callable[[FilesystemAdapter], Any]

# (verb name, call, the error class it must raise, the path the error names)
VERBS: list[tuple[str, Verb, type[StorageError], str]] = [
    ("exists", lambda d: d.exists("a.txt"), UnableToCheckExistence, "a.txt"),
    ("file_exists", lambda d: d.file_exists("a.txt"), UnableToCheckExistence, "a.txt"),
    ("directory_exists", lambda d: d.directory_exists("dir"), UnableToCheckExistence, "dir"),
    ("missing", lambda d: d.missing("a.txt"), UnableToCheckExistence, "a.txt"),
    ("delete", lambda d: d.delete("a.txt"), UnableToDeleteFile, "a.txt"),
    ("size", lambda d: d.size("a.txt"), UnableToRetrieveMetadata, "a.txt"),
    ("last_modified", lambda d: d.last_modified("a.txt"), UnableToRetrieveMetadata, "a.txt"),
    ("mime_type", lambda d: d.mime_type("a.txt"), UnableToRetrieveMetadata, "a.txt"),
    ("metadata", lambda d: d.metadata("a.txt"), UnableToRetrieveMetadata, "a.txt"),
    ("checksum", lambda d: d.checksum("a.txt"), UnableToProvideChecksum, "a.txt"),
    ("get", lambda d: d.get("a.txt"), UnableToReadFile, "a.txt"),
    ("read_stream", lambda d: d.read_stream("a.txt").read(), UnableToReadFile, "a.txt"),
    ("copy", lambda d: d.copy("a.txt", "b.txt"), UnableToCopyFile, "a.txt"),
    ("move", lambda d: d.move("a.txt", "b.txt"), UnableToMoveFile, "a.txt"),
    ("files", lambda d: d.files("dir"), UnableToListContents, "dir"),
    ("all_files", lambda d: d.all_files(), UnableToListContents, ""),
    ("directories", lambda d: d.directories(), UnableToListContents, ""),
    ("put", lambda d: d.put("a.txt", b"x"), UnableToWriteFile, "a.txt"),
    ("write_stream", lambda d: d.write_stream("a.txt", io.BytesIO(b"x")), UnableToWriteFile, "a.txt"),
    ("make_directory", lambda d: d.make_directory("dir"), UnableToCreateDirectory, "dir"),
    ("delete_directory", lambda d: d.delete_directory("dir"), UnableToDeleteDirectory, "dir"),
]


@pytest.mark.parametrize(("verb", "call", "error", "path"), VERBS, ids=[verb[0] for verb in VERBS])
def test_every_verb_says_the_bucket_does_not_exist(
    missing: FilesystemAdapter, verb: str, call: Verb, error: type[StorageError], path: str
) -> None:
    with pytest.raises(StorageError) as caught:
        call(missing)
    assert not isinstance(caught.value, FileNotFound), f"{verb}: {caught.value!r}"
    assert isinstance(caught.value, error), f"{verb} raised {type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    assert "does not exist" in message and ("bucket" in message or "container" in message), message
    assert caught.value.disk == "cloud"
    if path:
        assert caught.value.path == path, message


def test_visibility_verbs_say_the_bucket_does_not_exist(request: pytest.FixtureRequest) -> None:
    # Azure has no per-blob visibility (UnsupportedOperation), so s3 and gcs only.
    for driver in ("s3", "gcs"):
        disk = _missing_disk(driver, request)
        try:
            with pytest.raises(UnableToRetrieveMetadata, match="does not exist"):
                disk.get_visibility("a.txt")
            with pytest.raises(UnableToSetVisibility, match="does not exist"):
                disk.set_visibility("a.txt", "public")
        finally:
            disk.close()


def test_an_existing_bucket_is_checked_once_and_a_missing_key_is_still_file_not_found(
    request: pytest.FixtureRequest,
) -> None:
    """After the bucket proved to exist, a missing key is FileNotFound / False again."""
    for driver in DRIVERS:
        disk = _missing_disk(driver, request)
        try:
            with pytest.raises(UnableToCheckExistence):
                disk.file_exists("a.txt")
            _create_bucket(disk)
            assert disk.file_exists("a.txt") is False
            assert disk.delete("a.txt") is False
            with pytest.raises(FileNotFound) as caught:
                disk.size("a.txt")
            assert caught.value.reason == "no file exists at this path"
            disk.put("a.txt", b"x")
            assert disk.file_exists("a.txt") and disk.delete("a.txt")
        finally:
            disk.close()


def _create_bucket(disk: FilesystemAdapter) -> None:
    backend: Any = disk.backend
    if backend.name == "s3":
        backend.create_bucket("us-east-1")
    elif backend.name == "gcs":
        from flystore.drivers.gcs.options import _ensure_bucket

        _ensure_bucket(backend)
    else:
        backend.ensure_container()


def test_disk_fs_does_not_answer_a_missing_bucket_with_false(missing: FilesystemAdapter) -> None:
    fs = missing.fs
    for probe in (fs.exists, fs.isfile, fs.isdir):
        with pytest.raises(UnableToCheckExistence, match="does not exist"):
            probe("a.txt")

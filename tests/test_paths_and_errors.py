"""Path normalisation and the error hierarchy."""

from __future__ import annotations

import pickle
import types

import pytest

import flystore
from flystore import errors
from flystore.paths import normalize


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("a/b", "a/b"),
        ("/a//b/", "a/b"),
        ("a\\b\\c.txt", "a/b/c.txt"),
        ("./a/./b", "a/b"),
        ("a/../b", "b"),
        ("a/b/..", "a"),
        ("", ""),
        ("/", ""),
        ("%2e%2e/x", "%2e%2e/x"),
        ("a/..b/c..", "a/..b/c.."),
        ("ünïcode/ファイル.txt", "ünïcode/ファイル.txt"),
    ],
)
def test_paths_are_normalised(given: str, expected: str) -> None:
    assert normalize(given) == expected


@pytest.mark.parametrize("bad", ["..", "../x", "a/../../x", "a\x00b", "tab\there", "del\x7f", "c1\x85x"])
def test_bad_paths_are_refused(bad: str) -> None:
    with pytest.raises(errors.PathTraversalDetected) as caught:
        normalize(bad)
    assert isinstance(caught.value, ValueError)


def test_a_non_string_path_is_refused() -> None:
    with pytest.raises(errors.InvalidPath):
        normalize(42)  # type: ignore[arg-type]


def test_builtin_exception_bases() -> None:
    assert issubclass(errors.FileNotFound, FileNotFoundError)
    assert issubclass(errors.FileAlreadyExists, FileExistsError)
    assert issubclass(errors.ReadOnlyDisk, PermissionError)
    assert issubclass(errors.PathTraversalDetected, ValueError)
    assert issubclass(errors.DriverNotInstalled, ImportError)
    assert issubclass(errors.UnableToGenerateTemporaryUrl, errors.UnableToGenerateUrl)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.StorageError), name


def test_every_error_is_importable_from_flystore() -> None:
    for name in errors.__all__:
        assert getattr(flystore, name) is getattr(errors, name)


def test_errors_carry_disk_path_operation_reason_and_cause() -> None:
    cause = OSError("disk on fire")
    error = errors.UnableToReadFile.at("a/b.txt", "it burned", disk="local", cause=cause)
    assert (error.disk, error.path, error.operation, error.reason) == ("local", "a/b.txt", "read file", "it burned")
    assert error.__cause__ is cause
    assert str(error) == "Unable to read file at location: a/b.txt on disk 'local'. it burned"
    copied = errors.UnableToCopyFile.between("a", "b", "nope")
    copied.disk = "s3"
    assert (copied.source, copied.destination) == ("a", "b")
    assert str(copied) == "Unable to copy file from location: a to location: b on disk 's3'. nope"


def test_errors_survive_pickling() -> None:
    error = errors.FileNotFound.at("x", "gone", disk="d")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is errors.FileNotFound and (again.path, again.disk) == ("x", "d")


def test_public_api_is_sorted_and_complete() -> None:
    assert flystore.__all__ == sorted(flystore.__all__)
    for name in flystore.__all__:
        if name in ("S3FilesystemAdapter", "GoogleCloudStorageAdapter", "AzureBlobStorageAdapter"):
            continue  # need their extras; covered by the driver tests
        assert getattr(flystore, name) is not None
    public = {
        name for name, value in vars(flystore).items()
        if not name.startswith(("_", "@")) and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public <= set(flystore.__all__)

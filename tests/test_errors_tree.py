"""The error tree is pinned: names, parents in order, MRO, module, messages and pickling.

``flystore.errors`` is a public contract (API.md section 4): a caller catches these
classes by name and by their builtin bases, logs their messages and sends them across
processes. Any change to the tree has to change the pins below on purpose.
"""

from __future__ import annotations

import pickle
import pickletools
from typing import Any

import pytest

from flystore import errors

# Each class's direct parents, in order (``__bases__``).
PARENTS: dict[str, str] = {
    "ConfigurationError": "StorageError ValueError",
    "DiskNotConfigured": "ConfigurationError",
    "DriverNotFound": "InvalidConfiguration",
    "DriverNotInstalled": "ConfigurationError ImportError",
    "FileAlreadyExists": "OperationFailed FileExistsError",
    "FileNotFound": "OperationFailed FileNotFoundError",
    "IntegrityError": "StorageError",
    "InvalidConfiguration": "ConfigurationError",
    "InvalidMetadata": "UnableToWriteFile ValueError",
    "InvalidPath": "StorageError ValueError",
    "InvalidSignedUrl": "StorageError ValueError",
    "OperationFailed": "StorageError",
    "PathTraversalDetected": "InvalidPath",
    "QuotaExceeded": "UnableToWriteFile",
    "ReadOnlyDisk": "OperationFailed PermissionError",
    "ReplicationIncomplete": "StorageError",
    "StorageError": "Exception",
    "UnableToCheckExistence": "OperationFailed",
    "UnableToCopyFile": "_TwoPathError",
    "UnableToCreateDirectory": "OperationFailed",
    "UnableToDeleteDirectory": "OperationFailed",
    "UnableToDeleteFile": "OperationFailed",
    "UnableToGeneratePublicUrl": "UnableToGenerateUrl",
    "UnableToGenerateTemporaryUrl": "UnableToGenerateUrl",
    "UnableToGenerateUrl": "OperationFailed",
    "UnableToListContents": "OperationFailed",
    "UnableToMoveFile": "_TwoPathError",
    "UnableToProvideChecksum": "OperationFailed",
    "UnableToReadFile": "OperationFailed",
    "UnableToRetrieveMetadata": "OperationFailed",
    "UnableToSetVisibility": "OperationFailed",
    "UnableToWriteFile": "OperationFailed",
    "UnsupportedOperation": "OperationFailed",
    "UploadRejected": "StorageError ValueError",
    "VersionNotFound": "FileNotFound",
}
# Each class's method resolution order between itself and Exception/BaseException/object.
ANCESTORS: dict[str, str] = {
    "ConfigurationError": "StorageError ValueError",
    "DiskNotConfigured": "ConfigurationError StorageError ValueError",
    "DriverNotFound": "InvalidConfiguration ConfigurationError StorageError ValueError",
    "DriverNotInstalled": "ConfigurationError StorageError ValueError ImportError",
    "FileAlreadyExists": "OperationFailed StorageError FileExistsError OSError",
    "FileNotFound": "OperationFailed StorageError FileNotFoundError OSError",
    "IntegrityError": "StorageError",
    "InvalidConfiguration": "ConfigurationError StorageError ValueError",
    "InvalidMetadata": "UnableToWriteFile OperationFailed StorageError ValueError",
    "InvalidPath": "StorageError ValueError",
    "InvalidSignedUrl": "StorageError ValueError",
    "OperationFailed": "StorageError",
    "PathTraversalDetected": "InvalidPath StorageError ValueError",
    "QuotaExceeded": "UnableToWriteFile OperationFailed StorageError",
    "ReadOnlyDisk": "OperationFailed StorageError PermissionError OSError",
    "ReplicationIncomplete": "StorageError",
    "StorageError": "",
    "UnableToCheckExistence": "OperationFailed StorageError",
    "UnableToCopyFile": "_TwoPathError OperationFailed StorageError",
    "UnableToCreateDirectory": "OperationFailed StorageError",
    "UnableToDeleteDirectory": "OperationFailed StorageError",
    "UnableToDeleteFile": "OperationFailed StorageError",
    "UnableToGeneratePublicUrl": "UnableToGenerateUrl OperationFailed StorageError",
    "UnableToGenerateTemporaryUrl": "UnableToGenerateUrl OperationFailed StorageError",
    "UnableToGenerateUrl": "OperationFailed StorageError",
    "UnableToListContents": "OperationFailed StorageError",
    "UnableToMoveFile": "_TwoPathError OperationFailed StorageError",
    "UnableToProvideChecksum": "OperationFailed StorageError",
    "UnableToReadFile": "OperationFailed StorageError",
    "UnableToRetrieveMetadata": "OperationFailed StorageError",
    "UnableToSetVisibility": "OperationFailed StorageError",
    "UnableToWriteFile": "OperationFailed StorageError",
    "UnsupportedOperation": "OperationFailed StorageError",
    "UploadRejected": "StorageError ValueError",
    "VersionNotFound": "FileNotFound OperationFailed StorageError FileNotFoundError OSError",
}
# str(cls.at("a/b.txt", "why", disk="d")): the message a caller logs.
MESSAGES: dict[str, str] = {
    "ConfigurationError": "Disk 'd': why",
    "DiskNotConfigured": "Disk 'd': why",
    "DriverNotFound": "Disk 'd': why",
    "DriverNotInstalled": "Disk 'd': why",
    "FileAlreadyExists": "Unable to create file at location: a/b.txt on disk 'd'. why",
    "FileNotFound": "Unable to find file at location: a/b.txt on disk 'd'. why",
    "IntegrityError": "Unable to verify file at location: a/b.txt on disk 'd'. why",
    "InvalidConfiguration": "Disk 'd': why",
    "InvalidMetadata": "Unable to write file at location: a/b.txt on disk 'd'. why",
    "InvalidPath": "Unable to use path at location: a/b.txt on disk 'd'. why",
    "InvalidSignedUrl": "Unable to verify temporary URL at location: a/b.txt on disk 'd'. why",
    "OperationFailed": "Unable to use storage at location: a/b.txt on disk 'd'. why",
    "PathTraversalDetected": "Unable to resolve path at location: a/b.txt on disk 'd'. why",
    "QuotaExceeded": "Unable to write file at location: a/b.txt on disk 'd'. why",
    "ReadOnlyDisk": "Unable to write to a read-only disk at location: a/b.txt on disk 'd'. why",
    "ReplicationIncomplete": "Unable to replicate change at location: a/b.txt on disk 'd'. why",
    "StorageError": "Unable to use storage at location: a/b.txt on disk 'd'. why",
    "UnableToCheckExistence": "Unable to check existence at location: a/b.txt on disk 'd'. why",
    "UnableToCopyFile": "Unable to copy file at location: a/b.txt on disk 'd'. why",
    "UnableToCreateDirectory": "Unable to create directory at location: a/b.txt on disk 'd'. why",
    "UnableToDeleteDirectory": "Unable to delete directory at location: a/b.txt on disk 'd'. why",
    "UnableToDeleteFile": "Unable to delete file at location: a/b.txt on disk 'd'. why",
    "UnableToGeneratePublicUrl": "Unable to generate public URL at location: a/b.txt on disk 'd'. why",
    "UnableToGenerateTemporaryUrl": "Unable to generate temporary URL at location: a/b.txt on disk 'd'. why",
    "UnableToGenerateUrl": "Unable to generate URL at location: a/b.txt on disk 'd'. why",
    "UnableToListContents": "Unable to list contents at location: a/b.txt on disk 'd'. why",
    "UnableToMoveFile": "Unable to move file at location: a/b.txt on disk 'd'. why",
    "UnableToProvideChecksum": "Unable to provide checksum at location: a/b.txt on disk 'd'. why",
    "UnableToReadFile": "Unable to read file at location: a/b.txt on disk 'd'. why",
    "UnableToRetrieveMetadata": "Unable to retrieve metadata at location: a/b.txt on disk 'd'. why",
    "UnableToSetVisibility": "Unable to set visibility at location: a/b.txt on disk 'd'. why",
    "UnableToWriteFile": "Unable to write file at location: a/b.txt on disk 'd'. why",
    "UnsupportedOperation": "Unable to perform operation at location: a/b.txt on disk 'd'. why",
    "UploadRejected": "Unable to accept upload at location: a/b.txt on disk 'd'. why",
    "VersionNotFound": "Unable to find version at location: a/b.txt on disk 'd'. why",
}


EXTRA_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "DriverNotInstalled": {"extra": "s3"},
    "InvalidConfiguration": {"option": "root"},
    "DriverNotFound": {"option": "driver"},
    "ReplicationIncomplete": {"failed": ("b",), "succeeded": ("a",), "required": 2},
    "UploadRejected": {"errors": ("too big", "not a PNG")},
    "QuotaExceeded": {"tenant": "acme", "quota": "max_files", "limit": 3, "usage": 4},
    "UnableToCopyFile": {"source": "from/a", "destination": "to/b"},
    "UnableToMoveFile": {"source": "from/a", "destination": "to/b"},
}


def _class(name: str) -> type[errors.StorageError]:
    cls = getattr(errors, name)
    assert isinstance(cls, type) and issubclass(cls, errors.StorageError)
    return cls


def _full(name: str) -> errors.StorageError:
    """An instance of ``name`` with every attribute it has set to a non-default value."""
    extra = dict(EXTRA_ATTRIBUTES.get(name, {}))
    if name == "ReplicationIncomplete":
        extra["causes"] = {"b": errors.UnableToWriteFile.at("p/q", "replica down", disk="b")}
    return _class(name)("why", path="p/q", disk="d", **extra)


def test_all_names_the_pinned_classes_in_the_same_order() -> None:
    assert errors.__all__ == list(PARENTS)
    assert list(ANCESTORS) == list(PARENTS) == list(MESSAGES)


@pytest.mark.parametrize("name", list(PARENTS))
def test_parents_in_order(name: str) -> None:
    assert " ".join(base.__qualname__ for base in _class(name).__bases__) == PARENTS[name]


@pytest.mark.parametrize("name", list(PARENTS))
def test_method_resolution_order(name: str) -> None:
    mro = _class(name).__mro__
    assert [cls.__qualname__ for cls in mro] == [name, *ANCESTORS[name].split(), "Exception", "BaseException", "object"]
    for cls in mro:
        assert cls.__module__ in ("flystore.errors", "builtins"), cls
        if cls.__module__ == "flystore.errors":  # the name pickle and the docs use resolves to the class
            assert getattr(errors, cls.__qualname__) is cls


@pytest.mark.parametrize("name", list(PARENTS))
def test_messages(name: str) -> None:
    assert str(_class(name).at("a/b.txt", "why", disk="d")) == MESSAGES[name]


def test_message_shapes() -> None:
    assert str(errors.UnableToReadFile()) == "Unable to read file"
    assert str(errors.UnableToReadFile.at("")) == "Unable to read file at location: /"
    assert str(errors.StorageError("x", operation="zap things")) == "Unable to zap things. x"
    assert str(errors.InvalidConfiguration("bad", option="root", disk="d")) == "Disk 'd', option 'root': bad"
    assert str(errors.InvalidConfiguration("bad")) == "Disk configuration: bad"
    assert str(errors.DiskNotConfigured("none")) == "none"
    assert str(errors.UnableToMoveFile.between("a", "b")) == "Unable to move file from location: a to location: b"
    assert str(errors.DriverNotInstalled.for_extra("sftp", "The sftp driver", disk="box")) == (
        "Disk 'box': The sftp driver needs an optional dependency that is not installed. "
        'Install it with: pip install "flystore[sftp]"'
    )


def _pickled_globals(data: bytes) -> set[str]:
    """The ``module name`` of every class or function a protocol-2 pickle refers to."""
    return {str(arg) for opcode, arg, _ in pickletools.genops(data) if opcode.name == "GLOBAL"}


@pytest.mark.parametrize("name", list(PARENTS))
def test_pickling_round_trips_every_attribute(name: str) -> None:
    error = _full(name)
    error.__cause__ = OSError("backend said no")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == str(error) and again.args == error.args
    assert set(vars(again)) >= set(vars(error))
    for attribute in {*vars(error), "reason", "path", "disk", "operation"}:
        if attribute == "causes":  # exceptions compare by identity: compare what they say
            before: dict[str, BaseException] = getattr(error, attribute)
            after: dict[str, BaseException] = getattr(again, attribute)
            assert {k: (type(v), str(v)) for k, v in after.items()} == {k: (type(v), str(v)) for k, v in before.items()}
        else:
            assert getattr(again, attribute) == getattr(error, attribute), attribute
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        assert str(pickle.loads(pickle.dumps(error, protocol=protocol))) == str(error)
    # Every flystore name a pickle refers to is the public module's (another library may pickle exceptions its
    # own way: dask's tblib support, once imported, wraps every exception class in its own reducer).
    ours = [ref for ref in _pickled_globals(pickle.dumps(error, protocol=2)) if ref.startswith("flystore")]
    assert ours and all(ref.startswith("flystore.errors ") for ref in ours), ours


def test_a_custom_operation_survives_pickling() -> None:
    again = pickle.loads(pickle.dumps(errors.UnableToCopyFile.between("a", "b", "no")))
    assert (again.source, again.destination, again.operation) == ("a", "b", "copy file")
    custom = pickle.loads(pickle.dumps(errors.StorageError("x", path="p", operation="zap things")))
    assert str(custom) == "Unable to zap things at location: p. x"

"""Every exception flystore raises.

The tree::

    StorageError                         base of everything flystore raises
    ├── ConfigurationError (ValueError)
    │   ├── DiskNotConfigured
    │   ├── DriverNotInstalled (ImportError)   message names the pip extra
    │   └── InvalidConfiguration               names the disk and the option
    │       └── DriverNotFound                 option 'driver' names no driver
    ├── InvalidPath (ValueError)
    │   └── PathTraversalDetected              "..", NUL/control chars, symlinks out of a jail
    ├── InvalidSignedUrl (ValueError)          expired or tampered temporary URL
    ├── IntegrityError                         tampered/truncated ciphertext, checksum mismatch
    ├── ReplicationIncomplete                  fewer replicas than the write quorum took a change
    ├── UploadRejected (ValueError)            .reason, .errors
    └── OperationFailed
        ├── FileNotFound (FileNotFoundError)
        │   └── VersionNotFound                no such version of this path (versioned disks)
        ├── FileAlreadyExists (FileExistsError)
        ├── ReadOnlyDisk (PermissionError)
        ├── UnsupportedOperation               the backend cannot do this at all
        ├── UnableToReadFile
        ├── UnableToWriteFile
        │   ├── InvalidMetadata (ValueError)   metadata the backend cannot hold exactly
        │   └── QuotaExceeded                  a tenant's max_bytes/max_files; nothing was stored
        ├── UnableToDeleteFile
        ├── UnableToDeleteDirectory
        ├── UnableToCreateDirectory
        ├── UnableToCopyFile
        ├── UnableToMoveFile
        ├── UnableToRetrieveMetadata
        ├── UnableToCheckExistence
        ├── UnableToListContents
        ├── UnableToSetVisibility
        ├── UnableToProvideChecksum
        └── UnableToGenerateUrl
            ├── UnableToGeneratePublicUrl
            └── UnableToGenerateTemporaryUrl

Every error carries ``disk`` (the disk's configured name, filled in by the disk
that raised it), ``path`` (the path the user passed, never a physical key),
``operation`` and ``reason``; the backend's original exception is ``__cause__``.
The message is built from those attributes, so it stays right after a scoped
disk rewrites the path or a disk fills in its name.

Note the split a caller should know: reading a missing file raises
``FileNotFound``, not ``UnableToReadFile``; ``UnableToReadFile`` means the file
may exist but could not be read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

_E = TypeVar("_E", bound="StorageError")
_T = TypeVar("_T", bound="_TwoPathError")

__all__ = [
    "ConfigurationError",
    "DiskNotConfigured",
    "DriverNotFound",
    "DriverNotInstalled",
    "FileAlreadyExists",
    "FileNotFound",
    "IntegrityError",
    "InvalidConfiguration",
    "InvalidMetadata",
    "InvalidPath",
    "InvalidSignedUrl",
    "OperationFailed",
    "PathTraversalDetected",
    "QuotaExceeded",
    "ReadOnlyDisk",
    "ReplicationIncomplete",
    "StorageError",
    "UnableToCheckExistence",
    "UnableToCopyFile",
    "UnableToCreateDirectory",
    "UnableToDeleteDirectory",
    "UnableToDeleteFile",
    "UnableToGeneratePublicUrl",
    "UnableToGenerateTemporaryUrl",
    "UnableToGenerateUrl",
    "UnableToListContents",
    "UnableToMoveFile",
    "UnableToProvideChecksum",
    "UnableToReadFile",
    "UnableToRetrieveMetadata",
    "UnableToSetVisibility",
    "UnableToWriteFile",
    "UnsupportedOperation",
    "UploadRejected",
    "VersionNotFound",
]


class StorageError(Exception):
    """Base class of every error flystore raises.

    Attributes:
        disk: name of the disk the error happened on (``None`` until a disk fills it in).
        path: the path as the user gave it (normalised), or ``None``.
        operation: what was being done, in words ("read file", "write file", ...).
        reason: why it failed, in words.
    """

    operation: str = "use storage"

    def __init__(
        self,
        reason: str = "",
        *,
        path: str | None = None,
        disk: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.disk = disk
        if operation is not None:
            self.operation = operation

    @classmethod
    def at(
        cls: type[_E],
        path: str | None,
        reason: str = "",
        *,
        disk: str | None = None,
        cause: BaseException | None = None,
    ) -> _E:
        """Build the error for ``path``; ``cause`` becomes ``__cause__``."""
        error = cls(reason, path=path, disk=disk)
        if cause is not None:
            error.__cause__ = cause
        return error

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f" at location: {self.path or '/'}"
        on_disk = f" on disk '{self.disk}'" if self.disk is not None else ""
        reason = f". {self.reason}" if self.reason else ""
        return f"Unable to {self.operation}{where}{on_disk}{reason}"

    def __reduce__(self) -> tuple[object, ...]:
        # The instance dict rides along as state so a subclass's own attributes (option, extra,
        # source/destination, errors) survive too; BaseException.__setstate__ puts them back.
        return (_rebuild, (type(self), self.reason, self.path, self.disk, self.operation), dict(vars(self)))


def _rebuild(
    cls: type[StorageError], reason: str, path: str | None, disk: str | None, operation: str
) -> StorageError:
    return cls(reason, path=path, disk=disk, operation=operation)


# -- configuration -----------------------------------------------------------------


class ConfigurationError(StorageError, ValueError):
    """The configuration cannot produce the requested disk."""

    operation = "configure storage"

    def __str__(self) -> str:
        on_disk = f"Disk '{self.disk}': " if self.disk is not None else ""
        return f"{on_disk}{self.reason}"


class DiskNotConfigured(ConfigurationError):
    """No disk of that name is configured; the message lists the configured ones."""


class DriverNotInstalled(ConfigurationError, ImportError):
    """The driver's optional dependency is missing; the message says what to install.

    Attributes:
        extra: the ``flystore[extra]`` that provides the dependency.
    """

    def __init__(
        self,
        reason: str = "",
        *,
        extra: str | None = None,
        path: str | None = None,
        disk: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(reason, path=path, disk=disk, operation=operation)
        self.extra = extra

    @classmethod
    def for_extra(
        cls, extra: str, what: str, *, disk: str | None = None, cause: BaseException | None = None
    ) -> DriverNotInstalled:
        """The error for a missing extra: ``pip install "flystore[extra]"``."""
        error = cls(
            f"{what} needs an optional dependency that is not installed. "
            f'Install it with: pip install "flystore[{extra}]"',
            extra=extra,
            disk=disk,
        )
        if cause is not None:
            error.__cause__ = cause
        return error


class InvalidConfiguration(ConfigurationError):
    """An option is missing, unknown or has a bad value; names the disk and option.

    Attributes:
        option: the offending option's name, when there is one.
    """

    def __init__(
        self,
        reason: str = "",
        *,
        option: str | None = None,
        path: str | None = None,
        disk: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(reason, path=path, disk=disk, operation=operation)
        self.option = option

    def __str__(self) -> str:
        on_disk = f"Disk '{self.disk}'" if self.disk is not None else "Disk configuration"
        option = f", option '{self.option}'" if self.option else ""
        return f"{on_disk}{option}: {self.reason}"


class DriverNotFound(InvalidConfiguration):
    """The disk's ``driver`` names no built-in, extended or entry-point driver (option ``driver``)."""


# -- paths, URLs, integrity, uploads ---------------------------------------------


class InvalidPath(StorageError, ValueError):
    """The path cannot be used on this disk."""

    operation = "use path"


class PathTraversalDetected(InvalidPath):
    """The path climbs above the root, holds control characters or crosses a symlink."""

    operation = "resolve path"


class InvalidSignedUrl(StorageError, ValueError):
    """A temporary URL is expired, tampered with or not flystore's."""

    operation = "verify temporary URL"


class IntegrityError(StorageError):
    """Stored bytes failed verification (tampered/truncated ciphertext, checksum mismatch)."""

    operation = "verify file"


class ReplicationIncomplete(StorageError):
    """A change reached fewer replicas than the write quorum of a replicated failover disk.

    Not an ``OperationFailed``: the change may have landed on some replicas (``succeeded``),
    and reads through the failover disk already see it there; ``repair()`` copies it on.

    Attributes:
        failed: the replicas that did not take the change, in the disk's order.
        causes: each failed replica's error (a flystore error), by replica name.
        succeeded: the replicas that took it.
        required: the write quorum that was not met.
    """

    operation = "replicate change"

    def __init__(
        self,
        reason: str = "",
        *,
        failed: Sequence[str] = (),
        causes: Mapping[str, BaseException] | None = None,
        succeeded: Sequence[str] = (),
        required: int = 0,
        path: str | None = None,
        disk: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(reason, path=path, disk=disk, operation=operation)
        self.failed = tuple(failed)
        self.causes = dict(causes or {})
        self.succeeded = tuple(succeeded)
        self.required = required

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_replication, (self.reason, self.failed, self.causes, self.succeeded, self.required,
                                       self.path, self.disk, self.operation))


def _rebuild_replication(
    reason: str, failed: tuple[str, ...], causes: dict[str, BaseException], succeeded: tuple[str, ...],
    required: int, path: str | None, disk: str | None, operation: str,
) -> ReplicationIncomplete:
    return ReplicationIncomplete(reason, failed=failed, causes=causes, succeeded=succeeded, required=required,
                                 path=path, disk=disk, operation=operation)


class UploadRejected(StorageError, ValueError):
    """An upload broke a validation rule.

    Attributes:
        errors: every rule that failed, in words.
    """

    operation = "accept upload"

    def __init__(
        self,
        reason: str = "",
        *,
        errors: Sequence[str] = (),
        path: str | None = None,
        disk: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(reason, path=path, disk=disk, operation=operation)
        self.errors = list(errors) or ([reason] if reason else [])


# -- operations ------------------------------------------------------------------


class OperationFailed(StorageError):
    """A disk operation failed."""


class FileNotFound(OperationFailed, FileNotFoundError):
    """The file does not exist (or the path is a directory where a file was expected)."""

    operation = "find file"


class VersionNotFound(FileNotFound):
    """No version with that id belongs to this path (or it is a delete marker, which has no content)."""

    operation = "find version"


class FileAlreadyExists(OperationFailed, FileExistsError):
    """The file exists and the operation would not overwrite it."""

    operation = "create file"


class ReadOnlyDisk(OperationFailed, PermissionError):
    """The disk refuses every write."""

    operation = "write to a read-only disk"


class UnsupportedOperation(OperationFailed):
    """The backend cannot do this at all (e.g. visibility on FTP); see docs/drivers.md."""

    operation = "perform operation"


class UnableToReadFile(OperationFailed):
    operation = "read file"


class UnableToWriteFile(OperationFailed):
    operation = "write file"


class InvalidMetadata(UnableToWriteFile, ValueError):
    """Custom metadata the backend cannot hold exactly (bad key, value or size); nothing was written."""


class QuotaExceeded(UnableToWriteFile):
    """A write would take a tenant past its quota; it was refused before anything was stored.

    Attributes:
        tenant: the tenant whose quota it is.
        quota: which limit, ``"max_bytes"`` or ``"max_files"``.
        limit: the limit's value.
        usage: what the tenant would use with this write (bytes or files, as ``quota`` says).
    """

    def __init__(
        self,
        reason: str = "",
        *,
        tenant: str = "",
        quota: str = "max_bytes",
        limit: int = 0,
        usage: int = 0,
        path: str | None = None,
        disk: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(reason, path=path, disk=disk, operation=operation)
        self.tenant = tenant
        self.quota = quota
        self.limit = limit
        self.usage = usage

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_quota, (self.reason, self.tenant, self.quota, self.limit, self.usage, self.path,
                                 self.disk, self.operation))


def _rebuild_quota(
    reason: str, tenant: str, quota: str, limit: int, usage: int, path: str | None, disk: str | None,
    operation: str,
) -> QuotaExceeded:
    return QuotaExceeded(reason, tenant=tenant, quota=quota, limit=limit, usage=usage, path=path, disk=disk,
                         operation=operation)


class UnableToDeleteFile(OperationFailed):
    operation = "delete file"


class UnableToDeleteDirectory(OperationFailed):
    operation = "delete directory"


class UnableToCreateDirectory(OperationFailed):
    operation = "create directory"


class _TwoPathError(OperationFailed):
    """An error about a source and a destination."""

    def __init__(
        self,
        reason: str = "",
        *,
        source: str | None = None,
        destination: str | None = None,
        path: str | None = None,
        disk: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(reason, path=path if path is not None else source, disk=disk, operation=operation)
        self.source = source
        self.destination = destination

    @classmethod
    def between(
        cls: type[_T],
        source: str,
        destination: str,
        reason: str = "",
        *,
        cause: BaseException | None = None,
    ) -> _T:
        """Build the error for a ``source`` -> ``destination`` operation."""
        error = cls(reason, source=source, destination=destination)
        if cause is not None:
            error.__cause__ = cause
        return error

    def __str__(self) -> str:
        if self.source is None or self.destination is None:
            return super().__str__()
        on_disk = f" on disk '{self.disk}'" if self.disk is not None else ""
        reason = f". {self.reason}" if self.reason else ""
        return (
            f"Unable to {self.operation} from location: {self.source} "
            f"to location: {self.destination}{on_disk}{reason}"
        )


class UnableToCopyFile(_TwoPathError):
    operation = "copy file"


class UnableToMoveFile(_TwoPathError):
    operation = "move file"


class UnableToRetrieveMetadata(OperationFailed):
    operation = "retrieve metadata"


class UnableToCheckExistence(OperationFailed):
    operation = "check existence"


class UnableToListContents(OperationFailed):
    operation = "list contents"


class UnableToSetVisibility(OperationFailed):
    operation = "set visibility"


class UnableToProvideChecksum(OperationFailed):
    operation = "provide checksum"


class UnableToGenerateUrl(OperationFailed):
    operation = "generate URL"


class UnableToGeneratePublicUrl(UnableToGenerateUrl):
    operation = "generate public URL"


class UnableToGenerateTemporaryUrl(UnableToGenerateUrl):
    operation = "generate temporary URL"

"""Operation errors: ``OperationFailed`` and the ``UnableTo*`` family, one per disk verb."""

from __future__ import annotations

from typing import TypeVar

from .base import StorageError

_T = TypeVar("_T", bound="_TwoPathError")


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

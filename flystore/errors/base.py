"""The base of the tree: ``StorageError`` and the message and pickling it gives every error."""

from __future__ import annotations

from typing import TypeVar

_E = TypeVar("_E", bound="StorageError")


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

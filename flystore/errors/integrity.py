"""Errors of a failed check on data: stored bytes that fail verification, a change short of
its replica quorum, an upload that breaks a rule. None of them is an ``OperationFailed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .base import StorageError


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

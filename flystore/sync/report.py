"""What a sync did (``SyncReport``) and how far it is (``SyncProgress``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Phase", "SyncProgress", "SyncReport"]

Phase = Literal["scan", "transfer", "delete"]


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """One progress step, handed to the ``progress`` callback in the calling thread.

    Attributes:
        phase: ``"scan"`` (listing and comparing), ``"transfer"`` or ``"delete"``.
        path: the file just handled; while scanning, the side just listed (``disk://root``).
        files_done: files handled so far in this phase (sides listed, while scanning).
        files_total: files this phase will handle (2 sides, while scanning).
        bytes_done: bytes transferred so far.
        bytes_total: bytes the transfers will move.
    """

    phase: Phase
    path: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


@dataclass(slots=True)
class SyncReport:
    """The outcome of one sync; paths are relative to the pair's roots.

    Attributes:
        copied: files that were new on the receiving side.
        updated: files that replaced an older or different version.
        deleted: files deleted (on the side named by the mode).
        skipped: files already in sync, or kept because the receiving side is newer.
        conflicts: files changed on both sides (two-way); each kept both versions.
        bytes: bytes transferred.
        errors: path -> message of every file that failed; the others went on.
        duration: seconds the sync took.
        dry_run: True when nothing was changed and the lists say what would be done.
    """

    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    bytes: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able values (lists sorted)."""
        return {
            "copied": sorted(self.copied),
            "updated": sorted(self.updated),
            "deleted": sorted(self.deleted),
            "skipped": sorted(self.skipped),
            "conflicts": sorted(self.conflicts),
            "bytes": self.bytes,
            "errors": dict(sorted(self.errors.items())),
            "duration": round(self.duration, 6),
            "dry_run": self.dry_run,
            "ok": self.ok,
        }

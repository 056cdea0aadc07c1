"""``DeduplicatedFilesystemAdapter`` and the ``deduplicated`` config driver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...disk import FilesystemAdapter
from ...errors import InvalidConfiguration, StorageError
from ..read_only import inherited_config
from .backend import DeduplicatedBackend
from .garbage import DedupStats, GarbageReport, collect_garbage, stats

if TYPE_CHECKING:
    from ...manager import StorageManager

__all__ = ["DeduplicatedFilesystemAdapter", "create"]

DEFAULT_GRACE = 3600.0


def _checked_grace(disk: str, grace: Any) -> float:
    """Raises: InvalidConfiguration: not a number of seconds >= 0."""
    if isinstance(grace, bool) or not isinstance(grace, (int, float)) or not grace >= 0:
        raise InvalidConfiguration(f"'grace' must be seconds >= 0, not {grace!r}", option="grace", disk=disk)
    return float(grace)


class DeduplicatedFilesystemAdapter(FilesystemAdapter):
    """A disk that stores each distinct content of another disk once (see docs/deduplication.md).

    Args:
        base_adapter: the disk that holds the pointers and, under ``.flystore-dedup/``, the blobs.
        grace: seconds ``collect_garbage`` leaves a blob alone after it was written (default 3600).
        name: this disk's name (default: the base disk's).

    Raises:
        InvalidConfiguration: a negative or non-numeric grace.
    """

    def __init__(
        self,
        base_adapter: FilesystemAdapter,
        grace: float = DEFAULT_GRACE,
        *,
        name: str | None = None,
        manager: StorageManager | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        disk_name = name or base_adapter.name
        backend = DeduplicatedBackend(base_adapter.backend, grace=_checked_grace(disk_name, grace))
        # A 'url' of the base disk would serve pointer files, so it is not inherited.
        merged = {k: v for k, v in inherited_config(base_adapter.config).items() if k != "url"}
        merged.update(config or {})
        super().__init__(backend, name=disk_name, config=merged, manager=manager or base_adapter.manager)
        self._deduplicated = backend

    def stats(self) -> DedupStats:
        """Logical bytes (what readers see) against physical bytes (what is stored).

        Reads every pointer and lists every blob, so it costs a listing plus one small read per file.

        Raises:
            UnableToListContents: the disk underneath could not be listed.
            UnableToReadFile: a pointer could not be read.
        """
        try:
            return stats(self._deduplicated)
        except StorageError as error:
            if error.disk is None:
                error.disk = self.name
            raise

    def collect_garbage(self, grace: float | None = None) -> GarbageReport:
        """Delete contents no file points to any more, and leftovers of interrupted writes.

        Only what was written more than ``grace`` seconds (default: the disk's) before the call
        is deleted, so a write in progress keeps its content; ``grace=0`` is for when nothing
        else writes to the disk.

        Raises:
            InvalidConfiguration: a negative grace.
            UnableToListContents: the disk underneath could not be listed.
            UnableToReadFile: a pointer could not be read (nothing is deleted then).
            UnableToDeleteFile: a blob could not be deleted.
        """
        chosen = None if grace is None else _checked_grace(self.name, grace)
        try:
            return collect_garbage(self._deduplicated, chosen)
        except StorageError as error:
            if error.disk is None:
                error.disk = self.name
            raise


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """``{"driver": "deduplicated", "disk": "<other disk>", "grace": 3600}``."""
    from ...config import reject_unknown_options

    reject_unknown_options(name, options, {"disk", "grace"})
    grace = _checked_grace(name, options.get("grace", DEFAULT_GRACE))
    inner = manager._resolve_inner(name, options)
    own = {k: v for k, v in options.items() if k not in ("disk", "grace")}
    return DeduplicatedFilesystemAdapter(inner, grace, name=name, manager=manager, config=own)

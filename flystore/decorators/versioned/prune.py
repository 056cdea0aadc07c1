"""Which versions a prune deletes: a pure function of one path's versions and the limits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .version import Version

__all__ = ["plan_prune"]


def plan_prune(versions: Sequence[Version], keep: int | None, cutoff: datetime | None) -> list[Version]:
    """The versions of one path to delete, from its versions newest first.

    The latest version is never deleted. With ``keep``, the ``keep`` newest
    versions stay (the latest counts among them); with ``cutoff``, only versions
    made before it go; with both, a version goes when it is beyond the ``keep``
    newest *and* older than the cutoff. When no version with content would be
    left, the remaining delete markers go too: they have nothing to restore.
    """
    doomed: list[Version] = []
    survivors: list[Version] = []
    for index, version in enumerate(versions):
        kept = (
            version.is_latest
            or (keep is not None and index < keep)
            or (cutoff is not None and version.last_modified >= cutoff)
        )
        (survivors if kept else doomed).append(version)
    if survivors and all(version.is_deleted for version in survivors):
        doomed.extend(survivors)
    return doomed

"""The planner: two listings (and, for two-way, the last state) in, a list of actions out.

Pure: no I/O happens here, so every decision can be tested on plain values and
a dry run reports exactly what a real run would do. MD5s the comparison needs
(``hash_candidates``) are filled into the listings before planning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from .compare import Compare, newer, up_to_date
from .listing import Listed
from .state import Synced

__all__ = ["Action", "Plan", "Side", "conflict_name", "hash_candidates", "plan_one_way", "plan_two_way"]

Side = Literal["source", "destination"]
Kind = Literal["copy", "update", "delete", "conflict"]


@dataclass(frozen=True, slots=True)
class Action:
    """One thing to do to one path.

    Attributes:
        kind: ``copy`` (new on the receiving side), ``update`` (replaces it),
            ``delete``, or ``conflict`` (both versions kept).
        path: the path, relative to both roots.
        to: the side that receives the file, or loses it for ``delete``.
        item: the file read (on the other side), or the file deleted.
        replaced: the receiving side's current file, for ``update`` and ``conflict``.
        conflict_path: where a conflict keeps the losing version, on both sides.
    """

    kind: Kind
    path: str
    to: Side
    item: Listed
    replaced: Listed | None = None
    conflict_path: str | None = None

    @property
    def transfer_size(self) -> int:
        """Bytes this action moves between the sides."""
        if self.kind == "delete":
            return 0
        if self.kind == "conflict" and self.replaced is not None:
            return self.item.size + self.replaced.size
        return self.item.size


@dataclass(slots=True)
class Plan:
    """What a sync will do.

    Attributes:
        actions: the changes, in path order.
        skipped: paths left alone (in sync, or kept because the receiving side is newer).
        in_sync: for two-way, the paths already equal on both sides, with both versions.
    """

    actions: list[Action] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    in_sync: dict[str, tuple[Listed, Listed]] = field(default_factory=dict)


def hash_candidates(
    source: Mapping[str, Listed],
    destination: Mapping[str, Listed],
    method: Compare,
    previous: Mapping[str, Synced] | None = None,
    *,
    two_way: bool = False,
) -> list[str]:
    """Paths on both sides whose MD5s the plan needs: same size, compared by checksum.

    A two-way sync by size and time hashes only the files changed on both sides
    since the last sync, so equal contents are not reported as conflicts.
    """
    wanted = []
    for path, item in source.items():
        other = destination.get(path)
        if other is None or other.size != item.size:
            continue
        if method == "checksum":
            wanted.append(path)
        elif two_way and previous is not None:
            synced = previous.get(path)
            if synced is None or (_changed(item, synced, "source") and _changed(other, synced, "destination")):
                wanted.append(path)
    return sorted(wanted)


def plan_one_way(
    sending: Mapping[str, Listed],
    receiving: Mapping[str, Listed],
    *,
    to: Side,
    method: Compare,
    mirror: bool,
    delete: bool,
) -> Plan:
    """Actions making ``receiving`` hold ``sending``'s files.

    Without ``mirror`` a receiving file newer than the sent one is kept (skipped);
    with ``delete`` receiving files that ``sending`` lacks are deleted.
    """
    plan = Plan()
    for path in sorted(sending):
        item = sending[path]
        current = receiving.get(path)
        if current is None:
            plan.actions.append(Action("copy", path, to, item))
        elif up_to_date(item, current, method) or (not mirror and newer(current.mtime, item.mtime)):
            plan.skipped.append(path)
        else:
            plan.actions.append(Action("update", path, to, item, current))
    if delete:
        for path in sorted(set(receiving) - set(sending)):
            plan.actions.append(Action("delete", path, to, receiving[path]))
    plan.actions.sort(key=lambda action: action.path)
    return plan


def _moved(first: float | None, second: float | None) -> bool:
    if first is None or second is None:
        return (first is None) != (second is None)
    return abs(first - second) > 0.001


def _changed(item: Listed, synced: Synced, side: Side) -> bool:
    recorded = synced.source_mtime if side == "source" else synced.destination_mtime
    return item.size != synced.size or _moved(item.mtime, recorded)


def conflict_name(path: str, mtime: float | None) -> str:
    """``dir/name.conflict-<UTC time>.ext`` for the losing version of ``path``."""
    moment = datetime.fromtimestamp(mtime or 0, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    directory, slash, name = path.rpartition("/")
    stem, dot, extension = name.rpartition(".")
    if not stem:  # no extension, or a dot file such as ".env"
        stem, dot, extension = name, "", ""
    return f"{directory}{slash}{stem}.conflict-{moment}{dot}{extension}"


def _both(plan: Plan, path: str, source: Listed, destination: Listed, previous: Synced | None,
          method: Compare, first: bool) -> None:
    if first:  # a first sync, or a lost state: equal stays, else the newest wins
        if method == "checksum":
            equal = up_to_date(source, destination, method)
        else:
            equal = up_to_date(source, destination, method) and not newer(destination.mtime, source.mtime)
        if equal:
            plan.in_sync[path] = (source, destination)
        elif newer(destination.mtime, source.mtime):
            plan.actions.append(Action("update", path, "source", destination, source))
        else:
            plan.actions.append(Action("update", path, "destination", source, destination))
        return
    # A path the state does not know was made on both sides since the last sync: changed on both.
    source_changed = previous is None or _changed(source, previous, "source")
    destination_changed = previous is None or _changed(destination, previous, "destination")
    if not source_changed and not destination_changed:
        plan.in_sync[path] = (source, destination)
    elif not destination_changed:
        plan.actions.append(Action("update", path, "destination", source, destination))
    elif not source_changed:
        plan.actions.append(Action("update", path, "source", destination, source))
    elif source.size == destination.size and source.md5 is not None and source.md5 == destination.md5:
        plan.in_sync[path] = (source, destination)  # the same change on both sides
    elif newer(destination.mtime, source.mtime):
        plan.actions.append(
            Action("conflict", path, "source", destination, source, conflict_name(path, source.mtime))
        )
    else:
        plan.actions.append(
            Action("conflict", path, "destination", source, destination, conflict_name(path, destination.mtime))
        )


def plan_two_way(
    source: Mapping[str, Listed],
    destination: Mapping[str, Listed],
    previous: Mapping[str, Synced] | None,
    *,
    method: Compare,
) -> Plan:
    """Actions bringing changes and deletions of either side to the other.

    ``previous`` is the last sync's state; without it nothing is deleted and a
    file on both sides that differs goes newest-wins. With it, a file missing
    on one side and unchanged on the other was deleted: the deletion is carried
    over; a file changed on both sides (or made on both since the last sync) is
    a conflict, the newer version keeping the name and the older one kept
    beside it under ``conflict_name``.
    """
    plan = Plan()
    for path in sorted(set(source) | set(destination)):
        here, there = source.get(path), destination.get(path)
        synced = previous.get(path) if previous is not None else None
        if here is not None and there is not None:
            _both(plan, path, here, there, synced, method, previous is None)
        elif here is not None:
            if synced is not None and not _changed(here, synced, "source"):
                plan.actions.append(Action("delete", path, "source", here))
            else:
                plan.actions.append(Action("copy", path, "destination", here))
        elif there is not None:
            if synced is not None and not _changed(there, synced, "destination"):
                plan.actions.append(Action("delete", path, "destination", there))
            else:
                plan.actions.append(Action("copy", path, "source", there))
    plan.skipped = sorted(plan.in_sync)
    return plan

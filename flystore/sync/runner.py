"""One sync of one pair, step by step: list, hash what must be, plan, guard, carry out, record.

Listing happens once per side (both sides at once); a two-way sync lists the
sides it changed once more afterwards, so that its state holds what each side
itself reports. Every file's failure lands in the report; only a failed
listing, a refused deletion or a broken executor stops the whole sync.
"""

from __future__ import annotations

import concurrent.futures
import io
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import StorageError, UnableToListContents
from .compare import Compare
from .endpoints import Endpoint
from .execute import Outcome, hash_items, run_actions
from .listing import Listed, PathFilter
from .modes import SyncMode
from .plan import Action, Plan, Side, hash_candidates, plan_one_way, plan_two_way
from .report import Phase, SyncProgress, SyncReport
from .scheduling import batch_size, run_batches
from .state import Synced, decode_state, encode_state, state_path

__all__ = ["Options", "Runner"]

ProgressHandler = Callable[[SyncProgress], None]


@dataclass(frozen=True, slots=True)
class Options:
    """How one sync runs (see ``flystore.sync.sync`` for each)."""

    mode: SyncMode
    compare: Compare
    delete: bool
    dry_run: bool
    paths: PathFilter
    transfers: int
    executor: concurrent.futures.Executor | None
    progress: ProgressHandler | None


def _other(side: Side) -> Side:
    return "source" if side == "destination" else "destination"


class Runner:
    """Runs one sync between ``source`` and ``destination``."""

    def __init__(self, source: Endpoint, destination: Endpoint, options: Options) -> None:
        self.sides: dict[Side, Endpoint] = {"source": source, "destination": destination}
        self.options = options
        self.report = SyncReport(dry_run=options.dry_run)
        self.state_file = state_path(source.label, destination.label)
        # One pool for the whole run (listings, and the work when no executor is given): threads start once.
        self.threads = concurrent.futures.ThreadPoolExecutor(max_workers=max(2, options.transfers),
                                                             thread_name_prefix="flystore-sync")

    def _run(self, work: Callable[..., list[Any]], items: Sequence[Any], arguments: tuple[Any, ...], *,
             quick: bool = False) -> Iterator[Any]:
        """``work``'s results over ``items``: one per task on the own pool (batched when ``quick``)."""
        transfers, executor = self.options.transfers, self.options.executor
        if executor is None:
            size = batch_size(len(items), transfers) if quick else 1
            return run_batches(work, items, arguments, executor=self.threads, size=size, window=transfers * 2)
        return run_batches(work, items, arguments, executor=executor, size=batch_size(len(items), transfers),
                           window=transfers * 4)

    def _tell(self, phase: Phase, path: str, done: int, total: int, bytes_done: int, bytes_total: int) -> None:
        if self.options.progress is not None:
            self.options.progress(SyncProgress(phase, path, done, total, bytes_done, bytes_total))

    # -- listing ---------------------------------------------------------------------

    def _scan(self) -> dict[Side, dict[str, Listed]]:
        self._tell("scan", "", 0, 2, 0, 0)
        futures = {side: self.threads.submit(lambda endpoint: {item.path: item for item in endpoint.scan()}, endpoint)
                   for side, endpoint in self.sides.items()}
        listings = {side: future.result() for side, future in futures.items()}
        for side, endpoint in self.sides.items():
            self.report.errors.update(endpoint.rejected)
            self._tell("scan", endpoint.label, 1 if side == "source" else 2, 2, 0, 0)
        return listings

    def _previous(self, destination: dict[str, Listed]) -> dict[str, Synced] | None:
        item = destination.get(self.state_file)
        if item is None:
            return None
        try:
            with self.sides["destination"].open_read(item) as handle:
                data = handle.read()
        except (StorageError, OSError):
            return None  # an unreadable state is a lost one: the safe first-sync rules apply
        return decode_state(data, self.sides["source"].label, self.sides["destination"].label)

    # -- hashing ---------------------------------------------------------------------

    def _hash(self, listings: dict[Side, dict[str, Listed]], paths: list[str]) -> None:
        """Fill in the MD5s of ``paths`` on both sides; a file that cannot be hashed is left out.

        A listed (native) hash that disagrees with the other side's is asked for again
        before it counts, so a hash that only looks like an MD5 never causes a transfer.
        """
        native = {side: {path for path in paths if path in listing and listing[path].md5 is not None}
                  for side, listing in listings.items()}
        self._fill(listings, {side: [path for path in paths if path in listing and listing[path].md5 is None]
                              for side, listing in listings.items()}, confirm=False)
        source, destination = listings["source"], listings["destination"]
        disagreeing = [path for path in paths if path in source and path in destination
                       and path not in self.report.errors and source[path].md5 != destination[path].md5]
        self._fill(listings, {side: [path for path in disagreeing if path in native[side]] for side in listings},
                   confirm=True)
        for path in self.report.errors:
            for listing in listings.values():
                listing.pop(path, None)

    def _fill(self, listings: dict[Side, dict[str, Listed]], wanted: dict[Side, list[str]], *, confirm: bool) -> None:
        for side, endpoint in self.sides.items():
            listing = listings[side]
            items = [listing[path] for path in wanted[side] if path in listing]
            results = self._run(hash_items, items, (endpoint, confirm), quick=not confirm)
            for path, digest, error in results:
                if digest is not None:
                    listing[path] = listing[path].with_md5(digest)
                else:
                    self.report.errors[path] = error or "the file could not be hashed"

    # -- planning --------------------------------------------------------------------

    def _plan(self, listings: dict[Side, dict[str, Listed]], previous: dict[str, Synced] | None) -> Plan:
        mode, method = self.options.mode, self.options.compare
        source, destination = listings["source"], listings["destination"]
        if mode is SyncMode.TWO_WAY:
            self._hash(listings, hash_candidates(source, destination, method, previous, two_way=True))
            return plan_two_way(listings["source"], listings["destination"], previous, method=method)
        self._hash(listings, hash_candidates(source, destination, method))
        to: Side = "source" if mode is SyncMode.DESTINATION_TO_SOURCE else "destination"
        return plan_one_way(listings[_other(to)], listings[to], to=to, method=method,
                            mirror=mode is SyncMode.MIRROR, delete=self.options.delete)

    def _guard(self, plan: Plan, listed: dict[Side, int]) -> None:
        """Refuse to delete a side's files because the other side's root is missing (a typo, an unmounted disk).

        Raises:
            UnableToListContents: deletions were planned against a side with no root.
        """
        for to in ("source", "destination"):
            doomed = sum(1 for action in plan.actions if action.kind == "delete" and action.to == to)
            cause = self.sides[_other(to)]
            if doomed and not listed[_other(to)] and not cause.root_exists():
                raise UnableToListContents.at(
                    getattr(cause, "root", ""),
                    f"the {_other(to)} root does not exist, so this sync would delete all {doomed} files of "
                    f"the {to}; nothing was changed",
                    disk=cause.name,
                )

    # -- carrying out ----------------------------------------------------------------

    def _record(self, outcome: Outcome) -> None:
        action, report = outcome.action, self.report
        if outcome.error is not None:
            report.errors[action.path] = outcome.error
            return
        report.bytes += outcome.bytes
        {"copy": report.copied, "update": report.updated, "delete": report.deleted,
         "conflict": report.conflicts}[action.kind].append(action.path)

    def _carry_out(self, actions: list[Action]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        waves: tuple[tuple[Phase, list[Action]], ...] = (
            ("transfer", [action for action in actions if action.kind != "delete"]),
            ("delete", [action for action in actions if action.kind == "delete"]),
        )
        for phase, wave in waves:
            bytes_total = sum(action.transfer_size for action in wave)
            bytes_done = 0
            results = self._run(run_actions, wave, (self.sides["source"], self.sides["destination"]))
            for done, outcome in enumerate(results, start=1):
                self._record(outcome)
                outcomes.append(outcome)
                bytes_done += outcome.bytes
                self._tell(phase, outcome.action.path, done, len(wave), bytes_done, bytes_total)
        return outcomes

    def _dry(self, plan: Plan) -> None:
        for action in plan.actions:
            self._record(Outcome(action, action.transfer_size))

    # -- two-way state -----------------------------------------------------------------

    def _save_state(self, plan: Plan, outcomes: list[Outcome], previous: dict[str, Synced] | None) -> None:
        files = {path: Synced(source.size, source.mtime, destination.mtime)
                 for path, (source, destination) in plan.in_sync.items()}
        changed = [outcome.action for outcome in outcomes if outcome.error is None and outcome.action.kind != "delete"]
        if changed:
            receivers = {action.to for action in changed} | {
                _other(action.to) for action in changed if action.kind == "conflict"}
            fresh: dict[Side, dict[str, Listed]] = {}
            for side in receivers:
                try:
                    fresh[side] = {item.path: item for item in self.sides[side].scan()}
                except StorageError as error:  # what was changed is then unrecorded: the first-sync rules apply
                    fresh[side] = {}
                    self.report.errors[self.state_file] = str(error)
            for action in changed:
                # The sending side keeps what was read from it: a change made there meanwhile stays a change.
                sent: dict[Side, Listed | None] = {action.to: fresh[action.to].get(action.path),
                                                   _other(action.to): action.item}
                versions = [(action.path, sent)]
                if action.conflict_path is not None:
                    versions.append((action.conflict_path, {side: fresh[side].get(action.conflict_path)
                                                            for side in ("source", "destination")}))
                for path, found in versions:
                    source, destination = found["source"], found["destination"]
                    if source is not None and destination is not None and source.size == destination.size:
                        files[path] = Synced(source.size, source.mtime, destination.mtime)
        if previous is not None:
            for path in self.report.errors:
                if path in previous:
                    files[path] = previous[path]  # not synced this time: what was known stays known
        if files == previous:
            return
        data = encode_state(self.sides["source"].label, self.sides["destination"].label, files)
        try:
            self.sides["destination"].write(self.state_file, io.BytesIO(data))
        except StorageError as error:
            self.report.errors[self.state_file] = str(error)

    # -- the whole run -----------------------------------------------------------------

    def run(self) -> SyncReport:
        """Sync once and report.

        Raises:
            UnableToListContents: a side could not be listed, or a deletion was refused.
        """
        started = time.monotonic()
        try:
            self._sync()
        finally:
            self.threads.shutdown(wait=True, cancel_futures=True)
        self.report.duration = time.monotonic() - started
        return self.report

    def _sync(self) -> None:
        raw = self._scan()
        two_way = self.options.mode is SyncMode.TWO_WAY
        previous = self._previous(raw["destination"]) if two_way else None
        chosen = self.options.paths
        listings = {side: {path: item for path, item in listing.items() if chosen(path)}
                    for side, listing in raw.items()}
        plan = self._plan(listings, previous)
        self._guard(plan, {side: len(listing) for side, listing in raw.items()})
        self.report.skipped = list(plan.skipped)
        if self.options.dry_run:
            self._dry(plan)
        else:
            outcomes = self._carry_out(plan.actions)
            if two_way:
                self._save_state(plan, outcomes, previous)

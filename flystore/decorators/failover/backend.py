"""``FailoverBackend``: reads fall back in order, writes go to the first healthy disk or to all.

Routing rules (see docs/failover.md):

- A read asks the disks in order, skipping those the ledger says are behind on the
  path and, while another disk is left, those whose circuit is open. It moves on only
  when a disk could not answer (``classify.is_outage``); any answer is final, a
  ``FileNotFound`` included unless ``read_any`` is set. Without ``replicate`` only
  the first disk's "missing" is final: a standby's, while the first disk could not
  be asked, ends in the verb's error naming every disk.
- Without ``replicate`` a write goes to the first disk that takes it; the disks
  before it are marked behind on the path (``repair()`` brings them up to date).
- With ``replicate`` a write goes to every disk in order. It succeeds when
  ``write_quorum`` disks took it; the others are marked behind. Below the quorum it
  raises ``ReplicationIncomplete`` naming the replicas that failed and why. An answer
  from the first disk that answers (a refusal, a validation error) is raised as it is
  and the write goes nowhere else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, BinaryIO, TypeVar

from ...attributes import Entry, FileAttributes, WriteOptions
from ...backend import Backend, Readable
from ...errors import FileNotFound, OperationFailed, ReplicationIncomplete, StorageError
from .breaker import CircuitBreaker, State
from .classify import is_outage
from .ledger import Ledger
from .listing import patched_listing
from .members import Member, call, turns, unreachable
from .streams import ReplayableStream

__all__ = ["FailoverBackend"]

_T = TypeVar("_T")
_Task = Callable[[Member], _T]


def _bound(task: _Task[_T], member: Member) -> Callable[[Backend], _T]:
    return lambda _backend: task(member)


def _never_missing(result: object) -> bool:
    return False


def _is_false(result: object) -> bool:
    return result is False


class FailoverBackend(Backend):
    """Several backends behaving as one: failover, optional replication, a ledger of missed changes.

    Args:
        members: ``(name, backend)`` pairs, in order of preference (at least one).
        replicate: write to every disk instead of the first healthy one.
        write_quorum: with ``replicate``, how many disks must take a write (default: all).
        read_any: a ``FileNotFound`` from one disk does not end a read; the next disk is asked.
        failure_threshold: consecutive outages that open a disk's circuit.
        cooldown: seconds an open circuit waits before one call probes the disk again.
        clock: the breakers' monotonic clock.
        owned: the members whose backends ``close()`` closes (built for this disk only).
    """

    name = "failover"

    def __init__(
        self,
        members: Sequence[tuple[str, Backend]],
        *,
        replicate: bool = False,
        write_quorum: int | None = None,
        read_any: bool = False,
        failure_threshold: int = 3,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        owned: Collection[str] = (),
    ) -> None:
        self.members = [Member(name, backend, CircuitBreaker(failure_threshold, cooldown, clock=clock))
                        for name, backend in members]
        self.replicate = replicate
        self.write_quorum = (write_quorum or len(self.members)) if replicate else 1
        self.read_any = read_any
        self.ledger = Ledger(member.name for member in self.members)
        self.unsupported = frozenset().union(*(member.backend.unsupported for member in self.members))
        limits = [member.backend.metadata_limit for member in self.members if member.backend.metadata_limit]
        self.metadata_limit = min(limits) if limits else None
        self._owned = frozenset(owned)

    # -- state -------------------------------------------------------------------

    def pending(self) -> dict[str, list[str]]:
        """The paths each disk is behind on (only disks that are behind; ``"dir/"`` is a whole directory)."""
        return {name: paths for name, paths in self.ledger.pending().items() if paths}

    def health(self) -> dict[str, State]:
        """Each disk's circuit: ``"closed"``, ``"open"`` or ``"half_open"``."""
        return {member.name: member.breaker.state for member in self.members}

    def member(self, name: str) -> Member:
        """The member called ``name``.

        Raises:
            KeyError: no member has that name.
        """
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(name)

    # -- routing -------------------------------------------------------------------

    def _read(
        self,
        task: _Task[_T],
        candidates: Sequence[Member],
        missing: Callable[[_T], bool] = _never_missing,
    ) -> _T:
        outages: list[tuple[str, BaseException]] = []
        absent: list[tuple[str, FileNotFound]] = []
        answer: list[_T] = []
        # Without replication a standby holds only what was written while the disks before it
        # were down (or skipped), so only the first disk's "missing" is an answer: a standby's is
        # final once the first disk has answered too, never while it could not be asked.
        ordered = candidates or self.members
        first = None if self.replicate else ordered[0]
        for member in turns(ordered):
            doubted = first is not None and member is not first
            try:
                result = call(member, _bound(task, member))
            except FileNotFound as error:
                if not self.read_any and not doubted:
                    raise
                absent.append((member.name, error))
                continue
            except (StorageError, OSError) as error:
                if not is_outage(error):
                    raise
                outages.append((member.name, error))
                continue
            if missing(result) and (self.read_any or doubted):
                answer = answer or [result]
                continue
            return result
        if outages:
            raise unreachable([*outages, *absent])
        if absent:
            raise absent[0][1]
        return answer[0]

    def _current(self, path: str) -> list[Member]:
        """The members not behind on ``path``."""
        if self.ledger.empty():
            return self.members
        return [member for member in self.members if not self.ledger.behind(member.name, path)]

    def _write(
        self, paths: Sequence[str], task: _Task[_T], *, tree: bool = False, folder: bool = False, settles: bool = True
    ) -> list[_T]:
        """Run ``task`` on the first member that takes it, or on all of them with ``replicate``.

        Returns the results of the members that took it, in order.
        """
        if self.replicate:
            return self._write_everywhere(paths, task, tree=tree, folder=folder, settles=settles)
        outages: list[tuple[str, BaseException]] = []
        absent: list[tuple[str, FileNotFound]] = []
        for member in turns(self.members):
            try:
                result = call(member, _bound(task, member))
            except FileNotFound as error:
                if member is self.members[0]:
                    raise
                absent.append((member.name, error))  # the source may be on a disk not asked yet (see _read)
                continue
            except (StorageError, OSError) as error:
                if not is_outage(error):
                    raise
                outages.append((member.name, error))
                continue
            for earlier in self.members[: self.members.index(member)]:
                self.ledger.mark(earlier.name, paths, tree=tree, folder=folder)
            if settles:
                self.ledger.settle(member.name, paths, tree=tree)
            return [result]
        if outages:
            raise unreachable([*outages, *absent])
        raise absent[0][1]

    def _write_everywhere(
        self, paths: Sequence[str], task: _Task[_T], *, tree: bool, folder: bool, settles: bool
    ) -> list[_T]:
        allowed = [member for member in self.members if member.breaker.allow()] or list(self.members)
        uncalled = list(allowed)  # each holds a reservation of its breaker until it is called
        results: list[_T] = []
        succeeded: list[str] = []
        failed: dict[str, BaseException] = {}
        try:
            for member in self.members:
                if member not in allowed:
                    failed[member.name] = OperationFailed.at(
                        paths[0], f"disk {member.name!r} was skipped: its circuit is open after repeated failures")
                    continue
                uncalled.remove(member)
                try:
                    results.append(call(member, _bound(task, member)))
                except (StorageError, OSError) as error:
                    if not succeeded and not is_outage(error):
                        raise
                    failed[member.name] = error
                    continue
                succeeded.append(member.name)
        finally:
            for member in uncalled:  # a refusal (or an interrupt) ended the write before their turn
                member.breaker.released()
        for name in failed:
            self.ledger.mark(name, paths, tree=tree, folder=folder)
        if settles:
            for name in succeeded:
                self.ledger.settle(name, paths, tree=tree)
        if len(succeeded) >= self.write_quorum:
            return results
        summary = "; ".join(
            f"{name}: {error.reason if isinstance(error, StorageError) else error}" for name, error in failed.items()
        )
        raise ReplicationIncomplete(
            f"{len(succeeded)} of {len(self.members)} replicas took the change, {self.write_quorum} needed "
            f"(failed: {summary})",
            failed=list(failed), causes=failed, succeeded=succeeded, required=self.write_quorum, path=paths[0],
        )

    # -- existence and reading ---------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        return self._read(lambda member: member.backend.file_exists(path), self._current(path), _is_false)

    def directory_exists(self, path: str) -> bool:
        current = [member for member in self.members if not self.ledger.touches(member.name, path)]
        return self._read(lambda member: member.backend.directory_exists(path), current, _is_false)

    def read(self, path: str) -> bytes:
        return self._read(lambda member: member.backend.read(path), self._current(path))

    def open_read(self, path: str) -> BinaryIO:
        return self._read(lambda member: member.backend.open_read(path), self._current(path))

    def stat(self, path: str) -> FileAttributes:
        attributes = self._read(lambda member: member.backend.stat(path), self._current(path))
        if "visibility" in self.unsupported and attributes.visibility is not None:
            # One replica cannot keep visibility, so the disk as a whole does not offer it.
            attributes = dataclasses.replace(attributes, visibility=None)
        return attributes

    def checksum(self, path: str, algorithm: str) -> str | None:
        return self._read(lambda member: member.backend.checksum(path, algorithm), self._current(path))

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        return patched_listing(self, path, deep, lambda backend: backend.list_contents(path, deep))

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        listed = patched_listing(self, path, deep, lambda backend: backend.list_paths(path, deep), as_pairs=True)
        return ((entry.path, entry.is_folder) for entry in listed)

    # -- writing -------------------------------------------------------------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self._write([path], lambda member: member.backend.write(path, data, options))

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        with ReplayableStream(stream) as replay:
            self._write([path], lambda member: member.backend.write_stream(path, replay.rewind(), options))

    def delete(self, path: str) -> bool:
        return any(self._write([path], lambda member: member.backend.delete(path)))

    def create_directory(self, path: str, options: WriteOptions) -> None:
        # Making a directory does not undo a missed delete of it, so it settles nothing; a disk that
        # missed it lacks the directory only, not anything inside it (its files stay readable there).
        self._write([path], lambda member: member.backend.create_directory(path, options), folder=True, settles=False)

    def delete_directory(self, path: str) -> bool:
        return any(self._write([path], lambda member: member.backend.delete_directory(path), tree=True))

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        self._write([destination], lambda member: self._copy_on(member, source, destination, options))

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        self._write([source, destination], lambda member: self._move_on(member, source, destination, options))

    def set_visibility(self, path: str, visibility: str) -> None:
        self._write([path], lambda member: member.backend.set_visibility(path, visibility))

    def _copy_on(self, member: Member, source: str, destination: str, options: WriteOptions) -> None:
        if not self.ledger.behind(member.name, source):
            member.backend.copy(source, destination, options)
            return
        # This disk missed the source's latest change: copy it from a disk that has it.
        with self.open_read(source) as handle:
            member.backend.write_stream(destination, handle, options)

    def _move_on(self, member: Member, source: str, destination: str, options: WriteOptions) -> None:
        if not self.ledger.behind(member.name, source):
            member.backend.move(source, destination, options)
            return
        self._copy_on(member, source, destination, options)
        member.backend.delete(source)

    # -- capabilities ----------------------------------------------------------------

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        return None  # the disk streams through write_stream, which fails over and replicates

    def public_url(self, path: str) -> str | None:
        return self._read(lambda member: member.backend.public_url(path), self._current(path))

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
        return self._read(lambda member: member.backend.temporary_url(path, expires_at, options), self._current(path))

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        """An upload URL of the first healthy disk; the others are marked behind on ``path``.

        The upload bypasses flystore, so the other disks learn of it only through ``repair()``.
        """
        outages: list[tuple[str, BaseException]] = []
        for member in turns(self.members):
            try:
                made = call(member, lambda backend: backend.temporary_upload_url(path, expires_at, options))
            except (StorageError, OSError) as error:
                if not is_outage(error):
                    raise
                outages.append((member.name, error))
                continue
            if made is not None:
                position = self.members.index(member)
                for index, other in enumerate(self.members):
                    if index != position and (self.replicate or index < position):
                        self.ledger.mark(other.name, [path])
            return made
        raise unreachable(outages)

    def local_path(self, path: str) -> str | None:
        return None  # several disks hold the file: none of their paths is the disk's

    def close(self) -> None:
        # Disks named in the configuration belong to their manager, which closes them.
        for member in self.members:
            if member.name in self._owned:
                with contextlib.suppress(StorageError, OSError):
                    member.backend.close()

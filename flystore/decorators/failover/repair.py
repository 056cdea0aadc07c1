"""``repair()``: make every reachable disk of a failover disk hold the same files.

Listing-based: each disk is listed once (deep) under the directory. For each path:

- if the ledger says some disks missed its latest change, the first disk that did
  not is the truth: the others get its file (or lose theirs when it has none);
- otherwise the disk with the newest copy (by the listings' modification times, to
  the second; the first disk in order on a tie or when a listing has no time) is the
  truth, and a disk that lacks the file or holds a different one gets a copy. Without
  the ledger's word a file is never deleted: a file found on one disk only is copied
  to the others.

"Different" is decided from the listings: sizes, then the checksums the listings
carry (S3 ETags), then native checksums (``Backend.checksum``), and, with
``verify=True``, hashes streamed from both disks. Files are streamed in bounded
memory, only those that differ. Empty directories are recreated; a directory is
deleted only where the ledger says the disk missed its deletion. Entries of the
ledger that the repair settled are cleared; a disk that was unreachable keeps its
entries and is named in ``RepairReport.errors``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...attributes import Entry, FileAttributes, WriteOptions
from ...backend import Backend
from ...errors import StorageError, UnableToListContents
from .members import Member, call

if TYPE_CHECKING:
    from .backend import FailoverBackend

__all__ = ["RepairReport", "repair"]

_CHUNK = 1024 * 1024


@dataclass
class RepairReport:
    """What ``repair()`` did, by disk name.

    Attributes:
        copied: files written to each disk.
        deleted: files (and directories, ending in ``/``) removed from each disk.
        directories: empty directories made on each disk.
        checked: file copies compared.
        bytes: bytes copied.
        errors: what could not be done: a disk name (unreachable) or ``"disk:path"``, with the reason.
    """

    copied: dict[str, list[str]] = field(default_factory=dict)
    deleted: dict[str, list[str]] = field(default_factory=dict)
    directories: dict[str, list[str]] = field(default_factory=dict)
    checked: int = 0
    bytes: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether every disk was reached and every difference was repaired."""
        return not self.errors

    def _note(self, what: dict[str, list[str]], member: Member, path: str) -> None:
        what.setdefault(member.name, []).append(path)


def _reason(error: BaseException) -> str:
    return error.reason if isinstance(error, StorageError) else str(error)


def _streamed_hash(backend: Backend, path: str) -> str:
    digest = hashlib.sha256()
    with backend.open_read(path) as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _listed(entry: Entry) -> str | None:
    return entry.checksum if isinstance(entry, FileAttributes) else None


def _checksum(member: Member, path: str, entry: Entry) -> str | None:
    """``"algorithm:hex"`` from the listing, else the backend's native MD5, else None."""
    listed = _listed(entry)
    if listed:
        return listed
    native = call(member, lambda backend: backend.checksum(path, "md5"))
    return f"md5:{native}" if native else None


def _same(truth: Member, other: Member, path: str, ours: Entry, theirs: Entry, verify: bool) -> bool:
    if ours.size is not None and theirs.size is not None and ours.size != theirs.size:
        return False
    # The side without a checksum in its listing is asked first: if it has none at all, the other is not asked.
    sides = sorted([(truth, ours), (other, theirs)], key=lambda side: _listed(side[1]) is not None)
    sums: list[str] = []
    for member, entry in sides:
        found = _checksum(member, path, entry)
        if found is None:
            break
        sums.append(found)
    if len(sums) == 2 and sums[0].partition(":")[0] == sums[1].partition(":")[0]:
        return sums[0] == sums[1]
    if verify:
        return bool(call(truth, lambda b: _streamed_hash(b, path)) == call(other, lambda b: _streamed_hash(b, path)))
    return True


def _newest(holders: list[tuple[Member, Entry]]) -> Member:
    """The disk holding the newest copy, to the second; the first in order on a tie or an unknown time.

    Without the ledger's word the newest copy is the truth: after a restart (an empty
    ledger) the copy a standby took while the primary was down must not be overwritten
    by the primary's older one. Times are compared to the whole second because listings
    differ in precision (S3 reports seconds).
    """
    if any(found.last_modified is None for _member, found in holders):
        return holders[0][0]
    seconds = [int(found.last_modified.timestamp()) for _member, found in holders if found.last_modified]
    return holders[seconds.index(max(seconds))][0]


def _copy(truth: Member, target: Member, path: str) -> int:
    """Stream ``path`` from ``truth`` to ``target`` with its visibility, type and metadata; returns its size."""
    attributes = call(truth, lambda backend: backend.stat(path))
    options = WriteOptions(
        visibility=None if "visibility" in target.backend.unsupported else attributes.visibility,
        mimetype=None if "mimetype" in target.backend.unsupported else attributes.mime_type,
        metadata={} if "metadata" in target.backend.unsupported else dict(attributes.metadata),
    )
    with call(truth, lambda backend: backend.open_read(path)) as handle:
        call(target, lambda backend: backend.write_stream(path, handle, options))
    return attributes.size or 0


def _delete(backend: Backend, path: str) -> None:
    backend.delete(path)


def _make_directory(backend: Backend, path: str) -> None:
    backend.create_directory(path, WriteOptions())


def _delete_directory(backend: Backend, path: str) -> None:
    backend.delete_directory(path)


def _attempt(report: RepairReport, member: Member, path: str, action: Callable[[Backend, str], object]) -> bool:
    """Run ``action(backend, path)`` on ``member``; a failure is noted in the report, not raised."""
    try:
        call(member, lambda backend: action(backend, path))
    except (StorageError, OSError) as error:
        report.errors[f"{member.name}:{path}"] = _reason(error)
        return False
    return True


def repair(failover: FailoverBackend, directory: str = "", *, verify: bool = False) -> RepairReport:
    """Bring every reachable disk of ``failover`` up to date under ``directory`` (see the module docstring).

    Raises:
        UnableToListContents: no disk could be listed.
    """
    ledger = failover.ledger
    seen = ledger.snapshot(directory)
    report = RepairReport()
    listings: dict[str, dict[str, Entry]] = {}
    first_error: BaseException | None = None
    for member in failover.members:
        try:
            entries = call(member, lambda backend: list(backend.list_contents(directory, True)))
        except (StorageError, OSError) as error:
            report.errors[member.name] = f"unreachable: {_reason(error)}"
            first_error = first_error or error
            continue
        listings[member.name] = {entry.path: entry for entry in entries}
    reachable = [member for member in failover.members if member.name in listings]
    if not reachable:
        raise UnableToListContents.at(directory, "no disk of the failover disk could be listed", cause=first_error)

    def entry(member: Member, path: str, *, folder: bool = False) -> Entry | None:
        found = listings[member.name].get(path)
        return found if found is not None and found.is_folder == folder else None

    files = sorted({path for listing in listings.values() for path, item in listing.items() if not item.is_folder})
    touched: dict[str, set[str]] = {member.name: set() for member in reachable}
    for path in files:
        behind = [member for member in reachable if ledger.behind(member.name, path)]
        current = [member for member in reachable if member not in behind]
        if not current:
            report.errors[f"*:{path}"] = "every reachable disk missed its latest change"
            continue
        truth = current[0] if behind else _newest([(member, found) for member in reachable
                                                    if (found := entry(member, path)) is not None])
        ours = entry(truth, path)
        for target in reachable:
            theirs = entry(target, path)
            if target is truth:
                continue
            if ours is None:
                if theirs is not None and target in behind and _attempt(report, target, path, _delete):
                    report._note(report.deleted, target, path)
                continue
            report.checked += 1
            if theirs is not None and target not in behind and _same(truth, target, path, ours, theirs, verify):
                continue
            try:
                report.bytes += _copy(truth, target, path)
            except (StorageError, OSError) as error:
                report.errors[f"{target.name}:{path}"] = _reason(error)
                continue
            report._note(report.copied, target, path)
            touched[target.name].add(path)
    _repair_directories(failover, report, listings, reachable, touched)
    for member in reachable:
        failed = {key.partition(":")[2] for key in report.errors if key.partition(":")[0] in (member.name, "*")}
        ledger.clear(member.name, {key: seq for key, seq in seen[member.name].items()
                                   if key[1] not in failed and _inside(key[1], directory)})
    return report


def _inside(path: str, directory: str) -> bool:
    return not directory or path == directory or path.startswith(directory + "/")


def _repair_directories(
    failover: FailoverBackend,
    report: RepairReport,
    listings: dict[str, dict[str, Entry]],
    reachable: list[Member],
    touched: dict[str, set[str]],
) -> None:
    folders = sorted({path for listing in listings.values() for path, item in listing.items() if item.is_folder})
    for folder in folders:
        behind = [member for member in reachable if failover.ledger.behind(member.name, folder)]
        current = [member for member in reachable if member not in behind]
        exists = (folder in listings[current[0].name]) if behind and current else True
        for target in reachable:
            has = folder in listings[target.name] or any(_inside(path, folder) for path in touched[target.name])
            if exists and not has:
                if _attempt(report, target, folder, _make_directory):
                    report._note(report.directories, target, folder)
            elif (not exists and folder in listings[target.name] and target in behind
                  and _attempt(report, target, folder, _delete_directory)):
                report._note(report.deleted, target, folder + "/")

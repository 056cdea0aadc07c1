"""Listings of a failover disk: from one disk, corrected by the ledger for what it missed.

With ``replicate`` the disk listed is the first one (in order, circuit permitting)
that is behind on nothing under the directory; when every disk is, the one behind
on the fewest kinds of thing (files before whole directories). Without it, always
the first disk: a standby holds only what was written while the first was down, so
its listing is never the whole disk's; while the first disk cannot be listed the
listing fails. What the listed disk shows inside a directory made or deleted
without it is asked of the failover disk again. Its entries for files it missed are
replaced by what a disk that has them says (``stat``), so a listing shows every
write that succeeded, whichever disk took it. Failing over happens before the first
entry; a disk that fails mid-listing raises (the entries already yielded stand).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ...attributes import DirectoryAttributes, Entry, FileAttributes
from ...backend import Backend
from ...errors import FileNotFound, StorageError
from .classify import is_outage
from .members import Member, call, turns, unreachable

if TYPE_CHECKING:
    from .backend import FailoverBackend

__all__ = ["patched_listing"]


def _within(path: str, tree: str) -> bool:
    return tree == "" or path == tree or path.startswith(tree + "/")


def _surviving_folders(
    failover: FailoverBackend, path: str, deep: bool, trees: list[str], folders: set[str]
) -> Iterator[Entry]:
    """The directories of ``trees`` (under ``path``) that the disk still has, and their parents."""
    for tree in trees:
        if tree == path or not _within(tree, path) or not failover.directory_exists(tree):
            continue
        relative = tree[len(path) + 1 :] if path else tree
        parent = path
        for part in relative.split("/") if deep else relative.split("/")[:1]:
            parent = f"{parent}/{part}" if parent else part
            if parent not in folders:
                folders.add(parent)
                yield DirectoryAttributes(parent)


def _started(items: Iterable[Any]) -> tuple[Iterator[Any], list[Any]]:
    """The iterator and its first item (fetched now, so a dead disk fails here)."""
    iterator = iter(items)
    first = next(iterator, None)
    return iterator, [] if first is None else [first]


def _entry(item: Any) -> Entry:
    if isinstance(item, tuple):
        path, is_folder = item
        return DirectoryAttributes(path) if is_folder else FileAttributes(path)
    return item  # type: ignore[no-any-return]


def _pick(failover: FailoverBackend, path: str) -> list[Member]:
    if not failover.replicate:
        # A standby holds only what was written while the disks before it were down: its
        # listing is never the disk's. The first disk's is, corrected by the ledger.
        return failover.members[:1]
    ledger = failover.ledger
    return sorted(
        failover.members,
        key=lambda member: (
            ledger.trees_touching(member.name, path),
            bool(ledger.files_under(member.name, path)),
            failover.members.index(member),
        ),
    )


def patched_listing(
    failover: FailoverBackend,
    path: str,
    deep: bool,
    fetch: Callable[[Backend], Iterable[Any]],
    *,
    as_pairs: bool = False,
) -> Iterator[Entry]:
    """Entries under ``path`` (``fetch`` lists one backend), corrected by the ledger.

    Raises:
        UnableToListContents: no disk could list (or the listed one failed mid-way).
    """
    outages: list[tuple[str, BaseException]] = []
    for member in turns(_pick(failover, path)):
        try:
            rest, first = call(member, lambda backend: _started(fetch(backend)))
        except (StorageError, OSError) as error:
            if not is_outage(error):
                raise
            outages.append((member.name, error))
            continue
        break
    else:
        raise unreachable(outages)
    missed = set(failover.ledger.files_under(member.name, path))
    # Directories made or deleted without this disk: what it lists inside them is asked again.
    trees = failover.ledger.trees_around(member.name, path) if not failover.replicate else []
    folders: set[str] = set()
    for item in itertools.chain(first, rest):
        entry = _entry(item)
        if entry.is_folder:
            if trees and any(_within(entry.path, tree) for tree in trees) and not failover.directory_exists(
                    entry.path):
                continue  # deleted on the disks that took the change
            folders.add(entry.path)
        elif entry.path in missed:
            continue
        elif trees and any(_within(entry.path, tree) for tree in trees):
            missed.add(entry.path)
            continue
        yield entry
    made = failover.ledger.folders_under(member.name, path)
    yield from _surviving_folders(failover, path, deep, sorted({*trees, *made}), folders)
    for missed_path in sorted(missed):
        try:
            attributes = failover.stat(missed_path)
        except FileNotFound:
            continue  # deleted on the disks that took the change
        relative = missed_path[len(path) + 1 :] if path else missed_path
        parts = relative.split("/")
        parent = path
        for part in parts[:-1]:
            parent = f"{parent}/{part}" if parent else part
            if parent not in folders:
                folders.add(parent)
                yield DirectoryAttributes(parent)
            if not deep:
                break
        if deep or len(parts) == 1:
            yield FileAttributes(missed_path) if as_pairs else attributes

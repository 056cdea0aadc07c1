"""What each disk of a failover disk has missed: the paths it is behind on, until repaired.

Three kinds of entry per disk: a *file* (a write, delete, copy or visibility change of
that path did not reach the disk), a *folder* (a directory was made without it; what
lies inside is unchanged) and a *tree* (a directory was deleted without it, so
everything under it is suspect). A disk is behind on a path when the path is one of
its files or folders, or lies in one of its trees. Reads skip a disk that is
behind on what they read; ``repair()`` copies the missed state over and clears the
entries it saw (by sequence number, so an entry renewed meanwhile stays).

The ledger lives in memory. Past ``max_entries`` entries for one disk it collapses to
one tree at the root: the whole disk is behind until a repair, in bounded memory.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable

__all__ = ["Ledger", "Snapshot"]

#: ``{disk: {("file" | "tree", path): sequence number}}``
Snapshot = dict[str, dict[tuple[str, str], int]]


def _within(path: str, tree: str) -> bool:
    return tree == "" or path == tree or path.startswith(tree + "/")


class Ledger:
    """Thread-safe record of the paths each named disk is behind on.

    Args:
        names: the disks, in order.
        max_entries: entries one disk may hold before it is marked behind on everything.
    """

    def __init__(self, names: Iterable[str], *, max_entries: int = 100_000) -> None:
        self._entries: dict[str, dict[tuple[str, str], int]] = {name: {} for name in names}
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)
        self.max_entries = max_entries

    def mark(self, disk: str, paths: Iterable[str], *, tree: bool = False, folder: bool = False) -> None:
        """Record that ``disk`` missed a change of ``paths``: of files, of whole directories (``tree``,
        a deletion), or of directories themselves (``folder``, a directory made: what is in it is unchanged)."""
        kind = "tree" if tree else "folder" if folder else "file"
        with self._lock:
            entries = self._entries[disk]
            if ("tree", "") in entries:
                entries[("tree", "")] = next(self._sequence)  # behind on everything already; renewed
                return
            for path in paths:
                entries[(kind, path)] = next(self._sequence)
            if len(entries) > self.max_entries:
                entries.clear()
                entries[("tree", "")] = next(self._sequence)

    def settle(self, disk: str, paths: Iterable[str], *, tree: bool = False) -> None:
        """``disk`` took the latest change of ``paths`` (a whole directory when ``tree``): forget its entries there.

        A tree is settled only by a change covering it (a deleted directory), never by a
        file written inside it.
        """
        with self._lock:
            entries = self._entries[disk]
            for path in paths:
                if tree:
                    for key in [key for key in entries if _within(key[1], path)]:
                        del entries[key]
                else:
                    entries.pop(("file", path), None)

    def behind(self, disk: str, path: str) -> bool:
        """Whether ``disk`` missed the latest change of ``path`` (or of a directory around it)."""
        if not self._entries[disk]:
            return False  # the usual case, read without the lock
        with self._lock:
            entries = self._entries[disk]
            if ("file", path) in entries or ("folder", path) in entries:
                return True
            return any(kind == "tree" and _within(path, tree) for kind, tree in entries)

    def empty(self) -> bool:
        """Whether no disk is behind on anything."""
        return not any(self._entries.values())

    def touches(self, disk: str, directory: str) -> bool:
        """Whether ``disk`` is behind on ``directory`` itself or on anything under it."""
        with self._lock:
            return any(
                _within(path, directory) or (kind == "tree" and _within(directory, path))
                for kind, path in self._entries[disk]
            )

    def files_under(self, disk: str, directory: str) -> list[str]:
        """The file entries of ``disk`` under ``directory`` (at any depth)."""
        with self._lock:
            return sorted(path for kind, path in self._entries[disk]
                          if kind == "file" and path != directory and _within(path, directory))

    def trees_touching(self, disk: str, directory: str) -> bool:
        """Whether a tree entry of ``disk`` lies under ``directory`` or around it."""
        with self._lock:
            return any(kind == "tree" and (_within(path, directory) or _within(directory, path))
                       for kind, path in self._entries[disk])

    def folders_under(self, disk: str, directory: str) -> list[str]:
        """The directories ``disk`` missed the making of, under ``directory`` (at any depth)."""
        with self._lock:
            return sorted(path for kind, path in self._entries[disk]
                          if kind == "folder" and path != directory and _within(path, directory))

    def trees_around(self, disk: str, directory: str) -> list[str]:
        """The tree entries of ``disk`` under ``directory`` or around it, sorted."""
        with self._lock:
            return sorted(path for kind, path in self._entries[disk]
                          if kind == "tree" and (_within(path, directory) or _within(directory, path)))

    def pending(self) -> dict[str, list[str]]:
        """Every disk's entries as sorted paths (a tree shows as ``"dir/"``; the whole disk as ``"/"``)."""
        with self._lock:
            return {
                disk: sorted(path if kind == "file" else (f"{path}/" if path else "/") for kind, path in entries)
                for disk, entries in self._entries.items()
            }

    def snapshot(self, directory: str = "") -> Snapshot:
        """The entries at or under ``directory`` (and trees around it), with their sequence numbers."""
        with self._lock:
            return {
                disk: {key: seq for key, seq in entries.items()
                       if _within(key[1], directory) or (key[0] == "tree" and _within(directory, key[1]))}
                for disk, entries in self._entries.items()
            }

    def clear(self, disk: str, seen: dict[tuple[str, str], int]) -> None:
        """Forget the entries of ``disk`` in ``seen`` that were not renewed since."""
        with self._lock:
            entries = self._entries[disk]
            for key, seq in seen.items():
                if entries.get(key) == seq:
                    del entries[key]

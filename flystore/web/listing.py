"""Folder listings for the browser: one backend listing per folder, kept briefly, paged and filtered here.

A 10,000-file folder is listed once, turned into JSON-ready rows once, and then every page,
sort order and name filter is answered from memory; the browser only ever receives one page.
Writes made through the app forget the folders they touch; changes made elsewhere show after
``ttl`` seconds (or at once with ``fresh``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..attributes import Entry, FileAttributes
from ..disk import FilesystemAdapter
from ..errors import FileNotFound, StorageError, UnableToListContents
from ..paths import normalize, parent

__all__ = ["SORT_KEYS", "Listings", "Page", "entry_row", "search"]

Row = dict[str, Any]

#: Sort orders the API accepts; folders always come first.
SORT_KEYS: dict[str, Callable[[Row], Any]] = {
    "name": lambda row: row["_key"],
    "size": lambda row: (row["size"] or 0, row["_key"]),
    "modified": lambda row: (row["_mtime"], row["_key"]),
}


def entry_row(entry: Entry) -> Row:
    """The JSON shape of one listed entry (private ``_`` keys are for sorting and filtering)."""
    modified = entry.last_modified
    return {
        "name": entry.name,
        "path": entry.path,
        "is_folder": entry.is_folder,
        "size": None if entry.is_folder else entry.size,
        "last_modified": modified.isoformat() if modified is not None else None,
        "_key": entry.name.casefold(),
        "_mtime": modified.timestamp() if modified is not None else 0.0,
    }


def public(row: Row) -> Row:
    """``row`` without its private keys."""
    return {key: value for key, value in row.items() if not key.startswith("_")}


@dataclass
class _Folder:
    rows: list[Row]
    listed_at: float
    orders: dict[tuple[str, bool], list[Row]] = field(default_factory=dict)

    def ordered(self, sort: str, descending: bool) -> list[Row]:
        known = self.orders.get((sort, descending))
        if known is None:
            key = SORT_KEYS[sort]
            files = sorted((row for row in self.rows if not row["is_folder"]), key=key, reverse=descending)
            folders = sorted((row for row in self.rows if row["is_folder"]), key=SORT_KEYS["name"], reverse=descending)
            known = self.orders[(sort, descending)] = folders + files
        return known


@dataclass(frozen=True)
class Page:
    """One page of a folder: ``entries`` from ``offset``, out of ``total`` matching entries."""

    path: str
    entries: list[Row]
    total: int
    offset: int
    limit: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "path": self.path,
            "entries": [public(row) for row in self.entries],
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
        }


class Listings:
    """Recently listed folders, at most ``size`` of them, each kept ``ttl`` seconds."""

    def __init__(self, *, ttl: float = 5.0, size: int = 16) -> None:
        self.ttl = ttl
        self.size = size
        self._folders: OrderedDict[tuple[str, str], _Folder] = OrderedDict()
        self._lock = threading.Lock()

    def page(
        self,
        disk: FilesystemAdapter,
        path: str,
        *,
        offset: int = 0,
        limit: int = 100,
        sort: str = "name",
        descending: bool = False,
        query: str = "",
        fresh: bool = False,
    ) -> Page:
        """One page of the folder at ``path`` (already normalised), filtered by ``query`` in names.

        Raises:
            FileNotFound: ``path`` is neither the root nor a directory.
            PathTraversalDetected: the path crosses a symlink (local disks).
            UnableToListContents: the backend failed.
        """
        folder = self._folder(disk, path, fresh)
        rows = folder.ordered(sort, descending)
        if query:
            needle = query.casefold()
            rows = [row for row in rows if needle in row["_key"]]
        return Page(path, rows[offset : offset + limit], len(rows), offset, limit)

    def _folder(self, disk: FilesystemAdapter, path: str, fresh: bool) -> _Folder:
        key = (disk.name, path)
        now = time.monotonic()
        with self._lock:
            known = self._folders.get(key)
            if known is not None and not fresh and now - known.listed_at < self.ttl:
                self._folders.move_to_end(key)
                return known
        rows = [entry_row(entry) for entry in disk.list(path)]
        if not rows and path and not disk.directory_exists(path):
            raise FileNotFound("no folder exists at this path", path=path, disk=disk.name)
        folder = _Folder(rows, now)
        with self._lock:
            self._folders[key] = folder
            self._folders.move_to_end(key)
            while len(self._folders) > self.size:
                self._folders.popitem(last=False)
        return folder

    def forget(self, disk: str, *paths: str) -> None:
        """Drop the folders that may list ``paths`` (every ancestor: a new file may imply a new
        folder) and every folder inside them (a moved or deleted tree)."""
        with self._lock:
            for path in paths:
                ancestors = {""}
                holder = parent(path)
                while holder:
                    ancestors.add(holder)
                    holder = parent(holder)
                for known in [key for key in self._folders if key[0] == disk]:
                    known_path = known[1]
                    if known_path in ancestors or known_path == path or known_path.startswith(path + "/"):
                        del self._folders[known]


def search(
    disk: FilesystemAdapter, path: str, query: str, *, limit: int = 200, max_scanned: int = 200_000
) -> dict[str, Any]:
    """Entries under ``path`` (every level) whose name contains ``query``, case-insensitively.

    The listing is walked lazily and stops after ``limit`` matches or ``max_scanned`` entries
    (``truncated`` then says so), so a search never holds a whole bucket in memory.

    Raises:
        PathTraversalDetected: the path crosses a symlink (local disks).
        UnableToListContents: the backend failed.
    """
    needle = query.casefold()
    found: list[Row] = []
    scanned = 0
    truncated = False
    for entry in _walk(disk, path):
        scanned += 1
        if needle in entry.name.casefold():
            if len(found) == limit:
                truncated = True
                break
            found.append(public(entry_row(_with_attributes(disk, entry))))
        if scanned >= max_scanned:
            truncated = True
            break
    found.sort(key=lambda row: (not row["is_folder"], row["path"].casefold()))
    return {"path": path, "query": query, "entries": found, "truncated": truncated, "scanned": scanned}


def _walk(disk: FilesystemAdapter, path: str) -> Iterator[Entry]:
    try:
        yield from disk.backend.list_contents(normalize(path), True)
    except StorageError as error:
        if error.disk is None:
            error.disk = disk.name
        raise
    except Exception as cause:  # a backend must raise flystore errors; name the disk if one does not
        raise UnableToListContents.at(path, str(cause), disk=disk.name, cause=cause) from cause


def _with_attributes(disk: FilesystemAdapter, entry: Entry) -> Entry:
    if isinstance(entry, FileAttributes) and (entry.size is None or entry.last_modified is None):
        try:
            return disk.stat(entry.path)
        except FileNotFound:
            return entry  # deleted while we searched: show what the listing said
    return entry

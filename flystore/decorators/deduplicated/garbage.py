"""References by scanning pointers: ``stats()`` and ``collect_garbage()``.

No reference count is stored: a blob's references are the pointers that name it, found by
reading every pointer. That costs a listing plus one small read per file, and in return a
crash can never leave a count that disagrees with the pointers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ...attributes import FileAttributes
from ...errors import FileNotFound, IntegrityError
from .backend import DeduplicatedBackend
from .store import BLOBS, STAGING, blob_path

__all__ = ["DedupStats", "GarbageReport", "collect_garbage", "stats"]


@dataclass(frozen=True)
class DedupStats:
    """Logical against physical bytes.

    Attributes:
        files: files (pointers) on the disk.
        logical_bytes: the sum of the files' sizes, as a reader sees them.
        blobs: distinct contents stored.
        physical_bytes: bytes the blobs take on the disk underneath (pointers not counted).
        unreferenced_blobs: blobs no file names any more (``collect_garbage`` removes them).
        unreferenced_bytes: their bytes.
        missing_blobs: contents that files name but that are not stored (never, unless
            something deleted blobs around the disk).
        foreign_files: files under the disk that are not pointers (written around it).
    """

    files: int
    logical_bytes: int
    blobs: int
    physical_bytes: int
    unreferenced_blobs: int
    unreferenced_bytes: int
    missing_blobs: int
    foreign_files: int

    @property
    def saved_bytes(self) -> int:
        """Bytes that deduplication saves: logical minus the referenced physical bytes."""
        return self.logical_bytes - (self.physical_bytes - self.unreferenced_bytes)


@dataclass(frozen=True)
class GarbageReport:
    """What one ``collect_garbage()`` did.

    Attributes:
        blobs_removed: unreferenced blobs deleted.
        bytes_freed: their bytes.
        staging_removed: leftovers of interrupted streamed writes deleted.
        kept_recent: unreferenced blobs kept because they were written within the grace period.
    """

    blobs_removed: int
    bytes_freed: int
    staging_removed: int
    kept_recent: int


def _files(entries: Iterator[object], backend: DeduplicatedBackend) -> Iterator[FileAttributes]:
    for entry in entries:
        if isinstance(entry, FileAttributes):
            if entry.size is None or entry.last_modified is None:
                try:
                    entry = backend.inner.stat(entry.path)
                except FileNotFound:
                    continue  # deleted while listed
            yield entry


def _blobs(backend: DeduplicatedBackend) -> dict[str, FileAttributes]:
    found = {}
    for entry in _files(backend.inner.list_contents(BLOBS, True), backend):
        digest = entry.name
        if entry.path == blob_path(digest):
            found[digest] = entry
    return found


def _references(backend: DeduplicatedBackend) -> tuple[Counter[str], int, int]:
    """Files naming each digest, the logical bytes, and the files that are not pointers."""
    references: Counter[str] = Counter()
    logical = foreign = 0
    for path, is_folder in list(backend.list_paths("", True)):
        if is_folder:
            continue
        try:
            pointer = backend.pointer(path)
        except FileNotFound:
            continue  # deleted while scanned
        except IntegrityError:
            foreign += 1
            continue
        references[pointer.digest] += 1
        logical += pointer.size
    return references, logical, foreign


def stats(backend: DeduplicatedBackend) -> DedupStats:
    """Logical and physical bytes, by reading every pointer and listing the blobs.

    Raises:
        UnableToListContents: the disk underneath could not be listed.
        UnableToReadFile: a pointer could not be read.
    """
    blobs = _blobs(backend)
    references, logical, foreign = _references(backend)
    unreferenced = [digest for digest in blobs if digest not in references]
    return DedupStats(
        files=sum(references.values()),
        logical_bytes=logical,
        blobs=len(blobs),
        physical_bytes=sum(entry.size or 0 for entry in blobs.values()),
        unreferenced_blobs=len(unreferenced),
        unreferenced_bytes=sum(blobs[digest].size or 0 for digest in unreferenced),
        missing_blobs=sum(1 for digest in references if digest not in blobs),
        foreign_files=foreign,
    )


def _older(entry: FileAttributes, cutoff: datetime) -> bool:
    return entry.last_modified is None or entry.last_modified < cutoff


def collect_garbage(backend: DeduplicatedBackend, grace: float | None = None) -> GarbageReport:
    """Delete blobs no pointer names and staging leftovers, if written ``grace`` seconds before the start.

    The blobs are listed before the pointers are read, and only blobs already older than the
    grace period at the start are candidates; each is stat'ed again just before it is deleted,
    while writers of this process wait (``CollectionGate``). A writer reusing a blob older than
    half the grace period rewrites it first, so a writer in another process loses it only if
    its rewrite lands between that last check and the delete (docs/deduplication.md).

    Raises:
        UnableToListContents: the disk underneath could not be listed.
        UnableToReadFile: a pointer could not be read (nothing is deleted then).
        UnableToDeleteFile: a blob could not be deleted (those before it are).
    """
    with backend.gate.collection:
        return _collect(backend, backend.grace if grace is None else grace)


def _collect(backend: DeduplicatedBackend, grace: float) -> GarbageReport:
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=grace)
    listed = _blobs(backend)
    candidates = {digest: entry for digest, entry in listed.items() if _older(entry, cutoff)}
    references, _, _ = _references(backend)
    removed = freed = 0
    kept = sum(1 for digest in listed if digest not in references and digest not in candidates)
    doomed = [entry for digest, entry in candidates.items() if digest not in references]
    with backend.gate.deleting():
        for entry in doomed:
            try:
                again = backend.inner.stat(entry.path)
            except FileNotFound:
                continue
            if not _older(again, cutoff):
                kept += 1  # rewritten by a writer since the listing
                continue
            if backend.inner.delete(entry.path):
                removed += 1
                freed += again.size or 0
    staging = 0
    for entry in _files(backend.inner.list_contents(STAGING, True), backend):
        if _older(entry, cutoff) and backend.inner.delete(entry.path):
            staging += 1
    return GarbageReport(removed, freed, staging, kept)

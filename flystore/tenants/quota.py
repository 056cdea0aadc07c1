"""``QuotaBackend``: a tenant's files and bytes, counted, and writes past the limits refused up front.

The ledger is counted from one deep listing the first time a limit is checked,
then kept current by every write and delete through this backend. A write
reserves what it adds under a lock *before* its first byte is sent, so writers
racing in one process never pass the limit together; a stream reserves chunk
by chunk and aborts the (atomic) write as soon as the next chunk would pass it,
so no partial object remains. See docs/tenants.md for what this does not cover.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, NoReturn

from ..attributes import FileAttributes, WriteOptions
from ..backend import Backend, Readable
from ..decorators.base import DecoratedBackend
from ..errors import FileNotFound, QuotaExceeded, UnableToGenerateTemporaryUrl

__all__ = ["QuotaBackend", "TenantUsage", "count_files"]


@dataclass(frozen=True, slots=True)
class TenantUsage:
    """What a tenant stores, and its limits (None: unlimited)."""

    tenant: str
    files: int
    bytes: int
    max_files: int | None = None
    max_bytes: int | None = None


class _Reservation:
    """What one write has claimed so far: bytes beyond the size of the file it replaces, and a file."""

    __slots__ = ("bytes", "file", "replaced")

    def __init__(self, replaced: int | None) -> None:
        self.replaced = replaced
        self.bytes = 0
        self.file = replaced is None


class _QuotaReader:
    """Reserves each chunk before handing it on; past the quota it raises and remembers why."""

    __slots__ = ("_backend", "_path", "_reservation", "_stream", "consumed", "exceeded")

    def __init__(self, backend: QuotaBackend, path: str, stream: Readable, reservation: _Reservation) -> None:
        self._backend = backend
        self._path = path
        self._stream = stream
        self._reservation = reservation
        self.consumed = 0
        self.exceeded: QuotaExceeded | None = None

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._stream.read(size)
        if chunk:
            self.consumed += len(chunk)
            try:
                self._backend._grow(self._path, self._reservation, self.consumed)
            except QuotaExceeded as error:
                self.exceeded = error
                raise
        return chunk


class _QuotaWriter:
    """A backend's native atomic writer, with each write's bytes claimed before they are passed on.

    Past the quota the write raises and the writer is spoiled: ``close()`` then discards
    instead of publishing, so a caller that catches the error and closes anyway stores nothing.
    """

    def __init__(self, native: BinaryIO, backend: QuotaBackend, path: str, reservation: _Reservation) -> None:
        self._native = native
        self._backend = backend
        self._path = path
        self._reservation = reservation
        self._done = False
        self.consumed = 0
        self.exceeded: QuotaExceeded | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.exceeded is not None:
            raise self.exceeded
        size = memoryview(data).nbytes
        try:
            self._backend._grow(self._path, self._reservation, self.consumed + size)
        except QuotaExceeded as error:
            self.exceeded = error
            raise
        self._native.write(data)
        self.consumed += size
        return size

    def tell(self) -> int:
        return int(self._native.tell())

    def flush(self) -> None:
        self._native.flush()

    def _finish(self) -> bool:
        finished, self._done = self._done, True
        return finished

    def abort(self) -> None:
        if self._finish():
            return
        try:
            self._native.abort()  # type: ignore[attr-defined]  # every native writer has abort()
        finally:
            self._backend._release(self._reservation)

    def close(self) -> None:
        if self.exceeded is not None:
            self.abort()
            raise self.exceeded
        if self._finish():
            return
        try:
            self._native.close()
        except BaseException:
            self._backend._release(self._reservation)
            raise
        self._backend._settle(self._reservation, self.consumed)

    @property
    def closed(self) -> bool:
        return self._done

    def __getattr__(self, name: str) -> Any:
        return getattr(self._native, name)


def count_files(backend: Backend) -> tuple[int, int]:
    """``(files, bytes)`` under the root of ``backend``, from one deep listing (a stat where it has no size).

    Raises:
        UnableToListContents: the listing failed.
    """
    files = total = 0
    for entry in backend.list_contents("", True):
        if isinstance(entry, FileAttributes):
            files += 1
            size = entry.size if entry.size is not None else backend.stat(entry.path).size
            total += size or 0
    return files, total


class QuotaBackend(DecoratedBackend):
    """Enforces ``max_bytes`` and ``max_files`` of one tenant over its (scoped) backend."""

    def __init__(self, inner: Backend, tenant: str, *, max_bytes: int | None, max_files: int | None,
                 disk: str | None = None) -> None:
        super().__init__(inner)
        self.disk = disk  # named in QuotaExceeded, also where no disk verb is around to name it (open("wb"))
        self.metadata_limit = inner.metadata_limit
        self.name = f"quota({inner.name})"
        self.tenant = tenant
        self.max_bytes = max_bytes
        self.max_files = max_files
        self._lock = threading.Lock()
        self._counted: tuple[int, int] | None = None  # (files, bytes) stored, once counted
        self._stale = False  # a directory was deleted since the count
        self._reserved_files = 0
        self._reserved_bytes = 0

    # -- the ledger ------------------------------------------------------------------------

    def count(self) -> TenantUsage:
        """Count the tenant's files and bytes from a deep listing and make that the ledger.

        Raises:
            UnableToListContents: the listing failed.
        """
        files, total = count_files(self.inner)
        with self._lock:
            self._counted = (files, total)
            self._stale = False
        return TenantUsage(self.tenant, files, total, self.max_files, self.max_bytes)

    def _ledger(self) -> None:
        if self._counted is None or self._stale:
            self.count()

    def _refuse(self, path: str, quota: str, limit: int, usage: int) -> NoReturn:
        unit = "bytes" if quota == "max_bytes" else "files"
        raise QuotaExceeded(
            f"tenant {self.tenant!r} would store {usage} {unit}, over its {quota} of {limit}; nothing was written",
            tenant=self.tenant, quota=quota, limit=limit, usage=usage, path=path, disk=self.disk,
        )

    def _size_of(self, path: str) -> int | None:
        try:
            return self.inner.stat(path).size or 0
        except FileNotFound:
            return None

    def _reserve(self, path: str, replaced: int | None, size: int) -> _Reservation:
        self._ledger()
        reservation = _Reservation(replaced)
        with self._lock:
            files, _ = self._counted or (0, 0)
            if reservation.file and self.max_files is not None:
                wanted = files + self._reserved_files + 1
                if wanted > self.max_files:
                    self._refuse(path, "max_files", self.max_files, wanted)
            if reservation.file:
                self._reserved_files += 1
        try:
            self._grow(path, reservation, size)
        except QuotaExceeded:
            self._release(reservation)
            raise
        return reservation

    def _grow(self, path: str, reservation: _Reservation, size: int) -> None:
        """Claim bytes so the write may reach ``size`` bytes in all. Raises: QuotaExceeded."""
        needed = max(0, size - (reservation.replaced or 0)) - reservation.bytes
        if needed <= 0:
            return
        with self._lock:
            _, stored = self._counted or (0, 0)
            if self.max_bytes is not None:
                wanted = stored + self._reserved_bytes + needed
                if wanted > self.max_bytes:
                    self._refuse(path, "max_bytes", self.max_bytes, wanted)
            self._reserved_bytes += needed
            reservation.bytes += needed

    def _release(self, reservation: _Reservation) -> None:
        with self._lock:
            self._reserved_bytes -= reservation.bytes
            self._reserved_files -= int(reservation.file)
            reservation.bytes = 0
            reservation.file = False

    def _settle(self, reservation: _Reservation, written: int) -> None:
        with self._lock:
            if self._counted is not None:
                files, stored = self._counted
                self._counted = (files + int(reservation.file), stored + written - (reservation.replaced or 0))
        self._release(reservation)

    def _forget(self, files: int, size: int) -> None:
        with self._lock:
            if self._counted is not None:
                counted_files, stored = self._counted
                self._counted = (counted_files - files, stored - size)

    # -- writes, checked before anything is stored ---------------------------------------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        reservation = self._reserve(path, self._size_of(path), len(data))
        try:
            self.inner.write(path, data, options)
        except BaseException:
            self._release(reservation)
            raise
        self._settle(reservation, len(data))

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        reservation = self._reserve(path, self._size_of(path), 0)
        reader = _QuotaReader(self, path, stream, reservation)
        try:
            self.inner.write_stream(path, reader, options)
        except BaseException as error:
            self._release(reservation)
            if reader.exceeded is not None and error is not reader.exceeded:
                raise reader.exceeded from None
            raise
        self._settle(reservation, reader.consumed)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        reservation = self._reserve(path, self._size_of(path), 0)  # a new file must fit before it is opened
        try:
            native = self.inner.open_write(path, options)
        except BaseException:
            self._release(reservation)
            raise
        if native is None:
            self._release(reservation)
            return None  # the disk then streams through write_stream, which counts
        return _QuotaWriter(native, self, path, reservation)  # type: ignore[return-value]

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        size = self.inner.stat(source).size or 0
        reservation = self._reserve(destination, self._size_of(destination), size)
        try:
            self.inner.copy(source, destination, options)
        except BaseException:
            self._release(reservation)
            raise
        self._settle(reservation, size)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        replaced = self._size_of(destination) if source != destination else None
        self.inner.move(source, destination, options)
        if replaced is not None:
            self._forget(1, replaced)

    def delete(self, path: str) -> bool:
        size = self._size_of(path) if self._counted is not None else None
        deleted = self.inner.delete(path)
        if deleted and size is not None:
            self._forget(1, size)
        return deleted

    def delete_directory(self, path: str) -> bool:
        try:
            return self.inner.delete_directory(path)
        finally:
            with self._lock:
                self._stale = True  # recounted before the next write; until then the old count errs high

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        raise UnableToGenerateTemporaryUrl.at(
            path, f"tenant {self.tenant!r} has a quota; an upload straight to the backend would bypass it"
        )

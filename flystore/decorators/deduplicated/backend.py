"""``DeduplicatedBackend``: each distinct content stored once, files as pointers to it.

Crash safety comes from the order of writes, never from counters: a blob is complete (the
base backend writes atomically) before any pointer names it, a pointer is replaced in one
atomic write, and nothing but ``collect_garbage`` deletes a blob. A kill at any point
therefore leaves every pointer naming an existing blob; at worst an unreferenced blob or a
staging file remains, which ``collect_garbage`` removes once it is older than the grace period.
References are derived by scanning the pointers (see garbage.py), so there is no reference
count that a crash could leave wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import BinaryIO

from ...attributes import Entry, FileAttributes, WriteOptions
from ...backend import Backend, Readable
from ...errors import (
    FileNotFound,
    IntegrityError,
    StorageError,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToMoveFile,
    UnableToWriteFile,
)
from ..base import TransformingBackend
from .gate import CollectionGate
from .store import RESERVED, STAGING, Pointer, VerifyingReader, blob_path, content_extra, is_reserved

__all__ = ["DeduplicatedBackend"]

#: Streams up to this size are hashed in memory (no staging file, and no upload when the content is known).
SMALL_STREAM = 4 * 1024 * 1024
_CHUNK = 1024 * 1024
_PLAIN = WriteOptions()
_RESERVED_REASON = f"{RESERVED}/ is reserved for the deduplicated disk's blobs"
_URL_REASON = "the disk is deduplicated: the file behind a URL would be a pointer; read the file through the disk"


class _HashingReader:
    """Passes a stream through while hashing it and counting its bytes."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head: bytes | None = head
        self._rest = rest
        self.hash = hashlib.sha256(head)
        self.size = len(head)

    def read(self, size: int = -1, /) -> bytes:
        if self._head is not None:
            head, self._head = self._head, None
            return head
        chunk = self._rest.read(size if size is not None and size > 0 else _CHUNK)
        self.hash.update(chunk)
        self.size += len(chunk)
        return bytes(chunk)


def _read_up_to(stream: Readable, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of ``stream`` and whether it ended within them."""
    parts: list[bytes] = []
    got = 0
    while got <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - got))
        if not chunk:
            return b"".join(parts), True
        parts.append(bytes(chunk))
        got += len(chunk)
    return b"".join(parts), False


class DeduplicatedBackend(TransformingBackend):
    """Content-addressed storage over any backend (see store.py for the layout).

    Args:
        inner: the backend holding pointers and blobs.
        grace: seconds a blob is kept by ``collect_garbage`` after it was last written,
            whether referenced or not; writers refresh a blob older than ``grace / 2`` that
            they reuse, so a collection's candidates are never blobs a write in progress
            (one taking under ``grace / 2``) has just stored or found.
    """

    url_refusal = _URL_REASON
    upload_refusal = "the disk is deduplicated: a client uploading directly would bypass the content store"

    def __init__(self, inner: Backend, *, grace: float = 3600.0) -> None:
        super().__init__(inner)
        self.grace = grace
        self.gate = CollectionGate()
        self.metadata_limit = inner.metadata_limit
        self.name = f"deduplicated({inner.name})"

    # -- pointers and blobs ------------------------------------------------------------

    def pointer(self, path: str) -> Pointer:
        """The pointer at ``path``.

        Raises:
            FileNotFound: no file there (or a reserved path).
            IntegrityError: the file there is not a pointer.
        """
        if is_reserved(path):
            raise FileNotFound.at(path, _RESERVED_REASON)
        return Pointer.decode(self.inner.read(path), path)

    def _blob(self, digest: str) -> FileAttributes | None:
        try:
            return self.inner.stat(blob_path(digest))
        except FileNotFound:
            return None

    @staticmethod
    def _age(blob: FileAttributes | None) -> float | None:
        """Seconds since the blob was written, or None when there is no such blob."""
        if blob is None:
            return None
        if blob.last_modified is None:
            return float("inf")
        return (datetime.now(timezone.utc) - blob.last_modified).total_seconds()

    def _fresh_enough(self, digest: str, size: int | None = None) -> bool:
        """Whether the blob can be reused as it is: young enough, and (given ``size``) of that size.

        A blob cut short or grown behind the disk's back is rewritten by the next write of its content
        rather than shared by one more file (one stat shows it; changed bytes of the right size do not).
        """
        blob = self._blob(digest)
        age = self._age(blob)
        if blob is None or age is None or age >= self.grace / 2:
            return False
        return size is None or blob.size is None or blob.size == size

    def _ensure_blob(self, digest: str, data: bytes) -> None:
        if not self._fresh_enough(digest, len(data)):
            self.inner.write(blob_path(digest), data, _PLAIN)

    def _refresh(self, pointer: Pointer, path: str) -> None:
        """Rewrite a reused blob older than half the grace period, so a collection running now keeps it.

        The blob's size is checked against the pointer's (one stat): a copy shares the content without
        reading it, so a blob cut short or grown is refused here rather than handed to another file.

        Raises:
            IntegrityError: the blob is missing (its pointer was already dangling), or of the wrong size.
        """
        digest = pointer.digest
        found = self._blob(digest)
        age = self._age(found)
        if found is None or age is None:
            raise IntegrityError.at(path, "the content this file points to is missing")
        if found.size is not None and found.size != pointer.size:
            shorter = "shorter" if found.size < pointer.size else "longer"
            raise IntegrityError.at(path, f"the content is {shorter} than its pointer says (corrupt blob)")
        if age >= self.grace / 2:
            blob = blob_path(digest)
            staging = f"{STAGING}/{uuid.uuid4().hex}"
            self.inner.copy(blob, staging, _PLAIN)
            self.inner.move(staging, blob, _PLAIN)
            if not self._fresh_enough(digest):  # a backend whose copy keeps the time: write the bytes anew
                with self.inner.open_read(blob) as handle:
                    self.inner.write_stream(staging, handle, _PLAIN)
                self.inner.move(staging, blob, _PLAIN)

    def _refuse_reserved(self, path: str, error: type[UnableToWriteFile] | type[UnableToCreateDirectory]) -> None:
        if is_reserved(path):
            raise error.at(path, _RESERVED_REASON)

    # -- reading -----------------------------------------------------------------------

    def file_exists(self, path: str) -> bool:
        return not is_reserved(path) and self.inner.file_exists(path)

    def directory_exists(self, path: str) -> bool:
        return not is_reserved(path) and self.inner.directory_exists(path)

    def read(self, path: str) -> bytes:
        pointer = self.pointer(path)
        try:
            data = self.inner.read(pointer.blob)
        except FileNotFound:
            raise IntegrityError.at(path, "the content this file points to is missing") from None
        if len(data) != pointer.size or hashlib.sha256(data).hexdigest() != pointer.digest:
            raise IntegrityError.at(path, "the content does not match its SHA-256 (corrupt blob)")
        return data

    def open_read(self, path: str) -> BinaryIO:
        pointer = self.pointer(path)
        try:
            handle = self.inner.open_read(pointer.blob)
        except FileNotFound:
            raise IntegrityError.at(path, "the content this file points to is missing") from None
        return VerifyingReader(handle, pointer, path)  # type: ignore[return-value]

    def stat(self, path: str) -> FileAttributes:
        if is_reserved(path):
            raise FileNotFound.at(path, _RESERVED_REASON)
        attributes = self.inner.stat(path)
        pointer = self.pointer(path)
        return replace(attributes, size=pointer.size, checksum=f"sha256:{pointer.digest}",
                       extra=content_extra(attributes.extra))

    def _entries(self, path: str, deep: bool) -> Iterator[Entry]:
        # A deep listing of the root descends into each top-level directory but the blob store,
        # so listing the files never lists the blobs.
        if is_reserved(path):
            return
        if path or not deep:
            yield from self.inner.list_contents(path, deep)
            return
        for entry in self.inner.list_contents("", False):
            if is_reserved(entry.path):
                continue
            yield entry
            if entry.is_folder:
                yield from self.inner.list_contents(entry.path, True)

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        for entry in self._entries(path, deep):
            if is_reserved(entry.path):
                continue
            # The listed size is the pointer's; None makes the disk ask stat() for the content's.
            if isinstance(entry, FileAttributes):
                entry = replace(entry, size=None, checksum=None, extra=content_extra(entry.extra))
            yield entry

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        if is_reserved(path):
            return
        if path or not deep:
            for found, is_folder in self.inner.list_paths(path, deep):
                if not is_reserved(found):
                    yield found, is_folder
            return
        for found, is_folder in self.inner.list_paths("", False):
            if is_reserved(found):
                continue
            yield found, is_folder
            if is_folder:
                yield from self.inner.list_paths(found, True)

    def checksum(self, path: str, algorithm: str) -> str | None:
        return self.pointer(path).digest if algorithm == "sha256" else None

    # -- writing -----------------------------------------------------------------------

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self._refuse_reserved(path, UnableToWriteFile)
        pointer = Pointer(hashlib.sha256(data).hexdigest(), len(data))
        with self.gate.writing():
            self._ensure_blob(pointer.digest, data)
            self.inner.write(path, pointer.encode(), options)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self._refuse_reserved(path, UnableToWriteFile)
        head, ended = _read_up_to(stream, SMALL_STREAM)
        if ended:
            self.write(path, head, options)
            return
        staging = f"{STAGING}/{uuid.uuid4().hex}"
        hashing = _HashingReader(head, stream)
        try:
            self.inner.write_stream(staging, hashing, _PLAIN)
            pointer = Pointer(hashing.hash.hexdigest(), hashing.size)
            with self.gate.writing():
                # Replacing an existing blob with the same bytes is harmless and gives it a fresh time.
                if self._fresh_enough(pointer.digest, pointer.size):
                    self.inner.delete(staging)
                else:
                    self.inner.move(staging, pointer.blob, _PLAIN)
                self.inner.write(path, pointer.encode(), options)
        except BaseException:
            with contextlib.suppress(StorageError):  # the write's own error matters; collect_garbage cleans up
                self.inner.delete(staging)
            raise

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        return None  # the disk streams through write_stream, which hashes

    def create_directory(self, path: str, options: WriteOptions) -> None:
        self._refuse_reserved(path, UnableToCreateDirectory)
        self.inner.create_directory(path, options)

    def delete(self, path: str) -> bool:
        # Only the pointer goes: the blob may be another file's content too (collect_garbage decides).
        return not is_reserved(path) and self.inner.delete(path)

    def delete_directory(self, path: str) -> bool:
        if is_reserved(path):
            return False
        if path:
            return self.inner.delete_directory(path)
        deleted = False
        for found, is_folder in list(self.list_paths("", False)):
            deleted = (self.inner.delete_directory(found) if is_folder else self.inner.delete(found)) or deleted
        return deleted

    def _check_pair(self, source: str, destination: str, error: type[UnableToCopyFile] | type[UnableToMoveFile]
                    ) -> Pointer:
        if is_reserved(destination):
            raise error.between(source, destination, _RESERVED_REASON)
        pointer = self.pointer(source)
        self._refresh(pointer, source)
        return pointer

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        # Copying the pointer copies the file: its metadata and visibility go with it, the content is shared.
        with self.gate.writing():
            self._check_pair(source, destination, UnableToCopyFile)
            self.inner.copy(source, destination, options)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        with self.gate.writing():
            self._check_pair(source, destination, UnableToMoveFile)
            self.inner.move(source, destination, options)

    def set_visibility(self, path: str, visibility: str) -> None:
        if is_reserved(path):
            raise FileNotFound.at(path, _RESERVED_REASON)
        self.inner.set_visibility(path, visibility)

"""The deduplicated layout: pointer files, SHA-256 addressed blobs, and a reader that checks them.

On the disk underneath, every file of the deduplicated disk is a small pointer at its own
path; contents live once each under the reserved directory ``.flystore-dedup``::

    <path>                              {"flystore": "dedup/1", "sha256": "<64 hex>", "size": <n>}
    .flystore-dedup/blobs/ab/<sha256>   the content whose SHA-256 is ab...
    .flystore-dedup/staging/<uuid>      a streamed write in progress (hashing it names its blob)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..._streams import PositionedReader
from ...attributes import without_stored_digests
from ...errors import IntegrityError

__all__ = ["BLOBS", "RESERVED", "STAGING", "Pointer", "VerifyingReader", "blob_path", "content_extra", "is_reserved"]

RESERVED = ".flystore-dedup"
BLOBS = f"{RESERVED}/blobs"
STAGING = f"{RESERVED}/staging"
#: A pointer is never larger than this; a bigger file cannot be one.
MAX_POINTER = 512
_FORMAT = "dedup/1"
_HEX = re.compile(r"[0-9a-f]{64}")


#: Backend extras that are digests or tags of the pointer file's bytes: shown as the content's, they would lie.


def is_reserved(path: str) -> bool:
    """Whether ``path`` is inside the reserved directory (hidden and refused on the deduplicated disk).

    The first segment is compared as a case-insensitive filesystem (macOS, Windows) or one that
    drops trailing dots and spaces (Windows) would resolve it, so no spelling reaches the blobs.
    """
    first = path.partition("/")[0]
    return first.rstrip(". ").casefold() == RESERVED


def blob_path(digest: str) -> str:
    """Where the content with this SHA-256 (hex) is kept."""
    return f"{BLOBS}/{digest[:2]}/{digest}"


@dataclass(frozen=True)
class Pointer:
    """What a pointer file says: the content's SHA-256 and size."""

    digest: str
    size: int

    def encode(self) -> bytes:
        return json.dumps({"flystore": _FORMAT, "sha256": self.digest, "size": self.size}).encode() + b"\n"

    @classmethod
    def decode(cls, raw: bytes, path: str) -> Pointer:
        """Raises: IntegrityError: the file is not a pointer of this format."""
        try:
            value = json.loads(raw) if len(raw) <= MAX_POINTER else None
        except ValueError:
            value = None
        if (
            not isinstance(value, dict)
            or value.get("flystore") != _FORMAT
            or not isinstance(value.get("sha256"), str)
            or not _HEX.fullmatch(value["sha256"])
            or type(value.get("size")) is not int
            or value["size"] < 0
        ):
            raise IntegrityError.at(path, "the file is not a deduplicated pointer (written around the disk?)")
        return cls(value["sha256"], value["size"])

    @property
    def blob(self) -> str:
        return blob_path(self.digest)


class VerifyingReader(PositionedReader):
    """The blob behind a pointer: reads stop at the pointer's size and are hashed while sequential.

    Reading from the start to the end checks the SHA-256 and raises ``IntegrityError`` at the
    end when it differs, or when the blob is shorter than the pointer says; after a seek
    away from where hashing got to, the rest is not checked (a ranged read cannot be).
    """

    def __init__(self, handle: BinaryIO, pointer: Pointer, path: str) -> None:
        super().__init__()
        self._handle = handle
        self._pointer = pointer
        self._path = path
        self._hash = hashlib.sha256()
        self._hashed = 0
        self._verified = False
        self._position = 0
        self.size = pointer.size

    def _repositioned(self, target: int) -> None:
        self._handle.seek(min(target, self.size))

    def _read(self, size: int | None, /) -> bytes:
        if self.closed:
            raise ValueError("read of a closed file")
        left = max(0, self.size - self._position)
        wanted = left if size is None or size < 0 else min(size, left)
        parts = []
        got = 0
        while got < wanted:
            chunk = self._handle.read(wanted - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        data = b"".join(parts)
        if got < wanted:
            raise IntegrityError.at(self._path, "the content is shorter than its pointer says (truncated blob)")
        if self._position == self._hashed and not self._verified:
            self._hash.update(data)
            self._hashed += len(data)
            if self._hashed == self.size:
                self._verified = True
                self._verify_end()
        self._position += len(data)
        return data

    def _verify_end(self) -> None:
        if self._hash.hexdigest() != self._pointer.digest:
            raise IntegrityError.at(self._path, "the content does not match its SHA-256 (corrupt blob)")
        if self._handle.read(1):
            raise IntegrityError.at(self._path, "the content is longer than its pointer says (corrupt blob)")

    def read1(self, size: int = -1, /) -> bytes:
        return self.read(size if size >= 0 else 1024 * 1024)


def content_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` without what describes the pointer's bytes (an S3 ETag is their MD5, GCS lists md5 and crc32c)."""
    return without_stored_digests(extra)

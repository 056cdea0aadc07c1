"""Value objects a backend returns: file and directory attributes, write options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, Union

__all__ = [
    "STORED_BYTES_DIGESTS",
    "DirectoryAttributes",
    "Entry",
    "FileAttributes",
    "Visibility",
    "WriteOptions",
    "without_stored_digests",
]

Visibility = Literal["public", "private"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class FileAttributes:
    """What a backend knows about a file; ``None`` means "not fetched" (the disk asks ``stat``).

    Attributes:
        path: disk path of the file.
        size: size in bytes (plaintext size on an encrypted disk).
        last_modified: timezone-aware UTC time of the last write.
        mime_type: the stored Content-Type, when the backend stores one.
        visibility: ``"public"`` or ``"private"``, when the backend knows it.
        checksum: a cheap checksum the backend has at hand (e.g. an MD5 ETag) as
            ``"algorithm:hex"``, else ``None``.
        metadata: custom metadata given at write time.
        extra: backend-specific details (storage class, tier, cache-control, ...).
    """

    path: str
    size: int | None = None
    last_modified: datetime | None = None
    mime_type: str | None = None
    visibility: str | None = None
    checksum: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    is_folder: bool = field(default=False, init=False)

    @property
    def name(self) -> str:
        """The last segment of the path."""
        return self.path[self.path.rfind("/") + 1 :]

    @property
    def is_file(self) -> bool:
        return True

    def with_path(self, path: str) -> FileAttributes:
        """The same attributes under another path."""
        return replace(self, path=path)


@dataclass(frozen=True, slots=True)
class DirectoryAttributes:
    """A directory in a listing."""

    path: str
    last_modified: datetime | None = None
    visibility: str | None = None

    is_folder: bool = field(default=True, init=False)
    size: int = field(default=0, init=False)

    @property
    def name(self) -> str:
        """The last segment of the path."""
        return self.path[self.path.rfind("/") + 1 :]

    @property
    def is_file(self) -> bool:
        return False

    def with_path(self, path: str) -> DirectoryAttributes:
        """The same attributes under another path."""
        return replace(self, path=path)


Entry = Union[FileAttributes, DirectoryAttributes]


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """Options of one write, already merged with the disk's defaults.

    Attributes:
        visibility: ``"public"``/``"private"`` or ``None`` for the backend's default.
        mimetype: Content-Type to store, or ``None`` to let the backend guess.
        metadata: custom key/value metadata to store with the file.
        extra: driver-specific options (``cache_control``, ``tier``, ``acl``, ...).
    """

    visibility: str | None = None
    mimetype: str | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def with_defaults(self, *, visibility: str | None = None) -> WriteOptions:
        """Fill in what this write left open."""
        if self.visibility is None and visibility is not None:
            return replace(self, visibility=visibility)
        return self


DEFAULT_WRITE = WriteOptions()


#: Backend extras that are digests or tags of the bytes as stored (an S3 ETag is their MD5; GCS lists md5
#: and crc32c): a decorator that transforms the bytes drops them, or they would describe the wrong bytes.
STORED_BYTES_DIGESTS = frozenset({"etag", "md5", "crc32c"})


def without_stored_digests(extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` minus what describes the stored bytes rather than the content (``STORED_BYTES_DIGESTS``)."""
    return {key: value for key, value in extra.items() if key not in STORED_BYTES_DIGESTS}

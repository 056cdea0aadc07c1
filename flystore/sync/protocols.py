"""The storage-client protocols of the seed's SyncEngine, so existing backends keep working.

A client that is not a flystore disk implements ``StorageClientProtocol`` (the
transfers) and comes with a ``FileEntriesManagerProtocol`` (the listing) whose
entries follow ``FileEntryProtocol``. The engine calls only the methods named
here; ``flystore.sync.testing.StorageClientTestSuite`` checks an implementation
against exactly these expectations.

Paths given to and returned by a client are relative to the client's storage
root and use ``/``; ``relative_path`` in ``upload_file`` includes the pair's root.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["FileEntriesManagerProtocol", "FileEntryProtocol", "StorageClientProtocol"]

ProgressCallback = Callable[[int, int], None]


@runtime_checkable
class FileEntryProtocol(Protocol):
    """A file or folder as a client lists it.

    ``id`` stays the same while the entry exists; ``hash`` is what ``download_file``
    accepts and, when it is 32 hex digits, is taken as the content's MD5;
    ``updated_at`` is an ISO 8601 time (a time without a zone is UTC).
    """

    @property
    def id(self) -> int: ...

    @property
    def type(self) -> str: ...  # "file" or "folder"

    @property
    def file_size(self) -> int: ...

    @property
    def hash(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def updated_at(self) -> str | None: ...


@runtime_checkable
class FileEntriesManagerProtocol(Protocol):
    """Lists a client's entries."""

    def get_all_recursive(
        self, folder_id: int | None, path_prefix: str
    ) -> Sequence[tuple[FileEntryProtocol, str]]:
        """Every entry below folder ``folder_id`` (None: the storage root), at every level.

        Each comes with its path relative to that folder, prefixed by ``path_prefix``
        and including the entry's own name (``"docs/a.txt"``).
        """
        ...


@runtime_checkable
class StorageClientProtocol(Protocol):
    """Moves files between a local path and the storage."""

    def upload_file(
        self,
        file_path: Path,
        relative_path: str,
        storage_id: int = 0,
        chunk_size: int = ...,
        use_multipart_threshold: int = ...,
        progress_callback: ProgressCallback | None = None,
    ) -> Any:
        """Store the local file ``file_path`` at ``relative_path``, replacing what is there,
        creating the folders on the way."""
        ...

    def download_file(
        self, hash_value: str, output_path: Path, progress_callback: ProgressCallback | None = None
    ) -> Path:
        """Write the file whose entry has ``hash`` ``hash_value`` to ``output_path``; returns that path."""
        ...

    def delete_file_entries(self, entry_ids: list[int], delete_forever: bool = False) -> Any:
        """Delete the entries (``delete_forever``: not into a trash)."""
        ...

    def create_folder(self, name: str, parent_id: int | None = None) -> dict[str, Any]:
        """Make folder ``name`` (may hold ``/``) under ``parent_id``; returns at least ``{"id": ...}``."""
        ...

    def resolve_path_to_id(self, path: str, storage_id: int = 0) -> int | None:
        """The id of the folder at ``path``, or None when there is none."""
        ...

"""A flystore disk as a seed-style storage client (``StorageClientProtocol``).

For code written against the seed's client protocols: ``DiskStorageClient(disk)``
and ``DiskEntriesManager(client)`` offer a disk through them. Ids are stable
digests of paths; an entry's ``hash`` is the native MD5 where the disk lists
one, else ``"path:<path>"``; ``download_file`` accepts both. The engine itself
syncs a ``DiskStorageClient`` through its disk directly.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..attributes import FileAttributes
from ..disk import FilesystemAdapter
from ..errors import FileNotFound
from ..paths import normalize

__all__ = ["DiskEntriesManager", "DiskFileEntry", "DiskStorageClient", "entry_id"]

_PATH_HASH = "path:"


def entry_id(path: str) -> int:
    """The id of ``path``: the same in every process, positive, 63 bits."""
    return int.from_bytes(hashlib.sha256(path.encode()).digest()[:8], "big") >> 1


@dataclass(frozen=True, slots=True)
class DiskFileEntry:
    """A file or folder of a disk, as ``FileEntryProtocol`` describes it."""

    id: int
    type: str
    file_size: int
    hash: str
    name: str
    updated_at: str | None


class DiskStorageClient:
    """A disk through the seed's ``StorageClientProtocol``.

    Args:
        disk: the disk; paths are relative to its root.
    """

    def __init__(self, disk: FilesystemAdapter) -> None:
        self.disk = disk
        self._paths: dict[int, str] = {}
        self._by_hash: dict[str, str] = {}
        self._lock = threading.Lock()

    def _remember(self, path: str) -> int:
        identifier = entry_id(path)
        with self._lock:
            self._paths[identifier] = path
        return identifier

    def _path_of(self, identifier: int) -> str:
        with self._lock:
            found = self._paths.get(identifier)
        if found is None:
            raise FileNotFound.at(None, f"no entry with id {identifier} was listed or made by this client",
                                  disk=self.disk.name)
        return found

    def entry(self, attributes: FileAttributes) -> DiskFileEntry:
        """The entry of a listed file."""
        checksum = attributes.checksum
        modified = attributes.last_modified
        if checksum and checksum.startswith("md5:"):
            with self._lock:
                self._by_hash[checksum[4:]] = attributes.path
        return DiskFileEntry(
            self._remember(attributes.path),
            "file",
            attributes.size or 0,
            checksum[4:] if checksum and checksum.startswith("md5:") else _PATH_HASH + attributes.path,
            attributes.name,
            modified.isoformat() if modified is not None else None,
        )

    def folder(self, path: str) -> DiskFileEntry:
        """The entry of a directory."""
        return DiskFileEntry(self._remember(path), "folder", 0, "", path.rpartition("/")[2], None)

    def upload_file(
        self,
        file_path: Path,
        relative_path: str,
        storage_id: int = 0,
        chunk_size: int = 5 * 1024 * 1024,
        use_multipart_threshold: int = 50 * 1024 * 1024,
        progress_callback: Any = None,
    ) -> dict[str, Any]:
        """Store the local file at ``relative_path`` (streamed, atomic); returns ``{"id", "path"}``.

        Raises:
            FileNotFound: ``file_path`` does not exist.
            UnableToWriteFile: nothing was stored.
        """
        progress = None if progress_callback is None else (lambda done, total: progress_callback(done, total or 0))
        with open(file_path, "rb") as handle:
            stored = self.disk.put(relative_path, handle, progress=progress)
        return {"id": self._remember(stored), "path": stored}

    def download_file(self, hash_value: str, output_path: Path, progress_callback: Any = None) -> Path:
        """Write the file with entry hash ``hash_value`` to ``output_path``.

        Raises:
            FileNotFound: no listed file has that hash.
            UnableToReadFile: reading it failed.
        """
        path = hash_value[len(_PATH_HASH) :] if hash_value.startswith(_PATH_HASH) else self._by_md5(hash_value)
        progress = None if progress_callback is None else (lambda done, total: progress_callback(done, total or 0))
        with self.disk.read_stream(path, progress=progress) as stream, open(output_path, "wb") as out:
            for chunk in stream:
                out.write(chunk)
        return Path(output_path)

    def _by_md5(self, digest: str) -> str:
        with self._lock:
            known = self._by_hash.get(digest)
        if known is not None and self.disk.file_exists(known) and self.disk.stat(known).checksum == f"md5:{digest}":
            return known  # still that content
        for entry in self.disk.list("", recursive=True):
            if isinstance(entry, FileAttributes) and entry.checksum == f"md5:{digest}":
                return entry.path
        raise FileNotFound.at(None, f"no file has the MD5 {digest}", disk=self.disk.name)

    def delete_file_entries(self, entry_ids: list[int], delete_forever: bool = False) -> dict[str, Any]:
        """Delete the entries (files, or folders with what they hold); disks have no trash.

        Raises:
            FileNotFound: an id was never listed or made by this client.
            UnableToDeleteFile: a file could not be deleted.
        """
        paths = [self._path_of(identifier) for identifier in entry_ids]
        for path in paths:
            if self.disk.directory_exists(path) and not self.disk.file_exists(path):
                self.disk.delete_directory(path)
            else:
                self.disk.delete(path)
        return {"deleted": len(paths)}

    def create_folder(self, name: str, parent_id: int | None = None) -> dict[str, Any]:
        """Make the folder (and its parents) under ``parent_id`` (None: the root).

        Raises:
            UnableToCreateDirectory: a file is in the way.
        """
        parent = self._path_of(parent_id) if parent_id else ""
        path = normalize(f"{parent}/{name}")
        self.disk.make_directory(path)
        return {"status": "success", "id": self._remember(path), "path": path}

    def resolve_path_to_id(self, path: str, storage_id: int = 0) -> int | None:
        """The id of the directory at ``path``, or None."""
        target = normalize(path)
        if not target or not self.disk.directory_exists(target):
            return None
        return self._remember(target)


class DiskEntriesManager:
    """Lists a ``DiskStorageClient``'s disk as ``FileEntriesManagerProtocol`` describes."""

    def __init__(self, client: DiskStorageClient) -> None:
        self.client = client

    def get_all_recursive(self, folder_id: int | None, path_prefix: str) -> list[tuple[DiskFileEntry, str]]:
        """Every entry below the folder, with its path relative to it, after ``path_prefix``.

        Raises:
            FileNotFound: ``folder_id`` was never listed or made by the client.
            UnableToListContents: the disk failed.
        """
        folder = self.client._path_of(folder_id) if folder_id else ""
        cut = len(folder) + 1 if folder else 0
        found: list[tuple[DiskFileEntry, str]] = []
        for entry in self.client.disk.list(folder, recursive=True):
            made = self.client.entry(entry) if isinstance(entry, FileAttributes) else self.client.folder(entry.path)
            found.append((made, path_prefix + entry.path[cut:]))
        return found

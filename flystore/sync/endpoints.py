"""One side of a pair: a flystore disk under a root (``DiskEndpoint``), or a storage client.

An endpoint lists its files once, recursively, with sizes, times and native
hashes; reads and writes single files; and travels to executor workers by
pickling, which for a disk means its configuration (never a connection).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import BinaryIO, cast

from ..attributes import FileAttributes
from ..backend import Readable
from ..disk import FilesystemAdapter
from ..errors import FileNotFound, UnableToProvideChecksum
from ..paths import normalize
from .hashing import md5_of_handle, md5_of_local_handle
from .listing import Listed

__all__ = ["DiskEndpoint", "Endpoint"]


class Endpoint:
    """What the engine needs from one side of a pair. Paths are relative to the side's root."""

    #: Names the side in reports and in the two-way state (e.g. ``"s3://backup/docs"``).
    label: str = "endpoint"
    #: Names the disk (or client) in error messages.
    name: str = "endpoint"
    #: path -> reason for entries the last ``scan`` skipped because no file can have that path.
    rejected: Mapping[str, str] = MappingProxyType({})

    def scan(self) -> Iterator[Listed]:
        """Every file under the root, at every level, from one recursive listing.

        Raises:
            UnableToListContents: the listing failed.
        """
        raise NotImplementedError

    def root_exists(self) -> bool:
        """Whether the root directory exists (the disk root always does).

        Raises:
            UnableToCheckExistence: the backend could not tell.
        """
        raise NotImplementedError

    def open_read(self, item: Listed) -> BinaryIO:
        """A binary file object over the listed file; the caller closes it.

        Raises:
            FileNotFound: the file is gone.
            UnableToReadFile: it could not be opened.
        """
        raise NotImplementedError

    def write(self, path: str, stream: Readable) -> None:
        """Create or replace ``path`` from ``stream``, atomically where the storage allows.

        Raises:
            UnableToWriteFile: nothing was written.
        """
        raise NotImplementedError

    def copy_within(self, item: Listed, path: str) -> None:
        """Copy a file of this side to ``path`` of this side (server-side where possible).

        Raises:
            FileNotFound: the file is gone.
            UnableToCopyFile: the copy failed.
        """
        with self.open_read(item) as handle:
            self.write(path, handle)

    def receive(self, source: Endpoint, item: Listed) -> None:
        """Copy ``item`` of ``source`` to the same path here, streamed in bounded memory.

        Raises:
            FileNotFound: the source file is gone.
            UnableToReadFile: reading the source failed.
            UnableToWriteFile: nothing was written here.
        """
        with source.open_read(item) as handle:
            self.write(item.path, handle)

    def delete(self, item: Listed) -> None:
        """Delete the listed file; a file already gone is not an error.

        Raises:
            UnableToDeleteFile: it exists and could not be deleted.
        """
        raise NotImplementedError

    def confirmed_md5(self, item: Listed) -> str:
        """The MD5 asked of the storage again, for a listed hash that disagrees with the other side's.

        Listings cannot always tell a hash that is an MD5 from one that only looks like
        it (an S3 ETag of an SSE-KMS object), so a mismatch is checked before it counts.

        Raises:
            FileNotFound: the file is gone.
            UnableToReadFile: it could not be read.
        """
        with self.open_read(item) as handle:
            return md5_of_handle(handle)

    def md5(self, item: Listed) -> str:
        """The MD5 of the file: native when listed, else computed by streaming it.

        Raises:
            FileNotFound: the file is gone.
            UnableToReadFile: it could not be read.
        """
        if item.md5 is not None:
            return item.md5
        with self.open_read(item) as handle:
            return md5_of_handle(handle)


def _join(root: str, path: str) -> str:
    return f"{root}/{path}" if root else path


def _md5_of(checksum: str | None) -> str | None:
    return checksum[4:] if checksum is not None and checksum.startswith("md5:") else None


class DiskEndpoint(Endpoint):
    """A flystore disk, under ``root`` (``""``: the whole disk).

    Args:
        disk: the disk.
        root: a directory on the disk; normalised here.
        label: names the side in reports and states (default ``disk://root``).

    Raises:
        PathTraversalDetected: ``root`` escapes the disk.
    """

    def __init__(self, disk: FilesystemAdapter, root: str = "", *, label: str | None = None) -> None:
        self.disk = disk
        self.root = normalize(root)
        self.name = disk.name
        self.label = label or f"{disk.name}://{self.root}"

    def __repr__(self) -> str:
        return f"<DiskEndpoint {self.label}>"

    def __getstate__(self) -> dict[str, object]:
        # A memory disk would arrive empty in another process and its writes would be lost there.
        if self.disk.backend.name == "memory":
            raise TypeError(
                f"disk {self.disk.name!r} keeps its files in this process's memory and cannot travel to an "
                "executor in another process; use a thread pool (the default) or a disk the workers can reach"
            )
        return dict(self.__dict__)

    def scan(self) -> Iterator[Listed]:
        cut = len(self.root) + 1 if self.root else 0
        for entry in self.disk.list(self.root, recursive=True):
            if not isinstance(entry, FileAttributes) or (cut and not entry.path.startswith(self.root + "/")):
                continue
            modified = entry.last_modified
            yield Listed(
                entry.path[cut:],
                entry.size or 0,
                modified.timestamp() if modified is not None else None,
                _md5_of(entry.checksum),
            )

    def root_exists(self) -> bool:
        if not self.root:
            # A disk's root always exists as a path; on a local disk it must exist as a directory too,
            # or a mistyped or unmounted directory would read as an empty one.
            local = self.disk.backend.local_path("")
            return local is None or os.path.isdir(local)
        return self.disk.directory_exists(self.root)

    def open_read(self, item: Listed) -> BinaryIO:
        return self.disk.open(_join(self.root, item.path), "rb")

    def write(self, path: str, stream: Readable) -> None:
        self.disk.write_stream(_join(self.root, path), cast(BinaryIO, stream))

    def copy_within(self, item: Listed, path: str) -> None:
        self.disk.copy(_join(self.root, item.path), _join(self.root, path))

    def receive(self, source: Endpoint, item: Listed) -> None:
        if isinstance(source, DiskEndpoint) and source.disk is self.disk:
            self.disk.copy(_join(source.root, item.path), _join(self.root, item.path))  # server-side
            return
        super().receive(source, item)

    def delete(self, item: Listed) -> None:
        self.disk.delete(_join(self.root, item.path))

    def confirmed_md5(self, item: Listed) -> str:
        # The disk's checksum asks the backend (one HEAD on S3, which knows SSE-KMS objects) or streams.
        return self.disk.checksum(_join(self.root, item.path))

    def md5(self, item: Listed) -> str:
        """The MD5: native when listed, cached beside a local file, else streamed.

        Raises:
            FileNotFound: the file is gone.
            UnableToProvideChecksum: it could not be read.
        """
        if item.md5 is not None:
            return item.md5
        target = _join(self.root, item.path)
        try:
            local = self.disk.backend.local_path(target) is not None
            with self.disk.open(target, "rb") as handle:
                if local:
                    try:
                        handle.fileno()
                    except (OSError, ValueError):  # a decorator handed over a buffer, not the file
                        local = False
                return md5_of_local_handle(handle)[0] if local else md5_of_handle(handle)
        except FileNotFound:
            raise
        except OSError as cause:
            raise UnableToProvideChecksum.at(target, str(cause), disk=self.disk.name, cause=cause) from cause

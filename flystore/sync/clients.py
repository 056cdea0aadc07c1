"""An endpoint over a seed-style storage client (``flystore.sync.protocols``).

Such clients move whole local files, so reads land in a temporary file that
is removed when closed, and writes are spooled to one before ``upload_file``:
memory stays bounded whatever the file's size. Anything a client raises
becomes the flystore error of the verb, naming the client and the path.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from ..backend import Readable
from ..errors import (
    FileNotFound,
    StorageError,
    UnableToDeleteFile,
    UnableToListContents,
    UnableToReadFile,
    UnableToWriteFile,
)
from ..paths import basename, normalize
from .endpoints import Endpoint
from .listing import Listed
from .protocols import FileEntriesManagerProtocol, StorageClientProtocol

__all__ = ["ClientEndpoint"]

_MD5 = re.compile(r"[0-9a-f]{32}")
_CHUNK = 1024 * 1024


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


class _TemporaryDownload(io.FileIO):
    """A downloaded file that takes its temporary directory with it when closed."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "rb")
        self._directory = path.parent

    def close(self) -> None:
        try:
            super().close()
        finally:
            shutil.rmtree(self._directory, ignore_errors=True)


class ClientEndpoint(Endpoint):
    """A storage client plus its entries manager, under ``root``.

    Args:
        client: the ``StorageClientProtocol`` implementation.
        entries: its ``FileEntriesManagerProtocol``.
        root: the folder of the pair, relative to the client's storage root.
        storage_id: passed to the client's calls that take one.

    Raises:
        PathTraversalDetected: ``root`` escapes the storage root.
    """

    def __init__(
        self,
        client: StorageClientProtocol,
        entries: FileEntriesManagerProtocol,
        root: str = "",
        *,
        storage_id: int = 0,
    ) -> None:
        self.client = client
        self.entries = entries
        self.root = normalize(root)
        self.storage_id = storage_id
        self.name = type(client).__name__
        self.label = f"{self.name}://{self.root}"
        #: path -> reason, for entries the listing returned that no file can have (``../x``).
        self.rejected: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<ClientEndpoint {self.label}>"

    def _folder(self) -> tuple[bool, int | None]:
        if not self.root:
            return True, None
        folder = self.client.resolve_path_to_id(self.root, self.storage_id)
        return folder is not None, folder

    def root_exists(self) -> bool:
        try:
            return self._folder()[0]
        except Exception as cause:  # the client's own errors, whatever they are
            raise UnableToListContents.at(self.root, f"{type(cause).__name__}: {cause}", disk=self.name,
                                          cause=cause) from cause

    def scan(self) -> Iterator[Listed]:
        self.rejected = {}
        try:
            found, folder = self._folder()
            listed = self.entries.get_all_recursive(folder, "") if found else []
        except Exception as cause:  # the client's own errors, whatever they are
            raise UnableToListContents.at(self.root, f"{type(cause).__name__}: {cause}", disk=self.name,
                                          cause=cause) from cause
        for entry, relative in listed:
            if entry.type != "file":
                continue
            try:
                path = normalize(relative)
            except StorageError as error:
                self.rejected[str(relative)] = f"the client listed a path no file can have: {error.reason}"
                continue
            digest = str(entry.hash or "").lower()
            yield Listed(
                path,
                int(entry.file_size or 0),
                _timestamp(entry.updated_at),
                digest if _MD5.fullmatch(digest) else None,
                (entry.id, entry.hash),
            )

    def _full(self, path: str) -> str:
        return f"{self.root}/{path}" if self.root else path

    def open_read(self, item: Listed) -> BinaryIO:
        directory = Path(tempfile.mkdtemp(prefix="flystore-sync-"))
        target = directory / "download"
        try:
            self.client.download_file(item.handle[1], target)
            if not target.is_file():
                raise FileNotFound.at(self._full(item.path), "the client downloaded nothing", disk=self.name)
            return _TemporaryDownload(target)
        except StorageError:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        except Exception as cause:  # the client's own errors, whatever they are
            shutil.rmtree(directory, ignore_errors=True)
            raise UnableToReadFile.at(self._full(item.path), f"{type(cause).__name__}: {cause}", disk=self.name,
                                      cause=cause) from cause

    def write(self, path: str, stream: Readable) -> None:
        directory = Path(tempfile.mkdtemp(prefix="flystore-sync-"))
        try:
            spooled = directory / basename(path)
            with open(spooled, "wb") as handle:
                while chunk := stream.read(_CHUNK):
                    handle.write(chunk)
            self.client.upload_file(spooled, self._full(path), self.storage_id)
        except StorageError:
            raise
        except Exception as cause:  # the client's own errors, whatever they are
            raise UnableToWriteFile.at(self._full(path), f"{type(cause).__name__}: {cause}", disk=self.name,
                                       cause=cause) from cause
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def delete(self, item: Listed) -> None:
        try:
            self.client.delete_file_entries([item.handle[0]], delete_forever=True)
        except Exception as cause:  # the client's own errors, whatever they are
            raise UnableToDeleteFile.at(self._full(item.path), f"{type(cause).__name__}: {cause}", disk=self.name,
                                        cause=cause) from cause

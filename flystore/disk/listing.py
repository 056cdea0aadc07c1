"""Listing verbs: the files and directories under a directory, as sorted paths or entries."""

from __future__ import annotations

from datetime import datetime

from ..attributes import Entry, FileAttributes
from ..errors import FileNotFound, UnableToListContents
from ..paths import normalize
from ._verbs import _verb
from .core import DiskCore, Entries, Paths


class ListingVerbs(DiskCore):
    """The verbs that list a directory."""

    @_verb(UnableToListContents)
    def _entries(self, directory: str, recursive: bool) -> list[Entry]:
        return list(self._backend.list_contents(normalize(directory), recursive))

    @_verb(UnableToListContents)
    def _paths(self, directory: str, recursive: bool, folders: bool) -> list[str]:
        found = [path for path, is_folder in self._backend.list_paths(normalize(directory), recursive)
                 if is_folder is folders]
        found.sort()
        return found

    def files(self, directory: str = "", recursive: bool = False) -> list[str]:
        """Sorted paths of the files in ``directory`` (all levels when ``recursive``).

        Raises:
            UnableToListContents: the backend failed.
        """
        return self._paths(directory, recursive, False)

    def all_files(self, directory: str = "") -> list[str]:
        """``files(directory, recursive=True)``."""
        return self.files(directory, recursive=True)

    def directories(self, directory: str = "", recursive: bool = False) -> list[str]:
        """Sorted paths of the directories in ``directory``.

        Raises:
            UnableToListContents: the backend failed.
        """
        return self._paths(directory, recursive, True)

    def all_directories(self, directory: str = "") -> list[str]:
        """``directories(directory, recursive=True)``."""
        return self.directories(directory, recursive=True)

    @_verb(UnableToListContents)
    def list(self, path: str = "", recursive: bool = False) -> Entries:
        """Entries (``name, path, is_folder, size, last_modified``) sorted by path.

        Raises:
            UnableToListContents: the backend failed.
        """
        entries: Entries = []
        for entry in self._entries(path, recursive):
            if isinstance(entry, FileAttributes) and (entry.size is None or entry.last_modified is None):
                try:
                    entry = self._backend.stat(entry.path)
                except FileNotFound:
                    continue  # deleted while we listed
            entries.append(entry)
        entries.sort(key=lambda entry: entry.path)
        return entries

    def find_files_older_than(self, cutoff: datetime, directory: str = "") -> Paths:
        """Sorted paths of files (at every level) last modified before ``cutoff``.

        A naive ``cutoff`` is taken as UTC.

        Raises:
            UnableToListContents: the backend failed.
        """
        if cutoff.tzinfo is None:
            from datetime import timezone

            cutoff = cutoff.replace(tzinfo=timezone.utc)
        return [
            entry.path
            for entry in self.list(directory, recursive=True)
            if isinstance(entry, FileAttributes) and entry.last_modified is not None and entry.last_modified < cutoff
        ]

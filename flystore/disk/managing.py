"""Managing verbs: copy, move and delete files, make and delete directories, set visibility."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._streams import ProgressCallback
from ..attributes import WriteOptions
from ..errors import (
    FileNotFound,
    StorageError,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToMoveFile,
    UnableToSetVisibility,
    UnsupportedOperation,
)
from ..events import hub as _event_hub
from ..paths import normalize
from ._verbs import _raise_as, _verb
from .core import VISIBILITIES, DiskCore


class ManagingVerbs(DiskCore):
    """The verbs that copy, move and delete files and directories, and change who may read them."""

    if TYPE_CHECKING:
        # Answered by ReadingVerbs in the composed disk (``set_visibility`` checks the file is there).
        def exists(self, path: str) -> bool: ...

    @_verb(UnableToCopyFile)
    def copy(
        self,
        source: str,
        destination: str,
        *,
        visibility: str | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> str:
        """Copy a file on this disk, overwriting the destination; returns the destination.

        The backend copies server-side where it can; ``progress(done, total)`` is
        then called once, with the size, when the copy is complete.

        Raises:
            FileNotFound: the source is missing.
            UnableToCopyFile: the copy failed; the destination is unchanged.
        """
        src = self._file_path(source, UnableToCopyFile)
        dst = self._file_path(destination, UnableToCopyFile)
        write_options = self._options(visibility, None, None, options, dst, UnableToCopyFile)
        if src == dst:
            if not self._backend.file_exists(src):
                raise FileNotFound.at(src, "no file exists at this path")
            return dst
        self._backend.copy(src, dst, write_options if visibility is not None else WriteOptions())
        if progress is not None:
            size = self._backend.stat(dst).size
            progress(size or 0, size)
        self._fire("file_updated", dst)
        return dst

    @_verb(UnableToMoveFile)
    def move(self, source: str, destination: str, *, visibility: str | None = None, **options: Any) -> str:
        """Move a file on this disk, overwriting the destination; moving onto itself is a no-op.

        Raises:
            FileNotFound: the source is missing.
            UnableToMoveFile: the move failed; the source is still there.
        """
        src = self._file_path(source, UnableToMoveFile)
        dst = self._file_path(destination, UnableToMoveFile)
        write_options = self._options(visibility, None, None, options, dst, UnableToMoveFile)
        if src == dst:
            if not self._backend.file_exists(src):
                raise FileNotFound.at(src, "no file exists at this path")
            return dst
        self._backend.move(src, dst, write_options if visibility is not None else WriteOptions())
        self._fire("file_deleted", src)
        self._fire("file_updated", dst)
        return dst

    def delete(self, paths: str | Sequence[str]) -> bool:
        """Delete one file or several; True when anything was deleted. Missing is not an error.

        A directory path is left alone (use ``delete_directory``).

        Raises:
            UnableToDeleteFile: an existing file could not be deleted.
        """
        try:
            if isinstance(paths, str):
                return self._delete_one(paths)
            deleted = False
            for path in paths:
                deleted = self._delete_one(path) or deleted
            return deleted
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToDeleteFile, self.name, paths if isinstance(paths, str) else None)

    def _delete_one(self, path: str) -> bool:
        target = normalize(path)
        if not target:
            raise UnableToDeleteFile.at(target, "the disk root is a directory; use delete_directory")
        if not self._backend.delete(target):
            return False
        self._fire("file_deleted", target)
        return True

    @_verb(UnableToCreateDirectory)
    def make_directory(self, path: str, *, visibility: str | None = None) -> bool:
        """Create an empty directory (and its parents) that exists and is listed.

        Raises:
            UnableToCreateDirectory: a file is in the way, or the backend failed.
        """
        target = normalize(path)
        self._backend.create_directory(target, WriteOptions(visibility=visibility))
        return True

    @_verb(UnableToDeleteDirectory)
    def delete_directory(self, path: str) -> bool:
        """Delete a directory and everything under it; False when it did not exist.

        Raises:
            UnableToDeleteDirectory: it could not be (fully) deleted, or it is the root.
        """
        target = normalize(path)
        if self._listeners.get("file_deleted") or _event_hub.busy:
            doomed = [entry.path for entry in self._backend.list_contents(target, True) if not entry.is_folder]
            deleted = self._backend.delete_directory(target)
            for doomed_path in sorted(doomed):
                self._fire("file_deleted", doomed_path)
            return deleted
        return self._backend.delete_directory(target)

    @_verb(UnableToSetVisibility)
    def set_visibility(self, path: str, visibility: str) -> None:
        """Make a file ``"public"`` or ``"private"``.

        Raises:
            FileNotFound: the file is missing.
            UnableToSetVisibility: a bad value, or the backend refused.
            UnsupportedOperation: the backend has no notion of visibility.
        """
        target = normalize(path)
        if visibility not in VISIBILITIES:
            raise UnableToSetVisibility.at(target, f"visibility must be 'public' or 'private', not {visibility!r}")
        if "visibility" in self._backend.unsupported:
            if not self.exists(target):
                raise FileNotFound.at(target, "no file exists at this path")
            raise UnsupportedOperation.at(target, f"the {self._backend.name} backend has no visibility")
        self._backend.set_visibility(target, visibility)

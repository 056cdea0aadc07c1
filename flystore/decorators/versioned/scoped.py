"""A ``scoped`` disk over a versioned one, with the version methods under its prefix.

``{"driver": "scoped", "disk": "docs", "prefix": "acme"}`` over a versioned disk
``docs`` is a ``ScopedVersionsAdapter``: its files are ``docs``'s files under
``acme/``, and ``versions("a.txt")`` are the versions of ``acme/a.txt``, with
``Version.path`` and every error naming ``a.txt`` and the scoped disk. Nothing
outside the prefix is reachable through it: paths are normalised (``..`` refused)
before the prefix is added, and ``prune()`` with no path prunes the prefix only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TypeVar, cast

from ..._streams import DEFAULT_CHUNK_SIZE, ReadStream
from ...backend import Backend
from ...disk import FilesystemAdapter
from ...errors import StorageError, UnableToDeleteFile, UnableToListContents, UnableToReadFile, UnableToWriteFile
from ...paths import normalize
from .reader import NamedReader
from .version import Version

if TYPE_CHECKING:
    from ...manager import StorageManager

__all__ = ["ScopedVersionsAdapter"]

_T = TypeVar("_T")


class VersionedDisk(Protocol):
    """What a scoped disk needs of the versioned disk below it (``VersionedFilesystemAdapter``)."""

    @property
    def versioning(self) -> str: ...
    def versions(self, path: str) -> list[Version]: ...
    def get_version(self, path: str, version_id: str) -> bytes: ...
    def _open_version(self, target: str, version_id: str) -> BinaryIO: ...
    def restore_version(self, path: str, version_id: str) -> str: ...
    def delete_version(self, path: str, version_id: str) -> Version: ...
    def _prune(
        self, target: str, keep: int | None, older_than: datetime | timedelta | None, *, below: bool = False
    ) -> int: ...


class ScopedVersionsAdapter(FilesystemAdapter):
    """A disk under ``prefix`` of a versioned disk, offering that disk's version methods for its own paths.

    Args:
        backend: the scoped backend (the versioned disk's backend under ``prefix``).
        versioned: the versioned disk the prefix lies on.
        prefix: the normalised prefix ("" for none).
    """

    def __init__(
        self,
        backend: Backend,
        *,
        versioned: VersionedDisk,
        prefix: str,
        name: str,
        config: Mapping[str, Any] | None = None,
        manager: StorageManager | None = None,
    ) -> None:
        super().__init__(backend, name=name, config=config, manager=manager)
        self._base = versioned
        self._prefix = prefix

    def scoped_view(self, backend: Backend, prefix: str, **options: Any) -> ScopedVersionsAdapter:
        """The disk a ``scoped`` disk over this one is: the prefixes joined, the version methods kept."""
        joined = f"{self._prefix}/{prefix}" if self._prefix and prefix else self._prefix or prefix
        return ScopedVersionsAdapter(backend, versioned=self._base, prefix=joined, **options)

    # -- path arithmetic -----------------------------------------------------------------

    def _inner(self, path: str | None, error: type[StorageError], *, root: bool = False) -> tuple[str, str]:
        """``(user path, path on the versioned disk)``.

        Raises:
            PathTraversalDetected: the path escapes the disk.
            StorageError (``error``): a file was asked for and the path is the root.
        """
        try:
            user = normalize(path or "") if root else self._file_path(path or "", error)
        except StorageError as failure:
            self._claim(failure)
            raise
        if not self._prefix:
            return user, user
        return user, f"{self._prefix}/{user}" if user else self._prefix

    def _outer(self, path: str) -> str:
        head = self._prefix + "/"
        if not self._prefix:
            return path
        return path[len(head):] if path.startswith(head) else ("" if path == self._prefix else path)

    def _run(self, user: str, action: Callable[[], _T]) -> _T:
        """``action()``, with its errors naming this disk and the user's path, never the prefix."""
        try:
            return action()
        except StorageError as error:
            error.disk = self.name
            if error.path is not None:
                error.path = self._outer(error.path)
            raise

    # -- the version methods (see VersionedFilesystemAdapter) -------------------------------

    @property
    def versioning(self) -> str:
        """Where the versions live: ``"s3"`` or ``"layout"`` (see ``VersionedFilesystemAdapter.versioning``)."""
        return self._run("", lambda: self._base.versioning)

    def versions(self, path: str) -> list[Version]:
        """Every version of the file, newest first (see ``VersionedFilesystemAdapter.versions``).

        Raises:
            PathTraversalDetected: the path escapes the disk or names the version store.
            UnableToListContents: the versions could not be listed.
        """
        user, inner = self._inner(path, UnableToListContents)
        return [replace(version, path=user) for version in self._run(user, lambda: self._base.versions(inner))]

    def get_version(self, path: str, version_id: str) -> bytes:
        """The content of one version.

        Raises:
            VersionNotFound: no such version of this path, or it is a delete marker.
            UnableToReadFile: the version could not be read.
        """
        user, inner = self._inner(path, UnableToReadFile)
        return self._run(user, lambda: self._base.get_version(inner, version_id))

    def read_stream_version(self, path: str, version_id: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ReadStream:
        """One version as a stream, in bounded memory.

        Raises:
            VersionNotFound: no such version of this path, or it is a delete marker.
            UnableToReadFile: the version could not be opened.
        """
        user, inner = self._inner(path, UnableToReadFile)
        handle = self._run(user, lambda: self._base._open_version(inner, version_id))

        def translate(error: Exception) -> BaseException:
            return UnableToReadFile.at(user, str(error), disk=self.name, cause=error)

        named = cast("BinaryIO", NamedReader(handle, user))
        return ReadStream(named, chunk_size, on_error=translate, disk=self.name)

    def restore_version(self, path: str, version_id: str) -> str:
        """Make a version's content current again, as the newest version. Returns the path.

        Raises:
            VersionNotFound: no such version of this path, or it is a delete marker.
            UnableToWriteFile: the version could not be written back.
        """
        user, inner = self._inner(path, UnableToWriteFile)
        self._run(user, lambda: self._base.restore_version(inner, version_id))
        self._fire("file_updated", user)
        return user

    def delete_version(self, path: str, version_id: str) -> Version:
        """Delete one version for good; returns it as it was listed.

        Raises:
            VersionNotFound: no such version of this path.
            UnableToDeleteFile: the version could not be deleted.
        """
        user, inner = self._inner(path, UnableToDeleteFile)
        deleted = self._run(user, lambda: self._base.delete_version(inner, version_id))
        if deleted.is_latest:
            self._fire("file_updated" if self.file_exists(user) else "file_deleted", user)
        return replace(deleted, path=user)

    def prune(
        self, path: str | None = None, *, keep: int | None = None, older_than: datetime | timedelta | None = None
    ) -> int:
        """Delete old versions of a file, of a directory's files, or of every file of this disk (None).

        Raises:
            ValueError: neither ``keep`` nor ``older_than``, a negative ``keep`` or a naive time.
            UnableToDeleteFile: a version could not be deleted.
            UnableToListContents: the versions could not be listed.
        """
        user, inner = self._inner(path, UnableToDeleteFile, root=True)
        # At the root, the prefix is a directory: a file of the same name is outside this disk.
        return self._run(user, lambda: self._base._prune(inner, keep, older_than, below=not user and bool(inner)))

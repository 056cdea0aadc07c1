"""``VersionedFilesystemAdapter`` and the ``versioned`` config driver (docs/versioning.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

from ..._streams import DEFAULT_CHUNK_SIZE, ReadStream
from ...disk import FilesystemAdapter, _raise_as
from ...errors import (
    StorageError,
    UnableToDeleteFile,
    UnableToListContents,
    UnableToReadFile,
    UnableToWriteFile,
)
from ...paths import normalize
from ..read_only import inherited_config
from .backend import VersionedBackend, user_path
from .layout import LayoutVersions
from .reader import NamedReader
from .version import Version, refuse_reserved

if TYPE_CHECKING:
    from ...backend import Backend
    from ...manager import StorageManager
    from .scoped import ScopedVersionsAdapter

__all__ = ["VersionedFilesystemAdapter", "create"]

_T = TypeVar("_T")


class VersionedFilesystemAdapter(FilesystemAdapter):
    """A disk whose every overwrite and delete keeps the previous version (see docs/versioning.md).

    Args:
        base_adapter: the disk that holds the files.
        mode: ``"auto"`` (S3's own versions on a bucket with versioning enabled, else
            the layout beside the data), ``"native"`` or ``"layout"``.
        name: this disk's name (default: the base disk's).

    Raises:
        InvalidConfiguration: an unknown mode, or ``native`` on a disk that is not on S3.
    """

    def __init__(
        self,
        base_adapter: FilesystemAdapter,
        *,
        mode: str = "auto",
        name: str | None = None,
        manager: StorageManager | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        disk_name = name or base_adapter.name
        backend = VersionedBackend(base_adapter.backend, mode, disk=disk_name)
        merged = {**inherited_config(base_adapter.config), **dict(config or {})}
        super().__init__(backend, name=disk_name, config=merged, manager=manager or base_adapter.manager)
        self._versioned = backend

    def _run(self, error: type[StorageError], path: str, action: Callable[[], _T]) -> _T:
        try:
            with user_path(path):
                return action()
        except (StorageError, OSError) as failure:
            _raise_as(failure, error, self.name, path)

    def _target(self, path: str | None, error: type[StorageError], *, root: bool = False) -> str:
        try:
            target = normalize(path or "") if root else self._file_path(path or "", error)
            refuse_reserved(target)
        except StorageError as failure:
            self._claim(failure)
            raise
        return target

    def scoped_view(self, backend: Backend, prefix: str, **options: Any) -> ScopedVersionsAdapter:
        """The disk a ``scoped`` disk over this one is: its paths under ``prefix``, with the version methods."""
        from .scoped import ScopedVersionsAdapter

        return ScopedVersionsAdapter(backend, versioned=self, prefix=prefix, **options)

    @property
    def versioning(self) -> str:
        """Where the versions live: ``"s3"`` (the bucket's own) or ``"layout"`` (beside the data).

        Raises:
            InvalidConfiguration: ``native`` mode on a bucket without versioning.
            UnableToListContents: the bucket's versioning could not be read.
        """
        store = self._run(UnableToListContents, "", self._versioned.store)
        return "layout" if isinstance(store, LayoutVersions) else "s3"

    def versions(self, path: str) -> list[Version]:
        """Every version of the file, newest first, delete markers included (``[]`` when none).

        Raises:
            PathTraversalDetected: the path escapes the disk or names the version store.
            UnableToListContents: the versions could not be listed.
        """
        target = self._target(path, UnableToListContents)
        return self._run(UnableToListContents, target, lambda: self._versioned.store().versions(target))

    def get_version(self, path: str, version_id: str) -> bytes:
        """The content of one version.

        Raises:
            VersionNotFound: no version ``version_id`` of this path (an id of another path
                included), or it is a delete marker.
            UnableToReadFile: the version could not be read.
        """
        target = self._target(path, UnableToReadFile)
        return self._run(UnableToReadFile, target, lambda: self._versioned.store().read_version(target, version_id))

    def read_stream_version(self, path: str, version_id: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ReadStream:
        """One version as a stream (a context manager; iterate it or ``read(n)``), in bounded memory.

        Raises:
            VersionNotFound: no version ``version_id`` of this path, or it is a delete marker.
            UnableToReadFile: the version could not be opened.
        """
        target = self._target(path, UnableToReadFile)
        handle = self._open_version(target, version_id)

        def translate(error: Exception) -> BaseException:
            return UnableToReadFile.at(target, str(error), disk=self.name, cause=error)

        named = cast("BinaryIO", NamedReader(handle, target))
        return ReadStream(named, chunk_size, on_error=translate, disk=self.name)

    def _open_version(self, target: str, version_id: str) -> BinaryIO:
        """The raw handle of one version of the normalised ``target`` (errors as ``read_stream_version``'s)."""
        return self._run(UnableToReadFile, target, lambda: self._versioned.store().open_version(target, version_id))

    def restore_version(self, path: str, version_id: str) -> str:
        """Make a version's content current again; it becomes the newest version (older ones stay).

        Works on a deleted file too. The file gets the disk's default visibility.
        Returns the path.

        Raises:
            VersionNotFound: no version ``version_id`` of this path, or it is a delete marker.
            UnableToWriteFile: the version could not be written back.
        """
        target = self._target(path, UnableToWriteFile)
        self._run(UnableToWriteFile, target,
                  lambda: self._versioned.store().restore(target, version_id, self.visibility))
        self._fire("file_updated", target)
        return target

    def delete_version(self, path: str, version_id: str) -> Version:
        """Delete one version for good; returns it as it was listed.

        Deleting the latest version makes the one before it current (a deleted
        file whose delete marker goes is back); deleting the only one removes the file.

        Raises:
            VersionNotFound: no version ``version_id`` of this path.
            UnableToDeleteFile: the version could not be deleted.
        """
        target = self._target(path, UnableToDeleteFile)

        def delete() -> Version:
            store = self._versioned.store()
            if isinstance(store, LayoutVersions):
                return store.delete_version(target, version_id, self.visibility)
            return store.delete_version(target, version_id)

        deleted = self._run(UnableToDeleteFile, target, delete)
        if deleted.is_latest:
            self._fire("file_updated" if self.file_exists(target) else "file_deleted", target)
        return deleted

    def prune(
        self, path: str | None = None, *, keep: int | None = None, older_than: datetime | timedelta | None = None
    ) -> int:
        """Delete old versions of a file, of every file under a directory, or of the whole disk (None).

        The latest version of a path always stays. ``keep=N`` keeps the N newest
        versions of each path (the latest among them); ``older_than`` (a time, or an
        age as ``timedelta``) deletes only versions made before it; with both, a
        version goes when it is beyond the N newest and older. Delete markers with no
        older content left go too. Returns how many versions were deleted.

        Raises:
            ValueError: neither ``keep`` nor ``older_than``, a negative ``keep`` or a naive time.
            UnableToDeleteFile: a version could not be deleted (those before it are).
            UnableToListContents: the versions could not be listed.
        """
        _check_keep(keep, older_than)
        target = self._target(path, UnableToDeleteFile, root=True)
        return self._prune(target, keep, older_than)

    def _prune(
        self, target: str, keep: int | None, older_than: datetime | timedelta | None, *, below: bool = False
    ) -> int:
        """``prune`` of the normalised ``target``; ``below``: only paths under it, not a file at it.

        Raises:
            ValueError: as ``prune``.
        """
        _check_keep(keep, older_than)
        cutoff = _cutoff(older_than)
        return self._run(UnableToDeleteFile, target,
                         lambda: self._versioned.store().prune(target, keep, cutoff, below=below))


def _check_keep(keep: int | None, older_than: datetime | timedelta | None) -> None:
    if keep is None and older_than is None:
        raise ValueError("prune needs keep=N, older_than=..., or both")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 0):
        raise ValueError(f"keep must be a non-negative int, not {keep!r}")


def _cutoff(older_than: datetime | timedelta | None) -> datetime | None:
    if older_than is None:
        return None
    if isinstance(older_than, timedelta):
        return datetime.now(timezone.utc) - older_than
    if not isinstance(older_than, datetime) or older_than.tzinfo is None:
        raise ValueError("older_than must be a timedelta or a timezone-aware datetime")
    return older_than


def create(name: str, options: dict[str, Any], manager: Any) -> VersionedFilesystemAdapter:
    """``{"driver": "versioned", "disk": "<other disk>", "mode": "auto"}``.

    Raises:
        InvalidConfiguration: a bad or unknown option (named).
    """
    from ...config import reject_unknown_options

    reject_unknown_options(name, options, {"disk", "mode"})
    inner = manager._resolve_inner(name, options)
    own = {key: value for key, value in options.items() if key not in ("disk", "mode")}
    return VersionedFilesystemAdapter(
        inner, mode=options.get("mode", "auto"), name=name, manager=manager, config=own
    )

"""Verbs across disks with ``disk://path`` operands: ``copy``, ``move``, ``sync`` (mixed into StorageManager)."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, cast

from .errors import (
    ConfigurationError,
    IntegrityError,
    InvalidPath,
    PathTraversalDetected,
    ReadOnlyDisk,
    StorageError,
    UnableToCopyFile,
    UnableToMoveFile,
)
from .paths import normalize, split_operand

if TYPE_CHECKING:
    import concurrent.futures
    from collections.abc import Sequence

    from ._streams import ReadStream
    from .disk import FilesystemAdapter
    from .manager import StorageManager
    from .sync import SyncMode, SyncProgress, SyncReport

__all__ = ["CrossDiskVerbs"]



class _WatchedSource:
    """The source stream of a cross-disk copy, remembering a verification failure of its reads.

    The target disk reports a failing source read as its own write failure; the copy raises the
    source's ``IntegrityError`` instead, so corruption is always reported as such.
    """

    def __init__(self, stream: ReadStream) -> None:
        self._stream = stream
        self.failure: IntegrityError | None = None

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._stream.read(size)
        except IntegrityError as error:
            self.failure = error
            raise


class CrossDiskVerbs:
    """Copy, move and sync between a manager's disks; the manager provides ``disk()``."""

    if TYPE_CHECKING:

        def disk(self, name: str | None = None) -> FilesystemAdapter: ...

    def locate(self, operand: str) -> tuple[FilesystemAdapter, str]:
        """The disk and path ``operand`` names: ``disk://path``, else a path on the default disk.

        ``<disk>@<tenant>://path`` names the tenant's disk on ``<disk>`` (``Storage.tenant(tenant, disk)``),
        built on first use: the same disk, and quota ledger, as every other way of asking for it.

        Raises:
            InvalidPath: ``operand`` looks like ``name://path`` but ``name`` cannot be a disk's name
                (read as a path on the default disk, it would land where nobody looks).
            DiskNotConfigured: no disk of that name (for a tenant's disk: ``<disk>`` is not configured).
            PathTraversalDetected: the tenant's name is not a usable one.
            InvalidConfiguration: the ``tenants`` section is wrong.
        """
        disk, path = split_operand(operand)
        if disk is None:
            if "://" in operand:
                raise InvalidPath.at(
                    operand,
                    "this looks like 'disk://path' but names no disk: disk names are letters, digits, '_', '-' "
                    "and '.' (with '@tenant' for a tenant's disk)",
                )
            return self.disk(), operand
        return self.disk(disk), path

    def _tenant_disk(self, name: str) -> FilesystemAdapter:
        """The tenant's disk ``"<disk>@<tenant>"`` names, built on first use (``disk()`` asks here).

        Raises:
            DiskNotConfigured: ``<disk>`` is not configured.
            PathTraversalDetected: ``<tenant>`` is not a usable tenant name.
            InvalidConfiguration: the ``tenants`` section is wrong.
        """
        from .tenants import tenants_of

        base, _, tenant = name.partition("@")
        return tenants_of(cast("StorageManager", self)).disk(tenant, base)

    def copy(self, source: str, destination: str, *, progress: Callable[[int, int | None], None] | None = None,
             **options: Any) -> str:
        """Copy a file; ``disk://path`` operands copy across disks, streamed in bounded memory.

        Returns the destination path.

        Raises:
            FileNotFound: the source is missing.
            IntegrityError: the source failed verification (corrupt or cut short); the destination is unchanged.
            UnableToCopyFile: the copy failed; nothing is left at the destination.
        """
        source_disk, source_path = self.locate(source)
        target_disk, target_path = self.locate(destination)
        if source_disk is target_disk:
            return source_disk.copy(source_path, target_path, progress=progress, **options)
        for disk, path in ((source_disk, source_path), (target_disk, target_path)):
            try:
                normalize(path)  # a hostile operand fails before anything is opened
            except PathTraversalDetected as error:
                error.disk = disk.name
                raise
        with source_disk.read_stream(source_path, progress=progress) as stream:
            watched = _WatchedSource(stream)
            try:
                return target_disk.write_stream(target_path, cast("IO[bytes]", watched), **options)
            except StorageError as error:
                if watched.failure is not None:
                    raise watched.failure from None
                if isinstance(error, (UnableToCopyFile, ReadOnlyDisk, InvalidPath, ConfigurationError)):
                    raise
                raise UnableToCopyFile(
                    f"writing to disk '{target_disk.name}' failed: {error}",
                    source=source,
                    destination=destination,
                    disk=target_disk.name,
                ) from error

    def move(self, source: str, destination: str, *, progress: Callable[[int, int | None], None] | None = None,
             **options: Any) -> str:
        """Move a file; across disks it is a streamed copy, then a delete of the source.

        Raises:
            FileNotFound: the source is missing.
            IntegrityError: the source failed verification; nothing was moved.
            UnableToMoveFile: the move failed; the source is still there.
        """
        source_disk, source_path = self.locate(source)
        target_disk, target_path = self.locate(destination)
        if source_disk is target_disk and progress is None:
            return source_disk.move(source_path, target_path, **options)
        try:
            written = self.copy(source, destination, progress=progress, **options)
        except UnableToCopyFile as error:
            raise UnableToMoveFile(
                error.reason, source=source, destination=destination, disk=error.disk
            ) from error
        source_disk.delete(source_path)
        return written

    def sync(
        self,
        source: str,
        destination: str,
        *,
        mode: str | SyncMode = "copy",
        compare: str = "size_mtime",
        delete: bool = False,
        dry_run: bool = False,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        progress: Callable[[SyncProgress], None] | None = None,
        transfers: int = 8,
        executor: concurrent.futures.Executor | None = None,
    ) -> SyncReport:
        """Sync directory ``source`` to ``destination`` (``disk://path`` operands); see ``flystore.sync.sync``.

        Raises:
            DiskNotConfigured: an operand names no configured disk.
            InvalidConfiguration: an unknown mode or compare method.
            UnableToListContents: a side could not be listed, or deletions were refused.
        """
        from .sync import sync

        return sync(source, destination, manager=cast("StorageManager", self), mode=mode, compare=compare,
                    delete=delete, dry_run=dry_run, include=include, exclude=exclude, progress=progress,
                    transfers=transfers, executor=executor)

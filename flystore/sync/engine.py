"""``SyncEngine``, ``SyncPair`` and ``sync()``: the public way in.

``sync("local://docs", "s3://backup/docs", mode="mirror")`` is the short form;
``SyncEngine().sync_pair(SyncPair(...))`` is the seed's. Both build one
endpoint per side (a disk under a root, or a storage client) and hand them to
a ``Runner``.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..disk import FilesystemAdapter
from ..errors import InvalidConfiguration
from .clients import ClientEndpoint
from .compare import compare_method
from .disk_client import DiskStorageClient
from .endpoints import DiskEndpoint, Endpoint
from .listing import PathFilter
from .modes import SyncMode
from .protocols import FileEntriesManagerProtocol, StorageClientProtocol
from .report import SyncProgress, SyncReport
from .runner import Options, Runner

if TYPE_CHECKING:
    from ..manager import StorageManager

__all__ = ["SyncEngine", "SyncPair", "sync"]


EntriesManagerFactory = Callable[[Any, int], FileEntriesManagerProtocol]


@dataclass
class SyncPair:
    """Two places kept in sync.

    Attributes:
        source_root: a directory of the source client (a local directory when the client is None).
        destination_root: a directory of the destination client.
        source_client: a disk, a disk name, a ``StorageClientProtocol`` client, or None.
        destination_client: the same; None means the engine's ``client``, else a local directory.
        mode: a ``SyncMode`` or its value (``"copy"``, ``"mirror"``, ``"two_way"``,
            ``"destination_to_source"``).
        delete: one-way modes delete receiving files the sending side lacks.
        include: glob patterns a path must match (all paths when None).
        exclude: glob patterns no path may match.
        storage_id: handed to storage clients that take one.
    """

    source_root: str
    destination_root: str
    source_client: Any = None
    destination_client: Any = None
    mode: SyncMode | str = SyncMode.SOURCE_TO_DESTINATION
    delete: bool = False
    include: Sequence[str] | None = None
    exclude: Sequence[str] | None = None
    storage_id: int = 0

    def __post_init__(self) -> None:
        self.mode = SyncMode.of(self.mode)


class SyncEngine:
    """Syncs pairs; one engine can run many.

    Args:
        client: the client of pairs that name no destination client (the seed's remote client).
        entries_manager_factory: ``factory(client, storage_id)`` -> the client's
            ``FileEntriesManagerProtocol``; needed for clients that are not disks.
        manager: resolves disk names (default: the ``Storage`` facade's manager).
        compare: ``"size_mtime"`` or ``"checksum"``.
        transfers: files moved at once (threads of the default executor).
        executor: runs the transfers; default a thread pool of ``transfers`` threads.
        progress: called with a ``SyncProgress`` at every step, in the calling thread.

    Raises:
        InvalidConfiguration: an unknown compare method, or ``transfers`` below 1.
    """

    def __init__(
        self,
        client: Any = None,
        entries_manager_factory: EntriesManagerFactory | None = None,
        *,
        manager: StorageManager | None = None,
        compare: str = "size_mtime",
        transfers: int = 8,
        executor: concurrent.futures.Executor | None = None,
        progress: Callable[[SyncProgress], None] | None = None,
    ) -> None:
        if not isinstance(transfers, int) or isinstance(transfers, bool) or transfers < 1:
            raise InvalidConfiguration(f"transfers must be a whole number of at least 1, not {transfers!r}",
                                       option="transfers")
        self.client = client
        self.entries_manager_factory = entries_manager_factory
        self.compare = compare_method(compare)
        self.transfers = transfers
        self.executor = executor
        self.progress = progress
        self._manager = manager

    @property
    def manager(self) -> StorageManager:
        """The manager that resolves disk names."""
        if self._manager is None:
            from ..fs.hooks import manager

            self._manager = manager()
        return self._manager

    def endpoint(self, client: Any, root: str, storage_id: int = 0) -> Endpoint:
        """The endpoint for ``client`` under ``root``.

        Raises:
            InvalidConfiguration: ``client`` is none of the accepted kinds, or a storage
                client came without ``entries_manager_factory``.
            DiskNotConfigured: ``client`` names no configured disk.
            PathTraversalDetected: ``root`` escapes the disk.
        """
        if client is None:
            directory = os.path.abspath(root)
            local = self.manager.build({"driver": "local", "root": directory}, name="local-directory")
            return DiskEndpoint(local, "", label=f"file://{directory}")  # two directories, two two-way states
        if isinstance(client, str):
            return DiskEndpoint(self.manager.disk(client), root)
        if isinstance(client, FilesystemAdapter):
            return DiskEndpoint(client, root)
        if isinstance(client, DiskStorageClient):
            return DiskEndpoint(client.disk, root)  # the disk itself: native listings and copies
        if isinstance(client, StorageClientProtocol):
            if self.entries_manager_factory is None:
                raise InvalidConfiguration(
                    f"a {type(client).__name__} client needs SyncEngine(entries_manager_factory=...) "
                    "to list its files", option="entries_manager_factory")
            return ClientEndpoint(client, self.entries_manager_factory(client, storage_id), root,
                                  storage_id=storage_id)
        raise InvalidConfiguration(
            f"a sync client is a disk, a disk name or a StorageClientProtocol implementation, "
            f"not {type(client).__name__}", option="client")

    def sync_pair(
        self,
        pair: SyncPair,
        *,
        dry_run: bool = False,
        progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncReport:
        """Sync ``pair`` once and report what was done (or, with ``dry_run``, would be).

        Raises:
            UnableToListContents: a side could not be listed, or deletions were refused
                because the other side's root does not exist.
            InvalidConfiguration: the pair names a client of no accepted kind, or two
                overlapping roots on one disk.
        """
        destination_client = pair.destination_client if pair.destination_client is not None else self.client
        source = self.endpoint(pair.source_client, pair.source_root, pair.storage_id)
        destination = self.endpoint(destination_client, pair.destination_root, pair.storage_id)
        _refuse_overlap(source, destination)
        options = Options(
            mode=SyncMode.of(pair.mode),
            compare=self.compare,
            delete=pair.delete,
            dry_run=dry_run,
            paths=PathFilter(pair.include, pair.exclude),
            transfers=self.transfers,
            executor=self.executor,
            progress=progress if progress is not None else self.progress,
        )
        return Runner(source, destination, options).run()


def _refuse_overlap(source: Endpoint, destination: Endpoint) -> None:
    """Refuse roots where one holds the other (on one disk, or on local disks sharing a tree):
    each run would copy the copy again.

    Raises:
        InvalidConfiguration: the roots overlap.
    """
    if not (isinstance(source, DiskEndpoint) and isinstance(destination, DiskEndpoint)):
        return
    if source.disk is destination.disk or source.disk == destination.disk:
        first, second, separator = source.root, destination.root, "/"
    else:  # two local disks can still be one directory tree (``local`` and ``public``)
        here, there = source.disk.backend.local_path(source.root), destination.disk.backend.local_path(destination.root)
        if here is None or there is None:
            return
        first, second, separator = os.path.realpath(here), os.path.realpath(there), os.sep
    if not first or not second or first == second or second.startswith(first.rstrip(separator) + separator) \
            or first.startswith(second.rstrip(separator) + separator):
        raise InvalidConfiguration(
            f"the roots {source.label} and {destination.label} overlap on one disk; sync between separate "
            "directories", option="destination", disk=source.disk.name)


def _split(operand: str, manager: StorageManager) -> tuple[FilesystemAdapter, str]:
    return manager.locate(operand)


def sync(
    source: str,
    destination: str,
    *,
    manager: StorageManager | None = None,
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
    """Sync directory ``source`` to ``destination``, both ``disk://path`` (a bare path: the default disk).

    Args:
        source: the sending side (two-way: the first side).
        destination: the receiving side; a two-way pair keeps its state here.
        manager: resolves the disk names (default: the ``Storage`` facade's).
        mode: ``"copy"``, ``"mirror"``, ``"two_way"`` or ``"destination_to_source"``.
        compare: ``"size_mtime"`` or ``"checksum"`` (native hashes where the backend has them).
        delete: one-way modes also delete receiving files the sending side lacks.
        dry_run: plan and report, change nothing.
        include: glob patterns a path must match to take part.
        exclude: glob patterns that keep a path out (neither copied nor deleted).
        progress: called with a ``SyncProgress`` at every step.
        transfers: files moved at once.
        executor: runs the transfers (any ``concurrent.futures.Executor``).

    Raises:
        DiskNotConfigured: an operand names no configured disk.
        InvalidConfiguration: an unknown mode or compare method.
        PathTraversalDetected: an operand's path escapes its disk.
        UnableToListContents: a side could not be listed, or deletions were refused
            because the other side's root does not exist.
    """
    engine = SyncEngine(manager=manager, compare=compare, transfers=transfers, executor=executor,
                        progress=progress)
    source_disk, source_root = _split(source, engine.manager)
    destination_disk, destination_root = _split(destination, engine.manager)
    pair = SyncPair(source_root, destination_root, source_disk, destination_disk, mode, delete, include, exclude)
    return engine.sync_pair(pair, dry_run=dry_run)

"""``LocalFilesystemAdapter``, the local disk, and ``create``, which the registry calls."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from ...config import reject_unknown_options
from ...disk import DiskOwner, FilesystemAdapter
from ...errors import InvalidConfiguration
from .backend import LocalBackend

__all__ = ["LOCAL_OPTIONS", "LocalFilesystemAdapter", "create"]

#: The local driver's own options, beside the common disk options.
LOCAL_OPTIONS = frozenset({"root", "permissions", "fsync", "directory_visibility"})
_VISIBILITIES = ("public", "private")


class LocalFilesystemAdapter(FilesystemAdapter):
    """A disk on the local filesystem, jailed under ``root``.

    Args:
        root: the directory holding the disk's files (created on first write).
        name: the disk's name.
        url: base of public URLs (``url(path)``).
        visibility: default visibility of new files.
        permissions: ``{"file": {"public": 0o644, "private": 0o600}, "dir": {...}}`` overrides.
        fsync: flush every write to stable storage before renaming it into place.
        directory_visibility: visibility of directories flystore creates.
        manager: the manager this disk belongs to.
        **options: other common disk options (``signing_key``, ``serve_prefix``, ...).

    Raises:
        InvalidConfiguration: ``visibility`` is not ``public`` or ``private``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        name: str = "local",
        url: str | None = None,
        visibility: str | None = None,
        permissions: Mapping[str, Mapping[str, int]] | None = None,
        fsync: bool = False,
        directory_visibility: str | None = None,
        manager: DiskOwner | None = None,
        **options: Any,
    ) -> None:
        if visibility is not None and visibility not in _VISIBILITIES:
            raise InvalidConfiguration("must be 'public' or 'private'", option="visibility", disk=name)
        backend = LocalBackend(
            root,
            permissions=permissions,
            default_visibility=visibility or "public",
            directory_visibility=directory_visibility,
            fsync=fsync,
        )
        config = {"root": os.fspath(root), "url": url, "visibility": visibility, **options}
        super().__init__(backend, name=name, config=config, manager=manager)
        self._root = backend.root

    @property
    def root(self) -> str:
        """The absolute, resolved root directory."""
        return self._root

    def _fire(self, event: str, path: str) -> None:
        watcher = self.__dict__.get("_watcher")  # watch=True: its sighting of this change is not news
        if watcher is not None:
            watcher.note_own(path)
        super()._fire(event, path)


def create(name: str, options: dict[str, Any], manager: Any) -> LocalFilesystemAdapter:
    """Build a local disk from its options (``root`` required).

    Raises:
        InvalidConfiguration: ``root`` is missing or not a path, or an option is unknown.
    """
    options = dict(options)
    watch = _watch_option(name, options.pop("watch", False))  # changes by other processes fire events too
    reject_unknown_options(name, options, LOCAL_OPTIONS)
    root = options.get("root")
    if not root or not isinstance(root, (str, os.PathLike)):
        raise InvalidConfiguration("a local disk needs 'root', the directory it keeps files in",
                                   option="root", disk=name)
    extra = {key: value for key, value in options.items() if key in LOCAL_OPTIONS and key != "root"}
    common = {key: value for key, value in options.items() if key not in LOCAL_OPTIONS}
    disk = LocalFilesystemAdapter(root, name=name, manager=manager, **extra, **common)
    if watch:
        from ...watch import watch_disk

        watch_disk(disk, disk.root, **({} if watch is True else {"debounce": watch}))
    return disk


def _watch_option(name: str, value: Any) -> bool | float:
    """``watch``: False (or None, what an unset ``env()`` gives), True (the default debounce) or a debounce
    in seconds (a positive number).

    Raises:
        InvalidConfiguration: anything else (``"yes"``, a negative number, ...).
    """
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value > 0 and math.isfinite(value):
        return float(value)
    raise InvalidConfiguration(
        f"'watch' is True, False or a debounce delay in seconds (a positive number), not {value!r}",
        option="watch", disk=name,
    )

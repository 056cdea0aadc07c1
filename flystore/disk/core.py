"""What every part of the disk stands on: its state, its events and the helpers its verbs share.

``DiskCore`` holds the backend, the name, the options and the listeners; the
verb mixins (writing, managing, reading, listing, URLs) subclass it, and
``flystore.disk.FilesystemAdapter`` puts them together.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, Protocol

from ..attributes import Entry, WriteOptions
from ..backend import Backend
from ..errors import (
    FileNotFound,
    InvalidConfiguration,
    StorageError,
    UnableToWriteFile,
    UnsupportedOperation,
)
from ..events import StorageEvent
from ..events import hub as _event_hub
from ..metadata import encode_metadata
from ..paths import normalize
from ..signing import decode_key
from ._verbs import _A_DIRECTORY, _NO_FILE

if TYPE_CHECKING:
    from ..fs.filesystem import DiskFileSystem

EVENTS = ("file_updated", "file_deleted")
VISIBILITIES = ("public", "private")

Contents = bytes | bytearray | memoryview | str | IO[bytes] | Iterable[bytes]
Expiry = int | float | timedelta | datetime
Paths = list[str]
Entries = list[Entry]


class DiskOwner(Protocol):
    """What a disk needs from the manager that built it: the app's signing key and URL.

    The manager hands itself over as this; the disk never imports the manager.
    """

    @property
    def app_key(self) -> bytes | None: ...

    @property
    def app_url(self) -> str | None: ...


class DiskCore:
    """The state of a disk and the helpers its verbs share (see ``FilesystemAdapter`` for the arguments)."""

    def __init__(
        self,
        backend: Backend,
        *,
        name: str = "disk",
        config: Mapping[str, Any] | None = None,
        manager: DiskOwner | None = None,
    ) -> None:
        self._backend = backend
        self.name = name
        self.config: dict[str, Any] = dict(config or {})
        self.manager = manager
        visibility = self.config.get("visibility")
        if visibility is not None and visibility not in VISIBILITIES:
            raise InvalidConfiguration("must be 'public' or 'private'", option="visibility", disk=name)
        self.visibility: str | None = visibility
        configured_key = self.config.get("signing_key")
        # Checked now so that a short or malformed key fails when the disk is built, not at the first URL.
        self._signing_key = decode_key(configured_key, disk=name) if configured_key else None
        self._default_options = WriteOptions(visibility=visibility)
        self._listeners: dict[str, list[Callable[[str], Any]]] = {}
        self._fs: DiskFileSystem | None = None

    @property
    def backend(self) -> Backend:
        """The primitive layer (drivers and decorators wrap it)."""
        return self._backend

    @property
    def serve_prefix(self) -> str:
        """Where flystore's HTTP routes are mounted for this disk's signed URLs."""
        return str(self.config.get("serve_prefix") or "/storage")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} backend={self._backend.name}>"

    # -- events ------------------------------------------------------------------

    def on(self, event: str, handler: Callable[[str], Any]) -> Callable[[str], Any]:
        """Call ``handler(path)`` after every matching event; returns the handler.

        Raises:
            ValueError: ``event`` is not ``file_updated`` or ``file_deleted``.
        """
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; events are {', '.join(EVENTS)}")
        _event_hub.remember_loop(handler)
        self._listeners.setdefault(event, []).append(handler)
        return handler

    def off(self, event: str, handler: Callable[[str], Any]) -> None:
        """Stop calling ``handler`` for ``event`` (unknown handlers are ignored)."""
        handlers = self._listeners.get(event, [])
        if handler in handlers:
            handlers.remove(handler)

    def _fire(self, event: str, path: str) -> None:
        # Every change goes through the process-wide hub (flystore.events): this disk's handlers,
        # process-wide subscribers and events() streams; async handlers are scheduled, not awaited.
        handlers = self._listeners.get(event)
        if handlers or _event_hub.busy:
            _event_hub.publish(StorageEvent(event, path, self.name), tuple(handlers or ()))

    def _claim(self, error: StorageError) -> None:
        """Name this disk on an error raised below it (hot verbs inline this instead of wrapping)."""
        if error.disk is None:
            error.disk = self.name

    # -- helpers -------------------------------------------------------------------

    def _explain_missing(self, error: FileNotFound) -> None:
        """Give a read of a missing path the same reason on every driver (a directory, or nothing)."""
        if error.reason == _A_DIRECTORY or not error.path:
            return
        try:
            is_directory = self._backend.directory_exists(error.path)
        except (StorageError, OSError):
            return  # the original reason stands
        error.reason = _A_DIRECTORY if is_directory else _NO_FILE
        error.args = (error.reason,)

    def _options(
        self,
        visibility: str | None,
        mimetype: str | None,
        metadata: Mapping[str, Any] | None,
        extra: Mapping[str, Any],
        path: str,
        error: type[StorageError] = UnableToWriteFile,
    ) -> WriteOptions:
        if visibility is None and mimetype is None and not metadata and not extra:
            return self._default_options
        if visibility is not None and visibility not in VISIBILITIES:
            raise error.at(path, f"visibility must be 'public' or 'private', not {visibility!r}")
        if metadata and "metadata" in self._backend.unsupported:
            raise UnsupportedOperation.at(path, f"the {self._backend.name} backend cannot store custom metadata")
        return WriteOptions(
            visibility=visibility if visibility is not None else self.visibility,
            mimetype=mimetype,
            metadata=encode_metadata(metadata or {}, path, limit=self._backend.metadata_limit),
            extra=dict(extra),
        )

    @staticmethod
    def _file_path(path: str | os.PathLike[str], error: type[StorageError]) -> str:
        normalized = normalize(path)
        if not normalized:
            raise error.at(normalized, "the disk root is a directory, not a file")
        return normalized

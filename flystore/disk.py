"""The disk: the rich API users call (``FilesystemAdapter``), over a ``Backend``.

The disk normalises every path once, merges the disk's defaults into each
write, holds every fallback (checksums by streaming, URLs from the ``url``
option, HMAC-signed temporary URLs, mime types by extension) and fires events.
Errors raised below it get the disk's name filled in on the way out.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json as json_module
import mimetypes
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, BinaryIO, NoReturn, Protocol, TypeVar, cast
from urllib.parse import quote

from ._streams import (
    DEFAULT_CHUNK_SIZE,
    IterableReader,
    PositionedReader,
    ProgressCallback,
    ProgressReader,
    ReadStream,
    as_readable,
    stream_size,
)
from ._writers import CommitOnCloseWriter
from .attributes import Entry, FileAttributes, WriteOptions
from .backend import Backend, Readable
from .config import COMMON_OPTIONS
from .errors import (
    FileAlreadyExists,
    FileNotFound,
    InvalidConfiguration,
    InvalidMetadata,
    OperationFailed,
    ReadOnlyDisk,
    StorageError,
    UnableToCheckExistence,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToGeneratePublicUrl,
    UnableToGenerateTemporaryUrl,
    UnableToListContents,
    UnableToMoveFile,
    UnableToProvideChecksum,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToSetVisibility,
    UnableToWriteFile,
    UnsupportedOperation,
)
from .events import StorageEvent
from .events import hub as _event_hub
from .metadata import decode_metadata, encode_metadata
from .paths import basename, normalize
from .signing import decode_key, expiry_to_datetime, sign_url

if TYPE_CHECKING:
    from .aio.disk import AsyncDisk
    from .batch import BatchResult
    from .fs.filesystem import DiskFileSystem

__all__ = ["Disk", "FilesystemAdapter", "EVENTS", "COMMON_OPTIONS"]

EVENTS = ("file_updated", "file_deleted")
VISIBILITIES = ("public", "private")

_F = TypeVar("_F", bound=Callable[..., Any])
Contents = bytes | bytearray | memoryview | str | IO[bytes] | Iterable[bytes]
Expiry = int | float | timedelta | datetime
Paths = list[str]
Entries = list[Entry]


# Errors that say something precise about the file or the disk; a verb passes them on as they are.
_PRECISE_ERRORS: tuple[type[StorageError], ...] = (
    FileNotFound,
    FileAlreadyExists,
    ReadOnlyDisk,
    UnsupportedOperation,
    InvalidMetadata,
)


def _as_verb_error(
    error: BaseException, verb: type[StorageError] | None, disk: str, path: object = None
) -> BaseException:
    """``error`` as the verb's own class, with the disk named.

    A step inside a verb (an existence check inside ``delete``, a stat inside
    ``append``) fails with its own class; users catch the verb's class, so such
    errors become the verb's, keeping the reason, the path and the cause. Raw
    ``OSError``s that a backend let through become the verb's class too.
    """
    if isinstance(error, StorageError):
        if error.disk is None:
            error.disk = disk
        if error.path is None and isinstance(path, str):
            error.path = _user_path(path)
        if (
            verb is None
            or isinstance(error, (verb, *_PRECISE_ERRORS))
            or not isinstance(error, OperationFailed)
        ):
            return error
        converted = verb(f"while trying to {error.operation}: {error.reason}", path=error.path, disk=error.disk)
        converted.__cause__ = error.__cause__ if error.__cause__ is not None else error
        return converted
    if isinstance(error, OSError) and verb is not None:
        # The OSError's own filename is physical; name the user's path instead.
        user_path = _user_path(path) if isinstance(path, str) else None
        raw = verb(f"{error.strerror or type(error).__name__}", disk=disk, path=user_path)
        raw.__cause__ = error
        return raw
    return error


def _raise_as(error: BaseException, verb: type[StorageError] | None, disk: str, path: object = None) -> NoReturn:
    """Raise ``error`` as the verb's error (see ``_as_verb_error``), keeping its cause."""
    converted = _as_verb_error(error, verb, disk, path)
    if converted is error:
        raise error
    raise converted from converted.__cause__


def _user_path(path: str) -> str:
    """``path`` normalised for an error message, or as given when it cannot be."""
    try:
        return normalize(path)
    except StorageError:
        return path


def _verb(error_class: type[StorageError] | None) -> Callable[[_F], _F]:
    """Name the disk on every error leaving the method and raise it as ``error_class``."""

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def wrapper(self: FilesystemAdapter, *args: Any, **kwargs: Any) -> Any:
            try:
                return function(self, *args, **kwargs)
            except (StorageError, OSError) as error:
                if isinstance(error, FileNotFound) and error_class in _READING_ERRORS:
                    self._explain_missing(error)
                _raise_as(error, error_class, self.name, args[0] if args else None)

        return cast(_F, wrapper)

    return decorate


# Verbs that read a file: their FileNotFound says whether a directory is in the way.
_READING_ERRORS: tuple[type[StorageError], ...] = (
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToProvideChecksum,
    UnableToCopyFile,
    UnableToMoveFile,
)
_A_DIRECTORY = "this path is a directory, not a file"
_NO_FILE = "no file exists at this path"

#: Names the disk on errors without changing their class (kept for drivers' adapters).
_names_the_disk = _verb(None)


class DiskOwner(Protocol):
    """What a disk needs from the manager that built it: the app's signing key and URL.

    The manager hands itself over as this; the disk never imports the manager.
    """

    @property
    def app_key(self) -> bytes | None: ...

    @property
    def app_url(self) -> str | None: ...


def _guess_mimetype(path: str) -> str:
    guessed, _ = mimetypes.guess_type(basename(path), strict=False)
    return guessed or "application/octet-stream"


class FilesystemAdapter:
    """A disk: every storage verb, for one configured place.

    Args:
        backend: the primitive layer doing the I/O.
        name: the disk's configured name (used in errors, events and signed URLs).
        config: the disk's options (``url``, ``visibility``, ``signing_key``,
            ``serve_prefix``, driver options).
        manager: the manager the disk belongs to (for the app key).
    """

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

    # -- writing -------------------------------------------------------------------

    def put(
        self,
        path: str,
        contents: Contents,
        *,
        visibility: str | None = None,
        mimetype: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> str:
        """Write ``contents`` to ``path`` (creating parents) and return the path.

        ``contents`` is bytes, a str (UTF-8), a binary file object or an iterable
        of bytes; streams are written chunk by chunk, never loaded whole.

        Raises:
            PathTraversalDetected: the path escapes the root or holds control characters.
            UnableToWriteFile: nothing was written (the old file, if any, is intact).
        """
        try:
            target = self._file_path(path, UnableToWriteFile)
            write_options = self._options(visibility, mimetype, metadata, options, target)
            if isinstance(contents, str):
                contents = contents.encode()
            if isinstance(contents, (bytes, bytearray, memoryview)):
                data = bytes(contents)
                self._backend.write(target, data, write_options)
                if progress is not None:
                    progress(len(data), len(data))
            else:
                stream = as_readable(contents)
                if stream is None:
                    raise UnableToWriteFile.at(
                        target,
                        "contents must be bytes, str, a binary file object or an iterable of bytes, "
                        f"not {type(contents).__name__}",
                    )
                if progress is not None:
                    stream = ProgressReader(stream, progress, stream_size(contents))
                self._backend.write_stream(target, _checked_binary(stream, target), write_options)
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToWriteFile, self.name, path)
        self._fire("file_updated", target)
        return target

    def write_stream(
        self,
        path: str,
        stream: IO[bytes] | Iterable[bytes],
        *,
        visibility: str | None = None,
        mimetype: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> str:
        """Write a file object or an iterable of bytes to ``path`` in bounded memory.

        Raises:
            UnableToWriteFile: nothing was written.
        """
        return self.put(
            path, stream, visibility=visibility, mimetype=mimetype, metadata=metadata, progress=progress, **options
        )

    @_verb(UnableToWriteFile)
    def put_file(
        self,
        directory: str,
        file: str | os.PathLike[str] | IO[bytes],
        *,
        name: str | None = None,
        visibility: str | None = None,
        **options: Any,
    ) -> str:
        """Store a local file or file object under ``directory``; returns its path.

        Without ``name`` a unique 40-character name is made, keeping the extension.

        Raises:
            FileNotFound: ``file`` is a local path that does not exist.
            UnableToWriteFile: nothing was written.
        """
        source_name = os.fspath(file) if isinstance(file, (str, os.PathLike)) else getattr(file, "name", "")
        if name is None:
            extension = os.path.splitext(str(source_name or ""))[1].lower()
            name = secrets.token_hex(20) + extension
        target = normalize(f"{normalize(directory)}/{name}")
        if isinstance(file, (str, os.PathLike)):
            try:
                handle = open(file, "rb")  # noqa: SIM115  # closed below
            except FileNotFoundError:
                raise FileNotFound.at(os.fspath(file), "the local file to store does not exist") from None
            except OSError as cause:
                raise UnableToReadFile.at(os.fspath(file), str(cause), cause=cause) from cause
            with handle:
                return self.put(target, handle, visibility=visibility, **options)
        return self.put(target, file, visibility=visibility, **options)

    def put_file_as(
        self,
        directory: str,
        file: str | os.PathLike[str] | IO[bytes],
        name: str,
        *,
        visibility: str | None = None,
        **options: Any,
    ) -> str:
        """``put_file`` under the given ``name``.

        Raises:
            FileNotFound: ``file`` is a local path that does not exist.
            UnableToWriteFile: nothing was written.
        """
        return self.put_file(directory, file, name=name, visibility=visibility, **options)

    @_verb(UnableToWriteFile)
    def put_json(self, path: str, value: Any, *, visibility: str | None = None, **dumps: Any) -> str:
        """Write ``value`` as JSON (Content-Type ``application/json``).

        Raises:
            UnableToWriteFile: the value is not JSON-serialisable, or the write failed.
        """
        try:
            text = json_module.dumps(value, **dumps)
        except (TypeError, ValueError) as cause:
            raise UnableToWriteFile.at(normalize(path), f"the value is not JSON: {cause}", cause=cause) from cause
        return self.put(path, text, visibility=visibility, mimetype="application/json")

    @_verb(None)
    def open(self, path: str, mode: str = "rb", **options: Any) -> BinaryIO:
        """A file object for ``path``: ``rb`` reads, ``wb`` replaces, ``ab`` appends.

        Writers publish atomically when closed (use ``with``); an exception inside
        the ``with`` block discards what was written.

        Raises:
            FileNotFound: ``rb`` on a missing file.
            ValueError: an unsupported mode.
            UnableToWriteFile: a writer could not be opened.
        """
        if mode in ("r", "rb"):
            try:
                stream = self._backend.open_read(self._file_path(path, UnableToReadFile))
                if isinstance(stream, PositionedReader):
                    stream.disk = self.name  # an IntegrityError found mid-read names this disk
                return stream
            except (StorageError, OSError) as error:
                if isinstance(error, FileNotFound):
                    self._explain_missing(error)
                _raise_as(error, UnableToReadFile, self.name, path)
        if mode not in ("w", "wb", "a", "ab"):
            raise ValueError(f"mode must be 'rb', 'wb' or 'ab', not {mode!r}")
        try:
            return self._open_writer(path, mode, options)
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToWriteFile, self.name, path)

    def _put_new(self, path: str, stream: Readable) -> str:
        """Create ``path`` from ``stream`` only if nothing is there (``disk.fs``'s exclusive create).

        Atomic where the backend can make the check and the write one step (``Backend.write_new``).

        Raises:
            FileAlreadyExists: a file or directory is at ``path``; nothing was written.
            UnableToWriteFile: nothing was written.
        """
        target = self._file_path(path, UnableToWriteFile)
        try:
            self._backend.write_new(target, stream, self._default_options)
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToWriteFile, self.name, path)
        self._fire("file_updated", target)
        return target

    def _open_writer(self, path: str, mode: str, options: dict[str, Any]) -> BinaryIO:
        target = self._file_path(path, UnableToWriteFile)
        write_options = self._options(
            options.pop("visibility", None), options.pop("mimetype", None), options.pop("metadata", None),
            options, target,
        )
        native = self._backend.open_write(target, write_options) if mode.startswith("w") else None
        existing = None
        if mode.startswith("a") and self._backend.file_exists(target):
            existing = self._backend.open_read(target)

        def commit(stream: Readable) -> None:
            try:
                self._backend.write_stream(target, stream, write_options)
            except (StorageError, OSError) as error:
                _raise_as(error, UnableToWriteFile, self.name, target)

        return cast(
            BinaryIO,
            CommitOnCloseWriter(
                native=native,
                commit=commit,
                existing=existing,
                on_published=lambda: self._fire("file_updated", target),
                on_error=lambda error: _as_verb_error(error, UnableToWriteFile, self.name, target),
            ),
        )

    @_verb(UnableToWriteFile)
    def append(self, path: str, data: bytes | str, separator: bytes | str = "\n") -> str:
        """Add ``data`` at the end; ``separator`` goes between only when the file has content.

        The file is rewritten atomically from a stream of old + new bytes.

        Raises:
            UnableToWriteFile: nothing changed.
        """
        return self._extend(path, data, separator, at_end=True)

    @_verb(UnableToWriteFile)
    def prepend(self, path: str, data: bytes | str, separator: bytes | str = "\n") -> str:
        """Add ``data`` at the start; ``separator`` goes between only when the file has content.

        Raises:
            UnableToWriteFile: nothing changed.
        """
        return self._extend(path, data, separator, at_end=False)

    def _extend(self, path: str, data: bytes | str, separator: bytes | str, *, at_end: bool) -> str:
        target = self._file_path(path, UnableToWriteFile)
        added = data.encode() if isinstance(data, str) else bytes(data)
        joint = separator.encode() if isinstance(separator, str) else bytes(separator)
        backend = self._backend
        if not backend.file_exists(target):
            return self.put(target, added)
        with backend.open_read(target) as old:
            first = old.read(DEFAULT_CHUNK_SIZE)
            if not first:
                return self.put(target, added)

            def pieces() -> Iterator[bytes]:
                if not at_end:
                    yield added
                    yield joint
                yield first
                while chunk := old.read(DEFAULT_CHUNK_SIZE):
                    yield chunk
                if at_end:
                    yield joint
                    yield added

            # Keep the file's visibility: rewriting must not widen or narrow access.
            kept = backend.stat(target)
            options = WriteOptions(
                visibility=kept.visibility or self.visibility, mimetype=kept.mime_type, metadata=kept.metadata
            )
            backend.write_stream(target, IterableReader(pieces()), options)
        self._fire("file_updated", target)
        return target

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

    # -- reading -------------------------------------------------------------------

    def get(self, path: str, *, progress: ProgressCallback | None = None) -> bytes:
        """The file's bytes.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToReadFile: the file could not be read.
        """
        if progress is not None:
            with self.read_stream(path, progress=progress) as stream:
                return b"".join(stream)
        try:
            return self._backend.read(self._file_path(path, FileNotFound))
        except (StorageError, OSError) as error:
            if isinstance(error, FileNotFound):
                self._explain_missing(error)
            _raise_as(error, UnableToReadFile, self.name, path)

    def get_text(self, path: str, encoding: str = "utf-8") -> str:
        """The file decoded as text.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToReadFile: the file could not be read or decoded.
        """
        data = self.get(path)
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as cause:
            raise UnableToReadFile.at(normalize(path), f"not valid {encoding}: {cause}", disk=self.name) from cause

    def json(self, path: str) -> Any:
        """The file parsed as JSON.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToReadFile: the file is not valid JSON.
        """
        data = self.get(path)
        try:
            return json_module.loads(data)
        except ValueError as cause:
            raise UnableToReadFile.at(normalize(path), f"not valid JSON: {cause}", disk=self.name) from cause

    @_verb(UnableToReadFile)
    def read_stream(
        self,
        path: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        *,
        progress: ProgressCallback | None = None,
    ) -> ReadStream:
        """A context manager over the file: iterate it for chunks, or ``read(n)``.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToReadFile: the file could not be opened.
        """
        target = self._file_path(path, FileNotFound)
        total = self._backend.stat(target).size if progress is not None else None
        handle = self._backend.open_read(target)

        def translate(error: Exception) -> BaseException:
            return UnableToReadFile.at(target, str(error), disk=self.name, cause=error)

        return ReadStream(handle, chunk_size, on_error=translate, progress=progress, total=total, disk=self.name)

    def exists(self, path: str) -> bool:
        """True for a file or a directory at ``path`` (the root always exists)."""
        try:
            target = normalize(path)
            if not target:
                return True
            return self._backend.file_exists(target) or self._backend.directory_exists(target)
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToCheckExistence, self.name, path)

    def missing(self, path: str) -> bool:
        """``not exists(path)``."""
        return not self.exists(path)

    def file_exists(self, path: str) -> bool:
        """True only for a file."""
        try:
            target = normalize(path)
            return bool(target) and self._backend.file_exists(target)
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToCheckExistence, self.name, path)

    def file_missing(self, path: str) -> bool:
        """``not file_exists(path)``."""
        return not self.file_exists(path)

    def directory_exists(self, path: str) -> bool:
        """True only for a directory (implied by files under it, or made)."""
        try:
            target = normalize(path)
            return not target or self._backend.directory_exists(target)
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToCheckExistence, self.name, path)

    def directory_missing(self, path: str) -> bool:
        """``not directory_exists(path)``."""
        return not self.directory_exists(path)

    @_verb(UnableToRetrieveMetadata)
    def stat(self, path: str) -> FileAttributes:
        """Everything the backend knows about the file, in one call.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        attributes = self._backend.stat(self._file_path(path, FileNotFound))
        if attributes.metadata:
            attributes = dataclasses.replace(attributes, metadata=decode_metadata(attributes.metadata))
        return attributes

    def _quick_stat(self, path: str) -> FileAttributes:
        """Size and time of the file at ``path`` in the backend's cheapest call (``disk.fs.info``).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            PathTraversalDetected: the path climbs above the root.
            UnableToRetrieveMetadata: the backend failed.
        """
        try:
            return self._backend.quick_stat(self._file_path(path, FileNotFound))
        except (StorageError, OSError) as error:
            _raise_as(error, UnableToRetrieveMetadata, self.name, path)

    def size(self, path: str) -> int:
        """Size in bytes.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        size = self.stat(path).size
        if size is None:
            raise UnableToRetrieveMetadata.at(normalize(path), "the backend did not report a size", disk=self.name)
        return size

    def last_modified(self, path: str) -> datetime:
        """When the file was last written, as a timezone-aware UTC datetime.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        modified = self.stat(path).last_modified
        if modified is None:
            raise UnableToRetrieveMetadata.at(normalize(path), "the backend did not report a time", disk=self.name)
        return modified

    def mime_type(self, path: str) -> str:
        """The stored Content-Type, else a guess from the extension.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        attributes = self.stat(path)
        return attributes.mime_type or _guess_mimetype(attributes.path)

    @_verb(UnableToProvideChecksum)
    def checksum(self, path: str, algorithm: str = "md5") -> str:
        """Hex digest of the file's bytes (streamed when the backend has no native one).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnableToProvideChecksum: an unknown algorithm.
        """
        target = self._file_path(path, FileNotFound)
        try:
            digest = hashlib.new(algorithm)
        except (ValueError, TypeError) as cause:
            raise UnableToProvideChecksum.at(target, f"unknown algorithm {algorithm!r}", cause=cause) from cause
        native = self._backend.checksum(target, algorithm)
        if native is not None:
            return native
        with self._backend.open_read(target) as handle:
            while chunk := handle.read(DEFAULT_CHUNK_SIZE):
                digest.update(chunk)
        return digest.hexdigest()

    @_verb(UnableToRetrieveMetadata)
    def get_visibility(self, path: str) -> str:
        """``"public"`` or ``"private"``.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            UnsupportedOperation: the backend has no notion of visibility.
        """
        attributes = self.stat(path)
        if attributes.visibility is None:
            raise UnsupportedOperation.at(attributes.path, f"the {self._backend.name} backend has no visibility")
        return attributes.visibility

    def metadata(self, path: str) -> dict[str, Any]:
        """``path, size, last_modified, mime_type, visibility, metadata`` (+ backend extras).

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
        """
        attributes = self.stat(path)
        return {
            **dict(attributes.extra),
            "path": attributes.path,
            "size": attributes.size,
            "last_modified": attributes.last_modified,
            "mime_type": attributes.mime_type or _guess_mimetype(attributes.path),
            "visibility": attributes.visibility,
            "metadata": dict(attributes.metadata),
        }

    # -- listing -------------------------------------------------------------------

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

    # -- URLs and local paths ------------------------------------------------------

    @_verb(UnableToGeneratePublicUrl)
    def url(self, path: str) -> str:
        """The public URL: the disk's ``url`` option joined with the path, else the backend's.

        Raises:
            UnableToGeneratePublicUrl: no ``url`` option and no public URL on the backend.
        """
        target = normalize(path)
        base = self.config.get("url")
        if base:
            return f"{str(base).rstrip('/')}/{quote(target)}"
        native = self._backend.public_url(target)
        if native is None:
            raise UnableToGeneratePublicUrl.at(
                target, "the disk has no 'url' option and its backend has no public URLs"
            )
        return native

    def signing_key(self) -> bytes:
        """The key signing this disk's temporary URLs: ``signing_key``, else the app key.

        Raises:
            UnableToGenerateTemporaryUrl: neither is set.
        """
        if self._signing_key is not None:
            return self._signing_key
        app_key = self.manager.app_key if self.manager is not None else None
        if not app_key:
            raise UnableToGenerateTemporaryUrl(
                "no signing key: set the disk's 'signing_key' option or the APP_KEY environment variable",
                disk=self.name,
            )
        return app_key

    @_verb(UnableToGenerateTemporaryUrl)
    def temporary_url(self, path: str, expires: Expiry = 3600, **options: Any) -> str:
        """A URL that works until ``expires`` (seconds, ``timedelta`` or ``datetime``).

        Presigned by the backend where it can (S3, GCS, Azure); otherwise an
        HMAC-signed link to flystore's HTTP route, checked by ``verify_temporary_url``.

        Raises:
            UnableToGenerateTemporaryUrl: a bad expiry, no signing key, or the backend failed.
        """
        target = self._file_path(path, UnableToGenerateTemporaryUrl)
        expires_at = expiry_to_datetime(expires)
        native = self._backend.temporary_url(target, expires_at, options)
        if native is not None:
            return native
        return self._signed(target, expires_at, "GET")

    @_verb(UnableToGenerateTemporaryUrl)
    def temporary_upload_url(self, path: str, expires: Expiry = 3600, **options: Any) -> tuple[str, dict[str, str]]:
        """``(url, headers)`` a client can PUT the file to until ``expires``.

        Raises:
            UnableToGenerateTemporaryUrl: a bad expiry, no signing key, or the backend failed.
        """
        target = self._file_path(path, UnableToGenerateTemporaryUrl)
        expires_at = expiry_to_datetime(expires)
        native = self._backend.temporary_upload_url(target, expires_at, options)
        if native is not None:
            return native
        headers = {"Content-Type": options["content_type"]} if options.get("content_type") else {}
        return self._signed(target, expires_at, "PUT"), headers

    def _signed(self, target: str, expires_at: datetime, method: str) -> str:
        base_url = ""
        if self.manager is not None:
            base_url = self.manager.app_url or ""
        return sign_url(
            disk=self.name,
            path=target,
            expires_at=expires_at,
            key=self.signing_key(),
            serve_prefix=self.serve_prefix,
            method=method,
            base_url=base_url,
        )

    @_verb(None)
    def path(self, path: str) -> str:
        """The absolute local path of ``path`` (local disks only).

        Raises:
            UnsupportedOperation: the disk is not on the local filesystem.
        """
        target = normalize(path)
        local = self._backend.local_path(target)
        if local is None:
            raise UnsupportedOperation.at(target, f"path() needs a local disk; this one is {self._backend.name}")
        return local

    def download_response(
        self, path: str, name: str | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        """A Starlette/FastAPI streaming response for the file, with HTTP Range support.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            DriverNotInstalled: Starlette is missing (``pip install "flystore[fastapi]"``).
        """
        from .responses import disk_file_response

        return disk_file_response(self, path, name=name, headers=headers)

    async def put_upload(self, file: Any, folder: str, name: str | None = None, **options: Any) -> str:
        """Validate an upload (flystore.uploads rules; ``options`` as ``UploadConfig``) and store it.

        Raises:
            UploadRejected: a rule was broken (``reason`` says which); nothing was stored.
            UnableToWriteFile: the disk failed; nothing was stored.
        """
        from .uploads import put_upload

        return await put_upload(self, file, folder, name, **options)

    @property
    def fs(self) -> DiskFileSystem:
        """This disk as an fsspec filesystem (for pandas, pyarrow, dask ...), decorators included."""
        if self._fs is None:
            from .fs.filesystem import DiskFileSystem

            self._fs = DiskFileSystem(disk=self)
        return self._fs

    # -- travelling as configuration (pickling, dask; flystore/fs/hooks.py) ----------

    def recipe(self) -> dict[str, Any] | None:
        """The configuration this disk was built from (as given, ``env()`` unresolved), or None.

        ``{"name": ..., "disks": {name: options, ...}}`` holds this disk and every disk it wraps;
        a disk not built by a manager (a fake, a hand-built one) has none.
        """
        recipe = self.__dict__.get("_recipe")
        return cast("dict[str, Any] | None", recipe)

    def __reduce__(self) -> tuple[Any, ...]:
        from .fs.hooks import reduce_disk

        return reduce_disk(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FilesystemAdapter):
            return NotImplemented
        mine, theirs = self.recipe(), other.recipe()
        if mine is None or theirs is None:
            return self is other
        return mine == theirs

    def __hash__(self) -> int:
        recipe = self.recipe()
        if recipe is None:
            return id(self)
        from .fs.hooks import recipe_token

        return int(recipe_token(recipe), 16)

    @property
    def aio(self) -> AsyncDisk:
        """This disk's async twin (``await disk.aio.get(path)``): the same verbs as coroutines."""
        twin = self.__dict__.get("_aio")
        if twin is None:
            from .aio.disk import AsyncDisk

            twin = self.__dict__.setdefault("_aio", AsyncDisk(self))
        return cast("AsyncDisk", twin)

    # -- batches (flystore.batch): per-item results, bounded concurrency ----------------

    def put_many(self, items: Mapping[str, Contents], **options: Any) -> BatchResult[str, str]:
        """``put`` every ``{path: data}`` item (``max_concurrency=``, ``progress=``); see flystore.batch."""
        from . import batch

        return batch.put_many(self, items, **options)

    def get_many(self, paths: Iterable[str], **options: Any) -> BatchResult[str, bytes]:
        """``get`` every path; failed items hold their error (``BatchResult``)."""
        from . import batch

        return batch.get_many(self, paths, **options)

    def delete_many(self, paths: Iterable[str], **options: Any) -> BatchResult[str, bool]:
        """Delete every path (S3: DeleteObjects of up to 1,000 keys per request)."""
        from . import batch

        return batch.delete_many(self, paths, **options)

    def copy_many(self, pairs: Mapping[str, str], **options: Any) -> BatchResult[str, str]:
        """``copy`` every ``{source: destination}`` pair."""
        from . import batch

        return batch.copy_many(self, pairs, **options)

    def exists_many(self, paths: Iterable[str], **options: Any) -> BatchResult[str, bool]:
        """``exists`` for every path."""
        from . import batch

        return batch.exists_many(self, paths, **options)

    def close(self) -> None:
        """Release the backend's connections."""
        self._backend.close()

    def __enter__(self) -> FilesystemAdapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


Disk = FilesystemAdapter


def _checked_binary(stream: Readable, path: str) -> Readable:
    """Refuse text-mode file objects before a single byte is written."""
    if isinstance(getattr(stream, "encoding", None), str) and not isinstance(stream, IterableReader):
        raise UnableToWriteFile.at(path, "the file object is open in text mode; open it with 'rb'")
    return stream


# The Disk verbs, for the facade's forwarding and the async twin's parity test.
DISK_METHODS = tuple(
    name
    for name, member in vars(FilesystemAdapter).items()
    if not name.startswith("_") and (callable(member) or isinstance(member, property))
    and name not in {"backend", "serve_prefix"}
)

"""Writing verbs: contents in (``put`` and its forms, ``open`` for writing, ``append``/``prepend``).

Every write normalises the path, merges the disk's defaults into the options
and fires ``file_updated`` once the new file is in place.
"""

from __future__ import annotations

import json as json_module
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, BinaryIO, cast

from .._streams import (
    DEFAULT_CHUNK_SIZE,
    IterableReader,
    PositionedReader,
    ProgressCallback,
    ProgressReader,
    as_readable,
    stream_size,
)
from .._writers import CommitOnCloseWriter
from ..attributes import WriteOptions
from ..backend import Readable
from ..errors import FileNotFound, StorageError, UnableToReadFile, UnableToWriteFile
from ..paths import normalize
from ._verbs import _as_verb_error, _raise_as, _verb
from .core import Contents, DiskCore


class WritingVerbs(DiskCore):
    """The verbs that write a file's contents."""

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


def _checked_binary(stream: Readable, path: str) -> Readable:
    """Refuse text-mode file objects before a single byte is written."""
    if isinstance(getattr(stream, "encoding", None), str) and not isinstance(stream, IterableReader):
        raise UnableToWriteFile.at(path, "the file object is open in text mode; open it with 'rb'")
    return stream

"""The azure driver's uploads: the settings every upload carries, and streamed block uploads."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import hashlib
import io
import mimetypes
import posixpath
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...attributes import WriteOptions
from ...errors import InvalidMetadata, UnableToWriteFile
from ..generic import DIRECTORY_MARKER
from .blobs import _CONTENT_OPTIONS, _RESERVED_METADATA, TIERS, _canonical_tier

if TYPE_CHECKING:
    from .backend import AzureBackend

# Up to this size a file goes up in one Put Blob request. The SDK sends a single put as raw
# bytes, which aiohttp warns about above 1 MiB; larger files go up as staged blocks (streams).
_SINGLE_PUT_LIMIT = 1024 * 1024

# Every write option (``put(..., **options)``) this driver understands.
_WRITE_EXTRAS = frozenset({"tier", *_CONTENT_OPTIONS})

# Metadata names are C# identifiers on Azure; values travel as HTTP header values.
_METADATA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_METADATA_VALUE = re.compile(r"^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$")


def _guess_mimetype(path: str) -> str:
    guessed, _ = mimetypes.guess_type(posixpath.basename(path), strict=False)
    return guessed or "application/octet-stream"


def _check_metadata(path: str, metadata: Mapping[str, str]) -> None:
    """Refuse metadata Azure would change or refuse: names are C# identifiers, compared without case.

    Raises:
        InvalidMetadata: naming the first key (or value) Azure cannot store as it is.
    """
    seen: dict[str, str] = {}
    for key, value in metadata.items():
        if not _METADATA_NAME.match(key) or key.lower() in _RESERVED_METADATA:
            raise InvalidMetadata.at(
                path,
                f"metadata name {key!r} is not allowed on Azure: use letters, digits and underscores, "
                "not starting with a digit (and not is_directory/hdi_isfolder)",
            )
        other = seen.setdefault(key.lower(), key)
        if other != key:
            raise InvalidMetadata.at(path, f"metadata names {other!r} and {key!r} are the same name on Azure")
        if not _METADATA_VALUE.match(value):
            raise InvalidMetadata.at(
                path,
                f"metadata value of {key!r} must be printable ASCII without surrounding spaces "
                "(Azure sends metadata as HTTP headers)",
            )


def _upload_settings(backend: AzureBackend, path: str, options: WriteOptions) -> dict[str, Any]:
    """Validated keyword arguments every upload of ``path`` carries (no Content-MD5 yet)."""
    unknown = set(options.extra) - _WRITE_EXTRAS
    if unknown:
        raise UnableToWriteFile.at(
            path,
            f"unknown write option {sorted(unknown)[0]!r}; the azure driver understands "
            + ", ".join(sorted(_WRITE_EXTRAS)),
        )
    if backend._is_marker(path):
        raise UnableToWriteFile.at(path, f"{DIRECTORY_MARKER!r} is reserved for directory markers")
    backend._refuse_long_name(path, UnableToWriteFile)
    _check_metadata(path, options.metadata)
    settings: dict[str, Any] = {
        "content_type": options.mimetype or _guess_mimetype(path),
    }
    for option, field_name in _CONTENT_OPTIONS.items():
        if options.extra.get(option) is not None:
            settings[field_name] = str(options.extra[option])
    upload: dict[str, Any] = {"metadata": dict(options.metadata), "content_settings": settings}
    tier = options.extra.get("tier")
    if tier is not None:
        canonical = _canonical_tier(tier)
        if canonical is None:
            raise UnableToWriteFile.at(path, f"unknown access tier {tier!r}; use one of {', '.join(TIERS)}")
        upload["standard_blob_tier"] = backend._tier_type(canonical)
    return upload


def _settings_with_md5(backend: AzureBackend, upload: Mapping[str, Any], md5: bytes) -> dict[str, Any]:
    settings = backend._content_settings(content_md5=bytearray(md5), **upload["content_settings"])
    return {**upload, "content_settings": settings}


class _BlockWriter(io.RawIOBase):
    """A streamed block-blob upload: staged blocks, committed by ``close()``, dropped by ``abort()``.

    Holds at most ``max_concurrency + 1`` blocks in memory. Small files (up to
    1 MiB) go up in a single Put Blob request. The Content-MD5 of the whole file
    is computed on the way and stored with the commit.
    """

    def __init__(self, backend: AzureBackend, path: str, upload: dict[str, Any]) -> None:
        super().__init__()
        self._backend = backend
        self._path = path
        self._upload = upload
        self._client = backend._blob_client(path)
        self._buffer = bytearray()
        self._blocks: list[str] = []
        self._pending: collections.deque[concurrent.futures.Future[Any]] = collections.deque()
        self._md5 = hashlib.md5()
        self._size = 0
        self._done = False

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._size

    def write(self, data: Any) -> int:
        if self._done:
            raise ValueError("write to a closed file")
        view = memoryview(data).cast("B")
        self._md5.update(view)
        self._size += len(view)
        block_size = self._backend.block_size
        offset = 0
        if not self._buffer:
            # Whole blocks go straight up, without a trip through the buffer (no copy for
            # the usual case: a bytes object of exactly one block).
            while len(view) - offset >= block_size:
                exact = offset == 0 and len(view) == block_size and isinstance(data, bytes)
                self._stage(data if exact else bytes(view[offset : offset + block_size]))
                offset += block_size
        self._buffer += view[offset:]
        while len(self._buffer) >= block_size:
            with memoryview(self._buffer) as whole:
                block = bytes(whole[:block_size])
            del self._buffer[:block_size]
            self._stage(block)
        return len(view)

    def _stage(self, block: bytes) -> None:
        with self._backend._errors(UnableToWriteFile, self._path, missing_is=UnableToWriteFile):
            while len(self._pending) >= self._backend.max_concurrency:
                self._pending.popleft().result()
            block_id = uuid.uuid4().hex
            self._blocks.append(block_id)
            staged = self._client.stage_block(block_id, io.BytesIO(block), length=len(block))
            self._pending.append(asyncio.run_coroutine_threadsafe(staged, self._backend.fs.loop))

    def close(self) -> None:
        if self._done:
            return
        try:
            arguments = _settings_with_md5(self._backend, self._upload, self._md5.digest())
            if not self._blocks and len(self._buffer) <= _SINGLE_PUT_LIMIT:
                data = bytes(self._buffer)
                self._buffer = bytearray()
                with self._backend._errors(UnableToWriteFile, self._path, missing_is=UnableToWriteFile):
                    self._backend._call(self._client.upload_blob, data, overwrite=True, **arguments)
            else:
                if self._buffer:
                    block = bytes(self._buffer)
                    self._buffer = bytearray()
                    self._stage(block)
                with self._backend._errors(UnableToWriteFile, self._path, missing_is=UnableToWriteFile):
                    while self._pending:
                        self._pending.popleft().result()
                    blocks = [self._backend._blob_block(block_id) for block_id in self._blocks]
                    self._backend._call(self._client.commit_block_list, blocks, **arguments)
        except BaseException:
            self.abort()
            raise
        self._done = True
        super().close()

    def abort(self) -> None:
        """Drop everything: staged blocks are never committed (Azure discards them)."""
        if self._done:
            return
        self._done = True
        while self._pending:
            future = self._pending.popleft()
            future.cancel()
            with contextlib.suppress(BaseException):
                future.result(timeout=30)
        self._buffer = bytearray()
        super().close()

    def __del__(self) -> None:
        # Dropped without close(): never publish a partial file.
        if not getattr(self, "_done", True):
            self.abort()

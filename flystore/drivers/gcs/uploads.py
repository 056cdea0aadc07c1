"""Uploads: one multipart request up to ``chunk_size``, a resumable session above it.

``_GcsUploads`` holds the primitives of ``GcsBackend`` that upload bytes (``write``,
``write_stream``, ``open_write``); ``_Upload`` is one upload in bounded memory and
``_UploadWriter`` the file object ``open_write`` returns.
"""

from __future__ import annotations

import contextlib
import io
import json
import mimetypes
import posixpath
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, BinaryIO

from ...attributes import WriteOptions
from ...backend import Readable
from ...errors import UnableToWriteFile
from .base import _GcsBase
from .common import _FIXED_FIELDS, VISIBILITY_METADATA_KEY, _snake

_READ_SIZE = 1024 * 1024


def _guess_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(posixpath.basename(path), strict=False)
    return guessed or "application/octet-stream"


class _GcsUploads(_GcsBase):
    """The writing primitives of ``GcsBackend`` that upload bytes (a mixin over ``_GcsBase``)."""

    # -- writing ---------------------------------------------------------------------

    def _resource(self, path: str, options: WriteOptions) -> dict[str, Any]:
        """The object resource sent with an upload: name, type, ACL tag, custom and fixed metadata.

        Raises:
            UnableToWriteFile: the object name is too long for GCS.
        """
        self._refuse_long_name(path, UnableToWriteFile)
        resource: dict[str, Any] = {
            "name": self._name(path),
            "contentType": options.mimetype or _guess_type(path),
        }
        metadata = {key: value for key, value in options.metadata.items() if key != VISIBILITY_METADATA_KEY}
        if options.visibility is not None:
            metadata[VISIBILITY_METADATA_KEY] = options.visibility
        if metadata:
            resource["metadata"] = metadata
        for key, value in options.extra.items():
            field = _FIXED_FIELDS.get(_snake(str(key)))
            if field is not None and value is not None:
                resource[field] = value.isoformat() if isinstance(value, datetime) else str(value)
        return resource

    def _simple_upload(self, resource: Mapping[str, Any], data: bytes | memoryview, acl: str | None) -> dict[str, Any]:
        """One multipart request: metadata and bytes together (files up to ``chunk_size``)."""
        from gcsfs.core import quote

        boundary = f"flystore-{uuid.uuid4().hex}"
        body = _chunk_buffer()
        body.write(
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{json.dumps(resource)}\r\n"
            f"--{boundary}\r\nContent-Type: {resource['contentType']}\r\n\r\n".encode()
        )
        body.write(data)
        body.write(f"\r\n--{boundary}--\r\n".encode())
        result = self._call(
            "POST",
            f"{self.fs._location}/upload/storage/v1/b/{quote(self.bucket)}/o",
            uploadType="multipart",
            predefinedAcl=acl,
            headers={"Content-Type": f'multipart/related; boundary="{boundary}"'},
            data=body,
            json_out=True,
        )
        return dict(result)

    def _upload(self, path: str, options: WriteOptions) -> _Upload:
        return _Upload(self, path, self._resource(path, options), self._acl(options.visibility))

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self._refuse_directory(path, UnableToWriteFile)
        if len(data) <= self.chunk_size:
            with self._translated(UnableToWriteFile, path):
                self._simple_upload(self._resource(path, options), data, self._acl(options.visibility))
            return
        upload = self._upload(path, options)
        try:
            view = memoryview(data)
            for offset in range(0, len(data), self.chunk_size):
                upload.write(view[offset : offset + self.chunk_size])
            upload.finish()
        except BaseException:
            upload.abort()
            raise

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self._refuse_directory(path, UnableToWriteFile)
        upload = self._upload(path, options)
        try:
            while chunk := stream.read(_READ_SIZE):
                upload.write(chunk)
            upload.finish()
        except BaseException:
            upload.abort()
            raise

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO:
        self._refuse_directory(path, UnableToWriteFile)
        return _UploadWriter(self._upload(path, options))  # type: ignore[return-value]


class _Upload:
    """One object upload in bounded memory.

    Up to ``chunk_size`` bytes it is a single multipart request; beyond that a
    resumable session that sends ``chunk_size`` pieces as they fill. The object
    appears only when ``finish()`` succeeds; ``abort()`` cancels the session.

    Bytes collect in a ``BytesIO`` that owns its buffer, so a chunk is handed to
    aiohttp without another copy: memory stays near one chunk plus one write.
    """

    def __init__(self, backend: _GcsUploads, path: str, resource: dict[str, Any], acl: str | None) -> None:
        self.backend = backend
        self.path = path
        self.resource = resource
        self.acl = acl
        self.chunk = _chunk_buffer()
        self.offset = 0
        self.location: str | None = None
        self.done = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.done:
            raise UnableToWriteFile.at(self.path, "the upload is already finished")
        view = memoryview(data).cast("B")
        size = self.backend.chunk_size
        while view:
            room = size - self.chunk.tell()
            if room == 0:
                # A full chunk with more bytes behind it: it is not the last one.
                self._send(final=False)
                continue
            self.chunk.write(view[:room])
            view = view[room:]

    def finish(self) -> None:
        if self.done:
            return
        with self.backend._translated(UnableToWriteFile, self.path):
            if self.location is None:
                with self.chunk.getbuffer() as collected:
                    self.backend._simple_upload(self.resource, collected, self.acl)
            else:
                while not self._send(final=True):
                    pass
        self.done = True
        self.chunk = _chunk_buffer()

    def _start(self) -> str:
        from gcsfs.core import quote

        backend = self.backend
        headers, _ = backend._call(
            "POST",
            f"{backend.fs._location}/upload/storage/v1/b/{quote(backend.bucket)}/o",
            uploadType="resumable",
            name=self.resource["name"],
            predefinedAcl=self.acl,
            json=self.resource,
            headers={"X-Upload-Content-Type": self.resource["contentType"]},
        )
        location = headers["Location"]
        return str(location[0] if isinstance(location, list) else location)

    def _send(self, *, final: bool) -> bool:
        """Send the collected chunk; True once the object is complete."""
        size = self.chunk.seek(0, io.SEEK_END)
        with self.backend._translated(UnableToWriteFile, self.path):
            if self.location is None:
                self.location = self._start()
            if final:
                total = self.offset + size
                content_range = f"bytes {self.offset}-{total - 1}/{total}" if size else f"bytes */{total}"
            else:
                content_range = f"bytes {self.offset}-{self.offset + size - 1}/*"
            self.chunk.seek(0)
            headers, _ = self.backend._call(
                "PUT",
                self.location,
                headers={"Content-Range": content_range, "Content-Type": self.resource["contentType"]},
                data=self.chunk,
            )
        if final and "Range" not in headers:
            return True  # 200/201: the object is published
        # 308: the server says how much it holds; keep (and resend) whatever it does not.
        received = headers.get("Range")
        committed = int(str(received).rsplit("-", 1)[1]) + 1 if received else 0
        accepted = committed - self.offset
        if accepted <= 0 or accepted > size or (final and accepted == size):
            raise UnableToWriteFile.at(self.path, f"the server reported an unexpected upload offset ({received})")
        rest = self.chunk.getbuffer()[accepted:size]
        try:
            self.chunk = _chunk_buffer(rest)
        finally:
            rest.release()
        self.offset = committed
        return False

    def abort(self) -> None:
        """Give up: nothing is published; the resumable session (if any) is cancelled."""
        if self.done:
            return
        self.done = True
        self.chunk = _chunk_buffer()
        location, self.location = self.location, None
        if location is not None:
            with contextlib.suppress(Exception):
                _cancel_session(self.backend.fs, location)


def _chunk_buffer(initial: memoryview | None = None) -> io.BytesIO:
    """An upload buffer aiohttp can send without copying and gcsfs can rewind for a retry."""
    from gcsfs.core import UnclosableBytesIO

    buffer: io.BytesIO = UnclosableBytesIO()
    if initial is not None:
        buffer.write(initial)
    return buffer


def _cancel_session(fs: Any, location: str) -> None:
    """DELETE a resumable session once, without gcsfs's retries (servers answer 499)."""
    import aiohttp
    import fsspec.asyn

    async def cancel() -> None:
        session = await fs._set_session()
        async with session.request(
            "DELETE", location, headers=fs._get_headers(None), timeout=aiohttp.ClientTimeout(total=10)
        ) as response:
            await response.read()

    fsspec.asyn.sync(fs.loop, cancel, timeout=15)


class _UploadWriter(io.RawIOBase):
    """The native writer behind ``disk.open(path, "wb")``: publishes on ``close()``."""

    def __init__(self, upload: _Upload) -> None:
        super().__init__()
        self._upload = upload

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._upload.write(view)
        return len(view)

    def abort(self) -> None:
        """Discard everything written; the stored file stays as it was."""
        if not self.closed:
            self._upload.abort()
            super().close()

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._upload.finish()
        except BaseException:
            self._upload.abort()
            raise
        finally:
            super().close()

    def __del__(self) -> None:
        # An abandoned writer must not publish half a file.
        if not getattr(self, "closed", True):
            self.abort()

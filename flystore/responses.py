"""``disk.download_response()``: a Starlette streaming response with HTTP Range support."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import DriverNotInstalled
from .paths import basename, normalize

if TYPE_CHECKING:
    from .disk import FilesystemAdapter

__all__ = ["disk_file_response", "parse_range"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """``(start, end_inclusive)`` for a single satisfiable byte range; ``None`` when there is no
    usable Range header (serve the whole file); ``False`` when the range cannot be satisfied."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # multiple or malformed ranges: RFC 9110 lets us ignore them
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        length = int(last)
        if length == 0:
            return False
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return False
    return start, end


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name."""
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def disk_file_response(
    disk: FilesystemAdapter,
    path: str,
    *,
    name: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """Build the response; the file is opened only when the response is sent.

    Raises:
        FileNotFound: nothing, or a directory, is at ``path`` (checked now, not mid-response).
        DriverNotInstalled: Starlette is missing.
    """
    try:
        from starlette.responses import Response
    except ModuleNotFoundError as cause:
        raise DriverNotInstalled.for_extra("fastapi", "download_response()", disk=disk.name, cause=cause) from cause

    target = normalize(path)
    attributes = disk.stat(target)
    size = attributes.size or 0
    media_type = disk.mime_type(target)
    base_headers = {
        "content-disposition": content_disposition(name or basename(target)),
        "accept-ranges": "bytes",
        **{key.lower(): value for key, value in (headers or {}).items()},
        # The full length, so that code inspecting the response before it is served sees the truth;
        # a ranged request replaces it on the wire.
        "content-length": str(size),
    }
    if attributes.last_modified is not None:
        from email.utils import format_datetime

        base_headers.setdefault("last-modified", format_datetime(attributes.last_modified, usegmt=True))

    class DiskFileResponse(Response):
        """Streams the file from the disk; honours a single ``Range: bytes=`` request."""

        def __init__(self) -> None:
            super().__init__(content=None, status_code=200, headers=base_headers, media_type=media_type)

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

            request_headers = {key.decode().lower(): value.decode() for key, value in scope.get("headers", [])}
            wanted = parse_range(request_headers.get("range"), size)
            status, start, end = 200, 0, size - 1
            extra: list[tuple[bytes, bytes]] = []
            if wanted is False:
                await send({"type": "http.response.start", "status": 416,
                            "headers": [(b"content-range", f"bytes */{size}".encode()), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
            if isinstance(wanted, tuple):
                status, (start, end) = 206, wanted
                extra.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
            length = max(end - start + 1, 0)
            raw = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
            raw += [(b"content-length", str(length).encode()), *extra]
            await send({"type": "http.response.start", "status": status, "headers": raw})
            if scope.get("method") == "HEAD" or length == 0:
                await send({"type": "http.response.body", "body": b""})
                return
            handle = await run_in_threadpool(disk.open, target, "rb")
            try:
                await run_in_threadpool(_skip_to, handle, start)
                async for chunk in iterate_in_threadpool(_chunks(handle, length)):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                await run_in_threadpool(handle.close)

    return DiskFileResponse()


def _skip_to(handle: Any, offset: int) -> None:
    if not offset:
        return
    if getattr(handle, "seekable", lambda: False)():
        handle.seek(offset)
        return
    remaining = offset
    while remaining:
        chunk = handle.read(min(remaining, _CHUNK))
        if not chunk:
            return
        remaining -= len(chunk)


def _chunks(handle: Any, length: int) -> Iterator[bytes]:
    remaining = length
    while remaining > 0:
        chunk = handle.read(min(remaining, _CHUNK))
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk


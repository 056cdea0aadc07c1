"""The azure driver's reader: a seekable view of one blob version, read in ranges."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import UnableToReadFile
from .._readers import PositionedReader

if TYPE_CHECKING:
    from .backend import AzureBackend


class _BlobReader(PositionedReader):
    """A seekable read-only view of one blob version: each ``readinto`` is one ranged GET.

    Wrapped in ``io.BufferedReader(buffer_size=block_size)`` by ``open_read``, so small
    reads are served from one block-sized range at a time. Every range is requested
    with ``If-Match: <etag>``: a blob replaced mid-read fails the read instead of
    mixing two versions.
    """

    def __init__(self, backend: AzureBackend, path: str, size: int, etag: str) -> None:
        super().__init__(size)
        self._backend = backend
        self._path = path
        self._etag = etag
        self._client = backend._blob_client(path)

    async def _fetch(self, offset: int, length: int) -> bytes:
        from azure.core import MatchConditions

        downloader = await self._client.download_blob(
            offset=offset, length=length, etag=self._etag, match_condition=MatchConditions.IfNotModified
        )
        return bytes(await downloader.readall())

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("read from a closed file")
        length = min(len(buffer), self._size - self._position)
        if length <= 0:
            return 0
        with self._backend._errors(UnableToReadFile, self._path):
            try:
                data = self._backend._call(self._fetch, self._position, length)
            except self._backend._http_error as cause:
                if getattr(cause, "status_code", None) == 412:
                    raise UnableToReadFile.at(
                        self._path, "the file was replaced while it was being read", cause=cause
                    ) from cause
                raise
        if not data:
            raise UnableToReadFile.at(self._path, "the file ended early (it may have been truncated)")
        count = len(data)
        buffer[:count] = data
        self._position += count
        return count

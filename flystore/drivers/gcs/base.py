"""The part of ``GcsBackend`` the others build on: construction, object names and JSON API requests."""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterator
from typing import Any

from ...errors import FileNotFound, StorageError
from ..generic import DIRECTORY_MARKER, FsspecBackend
from .common import _PREDEFINED_ACL, DEFAULT_CHUNK_SIZE, GOOGLE_STORAGE_URL, _reason

#: The longest GCS object name, in UTF-8 bytes (prefix included).
MAX_NAME_BYTES = 1024


class _GcsBase(FsspecBackend):
    """What every part of ``GcsBackend`` uses: its constructor, object names and requests.

    ``GcsBackend`` (``backend.py``) documents the arguments; the upload primitives
    (``uploads.py``) and signed URLs (``signing.py``) are mixins over this class.
    """

    #: GCS holds at most 8 KiB of custom metadata per object (keys plus values); flystore's
    #: visibility record (``flystore-visibility: private``, 27 bytes) is kept out of the user's share.
    metadata_limit = 8 * 1024 - 32

    def __init__(
        self,
        fs: Any,
        bucket: str,
        prefix: str = "",
        *,
        signer: Any = None,
        uniform_bucket_level_access: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        public_base: str | None = None,
    ) -> None:
        super().__init__(
            fs,
            f"{bucket}/{prefix}" if prefix else bucket,
            protocol_name="gcs",
            directory_markers=True,
            atomic_writes=False,
        )
        self.bucket = bucket
        self.prefix = prefix
        self.signer = signer
        self.uniform_bucket_level_access = uniform_bucket_level_access
        self.chunk_size = chunk_size
        self.public_base = (public_base or GOOGLE_STORAGE_URL).rstrip("/")
        # Set once the bucket is known to exist; until then a 404 asks whether the bucket is there.
        self._bucket_seen = False

    # -- names and requests ----------------------------------------------------------

    def _name(self, path: str) -> str:
        """The object name of a disk path."""
        if not path:
            return self.prefix
        return f"{self.prefix}/{path}" if self.prefix else path

    def _refuse_long_name(self, path: str, error: type[StorageError]) -> None:
        """Refuse an object name GCS cannot hold, before asking.

        Raises:
            error: the name is longer than ``MAX_NAME_BYTES``.
        """
        size = len(self._name(path).encode())
        if size > MAX_NAME_BYTES:
            raise error.at(path, f"the object name is {size:,} bytes; GCS names are at most {MAX_NAME_BYTES:,}")

    def _directory_prefix(self, path: str) -> str:
        name = self._name(path)
        return f"{name}/" if name else ""

    def _relative(self, key: str) -> str:
        """The disk path of an object name (``""`` for the prefix itself)."""
        key = key.rstrip("/")
        if not self.prefix:
            return key
        if key == self.prefix:
            return ""
        return key[len(self.prefix) + 1 :] if key.startswith(f"{self.prefix}/") else key

    def _object_url(self, name: str) -> str:
        from gcsfs.core import quote

        return f"b/{quote(self.bucket)}/o/{quote(name)}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One JSON API request through gcsfs (auth, retries, HTTP errors as exceptions)."""
        return self.fs.call(method, path, **kwargs)

    def _acl(self, visibility: str | None) -> str | None:
        if visibility is None or self.uniform_bucket_level_access:
            return None
        return _PREDEFINED_ACL[visibility]

    @contextlib.contextmanager
    def _translated(
        self, error: type[StorageError], path: str, *, missing: type[StorageError] | None = None,
        missing_reason: str | None = None,
    ) -> Iterator[None]:
        """Map gcsfs/aiohttp exceptions to ``error``; a 404 becomes ``missing`` (or ``error``)."""
        try:
            yield
        except StorageError:
            raise
        except FileNotFoundError as cause:
            if missing is not None:
                try:
                    bucket_missing = self._bucket_missing()
                except Exception as failure:  # asking about the bucket failed: that is the verb's error
                    raise error.at(path, _reason(failure), cause=failure) from failure
                if not bucket_missing:
                    raise missing.at(path, "no file exists at this path", cause=cause) from cause
            reason = missing_reason or f"the bucket {self.bucket!r} does not exist"
            raise error.at(path, reason, cause=cause) from cause
        except Exception as cause:  # the boundary where any backend exception is mapped
            raise error.at(path, _reason(cause), cause=cause) from cause

    def _get_object(self, path: str) -> dict[str, Any] | None:
        """The object resource at ``path``, or None (markers are never files)."""
        if not path or posixpath.basename(path) == DIRECTORY_MARKER or len(self._name(path).encode()) > MAX_NAME_BYTES:
            return None
        try:
            found = dict(self._call("GET", self._object_url(self._name(path)), json_out=True))
        except FileNotFoundError:
            if self._bucket_missing():
                raise  # the caller's _translated says the bucket does not exist
            return None
        self._bucket_seen = True
        return found

    def _bucket_missing(self) -> bool:
        """After a 404: whether the bucket itself is missing (one GET; a bucket that exists is checked once).

        Raises:
            Exception: asking failed (the caller's ``_translated`` maps it).
        """
        if self._bucket_seen:
            return False
        from gcsfs.core import quote

        try:
            self._call("GET", f"b/{quote(self.bucket)}", fields="name")
        except FileNotFoundError:
            return True
        except OSError as error:
            if type(error) is OSError and str(error).startswith("Forbidden"):
                return False  # 403: not allowed to look at the bucket; the object's 404 stands
            raise
        self._bucket_seen = True
        return False

    def _refuse_directory(self, path: str, error: type[StorageError]) -> None:
        """Refuse a write over a directory, failing as ``error`` (not as an existence check).

        Raises:
            error: a directory is at ``path``, or asking failed.
        """
        with self._translated(error, path):
            page = next(self._pages(self._directory_prefix(path), None, max_results=1))
        if page.get("items") or page.get("prefixes"):
            raise error.at(path, "a directory exists at this path")

    def _require_object(self, path: str, error: type[StorageError]) -> dict[str, Any]:
        with self._translated(error, path):
            found = self._get_object(path)
        if found is None:
            raise FileNotFound.at(path, "no file exists at this path")
        return found

    def _pages(self, prefix: str, delimiter: str | None, max_results: int | None = None) -> Iterator[dict[str, Any]]:
        """Listing pages of the bucket under ``prefix`` (follows ``nextPageToken``)."""
        from gcsfs.core import quote

        token: str | None = None
        while True:
            page = self._call(
                "GET",
                f"b/{quote(self.bucket)}/o",
                json_out=True,
                prefix=prefix or None,
                delimiter=delimiter,
                pageToken=token,
                maxResults=max_results,
            )
            yield page
            token = page.get("nextPageToken")
            if not token or max_results is not None:
                return

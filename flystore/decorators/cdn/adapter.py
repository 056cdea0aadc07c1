"""The ``cdn`` decorator disk: public URLs on a CDN, and batched invalidation of what changed.

``url(path)`` is ``cdn_url`` + the path; ``origin_url(path)`` is the wrapped
disk's own URL; ``temporary_url`` passes through. With ``auto_invalidate``,
every write, delete, copy, move and visibility change queues the CDN path
(``dir/*`` for a directory); the queue is sent as one invalidation per
``batch_size`` paths, after ``batch_window`` seconds, on ``flush()`` and on
``close()``. A failed call is retried (``retries``, doubling ``retry_delay``);
what still fails stays queued for the next flush and is reported (an error
from ``flush()``, ``on_error`` or the ``flystore.cdn`` log for timed flushes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, urlsplit

from ...attributes import WriteOptions
from ...backend import Backend, Readable
from ...disk import FilesystemAdapter
from ...errors import InvalidConfiguration
from ...paths import normalize
from ..base import DecoratedBackend
from ..cached.writer import NotifyingWriter
from ..read_only import inherited_config
from .invalidator import CloudFrontPurger, Invalidator, Purge

if TYPE_CHECKING:
    from ...manager import StorageManager

__all__ = ["CDNBackend", "CDNFilesystemAdapter", "OPTIONS", "create"]

OPTIONS = frozenset(
    {"disk", "cdn_url", "auto_invalidate", "distribution_id", "purge", "batch_size", "batch_window", "retries",
     "retry_delay", "on_error", "endpoint", "key", "secret", "token", "region"}
)


class CDNBackend(DecoratedBackend):
    """Public URLs on the CDN; queues invalidations for what writes change."""

    def __init__(self, inner: Backend, cdn_url: str, invalidator: Invalidator | None) -> None:
        super().__init__(inner)
        self.metadata_limit = inner.metadata_limit
        self.cdn_url = cdn_url.rstrip("/")
        self._path_base = urlsplit(self.cdn_url).path.rstrip("/")
        self.invalidator = invalidator

    def cdn_path(self, path: str, *, directory: bool = False) -> str:
        """The URL path CloudFront (or any CDN) knows the file by."""
        quoted = quote(path)
        if directory:
            return f"{self._path_base}/{quoted}/*" if path else f"{self._path_base}/*"
        return f"{self._path_base}/{quoted}"

    def _changed(self, *paths: str, directory: bool = False) -> None:
        if self.invalidator is not None:
            self.invalidator.add([self.cdn_path(path, directory=directory) for path in paths])

    def public_url(self, path: str) -> str | None:
        return f"{self.cdn_url}/{quote(path)}"

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self.inner.write(path, data, options)
        self._changed(path)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self.inner.write_stream(path, stream, options)
        self._changed(path)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        native = self.inner.open_write(path, options)
        if native is None or self.invalidator is None:
            return native
        return NotifyingWriter(native, lambda: self._changed(path))  # type: ignore[return-value]

    def delete(self, path: str) -> bool:
        deleted = self.inner.delete(path)
        if deleted:
            self._changed(path)
        return deleted

    def delete_directory(self, path: str) -> bool:
        deleted = self.inner.delete_directory(path)
        if deleted:
            self._changed(path, directory=True)
        return deleted

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        self.inner.copy(source, destination, options)
        self._changed(destination)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        self.inner.move(source, destination, options)
        self._changed(source, destination)

    def set_visibility(self, path: str, visibility: str) -> None:
        self.inner.set_visibility(path, visibility)
        self._changed(path)

    def close(self) -> None:
        try:
            if self.invalidator is not None:
                self.invalidator.close()
        finally:
            purge = self.invalidator.purge if self.invalidator is not None else None
            if isinstance(purge, CloudFrontPurger):
                purge.close()
            self.close_inner()


class CDNFilesystemAdapter(FilesystemAdapter):
    """A disk whose public URLs are on a CDN and whose writes invalidate it.

    Args:
        base_adapter: the origin disk.
        cdn_url: the CDN's base URL (``https://cdn.example.com``, optionally with a path).
        auto_invalidate: queue an invalidation for every changed path.
        distribution_id: CloudFront distribution to invalidate (through boto3).
        purge: instead, a callable given a list of URL paths to invalidate.
        batch_size, batch_window: send when this many paths are queued, or this
            many seconds after the first (0: only on count, ``flush()`` and ``close()``).
        retries, retry_delay: attempts after a failure, and the first pause between them.
        on_error: called with the ``CDNInvalidationFailed`` of a timed flush.
        cloudfront: boto3 client options ``endpoint``, ``key``, ``secret``, ``token``, ``region``.

    Raises:
        InvalidConfiguration: no ``cdn_url``, or ``auto_invalidate`` without a target.
    """

    def __init__(
        self,
        base_adapter: FilesystemAdapter,
        cdn_url: str,
        auto_invalidate: bool = False,
        *,
        distribution_id: str | None = None,
        purge: Purge | None = None,
        batch_size: int = 1000,
        batch_window: float = 2.0,
        retries: int = 3,
        retry_delay: float = 0.5,
        on_error: Callable[[BaseException], Any] | None = None,
        name: str | None = None,
        manager: StorageManager | None = None,
        config: Mapping[str, Any] | None = None,
        **cloudfront: Any,
    ) -> None:
        disk = name or base_adapter.name
        if not isinstance(cdn_url, str) or not cdn_url.startswith(("http://", "https://", "//")):
            raise InvalidConfiguration("the cdn disk needs 'cdn_url', an http(s) URL", option="cdn_url", disk=disk)
        for option, value in (("batch_size", batch_size), ("retries", retries)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if option == "batch_size" else 0):
                raise InvalidConfiguration(f"must be a whole number, not {value!r}", option=option, disk=disk)
        unknown = sorted(set(cloudfront) - {"endpoint", "key", "secret", "token", "region"})
        if unknown:
            raise InvalidConfiguration(f"unknown option; the cdn disk knows: {', '.join(sorted(OPTIONS))}",
                                       option=unknown[0], disk=disk)
        invalidator = None
        if auto_invalidate:
            if purge is None and not distribution_id:
                raise InvalidConfiguration(
                    "auto_invalidate needs 'distribution_id' (CloudFront) or 'purge' (a callable)",
                    option="auto_invalidate", disk=disk,
                )
            if purge is not None and not callable(purge):
                raise InvalidConfiguration("must be a callable taking a list of paths", option="purge", disk=disk)
            target: Purge = purge if purge is not None else CloudFrontPurger(str(distribution_id), disk=disk,
                                                                             **cloudfront)
            invalidator = Invalidator(target, batch_size=batch_size, batch_window=float(batch_window),
                                      retries=retries, retry_delay=float(retry_delay), on_error=on_error, disk=disk)
        self.base_adapter = base_adapter
        backend = CDNBackend(base_adapter.backend, cdn_url, invalidator)
        merged = {**inherited_config(base_adapter.config), **dict(config or {}), "url": backend.cdn_url}
        super().__init__(backend, name=disk, config=merged, manager=manager or base_adapter.manager)
        self._cdn = backend

    @property
    def invalidator(self) -> Invalidator | None:
        """The invalidation queue (None without ``auto_invalidate``)."""
        return self._cdn.invalidator

    def origin_url(self, path: str) -> str:
        """The wrapped disk's own public URL for ``path``.

        Raises:
            UnableToGeneratePublicUrl: the origin disk has no public URLs.
        """
        return self.base_adapter.url(normalize(path))

    def flush(self) -> int:
        """Send queued invalidations now; returns how many paths the CDN accepted.

        Raises:
            CDNInvalidationFailed: a batch failed every retry (its paths stay queued).
        """
        return self._cdn.invalidator.flush() if self._cdn.invalidator is not None else 0


def create(name: str, options: dict[str, Any], manager: Any) -> CDNFilesystemAdapter:
    """``{"driver": "cdn", "disk": "s3", "cdn_url": ..., "auto_invalidate": True, "distribution_id": ...}``.

    Raises:
        InvalidConfiguration: a bad or unknown option (named).
    """
    from ...config import reject_unknown_options

    reject_unknown_options(name, options, OPTIONS)
    inner = manager._resolve_inner(name, options)
    own = {key: options[key] for key in OPTIONS - {"disk", "cdn_url", "auto_invalidate"} if key in options}
    return CDNFilesystemAdapter(
        inner,
        options.get("cdn_url"),  # type: ignore[arg-type]  # checked inside
        bool(options.get("auto_invalidate", False)),
        name=name,
        manager=manager,
        config={key: value for key, value in options.items() if key not in OPTIONS and key != "url"},
        **own,
    )

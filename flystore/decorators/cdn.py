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

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, urlsplit

from ..attributes import WriteOptions
from ..backend import Backend, Readable
from ..disk import FilesystemAdapter
from ..errors import DriverNotInstalled, InvalidConfiguration, OperationFailed
from ..paths import normalize
from .base import DecoratedBackend
from .cached.writer import NotifyingWriter
from .read_only import inherited_config

if TYPE_CHECKING:
    from ..manager import StorageManager

__all__ = ["CDNBackend", "CDNFilesystemAdapter", "CDNInvalidationFailed", "CloudFrontPurger", "Invalidator", "create"]

log = logging.getLogger("flystore.cdn")
Purge = Callable[[list[str]], Any]

OPTIONS = frozenset(
    {"disk", "cdn_url", "auto_invalidate", "distribution_id", "purge", "batch_size", "batch_window", "retries",
     "retry_delay", "on_error", "endpoint", "key", "secret", "token", "region"}
)


class CDNInvalidationFailed(OperationFailed):
    """The CDN refused an invalidation after every retry; its paths stay queued."""

    operation = "invalidate CDN paths"


class CloudFrontPurger:
    """Sends paths to CloudFront's ``create_invalidation`` for one distribution (boto3).

    Raises:
        DriverNotInstalled: boto3 is missing (``pip install "flystore[cdn]"``).
    """

    def __init__(self, distribution_id: str, *, disk: str | None = None, **client_options: Any) -> None:
        try:
            import boto3
        except ModuleNotFoundError as cause:
            raise DriverNotInstalled.for_extra("cdn", "CloudFront invalidation", disk=disk, cause=cause) from cause
        self.distribution_id = distribution_id
        options = {key: value for key, value in client_options.items() if value is not None}
        self.client = boto3.session.Session().client(
            "cloudfront",
            endpoint_url=options.get("endpoint"),
            region_name=options.get("region", "us-east-1"),
            aws_access_key_id=options.get("key"),
            aws_secret_access_key=options.get("secret"),
            aws_session_token=options.get("token"),
        )

    def __call__(self, paths: list[str]) -> str:
        """Create one invalidation for ``paths``; returns its id."""
        answer = self.client.create_invalidation(
            DistributionId=self.distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": list(paths)},
                "CallerReference": f"flystore-{uuid.uuid4().hex}",
            },
        )
        return str(answer["Invalidation"]["Id"])

    def close(self) -> None:
        self.client.close()


class Invalidator:
    """A queue of CDN paths sent in batches; thread-safe."""

    def __init__(
        self,
        purge: Purge,
        *,
        batch_size: int = 1000,
        batch_window: float = 2.0,
        retries: int = 3,
        retry_delay: float = 0.5,
        on_error: Callable[[BaseException], Any] | None = None,
        disk: str | None = None,
    ) -> None:
        self.purge = purge
        self.batch_size = batch_size
        self.batch_window = batch_window
        self.retries = retries
        self.retry_delay = retry_delay
        self.on_error = on_error
        self.disk = disk
        self.calls = 0
        self.failures = 0
        self._pending: dict[str, None] = {}  # ordered and de-duplicated
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False

    @property
    def pending(self) -> list[str]:
        """Paths queued and not yet accepted by the CDN."""
        with self._lock:
            return list(self._pending)

    def add(self, paths: Sequence[str]) -> None:
        """Queue ``paths``; a full batch is sent at once, otherwise within ``batch_window``.

        Never raises: the write that queued the paths has already happened, so a
        full batch that fails every retry stays queued and is reported (``on_error``
        or the ``flystore.cdn`` log) instead.
        """
        with self._lock:
            for path in paths:
                self._pending[path] = None
            full = len(self._pending) >= self.batch_size
            if not full and self.batch_window > 0 and self._timer is None and not self._closed:
                self._timer = threading.Timer(self.batch_window, self._timed_flush)
                self._timer.daemon = True
                self._timer.start()
        if full:
            try:
                self.flush(only_full=True)
            except CDNInvalidationFailed as error:
                self._report(error)

    def _report(self, error: CDNInvalidationFailed) -> None:
        if self.on_error is not None:
            self.on_error(error)
        else:
            log.error("%s", error)

    def _timed_flush(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self.flush()
        except CDNInvalidationFailed as error:
            self._report(error)
            with self._lock:
                if not self._closed and self._pending and self._timer is None:
                    self._timer = threading.Timer(self.batch_window, self._timed_flush)
                    self._timer.daemon = True
                    self._timer.start()

    def flush(self, *, only_full: bool = False) -> int:
        """Send every queued path now (or only whole batches); returns how many were accepted.

        Raises:
            CDNInvalidationFailed: a batch failed every retry; it and the rest stay queued.
        """
        sent = 0
        with self._send_lock:
            while True:
                with self._lock:
                    if not self._pending or (only_full and len(self._pending) < self.batch_size):
                        return sent
                    batch = list(self._pending)[: self.batch_size]
                self._send(batch)
                with self._lock:
                    for path in batch:
                        self._pending.pop(path, None)
                sent += len(batch)

    def _send(self, batch: list[str]) -> None:
        delay = self.retry_delay
        for attempt in range(self.retries + 1):
            try:
                self.calls += 1
                self.purge(batch)
                return
            except Exception as cause:
                self.failures += 1
                if attempt == self.retries:
                    raise CDNInvalidationFailed(
                        f"{len(batch)} path(s) not invalidated after {attempt + 1} attempt(s), kept queued: {cause}",
                        disk=self.disk,
                    ) from cause
                time.sleep(delay)
                delay *= 2

    def close(self) -> None:
        """Stop the timer and send what is queued.

        Raises:
            CDNInvalidationFailed: the final flush failed (the paths stay in ``pending``).
        """
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.flush()


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
            self.inner.close()


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
    from ..config import reject_unknown_options

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

"""Batched CDN invalidation: the queue, its retries, and the CloudFront purger."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ...errors import DriverNotInstalled, OperationFailed

__all__ = ["CDNInvalidationFailed", "CloudFrontPurger", "Invalidator", "Purge"]

log = logging.getLogger("flystore.cdn")
Purge = Callable[[list[str]], Any]


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

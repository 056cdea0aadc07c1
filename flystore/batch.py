"""Batch operations for the sync API: many items, bounded concurrency, per-item results.

``disk.put_many({path: data})`` and its siblings delegate here. Every item is
tried (one failure does not stop the rest) and the ``BatchResult`` says which
failed and why. Where the backend has a native multi-object call it is used:
S3 deletes go out as DeleteObjects requests of up to 1,000 keys.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import StorageError, UnableToDeleteFile
from .paths import normalize

if TYPE_CHECKING:
    from .disk import FilesystemAdapter

__all__ = ["BatchResult", "BatchProgress", "DEFAULT_CONCURRENCY", "S3_DELETE_BATCH",
           "put_many", "get_many", "delete_many", "copy_many", "exists_many", "native_delete", "batch_width"]

K = TypeVar("K")
V = TypeVar("V")

#: How many items run at once unless ``max_concurrency`` says otherwise.
DEFAULT_CONCURRENCY = 16
#: The most keys one S3 DeleteObjects request may carry.
S3_DELETE_BATCH = 1000

#: ``progress(done, total, key, error)`` after each item (``error`` is None when it succeeded).
BatchProgress = Callable[[int, int, Any, "Exception | None"], Any]


@dataclass
class BatchResult(Generic[K, V]):
    """Per-item outcome of a batch: ``results`` for the items that worked, ``errors`` for the rest.

    ``result[key]`` gives an item's value or raises its error; ``ok`` is True when
    nothing failed; ``failed``/``succeeded`` list the keys in input order.
    """

    keys: list[K]
    results: dict[K, V] = field(default_factory=dict)
    errors: dict[K, Exception] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def failed(self) -> list[K]:
        return [key for key in self.keys if key in self.errors]

    @property
    def succeeded(self) -> list[K]:
        return [key for key in self.keys if key in self.results]

    def __getitem__(self, key: K) -> V:
        """The item's value.

        Raises:
            the item's own error when it failed; KeyError when it was not in the batch.
        """
        if key in self.errors:
            raise self.errors[key]
        return self.results[key]

    def __len__(self) -> int:
        return len(self.keys)

    def raise_for_errors(self) -> None:
        """Raise the first failed item's error (in input order), if any."""
        for key in self.keys:
            if key in self.errors:
                raise self.errors[key]

    def __repr__(self) -> str:
        return f"<BatchResult {len(self.results)} ok, {len(self.errors)} failed>"


def _check_concurrency(max_concurrency: int) -> int:
    if not isinstance(max_concurrency, int) or isinstance(max_concurrency, bool) or max_concurrency < 1:
        raise ValueError(f"max_concurrency must be a positive int, not {max_concurrency!r}")
    return max_concurrency


def batch_width(disk: FilesystemAdapter, max_concurrency: int) -> int:
    """How many items of a batch on ``disk`` run at once: ``max_concurrency``, at most the disk's connections.

    Raises:
        ValueError: ``max_concurrency`` is not a positive int.
    """
    width = _check_concurrency(max_concurrency)
    limit = disk.backend.connection_limit()
    return width if limit is None else max(1, min(width, limit))


def run_batch(
    keys: Sequence[K],
    operation: Callable[[K], V],
    *,
    max_concurrency: int,
    progress: BatchProgress | None,
) -> BatchResult[K, V]:
    """Run ``operation`` on every key, at most ``max_concurrency`` at once.

    Raises:
        ValueError: ``max_concurrency`` is not a positive int.
    """
    result: BatchResult[K, V] = BatchResult(list(keys))
    total = len(keys)
    done = 0

    def record(key: K, value: Any, error: Exception | None) -> None:
        nonlocal done
        done += 1
        if error is None:
            result.results[key] = value
        else:
            result.errors[key] = error
        if progress is not None:
            progress(done, total, key, error)

    workers = min(_check_concurrency(max_concurrency), total)
    if workers <= 1:
        for key in keys:
            try:
                value = operation(key)
            except Exception as error:
                record(key, None, error)
            else:
                record(key, value, None)
        return result
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flystore-batch") as pool:
        # Each item runs in a copy of the caller's context, so context variables (the audit actor) reach it.
        futures = {pool.submit(contextvars.copy_context().run, operation, key): key for key in keys}
        for future in as_completed(futures):
            failure = future.exception()
            if failure is not None and not isinstance(failure, Exception):
                raise failure
            record(futures[future], None if failure else future.result(), failure)  # type: ignore[arg-type]
    return result


def _unique(paths: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(paths))


def put_many(
    disk: FilesystemAdapter,
    items: Mapping[str, Any],
    *,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    progress: BatchProgress | None = None,
    **options: Any,
) -> BatchResult[str, str]:
    """``disk.put(path, data, **options)`` for every item; results are the stored paths."""
    return run_batch(
        list(items), lambda path: disk.put(path, items[path], **options),
        max_concurrency=batch_width(disk, max_concurrency), progress=progress,
    )


def get_many(
    disk: FilesystemAdapter,
    paths: Iterable[str],
    *,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    progress: BatchProgress | None = None,
) -> BatchResult[str, bytes]:
    """``disk.get(path)`` for every path; a missing file is that item's ``FileNotFound``."""
    return run_batch(_unique(paths), disk.get, max_concurrency=batch_width(disk, max_concurrency), progress=progress)


def exists_many(
    disk: FilesystemAdapter,
    paths: Iterable[str],
    *,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    progress: BatchProgress | None = None,
) -> BatchResult[str, bool]:
    """``disk.exists(path)`` for every path."""
    return run_batch(_unique(paths), disk.exists, max_concurrency=batch_width(disk, max_concurrency), progress=progress)


def copy_many(
    disk: FilesystemAdapter,
    pairs: Mapping[str, str],
    *,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    progress: BatchProgress | None = None,
    **options: Any,
) -> BatchResult[str, str]:
    """``disk.copy(source, destination)`` for every pair, keyed by source; results are destinations."""
    return run_batch(
        list(pairs), lambda source: disk.copy(source, pairs[source], **options),
        max_concurrency=batch_width(disk, max_concurrency), progress=progress,
    )


def delete_many(
    disk: FilesystemAdapter,
    paths: Iterable[str],
    *,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    progress: BatchProgress | None = None,
) -> BatchResult[str, bool]:
    """Delete every path; results say whether something was deleted.

    On S3 the paths go out in DeleteObjects requests of up to 1,000 keys; S3
    does not say whether a key existed, so there every deleted-or-absent path
    reports True.
    """
    unique = _unique(paths)
    native = native_delete(disk, unique, progress)
    if native is not None:
        return native
    return run_batch(unique, disk.delete, max_concurrency=batch_width(disk, max_concurrency), progress=progress)


def _s3_backend(disk: FilesystemAdapter) -> Any:
    backend = disk.backend
    if getattr(backend, "name", None) != "s3" or not all(
        hasattr(backend, attribute) for attribute in ("client", "bucket", "_root_key")
    ):
        return None
    return backend


def native_delete(
    disk: FilesystemAdapter, paths: Sequence[str], progress: BatchProgress | None,
    cancelled: threading.Event | None = None,
) -> BatchResult[str, bool] | None:
    """Delete ``paths`` with the backend's multi-object call, or None when it has none.

    Once ``cancelled`` is set no further request is sent (the one in flight
    completes); the paths never requested are left with no result.
    """
    backend = _s3_backend(disk)
    if backend is None:
        return None
    result: BatchResult[str, bool] = BatchResult(list(paths))
    # key -> every path that spells it ("a.txt", "./a.txt"): one key in the request, an answer for each.
    keys: dict[str, list[str]] = {}
    for path in paths:
        try:
            target = normalize(path)
            if not target:
                raise UnableToDeleteFile.at(target, "the disk root is a directory; use delete_directory")
            keys.setdefault(backend._root_key + target, []).append(path)
        except StorageError as error:
            error.disk = error.disk or disk.name
            result.errors[path] = error
    done = len(result.errors)
    if progress is not None:
        for index, failed in enumerate(result.errors, start=1):
            progress(index, len(paths), failed, result.errors[failed])
    batch = list(keys)
    for start in range(0, len(batch), S3_DELETE_BATCH):
        if cancelled is not None and cancelled.is_set():
            break
        chunk = batch[start : start + S3_DELETE_BATCH]
        outcome: dict[str, Exception | None] = {}
        try:
            response = backend.client.delete_objects(
                Bucket=backend.bucket, Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": False}
            )
            for item in response.get("Deleted") or ():
                outcome[item["Key"]] = None
            for item in response.get("Errors") or ():
                if item.get("Key") in keys:
                    outcome[item["Key"]] = UnableToDeleteFile.at(
                        keys[item["Key"]][0], f"{item.get('Code')}: {item.get('Message')}", disk=disk.name
                    )
        except Exception as cause:
            for key in chunk:
                outcome[key] = UnableToDeleteFile.at(keys[key][0], str(cause), disk=disk.name, cause=cause)
        for key in chunk:
            spellings = keys[key]
            failure = outcome.get(
                key, UnableToDeleteFile.at(spellings[0], "S3 did not report this key", disk=disk.name)
            )
            if failure is None:
                disk._fire("file_deleted", normalize(spellings[0]))
            for path in spellings:
                if failure is None:
                    result.results[path] = True
                else:
                    result.errors[path] = failure
                done += 1
                if progress is not None:
                    progress(done, len(paths), path, failure)
    return result

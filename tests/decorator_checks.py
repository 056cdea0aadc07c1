"""Checks the tests of the byte-changing decorators (encrypted, compressed, deduplicated) share."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flystore import FilesystemAdapter, StorageError, UnableToGeneratePublicUrl, UnableToGenerateTemporaryUrl


def assert_urls_refused(disk: FilesystemAdapter, path: str, kind: str, download: str, upload: str) -> None:
    """``url``, ``temporary_url`` and ``temporary_upload_url`` of ``path`` each raise naming the disk, the path,
    ``the disk is <kind>`` and their reason: ``download`` for the two reading URLs, ``upload`` for the upload one."""
    calls: list[tuple[type[StorageError], Callable[[str], object], str]] = [
        (UnableToGeneratePublicUrl, disk.url, download),
        (UnableToGenerateTemporaryUrl, disk.temporary_url, download),
        (UnableToGenerateTemporaryUrl, disk.temporary_upload_url, upload),
    ]
    for error, call, reason in calls:
        with pytest.raises(error, match=f"the disk is {kind}: .*{reason}") as caught:
            call(path)
        assert (caught.value.disk, caught.value.path) == (disk.name, path), call.__name__

"""pytest plugin (entry point ``pytest11``): the ``storage_fake`` fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ..storage import Storage
from .fake import FakeDisk

__all__ = ["storage_fake"]


@pytest.fixture
def storage_fake() -> Iterator[Callable[..., FakeDisk]]:
    """Call it to fake a disk of the global ``Storage`` for this test::

        def test_avatar_upload(storage_fake):
            disk = storage_fake("s3")
            upload_avatar(...)
            disk.assert_exists("avatars/1.jpg")

    Every disk faked through it is restored when the test ends.
    """
    faked: list[str] = []

    def fake(name: str | None = None, **overrides: Any) -> FakeDisk:
        disk = Storage.fake(name, **overrides)
        faked.append(disk.name)
        return disk

    yield fake
    for name in reversed(faked):
        Storage.restore(name)

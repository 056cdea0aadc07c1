"""The s3 disk's connection pools serve a batch's concurrency (against moto).

Every call of a disk shares one botocore client, so a batch with more items in
flight than the client's urllib3 pool holds opens extra connections and throws
them away afterwards; urllib3 says so with "Connection pool is full, discarding
connection". The pool is sized for the widest concurrency flystore itself runs on
a disk (``DEFAULT_POOL_CONNECTIONS``), whatever ``max_concurrency`` (the parts of
one upload) says, and ``max_pool_connections`` sets it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from flystore import FilesystemAdapter, InvalidConfiguration
from flystore.drivers.s3.options import DEFAULT_POOL_CONNECTIONS
from tests.drivers.test_s3 import build, raw_client, remove_bucket

ITEMS = 160
WIDE = 32  # wider than the old pool of max(10, 2 x max_concurrency) = 10 for max_concurrency 2
_FULL = "Connection pool is full"


@pytest.fixture(scope="module")
def raw(s3_endpoint: str) -> Iterator[Any]:
    client = raw_client(s3_endpoint)
    yield client
    client.close()


@pytest.fixture
def bucket(raw: Any) -> Iterator[str]:
    name = f"pool-{uuid.uuid4().hex[:16]}"
    yield name
    remove_bucket(raw, name)


def _discarded(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name.startswith("urllib3") and _FULL in record.getMessage()]


def _batches(disk: FilesystemAdapter, width: int) -> None:
    items = {f"batch/{index:03d}.txt": f"item {index}".encode() * 256 for index in range(ITEMS)}
    assert disk.put_many(items, max_concurrency=width).ok
    got = disk.get_many(list(items), max_concurrency=width)
    assert got.ok and got.results == items
    assert all(disk.exists_many(list(items), max_concurrency=width).results.values())


@pytest.mark.parametrize("fast_path", [True, False], ids=["direct", "botocore"])
def test_a_batch_wider_than_max_concurrency_keeps_its_connections(
    s3_endpoint: str, bucket: str, caplog: pytest.LogCaptureFixture, fast_path: bool
) -> None:
    disk = build(s3_endpoint, bucket, fast_path=fast_path)  # max_concurrency 2
    caplog.set_level(logging.WARNING, logger="urllib3")
    _batches(disk, WIDE)
    assert _discarded(caplog) == []
    disk.close()


def test_an_async_batch_wider_than_max_concurrency_keeps_its_connections(
    s3_endpoint: str, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    disk = build(s3_endpoint, bucket)
    items = {f"aio/{index:03d}.bin": bytes([index % 256]) * 4096 for index in range(ITEMS)}
    caplog.set_level(logging.WARNING, logger="urllib3")

    async def run() -> None:
        assert (await disk.aio.put_many(items, max_concurrency=WIDE)).ok
        got = await disk.aio.get_many(list(items), max_concurrency=WIDE)
        assert got.ok and got.results == items

    asyncio.run(run())
    assert _discarded(caplog) == []
    disk.close()


def test_max_pool_connections_sizes_the_pool_and_caps_a_wider_batch(
    s3_endpoint: str, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    small = build(s3_endpoint, bucket, max_pool_connections=4)
    assert small.backend.connection_limit() == 4
    caplog.set_level(logging.WARNING, logger="urllib3")
    # 32 threads of the caller's own, outside any batch: the option reaches urllib3, which discards.
    with ThreadPoolExecutor(WIDE) as pool:
        list(pool.map(lambda index: small.put(f"threads/{index:03d}.txt", b"x" * 1024), range(ITEMS)))
    assert _discarded(caplog), "a 4-connection pool under 32 threads discards connections"
    caplog.clear()
    # A batch asking for 32 runs 4 at a time on that disk: every item done, no connection thrown away.
    in_flight = _widest_batch(small, WIDE)
    assert _discarded(caplog) == []
    assert 1 < in_flight <= 4

    async def through_aio() -> None:  # the async lanes take the same width
        items = {f"aio-small/{index:03d}.bin": bytes([index % 256]) * 4096 for index in range(ITEMS)}
        assert (await small.aio.put_many(items, max_concurrency=WIDE)).ok
        assert (await small.aio.get_many(list(items), max_concurrency=WIDE)).results == items

    asyncio.run(through_aio())
    assert _discarded(caplog) == []
    small.close()
    wide = build(s3_endpoint, bucket, max_pool_connections=2 * DEFAULT_POOL_CONNECTIONS)
    _batches(wide, DEFAULT_POOL_CONNECTIONS + 16)
    assert _discarded(caplog) == []
    wide.close()


def _widest_batch(disk: FilesystemAdapter, width: int) -> int:
    """Run the batches at ``width`` and return the most items that were ever in flight at once."""
    lock, current, widest = threading.Lock(), [0], [0]

    original_put = disk.put

    def put(path: str, data: Any, **options: Any) -> Any:
        with lock:
            current[0] += 1
            widest[0] = max(widest[0], current[0])
        try:
            time.sleep(0.01)  # long enough that items of a wider batch would overlap
            return original_put(path, data, **options)
        finally:
            with lock:
                current[0] -= 1

    disk.put = put  # type: ignore[method-assign,assignment]
    try:
        _batches(disk, width)
    finally:
        del disk.put
    return widest[0]


def test_the_pool_grows_with_max_concurrency_and_reaches_s3fs(s3_endpoint: str, bucket: str) -> None:
    disk = build(s3_endpoint, bucket, max_concurrency=DEFAULT_POOL_CONNECTIONS)
    backend: Any = disk.backend
    assert backend.client.meta.config.max_pool_connections == 2 * DEFAULT_POOL_CONNECTIONS
    # s3fs (aiobotocore, aiohttp) waits for a free connection instead of discarding one: same size.
    assert backend.fs.config_kwargs["max_pool_connections"] == 2 * DEFAULT_POOL_CONNECTIONS
    disk.close()


@pytest.mark.parametrize("value", [0, -1, "8", True, 2.5])
def test_a_bad_pool_size_names_the_option(s3_endpoint: str, value: Any) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        build(s3_endpoint, "never-made", max_pool_connections=value, create_bucket=False)
    assert caught.value.option == "max_pool_connections" and caught.value.disk == "s3"

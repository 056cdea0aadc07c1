"""Decorators nested over S3 (moto), read by pandas/pyarrow through ``disk.fs`` with random access."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO

import pandas as pd  # type: ignore[import-untyped]  # test dependencies: missing fails collection
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.decorators.base import DecoratedBackend
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket


class _CountingReader:
    """Wraps a file object and counts the bytes read from it."""

    def __init__(self, handle: BinaryIO, counter: list[int]) -> None:
        self._handle = handle
        self._counter = counter

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._counter[0] += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _CountingReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._handle.close()


class ByteCountingBackend(DecoratedBackend):
    """A real pass-through layer counting the bytes read below it."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.counter = [0]

    def open_read(self, path: str) -> BinaryIO:
        return _CountingReader(self.inner.open_read(path), self.counter)  # type: ignore[return-value]

    def read(self, path: str) -> bytes:
        data = self.inner.read(path)
        self.counter[0] += len(data)
        return data


@pytest.fixture
def s3_manager(s3_endpoint: str, redis_url: str) -> Iterator[StorageManager]:
    bucket = f"flystore-{uuid.uuid4().hex[:16]}"
    manager = StorageManager({"disks": {
        "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, "create_bucket": True, **CREDENTIALS},
        "scoped": {"driver": "scoped", "disk": "s3", "prefix": "tenants/acme"},
    }})
    yield manager
    client = raw_client(s3_endpoint)
    remove_bucket(client, bucket)
    client.close()


def _frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"n": range(rows), "square": [i * i for i in range(rows)],
                         "label": [f"row-{i:06d}" for i in range(rows)]})


def test_pandas_reads_parquet_with_random_access_through_a_cached_scoped_s3_disk(
    s3_manager: StorageManager, redis_url: str
) -> None:
    from flystore import CachedFilesystemAdapter

    scoped = s3_manager.disk("scoped")
    counting = ByteCountingBackend(scoped.backend)
    below = FilesystemAdapter(counting, name="scoped")
    small = CachedFilesystemAdapter(below, "redis", 600, redis_url=redis_url, namespace=f"{uuid.uuid4().hex}:",
                                    max_file_size=64 * 1024)
    frame = _frame(60_000)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with small.fs.open("data/table.parquet", "wb") as handle:
        pq.write_table(table, handle, row_group_size=10_000, compression="none")
    size = small.size("data/table.parquet")
    assert size > 64 * 1024  # too big to cache: it streams, with seeks, from S3
    assert s3_manager.disk("s3").file_exists("tenants/acme/data/table.parquet")

    counting.counter[0] = 0
    with small.fs.open("data/table.parquet", "rb") as handle:
        parquet = pq.ParquetFile(handle)
        assert parquet.metadata.num_row_groups == 6
        group = parquet.read_row_group(4, columns=["square"]).to_pandas()
    assert group["square"].tolist() == [i * i for i in range(40_000, 50_000)]
    assert counting.counter[0] < size / 3  # random access: one column of one row group and the footer

    whole = pd.read_parquet("data/table.parquet", filesystem=small.fs, columns=["n", "label"])
    pd.testing.assert_frame_equal(whole, frame[["n", "label"]])
    small.close()


def test_a_small_parquet_file_is_served_from_the_cache(s3_manager: StorageManager, redis_url: str) -> None:
    from flystore import CachedFilesystemAdapter

    counting = ByteCountingBackend(s3_manager.disk("scoped").backend)
    cached = CachedFilesystemAdapter(FilesystemAdapter(counting, name="scoped"), "redis", 600,
                                     redis_url=redis_url, namespace=f"{uuid.uuid4().hex}:")
    frame = _frame(500)
    frame.to_parquet("small.parquet", filesystem=cached.fs, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet("small.parquet", filesystem=cached.fs), frame)
    cached.get("small.parquet")  # now the contents are cached
    counting.counter[0] = 0
    pd.testing.assert_frame_equal(pd.read_parquet("small.parquet", filesystem=cached.fs), frame)
    assert counting.counter[0] == 0  # nothing read from S3
    cached.close()

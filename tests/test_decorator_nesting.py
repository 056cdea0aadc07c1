"""Decorators stack to any depth from config: cached(encrypted(scoped(s3))), on moto and redis-server.

Proves the issue-7 promises that need several decorators at once: the whole
``DiskContract`` through the stack, ciphertext (never plaintext) under the
scoped prefix in the bucket, no stale read through the cache after a write,
and pandas reading parquet with random access through ``disk.fs`` of an
encrypted, cached disk.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd  # type: ignore[import-untyped]  # test dependencies: missing fails collection
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.testing import DiskContract
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket
from tests.test_cached_nesting import ByteCountingBackend

KEY = "base64:" + base64.b64encode(os.urandom(32)).decode()


def _stack(s3_endpoint: str, redis_url: str, bucket: str) -> StorageManager:
    return StorageManager({"disks": {
        "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, "create_bucket": True, **CREDENTIALS},
        "tenant": {"driver": "scoped", "disk": "s3", "prefix": "tenants/acme"},
        "secure": {"driver": "encrypted", "disk": "tenant", "key": KEY},
        "fast": {"driver": "cached", "disk": "secure", "store": "redis", "redis_url": redis_url, "ttl": 600,
                 "namespace": f"{uuid.uuid4().hex}:"},
    }})


@pytest.fixture
def stack(s3_endpoint: str, redis_url: str) -> Iterator[StorageManager]:
    bucket = f"flystore-{uuid.uuid4().hex[:16]}"
    manager = _stack(s3_endpoint, redis_url, bucket)
    yield manager
    manager.forget_disk("fast", "secure", "tenant", "s3")
    client = raw_client(s3_endpoint)
    remove_bucket(client, bucket)
    client.close()


class TestCachedEncryptedScopedS3Contract(DiskContract):
    stateful_examples = 4
    stateful_steps = 10

    @pytest.fixture
    def disk(self, stack: StorageManager) -> Iterator[FilesystemAdapter]:
        yield stack.disk("fast")


def test_the_bucket_holds_only_ciphertext_under_the_scoped_prefix(stack: StorageManager, s3_endpoint: str) -> None:
    fast = stack.disk("fast")
    secret = b"quarterly numbers: 1,234,567 " * 100
    fast.put("reports/q3.txt", secret)
    raw = stack.disk("s3")
    assert raw.all_files() == ["tenants/acme/reports/q3.txt"]
    stored = raw.get("tenants/acme/reports/q3.txt")
    assert secret[:20] not in stored and stored[:4] == b"FLYE"  # the encrypted format's magic
    assert fast.get("reports/q3.txt") == secret
    assert stack.disk("secure").get("reports/q3.txt") == secret
    assert fast.size("reports/q3.txt") == len(secret)


def test_a_write_through_the_stack_is_never_read_stale(stack: StorageManager) -> None:
    fast = stack.disk("fast")
    fast.put("a.txt", "first")
    assert fast.get("a.txt") == b"first"
    before = fast.cache_stats()["hits"]  # type: ignore[attr-defined]
    assert fast.get("a.txt") == b"first"
    assert fast.cache_stats()["hits"] > before  # type: ignore[attr-defined]  # the second read was a hit
    fast.put("a.txt", "second")
    assert fast.get("a.txt") == b"second"
    fast.move("a.txt", "b.txt")
    assert not fast.exists("a.txt") and fast.get("b.txt") == b"second"
    fast.delete("b.txt")
    assert fast.file_missing("b.txt") and fast.files() == []


def _frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"n": range(rows), "square": [i * i for i in range(rows)],
                         "label": [f"row-{i:06d}" for i in range(rows)]})


def test_pandas_reads_parquet_with_random_access_through_an_encrypted_cached_disk(
    stack: StorageManager, redis_url: str
) -> None:
    from flystore import CachedFilesystemAdapter, EncryptedFilesystemAdapter

    counting = ByteCountingBackend(stack.disk("tenant").backend)  # counts ciphertext read from S3
    encrypted = EncryptedFilesystemAdapter(FilesystemAdapter(counting, name="tenant"), KEY)
    cached: Any = CachedFilesystemAdapter(encrypted, "redis", 600, redis_url=redis_url,
                                          namespace=f"{uuid.uuid4().hex}:", max_file_size=64 * 1024)
    frame = _frame(60_000)
    with cached.fs.open("data/table.parquet", "wb") as handle:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), handle, row_group_size=10_000,
                       compression="none")
    size = cached.size("data/table.parquet")
    assert size > 64 * 1024  # larger than the cache takes: it streams, with seeks, through the decryption

    counting.counter[0] = 0
    with cached.fs.open("data/table.parquet", "rb") as handle:
        parquet = pq.ParquetFile(handle)
        assert parquet.metadata.num_row_groups == 6
        group = parquet.read_row_group(4, columns=["square"]).to_pandas()
    assert group["square"].tolist() == [i * i for i in range(40_000, 50_000)]
    assert counting.counter[0] < size / 3  # only the segments under one column chunk and the footer

    whole = pd.read_parquet("data/table.parquet", filesystem=cached.fs, columns=["n", "label"])
    pd.testing.assert_frame_equal(whole, frame[["n", "label"]])
    cached.close()

"""An exclusive create on s3 whose first attempt landed but whose answer was lost.

The disk talks to moto through ``FaultProxy``; the request of the chosen connection reaches
moto (which stores the object) and the answer is replaced by a TCP reset. The driver (or
botocore) sends the PUT again, with ``If-None-Match: *``, and moto answers 412 because of our
own first attempt: that is the write having happened, not another writer's file.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from flystore import FileAlreadyExists
from tests.drivers.test_s3 import build, raw_client, remove_bucket
from tests.faultproxy import FaultProxy


class _ResetOne(random.Random):
    """The proxy's dice: every connection is forwarded except the ``nth`` after ``arm()``, which is reset."""

    def __init__(self) -> None:
        super().__init__(0)
        self.countdown = -1

    def arm(self, nth: int) -> None:
        self.countdown = nth

    def random(self) -> float:
        self.countdown -= 1
        return 0.0 if self.countdown == 0 else 0.99


@pytest.fixture
def raw(s3_endpoint: str) -> Iterator[Any]:
    client = raw_client(s3_endpoint)
    yield client
    client.close()


@pytest.fixture
def bucket(raw: Any) -> Iterator[str]:
    name = f"exclr-{uuid.uuid4().hex[:16]}"
    yield name
    remove_bucket(raw, name)


@pytest.mark.parametrize("fast_path", [True, False], ids=["direct", "botocore"])
def test_a_create_whose_answer_was_lost_is_our_write_not_an_existing_file(
    s3_endpoint: str, bucket: str, raw: Any, fast_path: bool
) -> None:
    with FaultProxy("127.0.0.1", int(urlsplit(s3_endpoint).port or 0), reset_rate=0.5) as proxy:
        dice = _ResetOne()
        proxy._rng = dice
        disk = build(proxy.url_for("http"), bucket, fast_path=fast_path)
        try:
            disk.put("warm.txt", b"x")  # the bucket exists and the client is warm: one request per call below
            dice.arm(2)  # the create's directory LIST passes, its PUT reaches moto and the answer is reset
            disk.fs.pipe_file("lock.txt", b"ours", mode="create")
            assert proxy.reset == 1  # the lost answer really happened
            assert raw.get_object(Bucket=bucket, Key="lock.txt")["Body"].read() == b"ours"
        finally:
            disk.close()


def test_a_create_refused_after_a_lost_answer_is_still_refused_when_the_file_is_not_ours(
    s3_endpoint: str, bucket: str, raw: Any
) -> None:
    with FaultProxy("127.0.0.1", int(urlsplit(s3_endpoint).port or 0), reset_rate=0.5) as proxy:
        dice = _ResetOne()
        proxy._rng = dice
        disk = build(proxy.url_for("http"), bucket)
        try:
            disk.put("lock.txt", b"theirs")
            dice.arm(2)  # the PUT is refused by moto (412), its answer is lost, the retry is refused again
            with pytest.raises(FileAlreadyExists) as caught:
                disk.fs.pipe_file("lock.txt", b"ours", mode="create")
            assert proxy.reset == 1
            assert caught.value.path == "lock.txt" and caught.value.disk == disk.name
            assert raw.get_object(Bucket=bucket, Key="lock.txt")["Body"].read() == b"theirs"
        finally:
            disk.close()


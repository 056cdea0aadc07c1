"""Exclusive create on s3 (``disk.fs.pipe_file(p, mode="create")``, ``open(p, "xb")``) against moto.

The condition travels with the write itself: ``If-None-Match: *`` on the PutObject
(direct or through botocore) and on the CompleteMultipartUpload, so S3 decides and
flystore does no check-then-write of its own. moto 5.2 honours both one request at a
time (a refused completion answers 412 PreconditionFailed and leaves the upload open,
which the driver then aborts), but its own check is not atomic: it looks the key up,
then stores (for a completion, after joining the parts), with no lock between, so two
concurrent requests can both pass. S3 decides atomically; the race tests therefore
talk to moto through ``SerialProxy``, which lets one request at a time reach it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from flystore import FileAlreadyExists, FilesystemAdapter
from tests.drivers.test_s3 import MiB, RequestCounter, build, raw_client, remove_bucket
from tests.racing import race

SMALL = 4096
BIG = 6 * MiB + 123  # two parts of 5 MiB: a multipart upload
PART = 5 * MiB


@pytest.fixture(scope="module")
def raw(s3_endpoint: str) -> Iterator[Any]:
    client = raw_client(s3_endpoint)
    yield client
    client.close()


@pytest.fixture
def bucket(raw: Any) -> Iterator[str]:
    name = f"excl-{uuid.uuid4().hex[:16]}"
    yield name
    remove_bucket(raw, name)


class SerialProxy:
    """A loopback TCP relay to moto that lets one connection at a time through.

    moto answers every request with ``Connection: close``, so one connection is one
    request: holding the lock until moto has closed its side makes each request,
    and so each of moto's check-then-store steps, atomic, as on S3.
    """

    def __init__(self, endpoint: str) -> None:
        self._target = ("127.0.0.1", int(urlsplit(endpoint).port or 0))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # accept wakes up to see the stop flag
        self._stop = threading.Event()
        self._serial = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            thread = threading.Thread(target=self._relay, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _relay(self, client: socket.socket) -> None:
        with client, self._serial, socket.create_connection(self._target) as upstream:
            forward = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
            forward.start()
            _pump(upstream, client)  # until moto closes: the request is settled
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            forward.join()

    def close(self) -> None:
        self._stop.set()
        self._accepting.join()
        self._listener.close()
        for thread in self._threads:
            thread.join()


def _pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


@pytest.fixture
def serial(s3_endpoint: str) -> Iterator[str]:
    proxy = SerialProxy(s3_endpoint)
    yield proxy.url
    proxy.close()


def _disk(endpoint: str, bucket: str, fast_path: bool = True) -> FilesystemAdapter:
    return build(endpoint, bucket, part_size=PART, fast_path=fast_path)


def _payload(index: int, size: int) -> bytes:
    seed = f"writer {index:02d} ".encode()
    return (seed * (size // len(seed) + 1))[:size]


def _assert_refused(error: BaseException, disk: FilesystemAdapter, path: str) -> None:
    assert isinstance(error, FileAlreadyExists), repr(error)
    assert error.disk == disk.name and error.path == path
    assert disk.name in str(error) and path in str(error)


@pytest.mark.parametrize("fast_path", [True, False], ids=["direct", "botocore"])
@pytest.mark.parametrize("size", [SMALL, BIG], ids=["put", "multipart"])
def test_an_existing_key_is_refused_and_kept(
    s3_endpoint: str, bucket: str, raw: Any, size: int, fast_path: bool
) -> None:
    disk = _disk(s3_endpoint, bucket, fast_path)
    raw.put_object(Bucket=bucket, Key="taken.bin", Body=b"theirs")
    with pytest.raises(FileAlreadyExists) as caught:
        disk.fs.pipe_file("taken.bin", _payload(1, size), mode="create")
    _assert_refused(caught.value, disk, "taken.bin")
    assert disk.get("taken.bin") == b"theirs"
    assert raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # a refused completion is aborted
    disk.close()


@pytest.mark.parametrize("size", [SMALL, BIG], ids=["put", "multipart"])
def test_a_new_key_is_created_whole(s3_endpoint: str, bucket: str, raw: Any, size: int) -> None:
    disk = _disk(s3_endpoint, bucket)
    data = os.urandom(size)
    with disk.fs.open("fresh/new.bin", "xb") as handle:
        handle.write(data)
    assert disk.get("fresh/new.bin") == data
    etag = raw.head_object(Bucket=bucket, Key="fresh/new.bin")["ETag"]
    assert etag.endswith('-2"') is (size == BIG)  # the big one really went multipart
    disk.close()


@pytest.mark.parametrize(("size", "writers"), [(SMALL, 12), (BIG, 4)], ids=["put", "multipart"])
def test_racing_writers_have_one_winner_whose_bytes_are_intact(
    serial: str, bucket: str, raw: Any, size: int, writers: int
) -> None:
    disk = _disk(serial, bucket)
    handles = [disk.fs.open("race/one.bin", "xb") for _ in range(writers)]  # nothing there yet
    for index, handle in enumerate(handles):
        handle.write(_payload(index, size))
    won, errors = race([handle.close for handle in handles])  # only the server can decide now
    assert len(won) == 1, (won, errors)
    assert len(errors) == writers - 1
    for error in errors:
        _assert_refused(error, disk, "race/one.bin")
    assert disk.get("race/one.bin") == _payload(won[0], size)
    assert raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    disk.close()


def test_a_refused_direct_put_is_not_sent_again_through_botocore(s3_endpoint: str, bucket: str) -> None:
    from tests.faultproxy import FaultProxy

    with FaultProxy("127.0.0.1", int(urlsplit(s3_endpoint).port or 0)) as proxy:
        counter = RequestCounter(proxy)
        disk = _disk(proxy.url_for("http"), bucket)
        assert disk.backend.direct is not None  # type: ignore[attr-defined]
        disk.put("taken.txt", b"first")
        with counter.counting() as sent, pytest.raises(FileAlreadyExists):
            disk.fs.pipe_file("taken.txt", b"second", mode="create")
        assert sent == [2]  # the directory check (one LIST) and the conditional PUT, answered 412
        assert disk.backend.direct is not None  # type: ignore[attr-defined]  # a 412 keeps the direct path
        with counter.counting() as sent:
            disk.fs.pipe_file("other.txt", b"new", mode="create")
        assert sent == [2]
        assert disk.get("taken.txt") == b"first" and disk.get("other.txt") == b"new"
        disk.close()

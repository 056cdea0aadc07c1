"""An exclusive create on s3 whose first attempt landed but whose answer was lost.

The disk talks to moto through ``LosingProxy``: the chosen request reaches moto, which stores
the object and answers; the proxy swallows the answer and resets the connection. The driver
(direct path) or botocore sends the PUT again, with ``If-None-Match: *``, and moto answers 412
because of our own first attempt: that is the write having happened, not another writer's file.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from flystore import FileAlreadyExists
from tests.drivers.test_s3 import build, raw_client, remove_bucket


class LosingProxy:
    """A loopback relay to moto that loses the answer of one chosen connection.

    moto answers every request with ``Connection: close``, so one connection is one request.
    After ``lose(n)``, the ``n``-th next connection is relayed to moto in full, but moto's
    answer is read to its end and dropped, and the client is reset (TCP RST).
    """

    def __init__(self, endpoint: str) -> None:
        self._target = ("127.0.0.1", int(urlsplit(endpoint).port or 0))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # accept wakes up to see the stop flag
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._countdown = -1
        self.lost = 0
        self._threads: list[threading.Thread] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def lose(self, nth: int) -> None:
        with self._lock:
            self._countdown = nth

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            with self._lock:
                self._countdown -= 1
                losing = self._countdown == 0
            thread = threading.Thread(target=self._relay, args=(client, losing), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _relay(self, client: socket.socket, losing: bool) -> None:
        with socket.create_connection(self._target) as upstream:
            forward = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
            forward.start()
            if losing:
                _read_final_answer(upstream)  # moto has handled the request and answered: drop it
                self.lost += 1
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RD)  # wakes the forwarding thread; nothing is sent
                forward.join()
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()  # a reset: the client never learns that the request succeeded
            else:
                _pump(upstream, client)
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
                client.close()
            forward.join()

    def close(self) -> None:
        self._stop.set()
        self._accepting.join()
        self._listener.close()
        for thread in self._threads:
            thread.join()


def _read_final_answer(upstream: socket.socket) -> None:
    """Read one HTTP answer to its end (interim ``100 Continue`` answers skipped), without waiting for a close."""
    buffer = b""
    with contextlib.suppress(OSError):
        while True:
            while b"\r\n\r\n" not in buffer:
                data = upstream.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            if head.split(b" ", 2)[1].startswith(b"1"):
                continue  # 100 Continue: the final answer follows
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(buffer) < length:
                data = upstream.recv(65536)
                if not data:
                    return
                buffer += data
            return


def _pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


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


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[LosingProxy]:
    relay = LosingProxy(s3_endpoint)
    yield relay
    relay.close()


@pytest.mark.parametrize("fast_path", [True, False], ids=["direct", "botocore"])
def test_a_create_whose_answer_was_lost_is_our_write_not_an_existing_file(
    proxy: LosingProxy, bucket: str, raw: Any, fast_path: bool
) -> None:
    disk = build(proxy.url, bucket, fast_path=fast_path)
    try:
        disk.put("warm.txt", b"x")  # the bucket exists and the client is warm: one request per call below
        proxy.lose(2)  # the create's directory LIST passes; its PUT lands in moto and the answer is lost
        disk.fs.pipe_file("lock.txt", b"ours", mode="create")
        assert proxy.lost == 1  # the lost answer really happened
        assert raw.get_object(Bucket=bucket, Key="lock.txt")["Body"].read() == b"ours"
    finally:
        disk.close()


@pytest.mark.parametrize("fast_path", [True, False], ids=["direct", "botocore"])
def test_a_create_refused_after_a_lost_answer_is_still_refused_when_the_file_is_not_ours(
    proxy: LosingProxy, bucket: str, raw: Any, fast_path: bool
) -> None:
    disk = build(proxy.url, bucket, fast_path=fast_path)
    try:
        disk.put("lock.txt", b"theirs")
        proxy.lose(2)  # the PUT is refused by moto (412), that answer is lost, the retry is refused again
        with pytest.raises(FileAlreadyExists) as caught:
            disk.fs.pipe_file("lock.txt", b"ours", mode="create")
        assert proxy.lost == 1
        assert caught.value.path == "lock.txt" and caught.value.disk == disk.name
        assert raw.get_object(Bucket=bucket, Key="lock.txt")["Body"].read() == b"theirs"
    finally:
        disk.close()

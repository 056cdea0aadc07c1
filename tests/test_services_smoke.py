"""Smoke tests: each test server really works with its real client library."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faultproxy import FaultProxy

PAYLOAD = b"flystore smoke payload \x00\x01\xff"


def _name(prefix: str) -> str:
    """Return a unique bucket/container name (lowercase, >= 3 chars)."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


# --------------------------------------------------------------------------
# Cloud object stores
# --------------------------------------------------------------------------


def test_s3_put_get(s3_endpoint: str) -> None:
    """s3fs writes an object that boto3 reads back (and vice versa)."""
    import boto3
    import s3fs

    bucket = _name("smoke")
    fs = s3fs.S3FileSystem(
        key="testing",
        secret="testing",
        endpoint_url=s3_endpoint,
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        fs.mkdir(bucket)
        fs.pipe(f"{bucket}/dir/a.bin", PAYLOAD)
        assert fs.cat(f"{bucket}/dir/a.bin") == PAYLOAD
        body = client.get_object(Bucket=bucket, Key="dir/a.bin")["Body"]
        with contextlib.closing(body):
            assert body.read() == PAYLOAD
        client.put_object(Bucket=bucket, Key="b.txt", Body=b"from boto3")
        assert fs.cat(f"{bucket}/b.txt") == b"from boto3"
        fs.rm(bucket, recursive=True)
        assert bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]
    finally:
        client.close()
        if fs._s3 is not None:  # close the aiobotocore client on fsspec's loop
            s3fs.S3FileSystem.close_session(fs.loop, fs._s3)


def test_gcs_write_read(gcs_endpoint: str) -> None:
    """gcsfs (anonymous) writes and reads an object in a fresh bucket."""
    import gcsfs
    from fsspec.asyn import sync

    bucket = _name("smoke")
    fs = gcsfs.GCSFileSystem(
        token="anon",
        endpoint_url=gcs_endpoint,
        project="test",
        use_listings_cache=False,
        skip_instance_cache=True,
    )
    try:
        fs.mkdir(bucket)
        with fs.open(f"{bucket}/dir/a.bin", "wb") as f:
            f.write(PAYLOAD)
        assert fs.cat(f"{bucket}/dir/a.bin") == PAYLOAD
        assert fs.info(f"{bucket}/dir/a.bin")["size"] == len(PAYLOAD)
        fs.rm(bucket, recursive=True)
    finally:
        # gcsfs' own finalizer schedules the close from whatever thread runs
        # the GC; close the aiohttp session on fsspec's loop instead.
        session = fs._session
        if session is not None and not session.closed:
            sync(fs.loop, session.close)


def test_azure_write_read(azure_connection_string: str) -> None:
    """adlfs writes and reads a blob in a fresh container on Azurite."""
    import adlfs

    container = _name("smoke")
    fs = adlfs.AzureBlobFileSystem(connection_string=azure_connection_string, skip_instance_cache=True)
    fs.mkdir(container)
    with fs.open(f"{container}/dir/a.bin", "wb") as f:
        f.write(PAYLOAD)
    assert fs.cat(f"{container}/dir/a.bin") == PAYLOAD
    fs.rm(container, recursive=True)
    assert container not in [p.rstrip("/") for p in fs.ls("", refresh=True)]


# --------------------------------------------------------------------------
# FTP, SFTP, WebDAV
# --------------------------------------------------------------------------


def test_ftp_write_read(ftp_server: dict[str, Any]) -> None:
    """fsspec's FTPFileSystem writes a file that lands under the server root."""
    from fsspec.implementations.ftp import FTPFileSystem

    fs = FTPFileSystem(
        host=ftp_server["host"],
        port=ftp_server["port"],
        username=ftp_server["username"],
        password=ftp_server["password"],
        skip_instance_cache=True,
    )
    try:
        name = _name("ftp")
        fs.mkdir(f"/{name}")
        fs.pipe_file(f"/{name}/a.bin", PAYLOAD)
        assert fs.cat_file(f"/{name}/a.bin") == PAYLOAD
        with open(f"{ftp_server['root']}/{name}/a.bin", "rb") as f:
            assert f.read() == PAYLOAD
        fs.rm(f"/{name}", recursive=True)
    finally:
        fs.ftp.close()


def test_sftp_write_read(sftp_server: dict[str, Any]) -> None:
    """sshfs writes into the chrooted asyncssh server and reads it back."""
    import sshfs
    from fsspec.asyn import sync

    fs = sshfs.SSHFileSystem(
        sftp_server["host"],
        port=sftp_server["port"],
        username=sftp_server["username"],
        password=sftp_server["password"],
        known_hosts=None,
        skip_instance_cache=True,
    )
    try:
        name = _name("sftp")
        fs.mkdir(f"/{name}")
        fs.pipe_file(f"/{name}/a.bin", PAYLOAD)
        assert fs.cat_file(f"/{name}/a.bin") == PAYLOAD
        with open(f"{sftp_server['root']}/{name}/a.bin", "rb") as f:
            assert f.read() == PAYLOAD
        fs.rm(f"/{name}", recursive=True)
    finally:
        sync(fs.loop, fs._pool.close)
        sync(fs.loop, fs._stack.aclose)


def test_webdav_write_read(webdav_server: dict[str, Any]) -> None:
    """webdav4 writes a file through wsgidav (Basic auth) and reads it back."""
    from webdav4.fsspec import WebdavFileSystem

    fs = WebdavFileSystem(webdav_server["url"], auth=webdav_server["auth"], skip_instance_cache=True)
    try:
        name = _name("dav")
        fs.mkdir(name)
        fs.pipe_file(f"{name}/a.bin", PAYLOAD)
        assert fs.cat_file(f"{name}/a.bin") == PAYLOAD
        with open(f"{webdav_server['root']}/{name}/a.bin", "rb") as f:
            assert f.read() == PAYLOAD
        fs.rm(name, recursive=True)
    finally:
        fs.client.http.close()


def test_webdav_rejects_bad_password(webdav_server: dict[str, Any]) -> None:
    """Basic auth is really enforced."""
    from webdav4.fsspec import WebdavFileSystem

    fs = WebdavFileSystem(webdav_server["url"], auth=("flystore", "wrong"), skip_instance_cache=True)
    try:
        with pytest.raises(Exception, match="401|[Uu]nauthori"):
            fs.ls("")
    finally:
        fs.client.http.close()


# --------------------------------------------------------------------------
# FaultProxy
# --------------------------------------------------------------------------


class _OkHandler(http.server.BaseHTTPRequestHandler):
    """Answer every GET with a short 200 (HTTP/1.0: one request a connection)."""

    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: Any) -> None:
        """Stay quiet."""


class _OriginServer(http.server.ThreadingHTTPServer):
    """Threaded HTTP server that ignores clients vanishing mid-response."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore resets caused on purpose by the proxy; report anything else."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


@pytest.fixture
def http_origin() -> Iterator[tuple[str, int]]:
    """A tiny threaded HTTP server on loopback; yields ``(host, port)``."""
    server = _OriginServer(("127.0.0.1", 0), _OkHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield "127.0.0.1", server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _get(port: int, timeout: float = 2.0) -> bytes:
    """One raw HTTP GET over a new connection; return the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 200
        return response.read()
    finally:
        conn.close()


def test_faultproxy_drops_some_connections(http_origin: tuple[str, int]) -> None:
    """With drop_rate=0.5 a retrying client sees failures and successes."""
    with FaultProxy(*http_origin, drop_rate=0.5, seed=7) as proxy:
        successes = failures = 0
        for _request in range(10):
            for _attempt in range(20):
                try:
                    assert _get(proxy.port) == b"ok"
                except (OSError, http.client.HTTPException):
                    failures += 1
                    continue
                successes += 1
                break
        assert successes == 10  # every logical request eventually got through
        assert failures > 0
        assert proxy.connections == successes + failures
        assert proxy.dropped == failures
        assert proxy.connections > 0 and proxy.dropped > 0
        assert proxy.url_for("http") == f"http://127.0.0.1:{proxy.port}"


def test_faultproxy_is_deterministic(http_origin: tuple[str, int]) -> None:
    """The same seed gives the same pattern of failures."""

    def pattern() -> list[bool]:
        outcome: list[bool] = []
        with FaultProxy(*http_origin, drop_rate=0.5, seed=3) as proxy:
            for _ in range(12):
                try:
                    outcome.append(_get(proxy.port) == b"ok")
                except (OSError, http.client.HTTPException):
                    outcome.append(False)
        return outcome

    first = pattern()
    assert first == pattern()
    assert True in first and False in first


def test_faultproxy_reset_after_forwarding(http_origin: tuple[str, int]) -> None:
    """reset_rate=1 forwards the request, then the client gets a reset."""
    with FaultProxy(*http_origin, reset_rate=1.0) as proxy:
        with pytest.raises((ConnectionResetError, http.client.HTTPException, OSError)):
            _get(proxy.port)
        assert proxy.reset == 1 and proxy.connections == 1


def test_faultproxy_blackhole_and_refuse(http_origin: tuple[str, int]) -> None:
    """Blackhole makes a 1 s client time out quickly; refuse refuses connects."""
    with FaultProxy(*http_origin) as proxy:
        assert _get(proxy.port) == b"ok"
        proxy.mode = "blackhole"
        started = time.monotonic()
        with pytest.raises((TimeoutError, socket.timeout)):
            _get(proxy.port, timeout=1.0)
        assert time.monotonic() - started < 3.0
        assert proxy.stats()["blackholed"] == 1

        proxy.mode = "refuse"
        with pytest.raises(ConnectionRefusedError):
            _get(proxy.port, timeout=1.0)

        proxy.mode = "forward"  # re-listens on the same port
        assert _get(proxy.port) == b"ok"

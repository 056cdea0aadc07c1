"""Real protocol servers on loopback for flystore's tests (a pytest plugin).

Load it from ``tests/conftest.py`` with ``pytest_plugins = ["tests.services"]``.

Every fixture here is session-scoped, binds ``127.0.0.1`` only, uses a free port
and closes everything it opened on teardown (the suite runs with
``filterwarnings = error``, so a leaked socket, loop or file fails the run).

Fixtures and what they yield:

``s3_endpoint``
    ``"http://127.0.0.1:PORT"`` of an in-process moto server (S3, CloudFront...).
``gcs_endpoint``
    ``"http://127.0.0.1:PORT"`` of an in-process gcp-storage-emulator (in memory).
``azure_connection_string``
    An Azure Storage connection string for an Azurite blob server (subprocess).
``ftp_server``
    ``{"host", "port", "username", "password", "root"}`` of a pyftpdlib server.
``sftp_server``
    ``{"host", "port", "username", "password", "root"}`` of a chrooted asyncssh
    SFTP server with password authentication.
``webdav_server``
    ``{"url", "auth", "root"}`` of a wsgidav server on cheroot with Basic auth;
    ``auth`` is a ``(username, password)`` tuple.

Missing servers or Python packages go through :func:`require`: a failure when
services are required (``FLYSTORE_REQUIRE_SERVICES=1`` or ``CI`` set), a skip
otherwise.
"""

from __future__ import annotations

# Only the standard library and pytest are imported at module level; none of
# them loads a cloud SDK. Every SDK is imported lazily, inside a fixture, after
# the environment below is in place.
import asyncio
import contextlib
import importlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest

# Fake credentials and no metadata probes: set at import time, before any cloud
# SDK (boto3, aiobotocore, gcsfs, google-auth, azure) is imported anywhere.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_GCE_CHECK": "true",
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
    }
)

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "LOOPBACK",
    "REPO_ROOT",
    "azure_connection_string",
    "free_port",
    "ftp_server",
    "gcs_endpoint",
    "require",
    "require_executable",
    "require_module",
    "s3_endpoint",
    "services_required",
    "sftp_server",
    "spawned",
    "wait_for_port",
    "webdav_server",
]

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Azurite's fixed, publicly documented development account and key.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

#: Credentials used by the FTP, SFTP and WebDAV fixtures.
TEST_USER = "flystore"
TEST_PASSWORD = "secret"

_FALSEY = {"", "0", "false", "no", "off"}


# --------------------------------------------------------------------------
# Policy for missing servers
# --------------------------------------------------------------------------


def services_required() -> bool:
    """Tell whether a missing server must fail the run instead of skipping.

    ``FLYSTORE_REQUIRE_SERVICES`` decides when it is set (``1``/``true`` to
    require, ``0``/``false`` to allow skips); otherwise any non-false ``CI``
    value requires every server.
    """
    explicit = os.environ.get("FLYSTORE_REQUIRE_SERVICES")
    if explicit is not None:
        return explicit.strip().lower() not in _FALSEY
    return os.environ.get("CI", "").strip().lower() not in _FALSEY


def require(what: str) -> NoReturn:
    """Report that ``what`` (a server, binary or package) is unavailable.

    Calls :func:`pytest.fail` when services are required (see
    :func:`services_required`) and :func:`pytest.skip` otherwise.
    """
    message = f"test service unavailable: {what}"
    if services_required():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_module(name: str) -> ModuleType:
    """Import module ``name``, treating an ``ImportError`` as a missing server."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        require(f"Python package providing {name!r} cannot be imported ({exc})")


def require_executable(path_or_name: str) -> str:
    """Return the path of an executable, found on ``PATH`` or given as a path.

    A missing or non-executable file goes through :func:`require`.
    """
    found = shutil.which(path_or_name)
    if found is None and os.path.isfile(path_or_name) and os.access(path_or_name, os.X_OK):
        found = path_or_name
    if found is None:
        require(f"executable {path_or_name!r} is not installed")
    return found


# --------------------------------------------------------------------------
# Plain helpers
# --------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Only for subprocess servers that cannot report the port they bound;
    in-process servers should bind port 0 and read the port back.
    """
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    port: int,
    proc: subprocess.Popen[bytes] | None = None,
    timeout: float = 30.0,
    host: str = LOOPBACK,
) -> None:
    """Wait until something accepts TCP connections on ``host:port``.

    Raises ``RuntimeError`` at once if ``proc`` exits meanwhile, and
    ``TimeoutError`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited early with code {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.1f}s") from None
            time.sleep(0.05)


def _log_tail(path: Path, limit: int = 4000) -> str:
    """Return the last ``limit`` characters of a log file (best effort)."""
    try:
        return path.read_bytes()[-limit:].decode("utf-8", "replace")
    except OSError:
        return ""


@contextlib.contextmanager
def spawned(
    argv: Sequence[str],
    port: int,
    log_path: Path,
    *,
    timeout: float = 30.0,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server subprocess until the block ends, waiting for its port first.

    Output goes to ``log_path``; its tail is added to the error if the server
    does not come up. The process is terminated (then killed) and reaped, and
    the log file closed, on exit.
    """
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
        )
        try:
            try:
                wait_for_port(port, proc, timeout)
            except (RuntimeError, TimeoutError) as exc:
                log.flush()
                raise RuntimeError(f"{exc}\n--- {log_path} ---\n{_log_tail(log_path)}") from exc
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _quiet(*names: str, level: int = logging.CRITICAL) -> None:
    """Raise the level of noisy server loggers."""
    for name in names:
        logging.getLogger(name).setLevel(level)


def _quiet_disconnects(
    default: Callable[[Any, Any], None],
) -> Callable[[Any, Any], None]:
    """Wrap a ``socketserver`` ``handle_error`` to ignore client disconnects.

    Clients such as gcsfs race two requests and cancel the loser, which makes
    the server's write fail with ``BrokenPipeError``; socketserver would print
    a traceback for each. Other errors still go to ``default``.
    """

    def handle_error(request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            return
        default(request, client_address)

    return handle_error


def _without_default_server_header(base: type[Any]) -> type[Any]:
    """Subclass an ``http.server`` handler so it sends no ``Server`` header itself.

    moto adds its own ``server: amazon.com`` header on top of werkzeug's
    ``Server: Werkzeug/...``; strict HTTP parsers (aiohttp in debug or
    ``-X dev`` mode) reject the duplicate with "Duplicate 'Server' header".
    """

    class Handler(base):  # type: ignore[misc]
        def send_response(self, code: int, message: str | None = None) -> None:
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Date", self.date_time_string())

    Handler.__name__ = Handler.__qualname__ = f"NoServerHeader{base.__name__}"
    return Handler


# --------------------------------------------------------------------------
# S3: moto, in-process
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """Run moto's server in a thread and yield its ``http://127.0.0.1:PORT`` URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        require(f"moto[server] cannot be imported ({exc})")
    _quiet("werkzeug", level=logging.ERROR)
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    httpd = getattr(server, "_server", None)
    if httpd is not None:
        httpd.RequestHandlerClass = _without_default_server_header(httpd.RequestHandlerClass)
    try:
        _host, port = server.get_host_and_port()
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.stop()
        inner = getattr(server, "_server", None)
        if inner is not None:
            inner.server_close()  # stop() leaves the listening socket open


# --------------------------------------------------------------------------
# GCS: gcp-storage-emulator, in-process
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    """Run gcp-storage-emulator (in memory) in a thread and yield its URL."""
    import http.server

    emulator = require_module("gcp_storage_emulator.server")
    _quiet("gcp_storage_emulator")
    server = emulator.create_server(LOOPBACK, 0, in_memory=True)
    # The emulator uses a plain http.server.HTTPServer whose listen backlog of 5
    # stalls gcsfs' concurrent requests. The backlog is read once, when the
    # server thread binds, so raise it only around start().
    saved = http.server.HTTPServer.request_queue_size
    http.server.HTTPServer.request_queue_size = 128
    try:
        server.start()  # returns once the socket is bound and listening
    finally:
        http.server.HTTPServer.request_queue_size = saved
    api_thread: threading.Thread = server._api
    httpd = server._api._httpd
    httpd.handle_error = _quiet_disconnects(httpd.handle_error)
    try:
        port = httpd.server_address[1]
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.stop()  # shutdown() + server_close()
        # APIThread overrides join() with its stop logic; really wait for it.
        threading.Thread.join(api_thread, 5)


# --------------------------------------------------------------------------
# Azure Blob: Azurite from npm, subprocess
# --------------------------------------------------------------------------


def _azurite_executable() -> str:
    """Locate ``azurite-blob``: ``$AZURITE_BLOB`` or the repo's node_modules."""
    override = os.environ.get("AZURITE_BLOB")
    if override:
        return require_executable(override)
    local = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not local.exists():
        require(f"Azurite ({local} missing; run scripts/provision.sh or npm ci)")
    if shutil.which("node") is None:
        require("node (needed by Azurite) is not installed")
    return require_executable(str(local))


@pytest.fixture(scope="session")
def azure_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run Azurite's blob service in memory and yield a connection string."""
    exe = _azurite_executable()
    workdir = tmp_path_factory.mktemp("azurite")
    port = free_port()
    argv = [
        exe,
        "--silent",
        "--inMemoryPersistence",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--loose",
        "--blobHost",
        LOOPBACK,
        "--blobPort",
        str(port),
        "--extentMemoryLimit",
        "512",
    ]
    with spawned(argv, port, workdir / "azurite.log", timeout=60.0, cwd=workdir):
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://{LOOPBACK}:{port}/{AZURITE_ACCOUNT};"
        )


# --------------------------------------------------------------------------
# FTP: pyftpdlib, in-process
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Run a pyftpdlib ``ThreadedFTPServer`` rooted in a temp dir.

    Yields ``{"host", "port", "username", "password", "root"}``.
    """
    authorizers = require_module("pyftpdlib.authorizers")
    handlers = require_module("pyftpdlib.handlers")
    servers = require_module("pyftpdlib.servers")
    log = logging.getLogger("pyftpdlib")
    log.addHandler(logging.NullHandler())
    log.propagate = False

    root = str(tmp_path_factory.mktemp("ftp"))
    authorizer = authorizers.DummyAuthorizer()
    authorizer.add_user(TEST_USER, TEST_PASSWORD, root, perm="elradfmwMT")
    handler = type(
        "FlystoreFTPHandler",
        (handlers.FTPHandler,),
        {
            "authorizer": authorizer,
            "auth_failed_timeout": 0,
            "banner": "flystore test FTP",
        },
    )
    ioloop = require_module("pyftpdlib.ioloop")
    # pyftpdlib shares a stop Event, a lock and a default IOLoop between all its
    # servers: give this one its own, so another test's server stopping cannot stop it.
    server_class = type(
        "FlystoreFTPServer",
        (servers.ThreadedFTPServer,),
        {"_exit": threading.Event(), "_lock": threading.Lock()},
    )
    server = server_class((LOOPBACK, 0), handler, ioloop=ioloop.IOLoop())
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"timeout": 0.2},
        name="ftp-server",
        daemon=True,
    )
    thread.start()
    try:
        yield {
            "host": LOOPBACK,
            "port": server.address[1],
            "username": TEST_USER,
            "password": TEST_PASSWORD,
            "root": root,
        }
    finally:
        server.close_all()  # stops serve_forever and closes every socket
        thread.join(5)


# --------------------------------------------------------------------------
# SFTP: asyncssh, in-process on its own event loop
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Run a chrooted asyncssh SFTP server with password auth in a thread.

    Yields ``{"host", "port", "username", "password", "root"}``; paths seen by
    clients are relative to ``root`` (``/`` is ``root``).
    """
    asyncssh = require_module("asyncssh")
    _quiet("asyncssh", level=logging.WARNING)
    root = str(tmp_path_factory.mktemp("sftp"))
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {"connections": set()}

    class _Server(asyncssh.SSHServer):  # type: ignore[misc,name-defined]
        """Password-only SSH server that tracks its connections for teardown."""

        def connection_made(self, conn: Any) -> None:
            self._conn = conn
            state["connections"].add(conn)

        def connection_lost(self, exc: Exception | None) -> None:
            state["connections"].discard(getattr(self, "_conn", None))

        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return (username, password) == (TEST_USER, TEST_PASSWORD)

    def make_sftp(chan: Any) -> Any:
        return asyncssh.SFTPServer(chan, chroot=root.encode())

    async def listen() -> None:
        state["acceptor"] = await asyncssh.listen(
            LOOPBACK,
            0,
            server_host_keys=[host_key],
            server_factory=_Server,
            sftp_factory=make_sftp,
            allow_scp=False,
        )

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(listen())
        except Exception as exc:  # reported to the fixture below
            state["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="sftp-server", daemon=True)
    thread.start()
    try:
        if not ready.wait(15) or "error" in state:
            raise RuntimeError(f"asyncssh SFTP server did not start: {state.get('error')!r}")
        yield {
            "host": LOOPBACK,
            "port": state["acceptor"].sockets[0].getsockname()[1],
            "username": TEST_USER,
            "password": TEST_PASSWORD,
            "root": root,
        }
    finally:
        _stop_sftp_loop(loop, thread, state)


def _stop_sftp_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread, state: dict[str, Any]) -> None:
    """Close the acceptor and live connections, stop and close the loop."""

    async def close() -> None:
        acceptor = state.get("acceptor")
        if acceptor is not None:
            acceptor.close()
            await acceptor.wait_closed()
        for conn in list(state["connections"]):
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await loop.shutdown_asyncgens()

    if thread.is_alive() and loop.is_running():
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    if not loop.is_running():
        loop.close()


# --------------------------------------------------------------------------
# WebDAV: wsgidav on cheroot, in-process
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def webdav_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Run wsgidav on a cheroot WSGI server with Basic auth in a thread.

    Yields ``{"url", "auth", "root"}``; ``url`` ends with ``/`` and ``auth`` is
    ``(username, password)``.
    """
    wsgi = require_module("cheroot.wsgi")
    wsgidav_app = require_module("wsgidav.wsgidav_app")
    root = str(tmp_path_factory.mktemp("dav"))
    app = wsgidav_app.WsgiDAVApp(
        {
            "host": LOOPBACK,
            "port": 0,
            "provider_mapping": {"/": root},
            "simple_dc": {"user_mapping": {"*": {TEST_USER: {"password": TEST_PASSWORD}}}},
            "http_authenticator": {
                "accept_basic": True,
                "accept_digest": False,
                "default_to_digest": False,
            },
            "verbose": 1,
            "logging": {"enable": False},
            "property_manager": True,
            "lock_storage": True,
        }
    )
    server = wsgi.Server((LOOPBACK, 0), app, numthreads=8)
    server.prepare()  # binds and listens; bind_addr now holds the real port
    thread = threading.Thread(target=server.serve, name="webdav-server", daemon=True)
    thread.start()
    try:
        port = server.bind_addr[1]
        yield {
            "url": f"http://{LOOPBACK}:{port}/",
            "auth": (TEST_USER, TEST_PASSWORD),
            "root": root,
        }
    finally:
        server.stop()
        thread.join(5)

"""Running the browser with uvicorn: on a socket bound first (so port 0 works and the URL is exact).

``WebServer`` runs in the foreground (``flystore serve``) or in a thread (tests, notebooks).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any

from ..errors import DriverNotInstalled

__all__ = ["WebServer", "is_loopback", "url_host"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only ever reaches this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as it goes into a URL (IPv6 in brackets; a wildcard bind as 127.0.0.1)."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class WebServer:
    """uvicorn serving ``app`` on ``host:port`` (``port=0``: any free port; see ``port``).

    Raises:
        DriverNotInstalled: uvicorn is missing (``pip install "flystore[web]"``).
        OSError: the address cannot be bound (in use, not on this machine).
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "warning") -> None:
        try:
            import uvicorn
        except ModuleNotFoundError as cause:
            raise DriverNotInstalled.for_extra("web", "flystore serve", cause=cause) from cause
        family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
        # proto=IPPROTO_TCP: asyncio turns Nagle off only on sockets that say they are TCP; with proto 0 every
        # answer whose headers and body go out in two writes waits ~40 ms for the client's delayed ACK.
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host.strip("[]"), port))
            # Listening now queues the browser's first connection even before uvicorn's loop runs.
            self.socket.listen(2048)
        except OSError:
            self.socket.close()
            raise
        self.host = host
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_level=log_level, lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:8000``."""
        return f"http://{url_host(self.host)}:{self.port}"

    def run(self) -> None:
        """Serve until interrupted (Ctrl+C)."""
        self.server.run(sockets=[self.socket])

    def start(self) -> WebServer:
        """Serve in a daemon thread; returns once the server accepts connections.

        Raises:
            RuntimeError: the server did not start within 10 seconds.
        """
        self._thread = threading.Thread(target=self.run, name="flystore-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the flystore web server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop a server started with ``start`` and wait for its thread."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.socket.close()

"""A small fault-injecting TCP proxy on loopback, for retry and failure tests.

``FaultProxy`` listens on ``127.0.0.1`` (an ephemeral port) and relays each
accepted connection to one target on the loopback interface. For a seeded,
reproducible share of *new* connections it injects a fault instead:

``drop``
    the connection is closed at once; nothing reaches the target.
``reset``
    the request is forwarded to the target, and as soon as the target starts
    answering (so the server really processed it) the client connection is
    aborted with a TCP RST (``SO_LINGER`` 0); the response is never relayed.

``mode`` switches the whole proxy to a permanent failure:

``"forward"``
    normal operation (with the rates above).
``"blackhole"``
    new connections are accepted and never answered; established relays stop
    passing data in either direction (their peers just hang).
``"refuse"``
    the listening socket is closed (connects get ``ECONNREFUSED``) and every
    established connection is reset. Switching back re-listens on the same port.

Example::

    with FaultProxy("127.0.0.1", port, drop_rate=0.3, seed=1) as proxy:
        url = proxy.url_for("http")
        ...
        assert proxy.dropped > 0

Only threads are used, and everything (listener, connections, threads) is
closed when the context exits. The proxy never connects anywhere but its
target, which must be a loopback address.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal

__all__ = ["FaultProxy", "Mode"]

Mode = Literal["forward", "blackhole", "refuse"]
_MODES: frozenset[str] = frozenset({"forward", "blackhole", "refuse"})
_CHUNK = 64 * 1024
_POLL = 0.1  # seconds between checks of the stop flag


def _loopback_address(host: str, port: int) -> tuple[str, int]:
    """Resolve ``host`` and insist that it is an IPv4 loopback address."""
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        msg = f"cannot resolve proxy target {host!r}: {exc}"
        raise ValueError(msg) from exc
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if ipaddress.ip_address(address).is_loopback:
            return address, port
    msg = f"FaultProxy only forwards to loopback addresses, not {host!r}"
    raise ValueError(msg)


def _reset(sock: socket.socket) -> None:
    """Abort ``sock`` with a TCP RST instead of an orderly FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _shutdown(sock: socket.socket) -> None:
    """Wake up any thread blocked on ``sock`` (best effort)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class FaultProxy:
    """Fault-injecting TCP proxy from ``127.0.0.1:<port>`` to a loopback target.

    Args:
        target_host: host of the real server; must resolve to a loopback address.
        target_port: port of the real server.
        drop_rate: share (0..1) of new connections closed without forwarding.
        reset_rate: share (0..1) of new connections reset after forwarding the
            request. ``drop_rate + reset_rate`` must not exceed 1.
        seed: seed of the random generator deciding each new connection's fate,
            in accept order; equal seeds give equal sequences.
        connect_timeout: timeout in seconds for connecting to the target.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        drop_rate: float = 0.0,
        reset_rate: float = 0.0,
        seed: int = 0,
        connect_timeout: float = 5.0,
    ) -> None:
        """Validate the settings; nothing is opened before :meth:`start`."""
        if not (0.0 <= drop_rate <= 1.0 and 0.0 <= reset_rate <= 1.0):
            msg = "drop_rate and reset_rate must be between 0 and 1"
            raise ValueError(msg)
        if drop_rate + reset_rate > 1.0:
            msg = "drop_rate + reset_rate must not exceed 1"
            raise ValueError(msg)
        self.target: tuple[str, int] = _loopback_address(target_host, target_port)
        self.drop_rate = drop_rate
        self.reset_rate = reset_rate
        self.connect_timeout = connect_timeout
        self._rng = random.Random(seed)  # deterministic, not for security
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._mode: Mode = "forward"
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()
        self._held: set[socket.socket] = set()  # blackholed, owned by no thread
        self._threads: set[threading.Thread] = set()
        self.port: int = 0
        self.connections = 0
        self.dropped = 0
        self.reset = 0
        self.forwarded = 0
        self.blackholed = 0

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        """Start the proxy and return it."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the proxy, closing every socket and joining every thread."""
        self.close()

    def start(self) -> None:
        """Bind ``127.0.0.1:0`` (or the previous port) and start accepting."""
        if self._accept_thread is not None:
            msg = "FaultProxy already started"
            raise RuntimeError(msg)
        self._stop.clear()
        self._listen()
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"faultproxy-{self.port}", daemon=True)
        self._accept_thread.start()

    def close(self) -> None:
        """Stop accepting, close all connections and wait for all threads."""
        self._stop.set()
        self._close_listener()
        if self._accept_thread is not None:
            self._accept_thread.join(5)
            self._accept_thread = None
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)
        deadline = time.monotonic() + 5
        while True:
            with self._lock:
                threads = list(self._threads)
            if not threads or time.monotonic() >= deadline:
                break
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            sockets = list(self._sockets)
            self._sockets.clear()
            self._held.clear()
        for sock in sockets:
            sock.close()

    # -- public helpers ------------------------------------------------------

    def url_for(self, scheme: str = "http") -> str:
        """Return ``scheme://127.0.0.1:<port>`` for the proxy's listening port."""
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` the proxy listens on."""
        return ("127.0.0.1", self.port)

    @property
    def mode(self) -> Mode:
        """Current mode: ``"forward"``, ``"blackhole"`` or ``"refuse"``."""
        return self._mode

    @mode.setter
    def mode(self, value: Mode) -> None:
        if value not in _MODES:
            msg = f"unknown FaultProxy mode {value!r}; expected one of {sorted(_MODES)}"
            raise ValueError(msg)
        with self._lock:
            previous, self._mode = self._mode, value
            live = list(self._sockets - self._held)
            held = list(self._held) if value == "refuse" else []
            if held:
                self._held.clear()
                self._sockets.difference_update(held)
        if value == "refuse" and previous != "refuse":
            self._close_listener()
            for sock in held:
                _reset(sock)
            for sock in live:  # established connections die too
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                _shutdown(sock)
        elif previous == "refuse" and value != "refuse" and not self._stop.is_set():
            self._listen()

    def stats(self) -> dict[str, int]:
        """Return a snapshot of the counters."""
        with self._lock:
            return {
                "connections": self.connections,
                "dropped": self.dropped,
                "reset": self.reset,
                "forwarded": self.forwarded,
                "blackholed": self.blackholed,
            }

    # -- internals -----------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(128)
        except OSError:
            listener.close()
            raise
        listener.settimeout(_POLL)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener

    def _close_listener(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() first: on Linux it stops the listening state at once,
            # even while the accept thread is still polling the socket (a bare
            # close() would keep accepting into the backlog until that poll
            # returns, and those connections would then be reset).
            _shutdown(listener)
            listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:  # "refuse" mode: nothing to accept
                self._stop.wait(_POLL)
                continue
            try:
                client, _addr = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                # Closed by close() or a switch to "refuse", or a transient
                # accept error: never let it escape the thread.
                self._stop.wait(_POLL / 10)
                continue
            client.settimeout(None)
            self._dispatch(client)

    def _dispatch(self, client: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            roll = self._rng.random()  # drawn for every connection: stable sequence
            mode = self._mode
            if mode == "blackhole":
                self.blackholed += 1
                self._sockets.add(client)
                self._held.add(client)
                return  # held open, never read or answered, closed on exit
            if roll < self.drop_rate:
                self.dropped += 1
                fate = "drop"
            elif roll < self.drop_rate + self.reset_rate:
                self.reset += 1
                fate = "reset"
            else:
                self.forwarded += 1
                fate = "forward"
        if fate == "drop":
            client.close()
            return
        target = self._relay_reset if fate == "reset" else self._relay
        self._spawn(target, client)

    def _spawn(self, target: Callable[[socket.socket], None], client: socket.socket) -> None:
        thread = threading.Thread(
            target=self._run_tracked,
            args=(target, client),
            name="faultproxy-conn",
            daemon=True,
        )
        with self._lock:
            self._threads.add(thread)
            self._sockets.add(client)
        thread.start()

    def _run_tracked(self, target: Callable[[socket.socket], None], client: socket.socket) -> None:
        try:
            target(client)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._sockets.discard(sock)

    def _connect_upstream(self) -> socket.socket | None:
        try:
            upstream = socket.create_connection(self.target, timeout=self.connect_timeout)
        except OSError:
            return None
        upstream.settimeout(None)
        with self._lock:
            self._sockets.add(upstream)
        return upstream

    def _relay(self, client: socket.socket) -> None:
        """Forward both directions until both sides are done."""
        upstream = self._connect_upstream()
        if upstream is None:
            self._forget(client)
            _reset(client)
            return
        back = threading.Thread(
            target=self._pump,
            args=(upstream, client),
            name="faultproxy-pump",
            daemon=True,
        )
        back.start()
        self._pump(client, upstream)
        back.join()
        self._forget(client, upstream)
        client.close()
        upstream.close()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        """Copy ``src`` to ``dst`` until EOF; propagate EOF as a half-close."""
        try:
            while True:
                data = src.recv(_CHUNK)
                if not data:
                    break
                if self._mode == "blackhole":
                    continue  # swallow: the peer waits forever
                dst.sendall(data)
        except OSError:
            _shutdown(src)
            _shutdown(dst)
            return
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def _relay_reset(self, client: socket.socket) -> None:
        """Forward the request, then reset the client once the target answers."""
        upstream = self._connect_upstream()
        try:
            if upstream is None:
                return
            deadline = time.monotonic() + 10.0
            client_open = True
            while not self._stop.is_set() and time.monotonic() < deadline:
                watch = [upstream, client] if client_open else [upstream]
                readable, _, _ = select.select(watch, [], [], _POLL)
                if upstream in readable:
                    break  # the target is answering: it has processed the request
                if client in readable:
                    data = client.recv(_CHUNK)
                    if data:
                        upstream.sendall(data)
                    else:
                        client_open = False
                        upstream.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            if upstream is not None:
                self._forget(upstream)
                upstream.close()
            self._forget(client)
            _reset(client)

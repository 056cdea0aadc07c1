"""The process-wide event hub: every change through any flystore disk is published here once.

A disk's ``_fire`` hands each change to :data:`hub`, which calls the disk's own
``on`` handlers, the process-wide subscribers (:func:`on`) and feeds the
``events()`` streams. Decorator disks wrap *backends*, never disks, so a change
through a decorator is fired by the decorator disk alone: each event once.

Async handlers are scheduled, never awaited by the writer: on the event loop
that was running when the handler was registered, or else on a small
background loop the hub owns. Their exceptions are logged, not raised into the
writer.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["EVENTS", "StorageEvent", "EventHub", "EventStream", "hub", "on", "off", "events"]

EVENTS = ("file_updated", "file_deleted")

log = logging.getLogger("flystore.events")

Handler = Callable[[str], Any]
GlobalHandler = Callable[["StorageEvent"], Any]


@dataclass(frozen=True, slots=True)
class StorageEvent:
    """One change: ``type`` is ``file_updated`` or ``file_deleted``; ``path`` is disk-relative.

    ``source`` is ``"flystore"`` for changes made through a disk and ``"watch"``
    for changes a watcher saw on the filesystem (another process, or by hand).
    """

    type: str
    path: str
    disk: str
    source: str = "flystore"


def check_event(event: str) -> None:
    """Raises ``ValueError`` naming the known events when ``event`` is not one."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; events are {', '.join(EVENTS)}")


class _Stream:
    """One ``events()`` consumer: a bounded queue on the consumer's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, disk: str | None, maxsize: int) -> None:
        self.loop = loop
        self.disk = disk
        # None is the end-of-stream mark that wakes a consumer waiting when the stream is closed.
        self.queue: asyncio.Queue[StorageEvent | None] = asyncio.Queue(maxsize)
        self.dropped = 0
        self.closed = False

    def offer(self, event: StorageEvent | None) -> None:
        # Runs on the consumer's loop. A slow UI loses the oldest events, never blocks writers.
        if self.closed and event is not None:
            return
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    def close(self) -> None:
        """End the stream: a consumer waiting in ``async for`` stops (runs on the consumer's loop)."""
        if not self.closed:
            self.closed = True
            self.offer(None)


class EventHub:
    """Dispatches events to handlers and streams; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[str | None, GlobalHandler]] = []
        self._streams: list[_Stream] = []
        self._homes: dict[int, asyncio.AbstractEventLoop] = {}
        self._background: asyncio.AbstractEventLoop | None = None
        self._pending: set[Any] = set()

    @property
    def busy(self) -> bool:
        """True while anyone subscribed process-wide or streams events (writers skip the hub otherwise)."""
        return bool(self._subscribers or self._streams)

    # -- registration -------------------------------------------------------------

    def remember_loop(self, handler: Callable[..., Any]) -> None:
        """Note the running loop (if any) as the home of an async ``handler``."""
        if not inspect.iscoroutinefunction(handler):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        with self._lock:
            self._homes[id(handler)] = loop

    def subscribe(self, event: str | None, handler: GlobalHandler) -> GlobalHandler:
        """Call ``handler(StorageEvent)`` for ``event`` (or every event when None) on every disk.

        Raises:
            ValueError: ``event`` is not a known event.
        """
        if event is not None:
            check_event(event)
        self.remember_loop(handler)
        with self._lock:
            self._subscribers.append((event, handler))
        return handler

    def unsubscribe(self, event: str | None, handler: GlobalHandler) -> None:
        """Forget a subscription (unknown ones are ignored)."""
        with self._lock:
            if (event, handler) in self._subscribers:
                self._subscribers.remove((event, handler))

    # -- publishing ---------------------------------------------------------------

    def publish(self, event: StorageEvent, handlers: Iterable[Handler] = ()) -> None:
        """Deliver ``event`` to the disk's ``handlers``, the subscribers and the streams.

        Sync handlers run now, in the writer's thread, and their exceptions
        propagate (as they always did); async handlers are scheduled.
        """
        for handler in handlers:
            self._call(handler, event.path)
        with self._lock:
            subscribers = [handler for kind, handler in self._subscribers if kind in (None, event.type)]
            streams = [stream for stream in self._streams if stream.disk in (None, event.disk)]
        for subscriber in subscribers:
            self._call(subscriber, event)
        for stream in streams:
            self._deliver(stream, event)

    def _call(self, handler: Callable[[Any], Any], argument: Any) -> None:
        if not inspect.iscoroutinefunction(handler):
            result = handler(argument)
            if inspect.isawaitable(result):
                self._schedule(handler, result)
            return
        self._schedule(handler, handler(argument))

    def _schedule(self, handler: Callable[..., Any], awaitable: Awaitable[Any]) -> None:
        with self._lock:
            home = self._homes.get(id(handler))
        if home is None or home.is_closed():
            home = self._background_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is home:
            task = home.create_task(_logged(awaitable))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        else:
            future = asyncio.run_coroutine_threadsafe(_logged(awaitable), home)
            self._pending.add(future)
            future.add_done_callback(self._pending.discard)

    def _deliver(self, stream: _Stream, event: StorageEvent) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is stream.loop:
            stream.offer(event)
            return
        try:
            stream.loop.call_soon_threadsafe(stream.offer, event)
        except RuntimeError:  # its loop has ended: nobody can read the stream any more
            self._forget(stream)

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._background is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="flystore-events", daemon=True).start()
                self._background = loop
            return self._background

    # -- streams --------------------------------------------------------------------

    def stream(self, disk: str | None = None, maxsize: int = 1000) -> EventStream:
        """Every event (of ``disk``, or of all disks) from this call on; must run inside a loop.

        Raises:
            RuntimeError: no event loop is running.
        """
        consumer = _Stream(asyncio.get_running_loop(), disk, maxsize)
        with self._lock:
            self._streams.append(consumer)
        return EventStream(self, consumer)

    def _forget(self, consumer: _Stream) -> None:
        with self._lock:
            if consumer in self._streams:
                self._streams.remove(consumer)


class EventStream:
    """``async for event in stream``; subscribed from creation, so no change made after it is missed.

    Close it (``await stream.aclose()`` or ``async with``) to unsubscribe; breaking
    out of ``async for`` does not close it.
    """

    def __init__(self, owner: EventHub, consumer: _Stream) -> None:
        self._owner = owner
        self._consumer = consumer

    @property
    def closed(self) -> bool:
        """True once ``aclose`` ran: iteration has ended (or ends after what was already queued)."""
        return self._consumer.closed

    @property
    def dropped(self) -> int:
        """How many events were dropped because the consumer fell more than the queue behind."""
        return self._consumer.dropped

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> StorageEvent:
        """The next event; ``StopAsyncIteration`` once the stream is closed."""
        consumer = self._consumer
        if consumer.closed and consumer.queue.empty():
            raise StopAsyncIteration
        event = await consumer.queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Stop receiving events; a consumer waiting in ``async for`` ends its loop (idempotent)."""
        self._owner._forget(self._consumer)
        consumer = self._consumer
        if asyncio.get_running_loop() is consumer.loop:
            consumer.close()
        elif not consumer.loop.is_closed():
            consumer.loop.call_soon_threadsafe(consumer.close)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        self._owner._forget(self._consumer)


async def _logged(awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("an async flystore event handler failed")


hub = EventHub()
"""The process's hub; disks publish here."""


def on(event: str | None, handler: GlobalHandler) -> GlobalHandler:
    """Call ``handler(StorageEvent)`` for every ``event`` on every disk (None: all events).

    Raises:
        ValueError: ``event`` is not a known event.
    """
    return hub.subscribe(event, handler)


def off(event: str | None, handler: GlobalHandler) -> None:
    """Forget a subscription made with :func:`on`."""
    hub.unsubscribe(event, handler)


def events(disk: str | None = None) -> EventStream:
    """``async for event in events():`` every change on ``disk`` (or on every disk) from now on.

    Raises:
        RuntimeError: no event loop is running.
    """
    return hub.stream(disk)

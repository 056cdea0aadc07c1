"""``Cache``: the response cache on the memory, filesystem and redis stores."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from ..errors import InvalidConfiguration
from ..stores import CacheUnavailableWarning, Store, StoreUnavailable, build_store, seal, unseal
from .values import SERIALIZERS, decode_value, encode_value, is_missing

__all__ = ["Cache"]

_F = TypeVar("_F", bound=Callable[..., Any])
_MISS = object()


class _Flight:
    """One computation in progress that concurrent callers of the same key wait for."""

    __slots__ = ("done", "error", "owner", "value")

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class Cache:
    """A key/value cache with decorators for sync and async functions.

    Args:
        backend: ``"memory"``, ``"filesystem"`` or ``"redis"``.
        config: the store's options (``max_bytes``; ``path``; ``url`` or
            ``host``/``port``/``db``/``username``/``password``, ``socket_timeout``,
            ``max_connections``) plus ``ttl`` (default seconds, None: no expiry),
            ``namespace`` (key prefix, default ``flystore:cache:``) and ``serializer``.
        serializer: ``"json"`` (bytes, str and JSON values) or ``"pickle"`` (any
            picklable value; unpickling runs code, so only with a store nobody
            else can write).

    Raises:
        InvalidConfiguration: an unknown backend, serializer or option.
    """

    def __init__(self, backend: str = "memory", config: Mapping[str, Any] | None = None, *,
                 serializer: str | None = None) -> None:
        options = dict(config or {})
        self.default_ttl: float | None = options.pop("ttl", None)
        namespace = options.pop("namespace", "flystore:cache:")
        chosen = serializer or options.pop("serializer", "json")
        options.pop("serializer", None)
        if chosen not in SERIALIZERS:
            raise InvalidConfiguration(f"must be one of {', '.join(SERIALIZERS)}", option="serializer", disk="cache")
        if self.default_ttl is not None and (isinstance(self.default_ttl, bool)
                                             or not isinstance(self.default_ttl, (int, float))
                                             or self.default_ttl <= 0):
            raise InvalidConfiguration("must be a positive number of seconds", option="ttl", disk="cache")
        self.serializer: str = chosen
        self.store: Store = build_store(backend, options, namespace=str(namespace), disk="cache")
        self.hits = 0
        self.misses = 0
        self._degraded = False
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        self._async_flights: dict[tuple[int, str], asyncio.Future[Any]] = {}

    # -- the store, never an error --------------------------------------------------------

    def _trouble(self, error: StoreUnavailable) -> None:
        if not self._degraded:
            self._degraded = True
            warnings.warn(f"cache store {self.store.kind!r} unavailable; computing without it: {error}",
                          CacheUnavailableWarning, stacklevel=4)

    def _lookup(self, key: str) -> Any:
        try:
            frame = self.store.get(key)
        except StoreUnavailable as error:
            self._trouble(error)
            frame = None
        else:
            self._degraded = False
        payload = unseal(frame)
        value = _MISS if payload is None else decode_value(payload, self.serializer)
        with self._lock:
            if value is _MISS or is_missing(value):
                self.misses += 1
                return _MISS
            self.hits += 1
        return value

    # -- the mapping API ------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """The cached value, or ``default`` when missing, expired, corrupt or the store is down."""
        value = self._lookup(key)
        return default if value is _MISS else value

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Cache ``value`` for ``ttl`` seconds (default: the cache's ``ttl``).

        Raises:
            TypeError: the value cannot be stored with this serializer.
        """
        frame = seal(encode_value(value, self.serializer))
        try:
            self.store.set(key, frame, ttl if ttl is not None else self.default_ttl)
        except StoreUnavailable as error:
            self._trouble(error)

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        try:
            self.store.delete(key)
        except StoreUnavailable as error:
            self._trouble(error)

    def clear(self) -> None:
        """Forget every key of this cache's namespace."""
        try:
            self.store.clear()
        except StoreUnavailable as error:
            self._trouble(error)

    def stats(self) -> dict[str, Any]:
        """``hits``, ``misses``, and the store's ``evictions``, ``bytes`` and ``entries`` (None when it is down)."""
        figures: dict[str, Any] = {"hits": self.hits, "misses": self.misses, "store": self.store.kind}
        try:
            stats = self.store.stats()
        except StoreUnavailable as error:
            self._trouble(error)
            figures.update(evictions=None, bytes=None, entries=None)
        else:
            figures.update(evictions=stats.evictions, bytes=stats.bytes, entries=stats.entries)
        return figures

    def warm(self, mapping_or_loader: Mapping[str, Any] | Callable[[], Any], ttl: float | None = None) -> int:
        """Fill the cache from a mapping, or from what a loader returns (a mapping or ``(key, value)`` pairs).

        Returns how many keys were set.

        Raises:
            TypeError: a value cannot be stored, or the loader returned something else.
        """
        source = mapping_or_loader() if callable(mapping_or_loader) else mapping_or_loader
        pairs: Iterable[tuple[str, Any]] = source.items() if isinstance(source, Mapping) else source
        count = 0
        for key, value in pairs:
            self.set(key, value, ttl)
            count += 1
        return count

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- decorators -----------------------------------------------------------------------

    def cached(self, ttl: float | None = None, key_func: Callable[..., str] | None = None) -> Callable[[_F], _F]:
        """Cache what a sync or async function returns, by its arguments.

        Concurrent calls with the same key compute once per process (threads wait
        for the first; asyncio tasks await it). The default key is the function's
        qualified name and a hash of ``repr`` of its arguments; pass ``key_func``
        (called with the same arguments) when arguments have no stable repr.
        """
        return self.conditional_cache(condition=None, ttl=ttl, key_func=key_func)

    def conditional_cache(
        self,
        condition: Callable[[Any], bool] | None,
        ttl: float | None = None,
        key_func: Callable[..., str] | None = None,
    ) -> Callable[[_F], _F]:
        """Like ``cached``, but a result is stored only when ``condition(result)`` is true."""

        def decorate(function: _F) -> _F:
            def key_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
                if key_func is not None:
                    return str(key_func(*args, **kwargs))
                digest = hashlib.sha256(repr((args, sorted(kwargs.items()))).encode()).hexdigest()
                return f"{function.__module__}.{function.__qualname__}:{digest}"

            def keep(key: str, value: Any) -> None:
                if condition is None or condition(value):
                    self.set(key, value, ttl)

            if inspect.iscoroutinefunction(function):
                @functools.wraps(function)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    key = key_of(args, kwargs)
                    return await self._single_flight_async(key, lambda: function(*args, **kwargs), keep)

                return cast(_F, async_wrapper)

            @functools.wraps(function)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                key = key_of(args, kwargs)
                return self._single_flight(key, lambda: function(*args, **kwargs), keep)

            return cast(_F, wrapper)

        return decorate

    def _single_flight(self, key: str, compute: Callable[[], Any], keep: Callable[[str, Any], None]) -> Any:
        value = self._lookup(key)
        if value is not _MISS:
            return value
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader and flight.owner == threading.get_ident():
            return compute()  # the function calls itself with the same key: waiting would deadlock
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        try:
            flight.value = compute()
            keep(key, flight.value)
            return flight.value
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    async def _single_flight_async(
        self, key: str, compute: Callable[[], Awaitable[Any]], keep: Callable[[str, Any], None]
    ) -> Any:
        value = self._lookup(key)
        if value is not _MISS:
            return value
        loop = asyncio.get_running_loop()
        slot = (id(loop), key)
        pending = self._async_flights.get(slot)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = loop.create_future()
        self._async_flights[slot] = future
        try:
            result = await compute()
            keep(key, result)
        except BaseException as error:
            if isinstance(error, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(error)
                future.exception()  # marked retrieved: the waiters (if any) get it too
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self._async_flights.pop(slot, None)

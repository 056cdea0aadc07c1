"""The ``redis`` store: entries in a Redis server, over a connection pool.

Options: ``url`` (``redis://[:password@]host:port/db``) or ``host``, ``port``,
``db``, ``username``, ``password``; ``socket_timeout`` (seconds, default 1: a
store that is down must not stall reads for long) and ``max_connections``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import DriverNotInstalled, InvalidConfiguration
from .base import Store, StoreStats, StoreUnavailable

__all__ = ["RedisStore"]

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class RedisStore(Store):
    """Keys live under ``namespace`` in one Redis database; TTLs are Redis's own (PX)."""

    kind = "redis"
    OPTIONS = ("url", "host", "port", "db", "username", "password", "socket_timeout", "max_connections")

    def __init__(self, namespace: str, client: Any) -> None:
        super().__init__(namespace)
        import redis

        self._client = client
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)

    @classmethod
    def from_options(cls, namespace: str, options: Mapping[str, Any], *, disk: str) -> RedisStore:
        """A store with its own connection pool.

        Raises:
            DriverNotInstalled: the ``redis`` package is missing.
            InvalidConfiguration: a bad option.
        """
        try:
            import redis
        except ModuleNotFoundError as cause:
            raise DriverNotInstalled.for_extra("redis", "the redis cache store", disk=disk, cause=cause) from cause
        timeout = options.get("socket_timeout", 1.0)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidConfiguration("must be a positive number of seconds", option="socket_timeout", disk=disk)
        common: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        if options.get("max_connections") is not None:
            common["max_connections"] = options["max_connections"]
        url = options.get("url")
        if url is not None:
            if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
                raise InvalidConfiguration("must be a redis:// URL", option="url", disk=disk)
            clashing = [key for key in ("host", "port", "db") if key in options]
            if clashing:
                raise InvalidConfiguration("give 'url' or host/port/db, not both", option=clashing[0], disk=disk)
            pool = redis.ConnectionPool.from_url(url, **common)
        else:
            port = options.get("port", 6379)
            db = options.get("db", 0)
            for key, value in (("port", port), ("db", db)):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise InvalidConfiguration("must be a whole number", option=key, disk=disk)
            pool = redis.ConnectionPool(
                host=str(options.get("host", "127.0.0.1")),
                port=port,
                db=db,
                username=options.get("username"),
                password=options.get("password"),
                **common,
            )
        return cls(namespace, redis.Redis(connection_pool=pool))

    def _fail(self, what: str, cause: BaseException) -> StoreUnavailable:
        error = StoreUnavailable(f"redis {what} failed: {cause}")
        error.__cause__ = cause
        return error

    def get(self, key: str) -> bytes | None:
        try:
            value = self._client.get(self.namespace + key)
        except self._errors as cause:
            raise self._fail("GET", cause) from cause
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        try:
            if ttl is None:
                self._client.set(self.namespace + key, value)
            else:
                self._client.set(self.namespace + key, value, px=max(1, int(ttl * 1000)))
        except self._errors as cause:
            raise self._fail("SET", cause) from cause

    def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            self._client.delete(*(self.namespace + key for key in keys))
        except self._errors as cause:
            raise self._fail("DEL", cause) from cause

    def delete_prefix(self, prefix: str) -> None:
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self.namespace + prefix) + "*"
        try:
            batch: list[Any] = []
            for key in self._client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 500:
                    self._client.delete(*batch)
                    batch.clear()
            if batch:
                self._client.delete(*batch)
        except self._errors as cause:
            raise self._fail("SCAN/DEL", cause) from cause

    def stats(self) -> StoreStats:
        try:
            memory = self._client.info("memory")
            counters = self._client.info("stats")
        except self._errors as cause:
            raise self._fail("INFO", cause) from cause
        return StoreStats(entries=None, bytes=int(memory.get("used_memory", 0)),
                          evictions=int(counters.get("evicted_keys", 0)))

    def close(self) -> None:
        self._client.close()
        self._client.connection_pool.disconnect()

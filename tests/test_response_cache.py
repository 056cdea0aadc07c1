"""flystore.cache.Cache on real memory, filesystem and redis stores; FastAPI through its TestClient."""

from __future__ import annotations

import asyncio
import pickle
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import InvalidConfiguration
from flystore.cache import Cache, CacheUnavailableWarning

BACKENDS = ["memory", "filesystem", "redis"]


@pytest.fixture(params=BACKENDS)
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cache]:
    config: dict[str, Any] = {"namespace": f"test-{uuid.uuid4().hex}:"}
    if request.param == "filesystem":
        config["path"] = str(tmp_path / "cache")
    if request.param == "redis":
        config["url"] = request.getfixturevalue("redis_url")
    made = Cache(backend=request.param, config=config)
    yield made
    made.clear()
    made.close()


def test_get_set_delete_clear_and_stats(cache: Cache) -> None:
    assert cache.get("missing") is None and cache.get("missing", "fallback") == "fallback"
    values: dict[str, Any] = {"b": b"\x00\xffraw", "s": "text é", "j": {"n": 1, "l": [1, 2.5, None, True]},
                              "null": None, "zero": 0}
    for key, value in values.items():
        cache.set(key, value)
    for key, value in values.items():
        got = cache.get(key, "absent")
        assert got == value and type(got) is type(value)
    cache.delete("s")
    assert cache.get("s") is None
    cache.clear()
    assert cache.get("b") is None
    stats = cache.stats()
    assert stats["hits"] == 5 and stats["misses"] == 4  # two "missing", "s" after delete, "b" after clear
    assert stats["store"] == cache.store.kind


def test_ttl_expires(cache: Cache) -> None:
    cache.set("short", "x", ttl=0.2)
    cache.set("long", "y", ttl=60)
    assert cache.get("short") == "x"
    time.sleep(0.35)
    assert cache.get("short") is None and cache.get("long") == "y"


def test_values_that_json_would_change_are_refused_without_pickle() -> None:
    cache = Cache()
    for bad in [(1, 2), {1: "a"}, {"s": {1, 2}}, float("nan"), object()]:
        with pytest.raises(TypeError, match="pickle"):
            cache.set("k", bad)
    trusted = Cache(serializer="pickle")
    trusted.set("t", (1, 2))
    trusted.set("obj", {1: {2, 3}})
    assert trusted.get("t") == (1, 2) and trusted.get("obj") == {1: {2, 3}}


def test_a_pickled_entry_is_never_unpickled_by_a_json_cache(tmp_path: Path) -> None:
    trusted = Cache("filesystem", {"path": str(tmp_path), "namespace": "shared:"}, serializer="pickle")
    trusted.set("k", ("tuple",))
    untrusting = Cache("filesystem", {"path": str(tmp_path), "namespace": "shared:"})
    assert untrusting.get("k", "refused") == "refused"
    assert trusted.get("k") == ("tuple",)
    with pytest.raises(InvalidConfiguration):
        Cache(serializer="marshal")


class _Planted:
    """A pickle that runs code when loaded: what an attacker with write access to a store plants."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.mkdir, (self.target,))


def test_a_planted_pickle_does_not_run_in_a_json_cache(redis_url: str, tmp_path: Path) -> None:
    from flystore.stores import seal

    cache = Cache("redis", {"url": redis_url, "namespace": f"planted-{uuid.uuid4().hex}:"})
    marker = tmp_path / "pwned"
    cache.store.set("session", seal(b"p" + pickle.dumps(_Planted(str(marker)))))
    assert cache.get("session", "refused") == "refused"
    assert not marker.exists()
    cache.clear()
    cache.close()


def test_a_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    cache = Cache("filesystem", {"path": str(tmp_path)})
    cache.set("k", "value")
    entry = next(tmp_path.rglob("*.entry"))
    data = bytearray(entry.read_bytes())
    data[-1] ^= 0xFF
    entry.write_bytes(bytes(data))
    assert cache.get("k", "miss") == "miss"


def test_the_decorator_caches_sync_functions_by_arguments(cache: Cache) -> None:
    calls: list[tuple[Any, ...]] = []

    @cache.cached(ttl=60)
    def square(number: int, *, label: str = "") -> dict[str, Any]:
        calls.append((number, label))
        return {"square": number * number, "label": label}

    assert square(3) == {"square": 9, "label": ""}
    assert square(3) == {"square": 9, "label": ""}
    assert square(3, label="x")["label"] == "x"
    assert square(4)["square"] == 16
    assert calls == [(3, ""), (3, "x"), (4, "")]
    assert square.__name__ == "square"

    @cache.cached(key_func=lambda user, request_id: f"user:{user}")
    def profile(user: str, request_id: str) -> str:
        calls.append((user, request_id))
        return f"profile of {user}"

    assert profile("ada", "r1") == profile("ada", "r2") == "profile of ada"
    assert calls[-1] == ("ada", "r1") and cache.get("user:ada") == "profile of ada"


def test_conditional_cache_stores_only_what_the_condition_accepts(cache: Cache) -> None:
    calls: list[int] = []

    @cache.conditional_cache(condition=lambda result: result["status"] == "ok", ttl=60)
    def fetch(number: int) -> dict[str, Any]:
        calls.append(number)
        return {"status": "ok" if number % 2 == 0 else "error", "n": number}

    fetch(2), fetch(2), fetch(3), fetch(3)
    assert calls == [2, 3, 3]


def test_concurrent_misses_compute_once_across_threads(cache: Cache) -> None:
    calls: list[int] = []
    start = threading.Barrier(8)

    @cache.cached(ttl=60)
    def slow(number: int) -> int:
        calls.append(number)
        time.sleep(0.2)
        return number * 10

    results: list[int] = []

    def worker() -> None:
        start.wait()
        results.append(slow(7))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [70] * 8 and calls == [7]


def test_concurrent_misses_compute_once_across_asyncio_tasks(cache: Cache) -> None:
    calls: list[int] = []

    @cache.cached(ttl=60)
    async def slow(number: int) -> int:
        calls.append(number)
        await asyncio.sleep(0.1)
        return number + 1

    async def main() -> list[int]:
        return list(await asyncio.gather(*(slow(1) for _ in range(20))))

    assert asyncio.run(main()) == [2] * 20 and calls == [1]
    assert asyncio.run(main()) == [2] * 20 and calls == [1]  # and the next loop hits the store


def test_a_failure_reaches_every_waiter_and_is_not_cached() -> None:
    cache = Cache()
    attempts: list[int] = []

    @cache.cached()
    async def broken() -> int:
        attempts.append(1)
        await asyncio.sleep(0.05)
        raise LookupError("upstream down")

    async def main() -> list[Any]:
        return list(await asyncio.gather(*(broken() for _ in range(5)), return_exceptions=True))

    outcomes = asyncio.run(main())
    assert all(isinstance(outcome, LookupError) for outcome in outcomes) and attempts == [1]
    asyncio.run(main())
    assert attempts == [1, 1]


def test_warm_from_a_mapping_or_a_loader(cache: Cache) -> None:
    assert cache.warm({"a": 1, "b": "two"}) == 2
    assert cache.warm(lambda: [("c", [3])], ttl=60) == 1
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, "two", [3])


def test_a_store_that_is_down_means_computing_with_a_warning() -> None:
    from tests.drivers.test_s3 import closed_port

    cache = Cache("redis", {"url": f"redis://127.0.0.1:{closed_port()}/0", "socket_timeout": 0.2})
    calls: list[int] = []

    @cache.cached()
    def compute() -> int:
        calls.append(1)
        return 42

    with pytest.warns(CacheUnavailableWarning):
        assert compute() == 42 and compute() == 42
        cache.set("k", "v")
        assert cache.get("k") is None
        assert cache.stats()["bytes"] is None
    assert calls == [1, 1]
    cache.close()


def test_it_works_on_a_fastapi_endpoint(redis_url: str) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    cache = Cache("redis", {"url": redis_url, "namespace": f"api-{uuid.uuid4().hex}:", "ttl": 60})
    app = FastAPI()
    calls: list[int] = []

    @app.get("/items/{item_id}")
    @cache.cached(ttl=60)
    async def read_item(item_id: int, q: str | None = None) -> dict[str, Any]:
        calls.append(item_id)
        return {"item_id": item_id, "q": q}

    with TestClient(app) as client:
        first = client.get("/items/5", params={"q": "x"})
        second = client.get("/items/5", params={"q": "x"})
        other = client.get("/items/6")
        invalid = client.get("/items/not-a-number")
    assert first.json() == second.json() == {"item_id": 5, "q": "x"}
    assert other.json() == {"item_id": 6, "q": None}
    assert invalid.status_code == 422  # FastAPI still sees the endpoint's signature
    assert calls == [5, 6] and cache.stats()["hits"] == 1
    cache.clear()
    cache.close()


def test_bad_options_are_refused_by_name(tmp_path: Path) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("memcached", {}, "store"),
        ("memory", {"max_bytes": -1}, "max_bytes"),
        ("memory", {"ttl": 0}, "ttl"),
        ("filesystem", {}, "path"),
        ("redis", {"url": "http://x"}, "url"),
        ("memory", {"pth": "x"}, "pth"),
    ]
    for backend, config, option in cases:
        with pytest.raises(InvalidConfiguration) as caught:
            Cache(backend, config)
        assert caught.value.option == option


def test_a_function_calling_itself_with_the_same_key_does_not_deadlock() -> None:
    cache = Cache()
    depth: list[int] = []

    @cache.cached(key_func=lambda n: "same-key")
    def recursive(n: int) -> int:
        depth.append(n)
        return n if n == 0 else recursive(n - 1) + 1

    assert recursive(3) == 3 and depth == [3, 2, 1, 0]

"""Closing a decorator disk closes what it built, never a disk it wraps by name (that disk's manager closes it)."""

from __future__ import annotations

from typing import Any

import pytest

from flystore import StorageManager
from flystore.drivers.memory import MemoryBackend

KEY = "base64:" + "QUJD" * 10 + "QUI="


class CountingBackend(MemoryBackend):
    """A memory backend that counts its closes and refuses work once closed (as a closed client does)."""

    def __init__(self) -> None:
        super().__init__()
        self.closes = 0

    def close(self) -> None:
        self.closes += 1

    def read(self, path: str) -> bytes:
        if self.closes:
            raise RuntimeError("this client is closed")
        return super().read(path)


def manager_with(disks: dict[str, Any]) -> tuple[StorageManager, list[CountingBackend]]:
    built: list[CountingBackend] = []

    def factory(options: dict[str, Any], manager: Any) -> CountingBackend:
        backend = CountingBackend()
        built.append(backend)
        return backend

    manager = StorageManager({"disks": disks})
    manager.extend("counting", factory)
    return manager, built


@pytest.mark.parametrize(
    "decorator",
    [
        {"driver": "encrypted", "key": KEY},
        {"driver": "scoped", "prefix": "p"},
        {"driver": "read_only"},
        {"driver": "cached", "store": "memory"},
        {"driver": "cdn", "cdn_url": "https://cdn.example.com"},
    ],
    ids=lambda options: options["driver"],
)
def test_closing_a_decorator_leaves_the_disk_it_names_open(decorator: dict[str, Any]) -> None:
    manager, built = manager_with({"base": {"driver": "counting"}, "wrapped": {**decorator, "disk": "base"}})
    base = manager.disk("base")
    base.put("kept.txt", b"still here")
    with manager.disk("wrapped"):
        pass
    assert built[0].closes == 0
    assert base.get("kept.txt") == b"still here"
    manager.forget_disk("base")
    assert built[0].closes == 1


def test_a_decorator_closes_the_disk_it_built_from_inline_options() -> None:
    manager, built = manager_with({"enc": {"driver": "encrypted", "key": KEY, "disk": {"driver": "counting"}}})
    manager.disk("enc").close()
    assert [backend.closes for backend in built] == [1]


def test_flattened_scopes_keep_ownership_where_it_was() -> None:
    manager, built = manager_with({
        "base": {"driver": "counting"},
        "inner": {"driver": "scoped", "disk": {"driver": "counting"}, "prefix": "a"},
        "outer": {"driver": "scoped", "disk": "inner", "prefix": "b"},
        "private": {"driver": "scoped", "prefix": "c",
                    "disk": {"driver": "scoped", "prefix": "d", "disk": {"driver": "counting"}}},
        "over_named": {"driver": "scoped", "prefix": "e", "disk": {"driver": "scoped", "prefix": "f", "disk": "base"}},
    })
    inner, outer = manager.disk("inner"), manager.disk("outer")
    inner_backend = built[0]
    outer.close()
    assert inner_backend.closes == 0, "outer closed the backend that belongs to the named disk 'inner'"
    inner.close()
    assert inner_backend.closes == 1
    manager.disk("private").close()
    assert built[1].closes == 1, "a scope built inline is this disk's to close, flattened or not"
    manager.disk("over_named").close()
    base_backend = next(backend for backend in built if backend is manager.disk("base").backend)
    assert base_backend.closes == 0


def test_closing_every_disk_closes_each_backend_once() -> None:
    manager, built = manager_with({
        "base": {"driver": "counting"},
        "enc": {"driver": "encrypted", "key": KEY, "disk": "base"},
        "scoped": {"driver": "scoped", "disk": "enc", "prefix": "x"},
    })
    manager.disk("scoped").put("a.txt", b"1")
    manager.configure({"disks": {}})
    assert [backend.closes for backend in built] == [1]

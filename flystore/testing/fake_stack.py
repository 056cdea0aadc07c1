"""Fakes of decorator disks: the configured stack of decorators, over fresh in-memory (or temporary) disks.

A disk configured as ``versioned``, ``failover``, ``deduplicated``, ``encrypted``, ... adds methods of its
own (``versions()``, ``repair()``, ``collect_garbage()``, ``rotate()``, ...). Its fake is built from the
same configuration, with every storage disk underneath (the ones that are not decorators, named or
inline, a failover's replicas and an audited disk's trail included) replaced by an empty memory disk,
so code under test keeps calling those methods and they work. A named disk underneath that is faked
already (``Storage.fake("s3")`` before ``Storage.fake("documents")``) is that fake, shared, so the test
sees the stored form through it. Nothing of the stack reaches a real store: a cached disk caches in
memory, a CDN disk records its invalidations instead of calling the CDN, and a versioned disk in
``native`` mode keeps its versions in the layout.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from ..config import resolve_env
from ..disk import FilesystemAdapter
from ..disk_graph import named_disks
from .fake import FAKE_SIGNING_KEY, KEPT_OPTIONS, FakeDisk

if TYPE_CHECKING:
    from ..manager import StorageManager

__all__ = ["DECORATOR_DRIVERS", "StackedFake", "is_decorator", "make_stacked_fake"]

#: The built-in drivers that wrap other disks (their fakes keep the decorator).
DECORATOR_DRIVERS = frozenset(
    {"audited", "cached", "cdn", "compressed", "deduplicated", "encrypted", "failover", "read_only", "scoped",
     "versioned"}
)
_CACHE_STORE_OPTIONS = frozenset(
    {"max_bytes", "path", "redis_url", "host", "port", "db", "username", "password", "socket_timeout",
     "max_connections"}
)
_CDN_SERVICE_OPTIONS = frozenset({"distribution_id", "endpoint", "key", "secret", "token", "region", "purge"})


def is_decorator(options: Mapping[str, Any]) -> bool:
    """Whether ``options`` configure a built-in decorator disk (one that wraps other disks)."""
    return resolve_env(options.get("driver")) in DECORATOR_DRIVERS


class StackedFake(FakeDisk):
    """What every fake of a decorator disk is, besides its decorator's own class: it owns its stack."""

    _leaf_roots: list[str]
    #: Names of fakes the stack shares with the manager (faked before this disk): theirs to close.
    _shared: tuple[str, ...] = ()

    def close(self) -> None:
        stack, self._stack = self._stack, None
        super().close()
        if stack is not None:
            for name in self._shared:
                stack._disks.pop(name, None)
            stack._close_all()  # the fake's own disks underneath: nobody else holds them
        for root in self._leaf_roots:
            shutil.rmtree(root, ignore_errors=True)
        self._leaf_roots = []


_CLASSES: dict[type[FilesystemAdapter], type[StackedFake]] = {}
_CLASSES_LOCK = threading.Lock()


def _fake_class(decorator: type[FilesystemAdapter]) -> type[StackedFake]:
    """``Fake<Decorator>``: the decorator's disk class with the fake's assertions and clean-up."""
    with _CLASSES_LOCK:
        made = _CLASSES.get(decorator)
        if made is None:
            made = cast("type[StackedFake]", type(f"Fake{decorator.__name__}", (StackedFake, decorator), {}))
            _CLASSES[decorator] = made
        return made


class _Rewriter:
    """The configuration of a fake's stack: decorators kept, storage disks made empty and local."""

    def __init__(self, local: bool, overrides: Mapping[str, Any], purge: Any) -> None:
        self.local = local
        self.overrides = dict(overrides)
        self.purge = purge
        self.roots: list[str] = []

    def leaf(self, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
        resolved = resolve_env(dict(options))
        kept = {key: value for key, value in resolved.items() if key in KEPT_OPTIONS}
        config: dict[str, Any] = {**kept, **self.overrides}
        config.setdefault("signing_key", FAKE_SIGNING_KEY)
        if self.local:
            root = tempfile.mkdtemp(prefix=f"flystore-fake-{name.replace('/', '_')}-")
            self.roots.append(root)
            return {**config, "driver": "local", "root": root}
        return {**config, "driver": "memory"}

    def disk(self, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
        if not is_decorator(options):
            return self.leaf(name, options)
        driver = resolve_env(options.get("driver"))
        rewritten: dict[str, Any] = {}
        for key, value in options.items():
            if key == "disk" and isinstance(value, Mapping):
                value = self.disk(f"{name}.disk", value)
            elif key == "disks" and isinstance(value, (list, tuple)):
                value = [self.disk(f"{name}.disks.{index}", item) if isinstance(item, Mapping) else item
                         for index, item in enumerate(value)]
            rewritten[key] = value
        if driver == "cached":
            rewritten = {key: value for key, value in rewritten.items() if key not in _CACHE_STORE_OPTIONS}
            rewritten["store"] = "memory"
        elif driver == "versioned" and resolve_env(rewritten.get("mode")) == "native":
            rewritten["mode"] = "layout"  # S3's versions need a bucket; the layout gives the same API
        elif driver == "cdn":
            rewritten = {key: value for key, value in rewritten.items() if key not in _CDN_SERVICE_OPTIONS}
            if rewritten.get("auto_invalidate"):
                rewritten["purge"] = self.purge
        return rewritten


def _reachable(disks: Mapping[str, Any], top: str) -> list[str]:
    found: list[str] = []
    frontier = [top]
    while frontier:
        name = frontier.pop()
        if name in found or not isinstance(disks.get(name), Mapping):
            continue
        found.append(name)
        frontier.extend(named_disks(disks[name]))
    return found


def make_stacked_fake(
    manager: StorageManager, name: str, *, local: bool = False, overrides: Mapping[str, Any] | None = None
) -> StackedFake:
    """The fake of decorator disk ``name``: its configured stack over empty disks (see the module docstring).

    Raises:
        InvalidConfiguration: the disk's configuration is wrong (as building the real disk would).
    """
    invalidated: list[list[str]] = []
    lock = threading.Lock()

    def purge(paths: list[str]) -> None:
        with lock:
            invalidated.append(list(paths))

    rewriter = _Rewriter(local, overrides or {}, purge)
    disks = manager.config["disks"]
    names = _reachable(disks, name)
    faked = {other: manager._disks[other] for other in names
             if other != name and other in manager._fakes and other in manager._disks}
    stack = type(manager)(app_key=manager.app_key, app_url=manager.app_url)  # no import of the manager module
    try:
        stack.configure({"default": name, "disks": {
            other: {"driver": "memory"} if other in faked else rewriter.disk(other, disks[other]) for other in names
        }})
        for other, disk in faked.items():
            stack.set(other, disk)  # the test's own fake of that disk, shared (its config above is a stand-in)
        built = stack.build(stack.config["disks"][name], name=name)
    except BaseException:
        for other in faked:
            stack._disks.pop(other, None)
        stack._close_all()
        for root in rewriter.roots:
            shutil.rmtree(root, ignore_errors=True)
        raise
    fake = cast("StackedFake", built)
    fake.__class__ = _fake_class(type(built))
    fake.manager = manager  # signed URLs verify through the manager the disk is faked on
    fake._stack = stack
    fake._leaf_roots = rewriter.roots
    fake._shared = tuple(faked)
    fake._invalidated = invalidated
    return fake

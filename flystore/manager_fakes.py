"""Fakes on a manager: ``fake``, ``persistent_fake``, ``restore``, ``faking`` (mixed into StorageManager)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .disk import FilesystemAdapter
    from .manager import StorageManager
    from .testing.fake import FakeDisk

__all__ = ["FakeSwitching"]


class FakeSwitching:
    """Swaps a manager's disks for fakes and back; the manager provides the state declared here."""

    _lock: threading.RLock
    _disks: dict[str, FilesystemAdapter]
    _fakes: dict[str, FilesystemAdapter | None]
    _persistent_fakes: dict[str, FakeDisk]

    if TYPE_CHECKING:

        @property
        def config(self) -> dict[str, Any]: ...

        @property
        def default_disk_name(self) -> str: ...

        def _drop_dependents(self, name: str) -> None: ...

    def fake(self, name: str | None = None, *, local: bool = False, **overrides: Any) -> FakeDisk:
        """Swap disk ``name`` (default disk when None) for an empty ``FakeDisk`` and return it.

        The fake keeps the real disk's ``url``, ``visibility``, ``signing_key`` and
        ``serve_prefix``; ``local=True`` keeps files in a temporary directory so
        ``path()`` works. ``restore()`` puts the real disk back. A decorator disk
        (versioned, failover, encrypted, ...) is faked as its configured stack over
        empty disks, so its own methods (``versions()``, ``repair()``, ...) work.

        Raises:
            InvalidConfiguration: a decorator disk's configuration is wrong.
        """
        from .testing.fake import make_fake
        from .testing.fake_stack import is_decorator, make_stacked_fake

        key = name if name is not None else self.default_disk_name
        manager = cast("StorageManager", self)
        with self._lock:
            options = self.config["disks"].get(key, {})
            if is_decorator(options):
                fake: FakeDisk = make_stacked_fake(manager, key, local=local, overrides=overrides)
            else:
                fake = make_fake(manager, key, options, local=local, overrides=overrides)
            self._swap_in(key, fake)
        return fake

    def persistent_fake(self, name: str | None = None, **overrides: Any) -> FakeDisk:
        """Like ``fake`` but the files survive ``restore()`` and later ``persistent_fake`` calls."""
        key = name if name is not None else self.default_disk_name
        with self._lock:
            fake = self._persistent_fakes.get(key)
            if fake is None:
                fake = self.fake(key, **overrides)
                self._persistent_fakes[key] = fake
            else:
                self._swap_in(key, fake)
        return fake

    def _swap_in(self, key: str, fake: FilesystemAdapter) -> None:
        if key not in self._fakes:
            self._fakes[key] = self._disks.get(key)
        else:
            previous = self._disks.get(key)
            if previous is not None and previous not in self._persistent_fakes.values():
                previous.close()
        self._disks[key] = fake
        self._drop_dependents(key)  # a cached(s3) built before s3 was faked would still write to S3

    def restore(self, name: str | None = None) -> None:
        """Put real disks back in place of fakes (all of them when ``name`` is None)."""
        with self._lock:
            names = list(self._fakes) if name is None else [name]
            for key in names:
                if key not in self._fakes:
                    continue
                original = self._fakes.pop(key)
                fake = self._disks.pop(key, None)
                if fake is not None and fake not in self._persistent_fakes.values():
                    fake.close()
                if original is not None:
                    self._disks[key] = original
                self._drop_dependents(key)

    @contextlib.contextmanager
    def faking(self, name: str | None = None, **overrides: Any) -> Iterator[FakeDisk]:
        """``with manager.faking("s3") as fake:`` fakes the disk inside the block only."""
        key = name if name is not None else self.default_disk_name
        fake = self.fake(key, **overrides)
        try:
            yield fake
        finally:
            self.restore(key)

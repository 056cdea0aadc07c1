"""``FakeDisk``: a real disk over an isolated memory (or temporary local) store, plus assertions."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..disk import FilesystemAdapter
from ..drivers.local import LocalBackend
from ..drivers.memory import MemoryBackend
from ..errors import DiskNotConfigured
from ..paths import normalize

if TYPE_CHECKING:
    from ..manager import StorageManager

__all__ = ["FAKE_SIGNING_KEY", "KEPT_OPTIONS", "FakeDisk", "make_fake"]

# Fakes sign temporary URLs with a fixed key when the real disk has none, so
# tests get working, deterministic URLs without configuring APP_KEY.
FAKE_SIGNING_KEY = "flystore-fake-signing-key-not-a-secret-0123456789"
#: The real disk's options a fake keeps.
KEPT_OPTIONS = ("url", "visibility", "signing_key", "serve_prefix")


class FakeDisk(FilesystemAdapter):
    """A disk for tests: behaves like the real disk API and adds ``assert_*`` helpers.

    Every assertion raises ``AssertionError`` with a message listing what is
    there, and returns the fake so assertions chain.
    """

    _temporary_root: str | None = None
    #: A decorator disk's fake builds its stack in a manager of its own (see fake_stack.py).
    _stack: StorageManager | None = None
    _invalidated: list[list[str]] | None = None

    def below(self, name: str | None = None) -> FilesystemAdapter:
        """The disk ``name`` under a faked decorator disk (default: the one it wraps directly).

        They are the fake's own disks, never the real ones: look at the stored form (ciphertext,
        compressed frames, version records) or seed a ``read_only`` fake through them.

        Raises:
            DiskNotConfigured: no named disk of that name is under this one (a plain fake has none).
        """
        stack = self._stack
        wrapped = name
        if stack is not None and name is None:
            wrapped = stack.config["disks"][stack.default_disk_name].get("disk")
        if stack is None or not isinstance(wrapped, str) or wrapped not in stack.config["disks"]:
            raise DiskNotConfigured(f"disk '{self.name}' has no named disk {wrapped!r} under it", disk=self.name)
        return stack.disk(wrapped)

    @property
    def invalidated(self) -> list[list[str]]:
        """Each batch of CDN paths a faked ``cdn`` disk would have invalidated, in order (else empty)."""
        return [list(batch) for batch in self._invalidated or []]

    def _listing(self, directory: str = "") -> str:
        files = self.all_files(directory)
        if not files:
            return "the disk is empty" if not directory else f"'{directory}' holds no files"
        shown = ", ".join(files[:20]) + (f" ... ({len(files) - 20} more)" if len(files) > 20 else "")
        return f"files on disk '{self.name}': {shown}"

    def assert_exists(self, paths: str | Sequence[str], content: str | bytes | None = None) -> FakeDisk:
        """Assert every path exists (and, with ``content``, holds exactly that)."""
        __tracebackhide__ = True  # pytest shows the test's line, not flystore's frames
        for path in [paths] if isinstance(paths, str) else paths:
            if not self.exists(path):
                raise AssertionError(f"Unable to find a file or directory at path [{normalize(path)}]; "
                                     f"{self._listing()}")
            if content is not None:
                expected = content.encode() if isinstance(content, str) else content
                actual = self.get(path)
                if actual != expected:
                    raise AssertionError(
                        f"File [{normalize(path)}] does not hold the expected content: "
                        f"expected {_preview(expected)}, found {_preview(actual)}"
                    )
        return self

    def assert_missing(self, paths: str | Sequence[str]) -> FakeDisk:
        """Assert no file or directory exists at any of the paths."""
        __tracebackhide__ = True  # pytest shows the test's line, not flystore's frames
        for path in [paths] if isinstance(paths, str) else paths:
            if self.exists(path):
                raise AssertionError(f"Found unexpected file or directory at path [{normalize(path)}]; "
                                     f"{self._listing()}")
        return self

    def assert_directory_empty(self, directory: str = "") -> FakeDisk:
        """Assert the directory holds no files (at any depth)."""
        __tracebackhide__ = True  # pytest shows the test's line, not flystore's frames
        files = self.all_files(directory)
        if files:
            where = normalize(directory) or "/"
            raise AssertionError(f"Directory [{where}] is not empty; it holds: {', '.join(files)}")
        return self

    def assert_empty(self) -> FakeDisk:
        """Assert the whole disk holds no files."""
        __tracebackhide__ = True  # pytest shows the test's line, not flystore's frames
        return self.assert_directory_empty("")

    def assert_count(self, directory: str, count: int, recursive: bool = False) -> FakeDisk:
        """Assert ``directory`` holds exactly ``count`` files (at every level when ``recursive``)."""
        __tracebackhide__ = True  # pytest shows the test's line, not flystore's frames
        files = self.files(directory, recursive=recursive)
        if len(files) != count:
            raise AssertionError(
                f"Expected {count} file(s) in [{normalize(directory) or '/'}], found {len(files)}: "
                f"{', '.join(files) or 'none'}"
            )
        return self

    def close(self) -> None:
        super().close()
        if self._temporary_root is not None:
            shutil.rmtree(self._temporary_root, ignore_errors=True)
            self._temporary_root = None


def _preview(data: bytes, limit: int = 60) -> str:
    shown = data[:limit]
    try:
        text = repr(shown.decode())
    except UnicodeDecodeError:
        text = repr(shown)
    return text + (f" ... ({len(data)} bytes)" if len(data) > limit else "")


def make_fake(
    manager: StorageManager | None,
    name: str,
    original: Mapping[str, Any],
    *,
    local: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> FakeDisk:
    """Build the fake for disk ``name``, keeping the original's URL and visibility settings."""
    from ..config import resolve_env

    kept = {key: value for key, value in resolve_env(dict(original)).items() if key in KEPT_OPTIONS}
    config = {**kept, **dict(overrides or {})}
    config.setdefault("signing_key", FAKE_SIGNING_KEY)
    if local:
        root = tempfile.mkdtemp(prefix=f"flystore-fake-{name}-")
        backend: Any = LocalBackend(root, default_visibility=config.get("visibility") or "public")
        fake = FakeDisk(backend, name=name, config={**config, "root": root}, manager=manager)
        fake._temporary_root = root
        return fake
    return FakeDisk(MemoryBackend(), name=name, config=config, manager=manager)

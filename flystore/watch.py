"""``watch=True`` on a local disk: changes made by other processes (or by hand) fire events too.

A watchdog observer (inotify on Linux) reports filesystem events under the
disk's root. They are debounced per path (a burst of writes to one file is one
``file_updated``), given as disk-relative paths, and never reported for the
hidden temporary files of in-flight writes (their rename onto the target is
the ``file_updated``). Changes made through flystore itself are already
published by the disk; the watcher drops its own sighting of them, so each
change is reported once. It tells them apart by the file's state: when the
disk publishes a change the watcher notes the file's inode, mtime and size (or
that it is gone), and a sighting is flystore's own only while the file is still
in exactly that state; a later change by anyone else is reported, however soon.
The disk itself hands its changes to the watcher (``note_own``, from the local
disk's ``_fire``): disk names are unique within a manager only, so another
disk of the same name (another manager, a fake's stack) is never taken for it.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
import weakref
from typing import TYPE_CHECKING, Any

from .errors import DriverNotInstalled
from .events import StorageEvent, hub

#: The start of watchdog's warning that a watch got its callback twice (``InotifyFD._add_callback``), harmless.
WATCHDOG_DOUBLE_WATCH = r"Callback with id '[^']*' already exists for watch"

if TYPE_CHECKING:
    from .disk import FilesystemAdapter

__all__ = ["DiskWatcher", "stop_watching", "watch_disk"]

#: Seconds a path must stay quiet before its event fires.
DEFAULT_DEBOUNCE = 0.15
# Temporary files of flystore's atomic writes (flystore/drivers/local/_walk.py TEMP_PREFIX).
_TEMP_PREFIX = ".flystore-tmp-"
# Seconds a noted own change is remembered: far longer than inotify takes to report it.
_OWN_FOR = 10.0

# A file's (inode, mtime in ns, size), or None when nothing is there.
_State = tuple[int, int, int] | None


class DiskWatcher:
    """Watches ``root`` and publishes its changes as events of ``disk``.

    Raises:
        DriverNotInstalled: watchdog is missing (``pip install "flystore[watch]"``).
    """

    def __init__(self, disk: FilesystemAdapter, root: str, *, debounce: float = DEFAULT_DEBOUNCE) -> None:
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError as missing:
            raise DriverNotInstalled.for_extra("watch", "watching a local disk (watch=True)") from missing
        # Weakly: a disk nobody uses any more is collected, and its watcher stops with it (watch_disk).
        self._disk = weakref.ref(disk)
        self.name = disk.name
        self.root = os.path.realpath(root)
        self.debounce = debounce
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[str, float]] = {}  # path -> (event, last seen)
        self._own: dict[str, tuple[_State, float]] = {}  # path -> (state flystore left it in, when)
        # Every file under the root (relative paths): a directory moved out of the root by hand is one
        # inotify event for the directory, and these say which files it took with it.
        self._files: set[str] = set()
        self._stopped = threading.Event()
        watcher = self

        class _Handler(FileSystemEventHandler):  # type: ignore[misc]
            def on_any_event(self, event: FileSystemEvent) -> None:
                watcher._saw(event)

        self._observer = Observer()
        os.makedirs(self.root, exist_ok=True)
        self._observer.schedule(_Handler(), self.root, recursive=True)
        self._flusher = threading.Thread(target=self._flush_loop, name="flystore-watch", daemon=True)

    @property
    def disk(self) -> FilesystemAdapter | None:
        """The watched disk (None once it was collected)."""
        return self._disk()

    def start(self) -> DiskWatcher:
        # watchdog 7 warns when a directory made during its recursive scan gets its watch added twice (the watch
        # stays right, the callback is replaced). Under ``-W error`` (pytest's filterwarnings=error too) that
        # warning is raised in watchdog's own thread, which dies, and every later change goes unreported.
        warnings.filterwarnings("ignore", message=WATCHDOG_DOUBLE_WATCH, category=RuntimeWarning)
        self._observer.start()
        self._flusher.start()
        return self

    def stop(self) -> None:
        """Stop watching (idempotent)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._observer.stop()
        self._observer.join(5)

    # -- intake --------------------------------------------------------------------

    def note_own(self, path: str) -> None:
        """The watched disk changed ``path`` itself (and publishes that): drop the sighting of it."""
        # Runs in the writer's thread right after the change, before the watcher can flush its sighting.
        state = self._state(path)
        with self._lock:
            self._own[path] = (state, time.monotonic())

    def _state(self, path: str) -> _State:
        try:
            found = os.stat(os.path.join(self.root, path))
        except OSError:
            return None
        return (found.st_ino, found.st_mtime_ns, found.st_size)

    def _relative(self, absolute: Any) -> str | None:
        if isinstance(absolute, bytes):
            absolute = os.fsdecode(absolute)
        relative = os.path.relpath(str(absolute), self.root)
        if relative.startswith("..") or relative == ".":
            return None
        if any(part.startswith(_TEMP_PREFIX) for part in relative.split(os.sep)):
            return None
        return relative.replace(os.sep, "/")

    def _saw(self, event: Any) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory:
            if event.event_type in ("deleted", "moved"):
                self._lost_directory(self._relative(event.src_path))
            return
        changes: list[tuple[str | None, str]] = []
        if event.event_type == "moved":
            changes.append((self._relative(event.src_path), "file_deleted"))
            changes.append((self._relative(event.dest_path), "file_updated"))
        elif event.event_type == "deleted":
            changes.append((self._relative(event.src_path), "file_deleted"))
        else:
            changes.append((self._relative(event.src_path), "file_updated"))
        now = time.monotonic()
        with self._lock:
            for path, kind in changes:
                if path is not None:
                    self._pending[path] = (kind, now)
                    if kind == "file_deleted":
                        self._files.discard(path)
                    else:
                        self._files.add(path)

    def _lost_directory(self, directory: str | None) -> None:
        """A directory is gone (deleted, or moved away): each file known under it is deleted."""
        if directory is None:
            return
        prefix = directory + "/"
        now = time.monotonic()
        with self._lock:
            gone = [path for path in self._files if path.startswith(prefix)]
            for path in gone:
                self._files.discard(path)
                self._pending[path] = ("file_deleted", now)

    def _index(self) -> None:
        """Note the files already under the root (the observer is running: later changes are events)."""
        found: set[str] = set()
        for directory, _, names in os.walk(self.root):
            for name in names:
                relative = self._relative(os.path.join(directory, name))
                if relative is not None:
                    found.add(relative)
            if self._stopped.is_set():
                return
        with self._lock:
            self._files |= {path for path in found if self._pending.get(path, ("",))[0] != "file_deleted"}

    # -- output --------------------------------------------------------------------

    def _flush_loop(self) -> None:
        self._index()
        while not self._stopped.wait(self.debounce / 3):
            self._flush()

    def _flush(self) -> None:
        now = time.monotonic()
        ready: list[tuple[str, str, tuple[_State, float] | None]] = []
        with self._lock:
            for path, (kind, seen) in list(self._pending.items()):
                if now - seen < self.debounce:
                    continue
                del self._pending[path]
                ready.append((path, kind, self._own.get(path)))
            for path, (_, when) in list(self._own.items()):
                if now - when > _OWN_FOR:
                    del self._own[path]
        for path, kind, own in sorted(ready, key=lambda item: item[0]):
            if own is not None and own[0] == self._state(path):
                continue  # the file is as flystore left it: the disk published this change itself
            if kind == "file_updated" and not os.path.isfile(os.path.join(self.root, path)):
                continue  # created and gone again within the debounce window
            disk = self._disk()
            if disk is None:
                return
            handlers = tuple(disk._listeners.get(kind, ()))
            try:
                hub.publish(StorageEvent(kind, path, self.name, "watch"), handlers)
            except Exception:  # a handler's failure must not stop the watcher
                import logging

                logging.getLogger("flystore.watch").exception("a watch event handler failed")


def watch_disk(disk: FilesystemAdapter, root: str, *, debounce: float = DEFAULT_DEBOUNCE) -> DiskWatcher:
    """Start watching ``root`` for ``disk`` (kept on the disk; see ``stop_watching``).

    Raises:
        DriverNotInstalled: watchdog is missing.
    """
    watcher = DiskWatcher(disk, root, debounce=debounce).start()
    disk.__dict__["_watcher"] = watcher
    weakref.finalize(disk, watcher.stop)  # a disk that is forgotten and collected stops being watched
    return watcher


def stop_watching(disk: FilesystemAdapter) -> None:
    """Stop the disk's watcher, if it has one."""
    watcher = disk.__dict__.pop("_watcher", None)
    if watcher is not None:
        watcher.stop()

"""Progress bars (rich, on stderr) for transfers and syncs; nothing at all when they are off or rich is missing."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import DriverNotInstalled
from ._context import State

if TYPE_CHECKING:
    from ..sync import SyncProgress

__all__ = ["TransferCallback", "sync_bar", "transfer_bar"]

TransferCallback = Callable[[int, "int | None"], None]


def _progress(state: State) -> Any:
    """A rich ``Progress`` on stderr, or None when rich is not installed and bars were not asked for.

    Raises:
        DriverNotInstalled: ``--progress`` was given and rich is missing.
    """
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
    except ModuleNotFoundError as error:  # click alone (the web extra): no bars unless asked for
        if state.progress:
            raise DriverNotInstalled.for_extra("cli", "--progress", cause=error) from error
        return None
    console = Console(stderr=True, force_terminal=True if state.progress else None)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
        console=console,
    )


@contextlib.contextmanager
def transfer_bar(state: State, description: str) -> Iterator[TransferCallback | None]:
    """A ``progress(done, total)`` callback drawing one bar, or None when bars are off."""
    bars = _progress(state) if state.show_progress() else None
    if bars is None:
        yield None
        return
    with bars as progress:
        task = progress.add_task(description, total=None, note="")

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update


@contextlib.contextmanager
def sync_bar(state: State, description: str) -> Iterator[Callable[[SyncProgress], None] | None]:
    """A callback for the sync engine's ``SyncProgress`` updates, or None when bars are off.

    The engine calls it from its worker threads; updates are serialised here.
    """
    bars = _progress(state) if state.show_progress() else None
    if bars is None:
        yield None
        return
    lock = threading.Lock()
    with bars as progress:
        task = progress.add_task(description, total=None, note="")

        def update(step: SyncProgress) -> None:
            with lock:
                total = step.bytes_total if step.bytes_total else None
                note = f"{step.files_done}/{step.files_total} files ({step.phase})"
                progress.update(task, completed=step.bytes_done, total=total, note=note)

        yield update

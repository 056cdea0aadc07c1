"""Shell completion: disk names, then the entries of the directory typed so far.

Completion runs before any command callback, so the manager is found from the command
line itself (``--config``) or the one a caller injected; it never raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..errors import StorageError
from ..manager import StorageManager
from ._context import State, parse_operand

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

__all__ = ["complete_disk_name", "complete_location"]


def _completion_manager(ctx: click.Context) -> StorageManager | None:
    """The manager a command line being completed would use (its callbacks have not run)."""
    root = ctx.find_root()
    found = root.obj.manager if isinstance(root.obj, State) else root.obj
    if isinstance(found, StorageManager):
        return found
    config_file = root.params.get("config_file")
    if not config_file:
        from ..storage import Storage

        return Storage
    try:
        from ..config import load_config_file

        return StorageManager(load_config_file(config_file))
    except StorageError:
        return None


def complete_disk_name(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion for a disk name."""
    from click.shell_completion import CompletionItem

    manager = _completion_manager(ctx)
    try:
        names = manager.disk_names() if manager is not None else []
    except StorageError:
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def complete_location(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion for a location: disk names as ``name://``, then the entries of that directory.

    Completion never fails: a disk that cannot be built or listed completes to nothing.
    """
    from click.shell_completion import CompletionItem

    manager = _completion_manager(ctx)
    if manager is None:
        return []
    operand = parse_operand(incomplete)
    try:
        if operand.disk is None:
            names = [CompletionItem(f"{name}://", type="plain") for name in manager.disk_names()
                     if name.startswith(incomplete)]
            return [*names, CompletionItem(incomplete, type="file")]
        directory = operand.path.rpartition("/")[0]
        entries = manager.disk(operand.disk).list(directory)[:500]
    except (StorageError, OSError):
        return []
    found = (f"{operand.disk}://{entry.path}{'/' if entry.is_folder else ''}" for entry in entries)
    return [CompletionItem(text) for text in found if text.startswith(incomplete)]

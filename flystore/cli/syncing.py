"""``flystore sync`` and ``flystore backup``: whole trees through the sync engine (flystore.sync)."""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
from datetime import datetime, timezone
from typing import Any

import click

from ..disk import FilesystemAdapter
from ..errors import StorageError
from ..sync import SyncReport
from ..sync import sync as run_sync
from ._completion import complete_location
from ._context import (
    EXIT_FAILED,
    EXIT_USAGE,
    State,
    at_least,
    disk_location,
    echo_json,
    fail,
    format_size,
    get_state,
    local_directory_operand,
    missing,
    parse_operand,
)
from ._progress import sync_bar

__all__ = ["SNAPSHOT_NAME", "backup", "snapshot_name", "sync"]

_MODES = ("copy", "mirror", "two-way", "destination-to-source")
#: Snapshot directories made by ``backup`` (and the only ones its retention ever deletes).
SNAPSHOT_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(-\d+)?$")


def _summary(report: SyncReport) -> str:
    counts = ", ".join(
        f"{len(getattr(report, field))} {field}" for field in ("copied", "updated", "deleted", "skipped", "conflicts")
    )
    return f"{counts}; {format_size(report.bytes)} in {report.duration:.1f} s"


def _show(report: SyncReport, as_json: bool, heading: str) -> None:
    if as_json:
        echo_json(report.to_dict())
    else:
        if report.dry_run:
            for field, verb in (("copied", "copy"), ("updated", "update"), ("deleted", "delete")):
                for path in getattr(report, field):
                    click.echo(f"would {verb} {path}")
        for path in report.conflicts:
            click.echo(f"conflict: {path}")
        click.echo(f"{heading}{' (dry run)' if report.dry_run else ''}: {_summary(report)}")
    _errors(report)


def _errors(report: SyncReport) -> None:
    """One line on stderr per file that failed."""
    for path, message in report.errors.items():
        click.echo(f"Error: {path}: {' '.join(str(message).split())}", err=True)


def _local_directory(state: State, operand: str) -> str | None:
    """The real local directory behind ``operand``, when its disk is a local one."""
    disk, path = disk_location(state, operand)
    try:
        return os.path.realpath(disk.path(path))
    except StorageError:
        return None


def _refuse_overlap(state: State, source: str, destination: str) -> None:
    """Refuse two local trees where one holds the other, whatever disks name them.

    The engine refuses overlapping roots on one disk; two disks over one directory tree
    (``local`` and ``public`` under it, or two local directories) would copy the copy on
    every run.

    Raises:
        CommandFailed: they overlap (exit 2).
    """
    first, second = _local_directory(state, source), _local_directory(state, destination)
    if first is None or second is None:
        return
    if first == second or first.startswith(second + os.sep) or second.startswith(first + os.sep):
        fail(f"{first} and {second} overlap (one holds the other); sync between separate directories", EXIT_USAGE)


def _require_directory(state: State, operand: str) -> None:
    """A sending side that does not exist is a typo, not an empty tree (exit 3, like a local one)."""
    disk, path = disk_location(state, operand)
    if path and not disk.directory_exists(path):
        missing(disk, path, "no directory exists at this path")


def _run_sync(state: State, source: str, destination: str, *, label: str, **options: Any) -> SyncReport:
    _refuse_overlap(state, source, destination)
    if options.get("mode") in ("copy", "mirror"):
        _require_directory(state, source)
    elif options.get("mode") == "destination_to_source":
        _require_directory(state, destination)
    with sync_bar(state, label) as progress:
        return run_sync(source, destination, manager=state.manager, progress=progress, **options)


@click.command(short_help="Make a directory match another one.")
@click.argument("source", shell_complete=complete_location)
@click.argument("destination", shell_complete=complete_location)
@click.option("--mode", type=click.Choice(_MODES), default="copy", show_default=True, metavar="MODE",
              help="copy: new and changed files (a newer destination file is kept); mirror: make the destination "
                   "equal; two-way: changes and deletions both ways, conflicts kept side by side; "
                   "destination-to-source: copy, pulling.")
@click.option("--checksum", is_flag=True, help="Compare contents (native hashes where the backend has them), "
                                               "not size and time.")
@click.option("--delete", is_flag=True, help="Also delete receiving files the sending side lacks.")
@click.option("--include", multiple=True, metavar="GLOB", help="Only paths matching GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching GLOB (repeatable).")
@click.option("--transfers", default=8, show_default=True, metavar="N", callback=at_least(1),
              help="Files transferred at once.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def sync(source: str, destination: str, mode: str, checksum: bool, delete: bool, include: tuple[str, ...],
         exclude: tuple[str, ...], transfers: int, dry_run: bool, as_json: bool) -> None:
    """Sync SOURCE to DESTINATION (disk://dir or a local directory). Exit 1 if any file failed.

    \b
    Examples:
      flystore sync ./site s3://www --mode mirror --delete
      flystore sync local://docs s3://backup/docs --checksum --dry-run
    """
    state = get_state()
    with contextlib.ExitStack() as stack:
        source_operand = stack.enter_context(local_directory_operand(state, source, must_exist=True))
        destination_operand = stack.enter_context(local_directory_operand(state, destination, must_exist=False))
        report = _run_sync(
            state, source_operand, destination_operand, label="sync",
            mode=mode.replace("-", "_"), compare="checksum" if checksum else "size_mtime", delete=delete,
            dry_run=dry_run, include=list(include) or None, exclude=list(exclude) or None, transfers=transfers,
        )
    _show(report, as_json, "synced")
    if not report.ok:
        click.get_current_context().exit(EXIT_FAILED)


def snapshot_name(now: datetime | None = None) -> str:
    """The snapshot directory for ``now`` (UTC): ``2026-12-01T10-00-00``."""
    return (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H-%M-%S")


@click.command(short_help="Take a dated snapshot; keep the last N.")
@click.argument("source", shell_complete=complete_location)
@click.argument("destination", shell_complete=complete_location)
@click.option("--keep", type=int, default=None, metavar="N", callback=at_least(1),
              help="Keep the newest N snapshots under DESTINATION; delete older ones after a good backup.")
@click.option("--checksum", is_flag=True, help="Compare contents, not size and time (for a re-run).")
@click.option("--dry-run", is_flag=True, help="Print the snapshot's plan and what retention would delete.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def backup(source: str, destination: str, keep: int | None, checksum: bool, dry_run: bool, as_json: bool) -> None:
    """Copy SOURCE into DESTINATION/<YYYY-MM-DDTHH-MM-SS>/ (UTC) through the sync engine.

    Retention only ever deletes directories named like a snapshot, and only after the
    new snapshot is complete. A failed backup keeps every old one.

    \b
    Examples:
      flystore backup local:// s3://backups/app --keep 7
      flystore backup s3://uploads ./backups
    """
    state = get_state()
    with contextlib.ExitStack() as stack:
        source_operand = stack.enter_context(local_directory_operand(state, source, must_exist=True))
        root_operand = stack.enter_context(local_directory_operand(state, destination, must_exist=False))
        disk, root = disk_location(state, root_operand, what="DESTINATION")
        taken = set(_snapshots(disk, root))
        name = snapshot_name()
        base, number = name, 1
        while name in taken:  # two backups within one second
            number += 1
            name = f"{base}-{number}"
        snapshot = posixpath.join(root, name) if root else name
        report = _run_sync(
            state, source_operand, f"{disk.name}://{snapshot}", label=f"backup {name}",
            mode="copy", compare="checksum" if checksum else "size_mtime", dry_run=dry_run,
        )
        pruned: list[str] = []
        if keep is not None and report.ok:
            everything = sorted(taken | {name})
            doomed = everything[: max(0, len(everything) - keep)]
            for old in doomed:
                path = posixpath.join(root, old) if root else old
                if not dry_run:
                    disk.delete_directory(path)
                pruned.append(f"{disk.name}://{path}")
        where = f"{parse_operand(destination).text.rstrip('/')}/{name}"
    if as_json:
        echo_json({"snapshot": where, "pruned": pruned, "report": report.to_dict()})
        _errors(report)
    else:
        for path in pruned:
            click.echo(f"{'would delete' if dry_run else 'deleted'} old snapshot {path}")
        _show(report, False, f"backup {where}")
    if not report.ok:
        click.get_current_context().exit(EXIT_FAILED)


def _snapshots(disk: FilesystemAdapter, root: str) -> list[str]:
    """Names of the snapshot directories directly under ``root``."""
    names = [posixpath.basename(path) for path in disk.directories(root)]
    return sorted(name for name in names if SNAPSHOT_NAME.match(name))

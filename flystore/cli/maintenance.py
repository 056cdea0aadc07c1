"""``flystore test``, ``cleanup`` and ``link``: keeping disks healthy (Laravel-style storage:* commands)."""

from __future__ import annotations

import contextlib
import os
import uuid
from datetime import datetime, timedelta, timezone

import click

from ..errors import StorageError
from ..paths import normalize
from ._completion import complete_disk_name
from ._context import (
    EXIT_FAILED,
    EXIT_USAGE,
    as_command_failure,
    at_least,
    echo_json,
    fail,
    format_size,
    get_state,
)
from ._probe import probe_disks
from ._usage import stream_files

__all__ = ["cleanup", "link", "test"]


@click.command(short_help="Check every disk: write, read, list, delete.")
@click.argument("names", nargs=-1, metavar="[DISK]...", shell_complete=complete_disk_name)
@click.option("--timeout", default=30.0, show_default=True, metavar="SECONDS", callback=at_least(0.1),
              help="Seconds to wait for the disks (probed at once).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: per disk, each step's result and latency.")
def test(names: tuple[str, ...], timeout: float, as_json: bool) -> None:
    """Write, read back, list and delete a probe file on each DISK (default: every configured disk),
    timing each step. Exit 1 if any step failed on any disk.

    \b
    Examples:
      flystore test
      flystore test s3 local --json
    """
    state = get_state()
    chosen = list(names) or state.manager.disk_names()
    unknown = [name for name in chosen if name not in state.manager.disk_names()]
    if unknown:
        configured = ", ".join(state.manager.disk_names())
        fail(f"disk {unknown[0]!r} is not configured; configured disks: {configured}", EXIT_USAGE)
    results = probe_disks(state.manager, chosen, timeout=timeout)
    if as_json:
        echo_json([result.to_dict() for result in results])
    else:
        for result in results:
            steps = "  ".join(
                f"{step.name} {'ok' if step.ok else 'FAILED' if step.ok is False else 'skipped'}"
                + (f" {step.milliseconds:.1f} ms" if step.milliseconds is not None else "")
                for step in result.steps
            )
            click.echo(f"{'ok    ' if result.ok else 'FAILED'} {result.disk} ({result.driver}): {steps}")
            if result.error:
                click.echo(f"       {result.error}")
    if not all(result.ok for result in results):
        click.get_current_context().exit(EXIT_FAILED)


@click.command(short_help="Delete files older than N days.")
@click.option("--disk", "disk_name", default="local", show_default=True, metavar="NAME", help="The disk to clean.",
              shell_complete=complete_disk_name)
@click.option("--days", default=30, show_default=True, metavar="N", callback=at_least(0),
              help="Delete files last modified more than this many days ago.")
@click.option("--path", "directory", default="", metavar="DIR", help="Only under this directory of the disk.")
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: deleted paths, bytes, errors.")
def cleanup(disk_name: str, days: int, directory: str, dry_run: bool, as_json: bool) -> None:
    """Delete the files of a disk last modified more than --days days ago.

    Every file is tried; exit 1 if any could not be deleted.

    \b
    Example:
      flystore cleanup --disk local --days 30 --dry-run
    """
    state = get_state()
    disk = state.disk(disk_name)
    cutoff = datetime.now(timezone.utc) - timedelta(days=days)
    try:
        # One streamed listing with sizes and times (find_files_older_than, minus a stat per file).
        old = sorted(
            (entry.path, entry.size or 0)
            for entry in stream_files(disk, normalize(directory))
            if entry.last_modified is not None and entry.last_modified < cutoff
        )
    except StorageError as error:
        raise as_command_failure(error) from error
    deleted: list[str] = []
    errors: dict[str, str] = {}
    for path, _size in old:
        if dry_run:
            deleted.append(path)
            continue
        try:
            disk.delete(path)
            deleted.append(path)
        except StorageError as error:
            errors[path] = " ".join(str(error).split())
    gone = set(deleted)
    freed = sum(size for path, size in old if path in gone)
    if as_json:
        echo_json({"disk": disk.name, "days": days, "dry_run": dry_run, "deleted": deleted, "bytes": freed,
                   "errors": errors})
    else:
        verb = "would delete" if dry_run else "deleted"
        for path in deleted:
            click.echo(f"{verb} {disk.name}://{path}")
        click.echo(f"{verb} {len(deleted)} files ({format_size(freed)}) older than {days} days "
                   f"from disk '{disk.name}'")
    for message in errors.values():
        click.echo(f"Error: {message}", err=True)
    if errors:
        click.get_current_context().exit(EXIT_FAILED)


@click.command(short_help="Symlink the public disk into public/.")
@click.option("--disk", "disk_name", default="public", show_default=True, metavar="NAME",
              help="A local disk to publish.", shell_complete=complete_disk_name)
@click.option("--link", "link_path", default=os.path.join("public", "storage"), show_default=True,
              type=click.Path(path_type=str), help="Where the symlink goes.")
@click.option("--relative", is_flag=True, help="Make the link relative to its directory.")
@click.option("--force", is_flag=True, help="Replace an existing symlink that points elsewhere.")
@click.option("--dry-run", is_flag=True, help="Print what would be done; change nothing.")
def link(disk_name: str, link_path: str, relative: bool, force: bool, dry_run: bool) -> None:
    """Make LINK a symlink to the public disk's root, so a web server can serve it (Laravel's storage:link).

    Running it again is harmless. A real file or directory at LINK is never replaced;
    a symlink pointing elsewhere only with --force.

    \b
    Example:
      flystore link --disk public --link public/storage
    """
    state = get_state()
    disk = state.disk(disk_name)
    try:
        root = disk.path("")
    except StorageError as error:
        fail(f"disk '{disk.name}' is not a local disk, so it cannot be linked: {error.reason}", EXIT_USAGE)
    directory = os.path.dirname(os.path.abspath(link_path))
    target = os.path.relpath(root, directory) if relative else root
    shown = f"{link_path} -> {target}"
    current = _existing_link(link_path)
    if current is not None and os.path.realpath(os.path.join(directory, current)) == os.path.realpath(root):
        click.echo(f"already linked: {link_path} -> {current}")
        return
    if current is None and os.path.lexists(link_path):
        fail(f"{link_path} exists and is not a symlink; move it away first (it is never replaced)")
    if current is not None and not force:
        fail(f"{link_path} already links to {current}; use --force to point it at {target}")
    if dry_run:
        click.echo(f"would link {shown}")
        return
    os.makedirs(directory, exist_ok=True)
    if current is None:
        os.symlink(target, link_path)  # fails if anything appeared there meanwhile: never clobbers
    else:
        _replace_link(target, link_path)
    click.echo(f"linked {shown}")


def _existing_link(path: str) -> str | None:
    """Where the symlink at ``path`` points, or None when ``path`` is not a symlink."""
    try:
        return os.readlink(path)
    except (FileNotFoundError, OSError):
        return None


def _replace_link(target: str, link_path: str) -> None:
    """Point the symlink ``link_path`` at ``target`` in one rename; a non-link there is left alone.

    Raises:
        CommandFailed: something other than a symlink took its place meanwhile.
    """
    temporary = os.path.join(os.path.dirname(os.path.abspath(link_path)), f".flystore-link-{uuid.uuid4().hex}")
    os.symlink(target, temporary)
    try:
        if _existing_link(link_path) is None:
            fail(f"{link_path} is no longer a symlink; it is never replaced")
        os.replace(temporary, link_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


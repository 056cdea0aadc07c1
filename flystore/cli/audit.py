"""``flystore audit``: the records of audited disks' trails, filtered, oldest first."""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from ..config import resolve_env
from ..decorators.audited.trail import TrailFilter, read_trail
from ..errors import StorageError
from ._context import EXIT_USAGE, State, as_command_failure, fail, format_size, get_state

__all__ = ["audit", "parse_since"]

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``"15m"``, ``"2h"``, ``"7d"`` (ago) or an ISO 8601 date/time (UTC unless it says otherwise).

    Raises:
        click.BadParameter: neither form.
    """
    relative = _RELATIVE.match(text)
    if relative is not None:
        amount, unit = float(relative.group(1)), relative.group(2)
        return (now or datetime.now(timezone.utc)) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a duration like 15m, 2h, 7d nor a time like 2026-12-02T14:00", param_hint="--since"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _trails(state: State, disk: str | None, trail: str | None, prefix: str) -> list[tuple[str, str]]:
    """``(trail disk, prefix)`` pairs to read: the one given, or those of the configured audited disks."""
    if trail is not None:
        return [(trail, prefix)]
    disks = state.manager.config["disks"]
    if disk is not None and disk not in disks:
        fail(f"disk {disk!r} is not configured; configured disks: {', '.join(disks)}", EXIT_USAGE)
    found: list[tuple[str, str]] = []
    for name, raw in disks.items():
        options = resolve_env(dict(raw))
        if options.get("driver") != "audited" or (disk is not None and name != disk):
            continue
        if not options.get("trail"):
            if disk is not None:
                fail(f"disk {disk!r} writes its audit records to a logger, not to a disk; read them there",
                     EXIT_USAGE)
            continue
        pair = (str(options["trail"]), str(options.get("prefix", "audit")).strip("/"))
        if pair not in found:
            found.append(pair)
    if not found:
        what = f"disk {disk!r} is not an audited disk" if disk is not None else "no audited disk writes to a disk"
        fail(f"{what}; name the trail disk with --trail", EXIT_USAGE)
    return found


def _line(record: dict[str, Any]) -> str:
    target = str(record.get("path", ""))
    if record.get("destination"):
        target += f" -> {record['destination']}"
    if record.get("operation") == "audit_dropped":
        target = f"({record.get('count', '?')} records dropped: the audit queue was full)"
    size = record.get("size")
    duration = record.get("duration_ms")
    return "  ".join([
        str(record.get("time", "?")), str(record.get("actor") or "-"), str(record.get("disk", "?")),
        str(record.get("operation", "?")), target, format_size(size) if isinstance(size, int) else "-",
        str(record.get("outcome", "?")), f"{duration:.1f} ms" if isinstance(duration, (int, float)) else "-",
    ])


@click.command(short_help="Show the audit trail of audited disks.")
@click.option("--disk", "disk", default=None, metavar="DISK", help="Only records of this audited disk.")
@click.option("--actor", default=None, metavar="ACTOR",
              help="Only records of this actor (as given to Storage.acting_as).")
@click.option("--path", "path", default=None, metavar="GLOB",
              help="Only records whose path (or copy/move destination) matches, like 'invoices/*.pdf'.")
@click.option("--operation", "operations", multiple=True, metavar="OP",
              help="Only these operations (write, read, list, delete, copy, move, ...); repeatable.")
@click.option("--since", default=None, metavar="WHEN", help="Only records since 15m / 2h / 7d ago, or an ISO time.")
@click.option("--trail", default=None, metavar="DISK", help="Read this trail disk instead of the configured ones.")
@click.option("--prefix", default="audit", show_default=True, metavar="PATH", help="Where the records are on --trail.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per record and line.")
def audit(disk: str | None, actor: str | None, path: str | None, operations: tuple[str, ...], since: str | None,
          trail: str | None, prefix: str, as_json: bool) -> None:
    """Print the records of the audited disks' trails, oldest first: time, actor, disk,
    operation, path, size, outcome and duration (see docs/audit.md).

    Without --trail, every trail disk named by an audited disk of the configuration is read.

    \b
    Examples:
      flystore audit --disk documents --since 2h
      flystore audit --actor user-42 --operation delete --json
    """
    state = get_state()
    where = TrailFilter(disk=disk, actor=actor, path=path, operations=set(operations) or None,
                        since=parse_since(since) if since else None)
    sources = [(state.disk(name), trail_prefix) for name, trail_prefix in _trails(state, disk, trail, prefix)]
    streams: list[Iterator[dict[str, Any]]] = [read_trail(found, trail_prefix, where)
                                               for found, trail_prefix in sources]
    try:
        for record in heapq.merge(*streams, key=lambda record: str(record.get("time", ""))):
            click.echo(json.dumps(record, ensure_ascii=False) if as_json else _line(record))
    except StorageError as error:
        raise as_command_failure(error) from error

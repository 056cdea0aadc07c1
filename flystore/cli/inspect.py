"""``flystore disks``, ``info``, ``usage`` and ``demo``: looking at disks without changing them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import click

from ..config import Env
from ..errors import StorageError
from ._completion import complete_location
from ._context import (
    CommandFailed,
    State,
    as_command_failure,
    at_least,
    disk_location,
    echo_json,
    format_size,
    get_state,
    missing,
    parse_operand,
    standard_text_stream,
)
from ._usage import Usage, measure

__all__ = ["demo", "disks", "info", "redacted", "usage"]

_SECRET_NAMES = frozenset({
    "access_key", "account_key", "client_keys", "connection_string", "credentials", "key", "keys",
    "private_key", "sas_token", "secret", "secret_key", "signing_key", "token",
})
_SECRET_WORDS = ("secret", "password", "passphrase", "token", "credential")
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")  # https://user:password@host


def _is_secret(option: str) -> bool:
    lowered = option.lower()
    return lowered in _SECRET_NAMES or any(word in lowered for word in _SECRET_WORDS) or lowered.endswith("_key")


def redacted(options: Mapping[str, Any]) -> dict[str, Any]:
    """A disk's options fit to print: secrets hidden, ``env()`` values read (secret ones only named).

    A secret written in the file shows as ``***``; one read from the environment as
    ``env(NAME)``, with ``(unset)`` when the variable is missing.
    """
    shown: dict[str, Any] = {}
    for option, value in options.items():
        if _is_secret(str(option)):  # before looking inside: a credentials dict is hidden whole
            if isinstance(value, Env):
                shown[option] = f"env({value.name})" + ("" if value.name in os.environ else " (unset)")
            else:
                shown[option] = None if value is None else "***"
        elif isinstance(value, Mapping):
            shown[option] = redacted(value)
        else:
            plain = value.resolve() if isinstance(value, Env) else value
            shown[option] = _URL_PASSWORD.sub(r"\1***@", plain) if isinstance(plain, str) else plain
    return shown


@click.command(short_help="List the configured disks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: name, driver, default.")
def disks(as_json: bool) -> None:
    """List the configured disks; * marks the default one.

    \b
    Example:
      flystore disks
    """
    state = get_state()
    manager = state.manager
    default = manager.default_disk_name
    rows = [(name, manager.config["disks"][name].get("driver")) for name in manager.disk_names()]
    if as_json:
        echo_json([{"name": name, "driver": driver, "default": name == default} for name, driver in rows])
        return
    for name, driver in rows:
        click.echo(f"{'*' if name == default else ' '} {name}: {driver}")


@click.command(short_help="Run the demo on the default disk.")
def demo() -> None:
    """Write, list, read, sign a URL and use the fake on the default disk (./storage/app).

    \b
    Example:
      flystore demo
    """
    from ..demo import run_demo

    run_demo(standard_text_stream(), get_state().manager)


@click.command(short_help="Show a file's metadata, or the disks' settings.")
@click.argument("target", required=False, shell_complete=complete_location)
@click.option("--checksum", is_flag=True, help="Also compute the file's MD5 (may read the whole file).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(target: str | None, checksum: bool, as_json: bool) -> None:
    """Show what flystore knows about TARGET: a file (disk://path), a disk (disk://) or, without TARGET, every disk.

    Secrets in the configuration are never printed.

    \b
    Examples:
      flystore info
      flystore info s3://reports/q3.csv --json
    """
    state = get_state()
    if target is None:
        described = [_describe_disk(state, name) for name in state.manager.disk_names()]
        if as_json:
            echo_json(described)
        else:
            for entry in described:
                _print_mapping(entry)
                click.echo()
        return
    operand = parse_operand(target)
    if operand.disk in state.manager.disk_names() and not operand.path.strip("/"):
        described_disk = _describe_disk(state, operand.disk)  # from the configuration: nothing is built
        if as_json:
            echo_json(described_disk)
        else:
            _print_mapping(described_disk)
        return
    disk, path = disk_location(state, target)
    if disk.file_exists(path):
        details: dict[str, Any] = {"disk": disk.name, "type": "file", **disk.metadata(path)}
        if checksum:
            details["md5"] = disk.checksum(path)
    elif disk.directory_exists(path):
        details = {"disk": disk.name, "type": "directory", "path": path}
    else:
        missing(disk, path)
    if as_json:
        echo_json(details)
    else:
        if "size" in details:
            details["size"] = f"{details['size']} B ({format_size(details['size'])})"
        _print_mapping(details)


def _describe_disk(state: State, name: str) -> dict[str, Any]:
    options = state.manager.config["disks"][name]
    return {"name": name, "default": name == state.manager.default_disk_name, **redacted(options)}


def _print_mapping(values: Mapping[str, Any], indent: str = "") -> None:
    width = max((len(str(key)) for key in values), default=0)
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            click.echo(f"{indent}{key}:")
            _print_mapping(value, indent + "  ")
        else:
            shown = value.isoformat() if hasattr(value, "isoformat") else value
            click.echo(f"{indent}{str(key) + ':':<{width + 1}} {shown}")


@click.command(short_help="Count files and bytes per disk and directory.")
@click.argument("targets", nargs=-1, metavar="[TARGET]...", shell_complete=complete_location)
@click.option("--all", "every_disk", is_flag=True, help="Measure every configured disk.")
@click.option("--top", default=15, show_default=True, metavar="N", callback=at_least(1), help="Directories to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every directory).")
def usage(targets: tuple[str, ...], every_disk: bool, top: int, as_json: bool) -> None:
    """Count files and bytes under each TARGET (disk:// or disk://dir; default: the default disk),
    with a size histogram and the largest top-level directories.

    It streams over one listing per target, so a million files is fine.

    \b
    Examples:
      flystore usage
      flystore usage s3:// local://uploads --json
    """
    state = get_state()
    if every_disk:
        targets = tuple(f"{name}://" for name in state.manager.disk_names())
    elif not targets:
        targets = (f"{state.manager.default_disk_name}://",)
    measured: list[Usage] = []
    first_failure = 0
    for target in targets:  # one failing disk (an extra missing, a server down) does not hide the others
        try:
            measured.append(_measure(state, target))
        except CommandFailed as failure:
            click.echo(f"Error: {failure.message}", err=True)
            first_failure = first_failure or failure.exit_code
    if as_json:
        echo_json([found.to_dict() for found in measured])
    else:
        for found in measured:
            _print_usage(found, top)
    if first_failure:
        click.get_current_context().exit(first_failure)


def _measure(state: State, target: str) -> Usage:
    disk, path = disk_location(state, target)
    try:
        found = measure(disk, path)
        if found.total.files == 0 and path and not disk.directory_exists(path):
            missing(disk, path, "no directory exists at this path")
    except StorageError as error:
        raise as_command_failure(error) from error
    return found


def _print_usage(found: Usage, top: int) -> None:
    click.echo(f"{found.disk}://{found.path}: {found.total.files} files, {format_size(found.total.bytes)}")
    histogram = found.total.histogram()
    largest = max(bucket["files"] for bucket in histogram) or 1
    rows = [("size", "files", "bytes", "")] + [
        (bucket["bucket"], str(bucket["files"]), format_size(bucket["bytes"]), _bar(bucket["files"], largest))
        for bucket in histogram
    ]
    _print_table(rows)
    click.echo()
    ranked = sorted(found.directories.items(), key=lambda item: (-item[1].bytes, item[0]))[:top]
    _print_table([("directory", "files", "bytes", "sizes")] + [
        (name or ".", str(tally.files), format_size(tally.bytes), tally.compact()) for name, tally in ranked
    ])
    hidden = len(found.directories) - top
    if hidden > 0:
        click.echo(f"... and {hidden} more directories (--top, --json)")
    click.echo()


def _bar(count: int, largest: int) -> str:
    return "#" * round(30 * count / largest)


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    """Left-aligned columns two spaces apart, one row per line whatever the width."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

"""``flystore`` without the ``cli`` extra: ``demo`` and ``disks``, and the install line for the rest."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import DriverNotInstalled

__all__ = ["run_without_click"]

_FULL_COMMANDS = (
    "ls", "cat", "info", "rm", "url", "temp-url", "put", "get", "cp", "mv", "sync", "backup",
    "usage", "test", "cleanup", "link", "serve", "audit",
)


def run_without_click(argv: Sequence[str] | None = None) -> int:
    """Run ``demo`` or ``disks`` with the standard library's argparse; 0 on success.

    Any other command prints the ``pip install "flystore[cli]"`` line and returns 1;
    an unknown one is a usage error (2).
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="flystore",
        description="Laravel-style storage for Python.",
        epilog='The other commands (ls, cp, sync, ...) need: pip install "flystore[cli]"',
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="write, list, read, sign a URL and use the fake on the default disk")
    commands.add_parser("disks", help="list the configured disks")
    if arguments and arguments[0] in _FULL_COMMANDS:
        error = DriverNotInstalled.for_extra("cli", f"'flystore {arguments[0]}'")
        print(f"Error: {error}", file=sys.stderr)
        return 1
    try:
        parsed = parser.parse_args(arguments)
    except SystemExit as stop:  # argparse exits 2 on a usage error, 0 after --help
        return stop.code if isinstance(stop.code, int) else 2
    if parsed.command == "demo":
        from ..demo import run_demo

        return run_demo()
    from ..storage import Storage

    for name in Storage.disk_names():
        marker = "*" if name == Storage.default_disk_name else " "
        print(f"{marker} {name}: {Storage.config['disks'][name].get('driver')}")
    return 0

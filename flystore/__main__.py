"""``flystore`` / ``python -m flystore``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``flystore`` command."""
    parser = argparse.ArgumentParser(prog="flystore", description="Laravel-style storage for Python.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="write, list, read, sign a URL and use the fake on the default disk")
    commands.add_parser("disks", help="list the configured disks")
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        from .demo import run_demo

        return run_demo()
    from .storage import Storage

    for name in Storage.disk_names():
        marker = "*" if name == Storage.default_disk_name else " "
        print(f"{marker} {name}: {Storage.config['disks'][name].get('driver')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

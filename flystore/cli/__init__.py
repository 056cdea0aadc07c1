"""The ``flystore`` command line.

The commands need click (the ``cli`` extra, which adds rich for progress bars). Without
click, ``flystore demo`` and ``flystore disks`` still work (``make demo`` installs flystore
alone), and every other command says which ``pip install`` line brings it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``flystore`` with ``argv`` (``sys.argv[1:]`` when None) and return the exit code."""
    try:
        import click  # noqa: F401  # the commands are click commands; rich only draws progress bars
    except ModuleNotFoundError:
        from ._fallback import run_without_click

        return run_without_click(argv)
    from .app import run

    return run(argv)

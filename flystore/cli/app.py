"""The ``flystore`` click group: global options, lazily loaded commands, errors as exit codes."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import click

from .. import __version__
from ..config import load_config_file
from ..errors import StorageError
from ..manager import StorageManager
from ._context import EXIT_FAILED, CommandFailed, State, as_command_failure

__all__ = ["COMMANDS", "cli", "run"]


class LazyCommand(NamedTuple):
    """Where a command lives, and the line ``flystore --help`` shows for it."""

    module: str
    attribute: str
    summary: str
    section: str
    optional: bool = False  # written by other parts of flystore; may be absent from an install


_MORE = "Browser and audit"
COMMANDS: dict[str, LazyCommand] = {
    "ls": LazyCommand("flystore.cli.files", "ls", "List a directory of a disk.", "Files"),
    "cat": LazyCommand("flystore.cli.files", "cat", "Print files to stdout.", "Files"),
    "info": LazyCommand("flystore.cli.inspect", "info", "Show a file's metadata, or the disks' settings.", "Files"),
    "rm": LazyCommand("flystore.cli.files", "rm", "Delete files (directories with -r).", "Files"),
    "url": LazyCommand("flystore.cli.files", "url", "Print a file's public URL.", "Files"),
    "temp-url": LazyCommand("flystore.cli.files", "temp_url", "Print a signed URL that expires.", "Files"),
    "put": LazyCommand("flystore.cli.transfer", "put", "Upload a local file to a disk.", "Transfers"),
    "get": LazyCommand("flystore.cli.transfer", "get", "Download a file to a local path.", "Transfers"),
    "cp": LazyCommand("flystore.cli.transfer", "cp", "Copy a file, across disks too.", "Transfers"),
    "mv": LazyCommand("flystore.cli.transfer", "mv", "Move a file, across disks too.", "Transfers"),
    "sync": LazyCommand("flystore.cli.syncing", "sync", "Make a directory match another one.", "Transfers"),
    "backup": LazyCommand("flystore.cli.syncing", "backup", "Take a dated snapshot; keep the last N.", "Transfers"),
    "disks": LazyCommand("flystore.cli.inspect", "disks", "List the configured disks.", "Disks"),
    "usage": LazyCommand("flystore.cli.inspect", "usage", "Count files and bytes per disk and directory.", "Disks"),
    "test": LazyCommand("flystore.cli.maintenance", "test", "Check every disk: write, read, list, delete.", "Disks"),
    "cleanup": LazyCommand("flystore.cli.maintenance", "cleanup", "Delete files older than N days.", "Disks"),
    "link": LazyCommand("flystore.cli.maintenance", "link", "Symlink the public disk into public/.", "Disks"),
    "demo": LazyCommand("flystore.cli.inspect", "demo", "Run the demo on the default disk.", "Disks"),
    "serve": LazyCommand("flystore.cli.serve", "serve", "Browse the disks in a web browser.", _MORE, True),
    "audit": LazyCommand("flystore.cli.audit", "audit", "Show the audit trail of audited disks.", _MORE, True),
}
_SECTIONS = ("Files", "Transfers", "Disks", _MORE)


def _unavailable(name: str, reason: str) -> click.Command:
    """A stand-in for a command whose module is missing: it explains, and exits 1."""

    def explain() -> None:
        raise CommandFailed(f"'flystore {name}' is not available: {reason}")

    return click.Command(name, callback=explain, help=f"Not available: {reason}", short_help="(not available)")


class FlystoreGroup(click.Group):
    """Loads each command on first use and turns flystore errors into one line and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = self.commands.get(cmd_name)
        if found is not None:
            return found
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        try:
            module = importlib.import_module(entry.module)
        except ModuleNotFoundError as error:
            if not entry.optional:
                raise
            missing = "is not part of this installation" if error.name == entry.module else f"needs {error.name}"
            return _unavailable(cmd_name, f"{entry.module} {missing}")
        except StorageError as error:  # e.g. DriverNotInstalled: the message has the pip line
            return _unavailable(cmd_name, str(error))
        command = getattr(module, entry.attribute, None)
        if not isinstance(command, click.Command):
            return _unavailable(cmd_name, f"{entry.module} defines no command {entry.attribute!r}")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # From the table, without importing a single command module.
        for section in _SECTIONS:
            rows = []
            for name, entry in COMMANDS.items():
                if entry.section != section:
                    continue
                available = not entry.optional or importlib.util.find_spec(entry.module) is not None
                rows.append((name, entry.summary if available else f"{entry.summary} (not installed)"))
            with formatter.section(section):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (StorageError, OSError) as error:
            state = ctx.obj if isinstance(ctx.obj, State) else None
            if (state is not None and state.debug) or isinstance(error, BrokenPipeError):
                raise
            if isinstance(error, OSError) and not isinstance(error, StorageError) and error.filename is None:
                raise CommandFailed(str(error) or type(error).__name__, EXIT_FAILED) from error
            raise as_command_failure(error) from error
        except click.ClickException as error:
            state = ctx.obj if isinstance(ctx.obj, State) else None
            if state is not None and state.debug and error.__cause__ is not None:
                raise error.__cause__ from None
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:  # a bug, or a driver raising what it should not: still one line
            state = ctx.obj if isinstance(ctx.obj, State) else None
            if state is not None and state.debug:
                raise
            message = f"unexpected {type(error).__name__}: {error} (run with --debug for the traceback)"
            raise CommandFailed(message, EXIT_FAILED) from error


@click.group(
    cls=FlystoreGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Locations are disk://path (e.g. s3://reports/q3.csv); anything else is a local path.\n\n"
    "Exit codes: 0 ok, 1 failed, 2 usage error, 3 not found. Run 'flystore COMMAND -h' for a command's help.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Configuration file with a FILESYSTEMS dict. Default: $FLYSTORE_CONFIG, else ./config/filesystems.py.",
)
@click.option("--debug", is_flag=True, help="Show the full traceback when something fails.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Force progress bars on or off (default: shown on a terminal).",
)
@click.version_option(version=__version__, prog_name="flystore", message="flystore %(version)s")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, debug: bool, progress: bool | None) -> None:
    """Work with the disks of your flystore configuration from the shell.

    \b
    Example:
      flystore cp ./report.pdf s3://reports/2026/report.pdf
    """
    # A caller embedding the CLI (or a test) may hand in its own manager as ``obj``.
    from ..storage import Storage

    manager = ctx.obj if isinstance(ctx.obj, StorageManager) else Storage
    if config_file is not None:
        try:
            manager.configure(load_config_file(config_file))
        except StorageError as error:
            raise click.BadParameter(str(error), param_hint="--config") from error
    ctx.obj = State(manager=manager, debug=debug, progress=progress)


def run(argv: Sequence[str] | None = None, *, manager: StorageManager | None = None) -> int:
    """Run the ``flystore`` command line and return its exit code (0, 1, 2 or 3).

    Args:
        argv: the arguments (``sys.argv[1:]`` when None).
        manager: resolves disks instead of the ``Storage`` facade.
    """
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="flystore", obj=manager)
    except SystemExit as stop:
        code = stop.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_FAILED)
    return 0

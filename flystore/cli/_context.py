"""What every command shares: the manager, operands, errors as exit codes, and output helpers."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Literal, NoReturn, TextIO, cast

import click

from ..disk import FilesystemAdapter
from ..errors import DiskNotConfigured, FileNotFound, InvalidPath, StorageError
from ..manager import StorageManager
from ..paths import normalize, split_operand

__all__ = [
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandFailed",
    "Operand",
    "State",
    "as_command_failure",
    "at_least",
    "disk_location",
    "echo_json",
    "fail",
    "format_size",
    "get_state",
    "local_directory_operand",
    "missing",
    "parse_operand",
    "standard_stream",
    "standard_text_stream",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3



class CommandFailed(click.ClickException):
    """A failure shown as one ``Error: ...`` line on stderr, ending the command with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever the backend wrote
        self.exit_code = exit_code


def exit_code_for(error: BaseException) -> int:
    """3 for something missing, 2 for an operand that cannot name anything, else 1."""
    if isinstance(error, FileNotFoundError):  # FileNotFound is one too
        return EXIT_NOT_FOUND
    if isinstance(error, (DiskNotConfigured, InvalidPath)):
        return EXIT_USAGE
    return EXIT_FAILED


def as_command_failure(error: StorageError | OSError) -> CommandFailed:
    """``error`` as the one line the user sees, with the exit code its kind gets."""
    if isinstance(error, DiskNotConfigured) and error.reason:
        return CommandFailed(error.reason, EXIT_USAGE)  # the reason names the disk already
    if isinstance(error, StorageError):
        return CommandFailed(str(error), exit_code_for(error))
    where = f" '{error.filename}'" if error.filename else ""
    return CommandFailed(f"local file{where}: {error.strerror or error}", exit_code_for(error))


def at_least(minimum: float) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback refusing numbers below ``minimum`` (a usage error, exit 2)."""

    def check(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
        if value is not None and value < minimum:
            raise click.BadParameter(f"must be at least {minimum:g}, not {value:g}")
        return value

    return check


def fail(message: str, exit_code: int = EXIT_FAILED) -> NoReturn:
    """End the command with ``message`` on stderr.

    Raises:
        CommandFailed: always.
    """
    raise CommandFailed(message, exit_code)


@dataclass
class State:
    """The group's options, handed to every command.

    Attributes:
        manager: resolves disk names (the ``Storage`` facade unless one was injected).
        debug: show tracebacks instead of one-line errors.
        progress: force progress bars on (True) or off (False); None shows them on a terminal.
    """

    manager: StorageManager
    debug: bool = False
    progress: bool | None = None

    def show_progress(self) -> bool:
        """Whether transfers draw a progress bar (on stderr)."""
        if self.progress is not None:
            return self.progress
        return _is_terminal(sys.stdout) and _is_terminal(sys.stderr)

    def disk(self, name: str) -> FilesystemAdapter:
        """The disk called ``name``.

        Raises:
            CommandFailed: it is not configured (exit 2) or cannot be built (exit 1).
        """
        try:
            return self.manager.disk(name)
        except StorageError as error:
            raise as_command_failure(error) from error


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def get_state(ctx: click.Context | None = None) -> State:
    """The ``State`` the ``flystore`` group made for this invocation."""
    context = ctx or click.get_current_context()
    found = context.find_object(State)
    if found is None:  # a command invoked on its own, outside the group
        from ..storage import Storage

        found = State(Storage)
        context.obj = found
    return found


@dataclass(frozen=True)
class Operand:
    """A command-line location: ``disk://path`` on a disk, anything else a local path.

    Attributes:
        text: as typed.
        disk: the disk name, or None for a local path.
        path: the path inside the disk (as typed), or the local path.
    """

    text: str
    disk: str | None
    path: str

    @property
    def is_local(self) -> bool:
        return self.disk is None

    @property
    def names_a_directory(self) -> bool:
        """Typed with a trailing slash, or the disk root (``local://``)."""
        return self.path == "" or self.path.endswith(("/", "\\"))


def parse_operand(text: str) -> Operand:
    """``disk://path`` -> a disk operand; anything else is a local path."""
    disk, path = split_operand(text)  # the manager's own operand syntax
    return Operand(text, disk, path)


def disk_location(state: State, text: str, *, what: str = "TARGET") -> tuple[FilesystemAdapter, str]:
    """The disk and the normalised path a ``disk://path`` operand names.

    Raises:
        click.BadParameter: ``text`` is a local path (exit 2).
        CommandFailed: the disk is not configured or the path escapes the disk (exit 2).
    """
    operand = parse_operand(text)
    if operand.disk is None:
        names = ", ".join(state.manager.disk_names())
        raise click.BadParameter(
            f"{text!r} is a local path; name a disk location like {_example_disk(state)}://{text} "
            f"(configured disks: {names})",
            param_hint=what,
        )
    disk = state.disk(operand.disk)
    try:
        return disk, normalize(operand.path)
    except StorageError as error:
        error.disk = error.disk or disk.name
        raise as_command_failure(error) from error


def _example_disk(state: State) -> str:
    try:
        return state.manager.default_disk_name
    except StorageError:
        return "local"


@contextlib.contextmanager
def local_directory_operand(state: State, text: str, *, must_exist: bool) -> Iterator[str]:
    """A ``disk://path`` operand for ``text``: itself, or a local directory as a disk for this command only.

    The sync engine speaks disk operands; a plain directory becomes a ``local`` disk
    named ``local-dir`` (then ``local-dir-2`` ...) that is forgotten afterwards.

    Raises:
        CommandFailed: a local source directory that does not exist (exit 3).
    """
    operand = parse_operand(text)
    if operand.disk is not None:
        state.disk(operand.disk)  # an unknown disk fails here, as a usage error
        yield text
        return
    root = os.path.abspath(text)
    if must_exist and not os.path.isdir(root):
        fail(f"local directory {text!r} does not exist", EXIT_NOT_FOUND)
    manager = state.manager
    name, number = "local-dir", 1
    while name in manager.disk_names():
        number += 1
        name = f"local-dir-{number}"
    manager.configure_disk(name, "local", root=root)
    try:
        yield f"{name}://"
    finally:
        manager.forget_disk(name)
        manager.config["disks"].pop(name, None)


def missing(disk: FilesystemAdapter, path: str, reason: str = "nothing exists at this path") -> NoReturn:
    """End the command: nothing at ``path`` (exit 3).

    Raises:
        CommandFailed: always.
    """
    raise as_command_failure(FileNotFound.at(path, reason, disk=disk.name))


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def echo_json(value: object) -> None:
    """Print ``value`` as indented JSON (datetimes in ISO 8601) on stdout."""
    click.echo(json.dumps(value, indent=2, default=_json_default, ensure_ascii=False))


def format_size(size: int | float | None) -> str:
    """``1536`` -> ``"1.5 KiB"`` (binary units, as ``ls -h`` does)."""
    if size is None:
        return "-"
    if abs(size) < 1024:
        return f"{int(size)} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if abs(value) < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} TiB"


def standard_stream(name: Literal["stdin", "stdout"]) -> IO[bytes]:
    """The binary side of stdin or stdout (click's ``get_binary_stream`` is deprecated from click 8.5).

    Works with what click's test runner puts in their place, too.
    """
    stream: TextIO = sys.stdin if name == "stdin" else sys.stdout
    return cast("IO[bytes]", getattr(stream, "buffer", stream))


def standard_text_stream() -> TextIO:
    """stdout for text (click's ``get_text_stream`` is deprecated from click 8.5)."""
    return sys.stdout

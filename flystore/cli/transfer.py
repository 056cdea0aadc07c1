"""``flystore put``, ``get``, ``cp`` and ``mv``: one file from anywhere to anywhere, streamed.

Local files are plain files: a download lands in a hidden temporary file beside the
target and is renamed over it when complete, so an interrupted ``get`` leaves the old
file (or nothing) in place, never half a file.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, cast

import click

from ..disk import FilesystemAdapter
from ._completion import complete_location
from ._context import (
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    State,
    disk_location,
    fail,
    format_size,
    get_state,
    missing,
    parse_operand,
    standard_stream,
)
from ._progress import TransferCallback, transfer_bar

__all__ = ["cp", "get", "mv", "put"]

_CHUNK = 1024 * 1024
_STDIO = "-"


@dataclass(frozen=True)
class Place:
    """One end of a transfer: a disk and a path on it, a local file, or stdin/stdout (``-``)."""

    disk: FilesystemAdapter | None
    path: str

    @property
    def label(self) -> str:
        if self.disk is not None:
            return f"{self.disk.name}://{self.path}"
        return "stdin/stdout" if self.path == _STDIO else self.path


def _source(state: State, text: str) -> Place:
    operand = parse_operand(text)
    if operand.is_local:
        if text == _STDIO:
            return Place(None, _STDIO)
        if os.path.isdir(text):
            fail(f"{text!r} is a directory; copy directories with 'flystore sync'", EXIT_USAGE)
        if not os.path.isfile(text):
            fail(f"local file {text!r} does not exist", EXIT_NOT_FOUND)
        return Place(None, text)
    disk, path = disk_location(state, text, what="SOURCE")
    if not path or not disk.file_exists(path):
        if disk.directory_exists(path):
            fail(f"{disk.name}://{path} is a directory; copy directories with 'flystore sync'", EXIT_USAGE)
        missing(disk, path, "no file exists at this path")
    return Place(disk, path)


def _destination(state: State, text: str, source: Place) -> Place:
    name = posixpath.basename(source.path.replace("\\", "/")) if source.path != _STDIO else ""
    operand = parse_operand(text)
    if operand.is_local:
        if text == _STDIO:
            return Place(None, _STDIO)
        target = text
        if os.path.isdir(target) or operand.names_a_directory:
            if not name:
                fail("name the destination file when reading stdin", EXIT_USAGE)
            target = os.path.join(target, name)
        parent = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(parent):
            fail(f"local directory {parent!r} does not exist", EXIT_NOT_FOUND)
        return Place(None, target)
    disk, path = disk_location(state, text, what="DESTINATION")
    if operand.names_a_directory or (path and disk.directory_exists(path)):
        if not name:
            fail("name the destination file when reading stdin", EXIT_USAGE)
        path = posixpath.join(path, name) if path else name
    return Place(disk, path)


def _local_chunks(path: str) -> Iterator[bytes]:
    if path == _STDIO:
        stream = standard_stream("stdin")
        while chunk := stream.read(_CHUNK):
            yield chunk
        return
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def write_local_atomically(target: str, chunks: Iterable[bytes]) -> int:
    """Write ``chunks`` to the local file ``target`` through a temporary file renamed over it.

    An existing file keeps its permissions; a new one gets the umask's (the kernel applies
    it; the process umask is never changed, which other threads would see). Returns the
    bytes written.

    Raises:
        OSError: the write failed; ``target`` is untouched and no temporary file remains.
    """
    directory = os.path.dirname(os.path.abspath(target))
    temporary = os.path.join(directory, f".flystore-{uuid.uuid4().hex}.part")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    written = 0
    try:
        with os.fdopen(descriptor, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, os.stat(target).st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return written


def _copy(state: State, source: Place, destination: Place, *, visibility: str | None, move: bool) -> int | None:
    """Carry out one transfer; returns the bytes moved, or None when only a bar would have counted them.

    A remote read is given a progress callback only when a bar is drawn: the callback
    makes the disk ask for the size first (a HEAD, and an ACL on S3) before reading.
    """
    seen: list[int | None] = [None]
    with transfer_bar(state, posixpath.basename(source.path) or source.label) as bar:

        def progress(done: int, total: int | None) -> None:
            seen[0] = done
            if bar is not None:
                bar(done, total)

        remote_progress = progress if bar is not None else None
        if source.disk is not None and destination.disk is not None:
            _between_disks(state, source, destination, remote_progress, visibility=visibility, move=move)
        elif destination.disk is not None:  # local -> disk: counting local reads costs no request
            if source.path == _STDIO:
                stream: Iterable[bytes] = _local_chunks(_STDIO)
                destination.disk.write_stream(destination.path, stream, progress=progress, visibility=visibility)
            else:
                with open(source.path, "rb") as handle:
                    destination.disk.write_stream(destination.path, handle, progress=progress, visibility=visibility)
                if move:
                    os.unlink(source.path)
        elif source.disk is not None:  # disk -> local
            with source.disk.read_stream(source.path, progress=remote_progress) as read:
                chunks = _counted(cast(Iterable[bytes], read), seen)
                if destination.path == _STDIO:
                    _to_stdout(chunks)
                else:
                    write_local_atomically(destination.path, chunks)
            if move:
                source.disk.delete(source.path)
        elif destination.path == _STDIO:  # local -> local
            _to_stdout(_counted(_local_chunks(source.path), seen))
        else:
            seen[0] = write_local_atomically(destination.path, _local_chunks(source.path))
            if move:
                os.unlink(source.path)
    return seen[0]


def _counted(chunks: Iterable[bytes], seen: list[int | None]) -> Iterator[bytes]:
    """``chunks`` as they come, adding their length to ``seen[0]``."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        seen[0] = total
        yield chunk
    seen[0] = total


def _between_disks(state: State, source: Place, destination: Place, progress: TransferCallback | None, *,
                   visibility: str | None, move: bool) -> None:
    assert source.disk is not None and destination.disk is not None
    if source.disk is not destination.disk:  # streamed by the manager, never whole in memory
        across = state.manager.move if move else state.manager.copy
        across(source.label, destination.label, progress=progress, visibility=visibility)
    elif move:
        size = source.disk.size(source.path) if progress is not None else 0
        source.disk.move(source.path, destination.path, visibility=visibility)
        if progress is not None:
            progress(size, size)
    else:
        source.disk.copy(source.path, destination.path, progress=progress, visibility=visibility)


def _to_stdout(chunks: Iterable[bytes]) -> None:
    out: IO[bytes] = standard_stream("stdout")
    for chunk in chunks:
        out.write(chunk)
    out.flush()


def _run(source_text: str, destination_text: str, *, move: bool, dry_run: bool, visibility: str | None) -> None:
    state = get_state()
    source = _source(state, source_text)
    destination = _destination(state, destination_text, source)
    if move and source.path == _STDIO:
        fail("cannot move stdin; use cp", EXIT_USAGE)
    if source.disk is None and destination.disk is None and source.path != _STDIO and destination.path != _STDIO:
        with contextlib.suppress(OSError):
            if os.path.samefile(source.path, destination.path):
                fail(f"{source.label} and {destination.label} are the same file", EXIT_USAGE)
    verb = "move" if move else "copy"
    if dry_run:
        click.echo(f"would {verb} {source.label} -> {destination.label}")
        return
    size = _copy(state, source, destination, visibility=visibility, move=move)
    if destination.path != _STDIO:
        amount = "" if size is None else f" ({format_size(size)})"
        click.echo(f"{'moved' if move else 'copied'} {source.label} -> {destination.label}{amount}")


_visibility = click.option(
    "--visibility", type=click.Choice(["public", "private"]), help="Visibility of the written file."
)
_dry_run = click.option("--dry-run", is_flag=True, help="Print what would be done; change nothing.")


@click.command(short_help="Upload a local file to a disk.")
@click.argument("local_file", metavar="LOCAL")

@click.argument("destination", shell_complete=complete_location)
@_visibility
@_dry_run
def put(local_file: str, destination: str, visibility: str | None, dry_run: bool) -> None:
    """Upload LOCAL (a file, or - for stdin) to DESTINATION (disk://path; a trailing / keeps the name).

    \b
    Examples:
      flystore put report.pdf s3://reports/
      tar c docs | flystore put - s3://backups/docs.tar
    """
    if not parse_operand(local_file).is_local:
        raise click.BadParameter("LOCAL must be a local file (use cp between disks)", param_hint="LOCAL")
    if parse_operand(destination).is_local:
        raise click.BadParameter("DESTINATION must be a disk location like s3://path", param_hint="DESTINATION")
    _run(local_file, destination, move=False, dry_run=dry_run, visibility=visibility)


@click.command(short_help="Download a file to a local path.")
@click.argument("source", shell_complete=complete_location)
@click.argument("local_file", metavar="[LOCAL]", default=".")

@_dry_run
def get(source: str, local_file: str, dry_run: bool) -> None:
    """Download SOURCE (disk://path) to LOCAL (a file or directory, default .; - for stdout).

    \b
    Examples:
      flystore get s3://reports/q3.csv
      flystore get s3://reports/q3.csv - | head
    """
    if parse_operand(source).is_local:
        raise click.BadParameter("SOURCE must be a disk location like s3://path", param_hint="SOURCE")
    if not parse_operand(local_file).is_local:
        raise click.BadParameter("LOCAL must be a local path (use cp between disks)", param_hint="LOCAL")
    _run(source, local_file, move=False, dry_run=dry_run, visibility=None)


@click.command(short_help="Copy a file, across disks too.")
@click.argument("source", shell_complete=complete_location)
@click.argument("destination", shell_complete=complete_location)
@_visibility
@_dry_run
def cp(source: str, destination: str, visibility: str | None, dry_run: bool) -> None:
    """Copy SOURCE to DESTINATION; either may be disk://path or a local file. Streamed in bounded memory.

    \b
    Examples:
      flystore cp local://exports/q3.csv s3://archive/2026/q3.csv
      flystore cp s3://archive/2026/q3.csv ./
    """
    _run(source, destination, move=False, dry_run=dry_run, visibility=visibility)


@click.command(short_help="Move a file, across disks too.")
@click.argument("source", shell_complete=complete_location)
@click.argument("destination", shell_complete=complete_location)
@_visibility
@_dry_run
def mv(source: str, destination: str, visibility: str | None, dry_run: bool) -> None:
    """Move SOURCE to DESTINATION (copy, then delete the source once the copy is complete).

    \b
    Example:
      flystore mv local://uploads/tmp.bin s3://uploads/final.bin
    """
    _run(source, destination, move=True, dry_run=dry_run, visibility=visibility)

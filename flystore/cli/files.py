"""``flystore ls``, ``cat``, ``rm``, ``url`` and ``temp-url``: one disk, one location at a time."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import click

from ..attributes import Entry
from ._completion import complete_location
from ._context import EXIT_USAGE, disk_location, fail, format_size, get_state, missing, standard_stream
from ._usage import stream_entries

__all__ = ["cat", "ls", "parse_expiry", "rm", "temp_url", "url"]


@click.command(short_help="List a directory of a disk.")
@click.argument("target", required=False, shell_complete=complete_location)
@click.option("-r", "--recursive", is_flag=True, help="List every level below.")
@click.option("-l", "--long", "long_format", is_flag=True, help="Show size and last-modified time (UTC).")
@click.option("-U", "--unsorted", is_flag=True, help="Stream in the backend's order, in constant memory.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: path, name, type, size, last_modified.")
def ls(target: str | None, recursive: bool, long_format: bool, unsorted: bool, as_json: bool) -> None:
    """List TARGET (disk://dir; default: the default disk's root). Directories end with /.

    Sorted by path; -U streams a directory of millions of entries as it is listed.

    \b
    Examples:
      flystore ls s3://reports
      flystore ls -lr local://uploads --json
    """
    state = get_state()
    disk, path = disk_location(state, target or f"{state.manager.default_disk_name}://")
    if path and disk.file_exists(path):
        _print_entries([disk.stat(path)], long_format, as_json)
        return
    if not unsorted:
        entries: Iterable[Entry] = disk.list(path, recursive=recursive)
    else:
        entries = stream_entries(disk, path, recursive, sizes=long_format or as_json)
    if not _print_entries(entries, long_format, as_json) and path and not disk.directory_exists(path):
        missing(disk, path)


def _print_entries(entries: Iterable[Entry], long_format: bool, as_json: bool) -> int:
    """Print each entry as it comes (a JSON array is written piece by piece); returns how many."""
    count = 0
    if as_json:
        click.echo("[", nl=False)
    for entry in entries:
        if as_json:
            item = {
                "path": entry.path,
                "name": entry.name,
                "type": "directory" if entry.is_folder else "file",
                "size": None if entry.is_folder else entry.size,
                "last_modified": entry.last_modified.isoformat() if entry.last_modified else None,
            }
            click.echo(("," if count else "") + "\n  " + json.dumps(item, ensure_ascii=False), nl=False)
        elif long_format:
            size = "-" if entry.is_folder else format_size(entry.size)
            modified = entry.last_modified.strftime("%Y-%m-%d %H:%M:%S") if entry.last_modified else "-"
            click.echo(f"{size:>10}  {modified:<19}  {entry.path}{'/' if entry.is_folder else ''}")
        else:
            click.echo(entry.path + ("/" if entry.is_folder else ""))
        count += 1
    if as_json:
        click.echo("\n]" if count else "]")
    return count


@click.command(short_help="Print files to stdout.")
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...", shell_complete=complete_location)
def cat(targets: tuple[str, ...]) -> None:
    """Write the bytes of each TARGET (disk://path) to stdout, streamed in chunks.

    \b
    Example:
      flystore cat local://logs/today.log | grep ERROR
    """
    state = get_state()
    locations = [disk_location(state, target) for target in targets]
    out = standard_stream("stdout")
    for disk, path in locations:
        with disk.read_stream(path) as stream:
            for chunk in stream:
                out.write(chunk)
    out.flush()


@click.command(short_help="Delete files (directories with -r).")
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...", shell_complete=complete_location)
@click.option("-r", "--recursive", is_flag=True, help="Delete directories and everything in them.")
@click.option("-f", "--force", is_flag=True, help="A missing TARGET is not an error.")
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; delete nothing.")
def rm(targets: tuple[str, ...], recursive: bool, force: bool, dry_run: bool) -> None:
    """Delete each TARGET (disk://path). A missing one is an error (exit 3) unless -f.

    \b
    Examples:
      flystore rm s3://tmp/upload.part
      flystore rm -r --dry-run local://cache
    """
    state = get_state()
    locations = [disk_location(state, target) for target in targets]
    for disk, path in locations:
        if not path:
            fail(f"refusing to delete the root of disk '{disk.name}'", EXIT_USAGE)
    for disk, path in locations:
        where = f"{disk.name}://{path}"
        if disk.file_exists(path):
            if not dry_run:
                disk.delete(path)
            click.echo(f"{'would delete' if dry_run else 'deleted'} {where}")
        elif disk.directory_exists(path):
            if not recursive:
                fail(f"{where} is a directory; use -r to delete it and everything in it")
            if dry_run:
                for file in disk.all_files(path):
                    click.echo(f"would delete {disk.name}://{file}")
                click.echo(f"would delete {where}/")
            else:
                disk.delete_directory(path)
                click.echo(f"deleted {where}/")
        elif not force:
            missing(disk, path)


@click.command(short_help="Print a file's public URL.")
@click.argument("target", shell_complete=complete_location)
def url(target: str) -> None:
    """Print the public URL of TARGET (disk://path), from the disk's url option or its backend.

    \b
    Example:
      flystore url public://avatars/1.png
    """
    disk, path = disk_location(get_state(), target)
    click.echo(disk.url(path))


_EXPIRY = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_expiry(text: str) -> int:
    """``"90"``, ``"90s"``, ``"15m"``, ``"2h"``, ``"7d"`` -> seconds.

    Raises:
        click.BadParameter: anything else, or zero.
    """
    match = _EXPIRY.match(text)
    if match is None or int(match.group(1)) == 0:
        raise click.BadParameter(f"{text!r} is not a duration like 3600, 15m, 2h or 7d", param_hint="--expires")
    return int(match.group(1)) * _SECONDS[match.group(2)]


@click.command("temp-url", short_help="Print a signed URL that expires.")
@click.argument("target", shell_complete=complete_location)
@click.option("--expires", default="1h", show_default=True, metavar="DURATION",
              help="Lifetime: seconds, or 15m, 2h, 7d.")
@click.option("--upload", is_flag=True, help="A URL to PUT the file to (headers follow on the next lines).")
def temp_url(target: str, expires: str, upload: bool) -> None:
    """Print a temporary URL for TARGET (disk://path): presigned on s3/gcs/azure, HMAC-signed
    on local and memory disks (key: the disk's signing_key, else $APP_KEY).

    \b
    Examples:
      flystore temp-url s3://invoices/42.pdf --expires 15m
      flystore temp-url --upload s3://incoming/photo.jpg
    """
    seconds = parse_expiry(expires)
    disk, path = disk_location(get_state(), target)
    if not upload:
        if not disk.file_exists(path):
            missing(disk, path, "no file exists at this path")
        click.echo(disk.temporary_url(path, expires=seconds))
        return
    link, headers = disk.temporary_upload_url(path, expires=seconds)
    click.echo(link)
    for name, value in headers.items():
        click.echo(f"{name}: {value}")


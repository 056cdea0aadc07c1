"""``flystore serve``: browse, upload, download, rename and delete files of your disks in a browser."""

from __future__ import annotations

import base64
import os
import secrets
import sys
from typing import Any

import click

__all__ = ["serve"]

_EPILOG = """\b
Examples:
  flystore serve                       # every disk of the config, on 127.0.0.1:8000
  flystore serve --disk local --port 9000
  flystore serve --host 0.0.0.0        # other machines may connect: see the warning it prints
"""


@click.command("serve", epilog=_EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option(
    "--token",
    envvar="FLYSTORE_SERVE_TOKEN",
    help="Access token (16+ characters; default: a random one). Also $FLYSTORE_SERVE_TOKEN.",
)
@click.option("--disk", "disks", multiple=True, metavar="NAME", help="Serve only this disk (repeatable).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Config file with FILESYSTEMS (default: $FLYSTORE_CONFIG, config/filesystems.py, built-in).",
)
def serve(host: str, port: int, token: str | None, disks: tuple[str, ...], config_file: str | None) -> None:
    """Open a storage browser on your disks, protected by a token.

    Prints the URL to open (it carries the token once; the page then keeps it
    in an HttpOnly cookie). Every request without the token is refused.
    """
    from ..config import load_config_file
    from ..errors import StorageError
    from ..manager import StorageManager

    try:
        from ..web import create_app, new_token
        from ..web.app import LOOPBACK_HOSTS
        from ..web.server import WebServer, is_loopback
    except StorageError as error:  # DriverNotInstalled: the web extra is missing
        raise click.ClickException(str(error)) from error
    try:
        manager = _manager(config_file, load_config_file, StorageManager)
    except StorageError as error:
        raise click.BadParameter(str(error), param_hint="--config") from error
    try:
        names = manager.disk_names()
    except StorageError as error:
        raise click.ClickException(str(error)) from error
    unknown = [name for name in disks if name not in names]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} (configured: {', '.join(names)})", param_hint="--disk")
    notes = _app_key_note(manager)
    loopback = is_loopback(host)
    access = token or new_token()
    try:
        app = create_app(
            manager,
            token=access,
            disks=list(disks) or None,
            # A loopback server answers only loopback host names: a DNS-rebinding page gets 400.
            allowed_hosts=LOOPBACK_HOSTS if loopback else None,
            # Cookies ignore ports: each server on this host keeps its token under a name of its own.
            cookie_name=f"flystore_token_{port or secrets.token_hex(4)}",
        )
    except StorageError as error:
        raise click.BadParameter(str(error), param_hint="--token") from error
    try:
        server = WebServer(app, host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from error
    if not loopback:
        notes.append(
            f"listening on {host}, reachable from other machines over plain HTTP: anyone who can see the "
            "traffic can read the token. Prefer an SSH tunnel (ssh -L) or a TLS proxy in front."
        )
    for note in notes:
        click.echo(f"note: {note}", err=True)
    served = ", ".join(disks or names)
    click.echo(f"flystore serve: browsing {served}")
    click.echo(f"open {server.url}/?token={access}")
    click.echo("press Ctrl+C to stop")
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl+C it shut down on; stopping is the normal end
        pass
    click.echo("stopped", err=True)


def _manager(config_file: str | None, load: Any, manager_class: Any) -> Any:
    """``--config`` of this command, else the ``flystore`` group's manager, else the usual resolution."""
    if config_file:
        return manager_class(load(config_file))
    context = click.get_current_context(silent=True)
    state = context.find_root().obj if context is not None else None
    found = getattr(state, "manager", state)
    return found if isinstance(found, manager_class) else manager_class()


def _app_key_note(manager: Any) -> list[str]:
    """Give local/memory temporary links a key for this run when APP_KEY is not set."""
    from ..errors import StorageError

    try:
        if manager.app_key is not None:
            return []
    except StorageError as error:  # a malformed APP_KEY: say so, links will not work
        return [f"APP_KEY is unusable ({error}); temporary links of local disks will fail"]
    manager.app_key = "base64:" + base64.b64encode(os.urandom(32)).decode()
    return [
        "APP_KEY is not set: temporary links of local disks are signed with a random key and stop working "
        "when this server stops"
    ]

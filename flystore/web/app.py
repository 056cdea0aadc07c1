"""``create_app``: the storage browser as one FastAPI application (API, page, signed links, the lock)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from ..errors import InvalidConfiguration
from ..integrations.fastapi import storage_router
from ..signing import SIGNED_SEGMENT
from ..uploads import UploadConfig
from .api import Authorize, api_router
from .auth import AccessGuard, csrf_token
from .listing import Listings

__all__ = ["LOOPBACK_HOSTS", "create_app", "new_token"]

STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_TOKEN = re.compile(r"^[A-Za-z0-9._~-]{16,256}$")
_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; frame-src 'self'; object-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def new_token() -> str:
    """A fresh access token (192 random bits, URL- and cookie-safe)."""
    return secrets.token_urlsafe(24)


def create_app(
    manager: Any = None,
    *,
    token: str,
    disks: Iterable[str] | None = None,
    authorize: Authorize | None = None,
    upload_config: UploadConfig | None = None,
    allowed_hosts: Iterable[str] | None = None,
    cookie_name: str = "flystore_token",
    listing_ttl: float = 5.0,
) -> AccessGuard:
    """The storage browser for ``manager``'s disks (the ``Storage`` facade's by default).

    Args:
        manager: the ``StorageManager`` whose disks are browsed.
        token: required on every request (cookie, or ``Authorization: Bearer``); 16+ characters
            from ``A-Z a-z 0-9 . _ ~ -``.
        disks: the disk names to serve (default: every configured disk).
        authorize: ``authorize(request, disk, path, action)``, the FastAPI router's hook; it
            sees every read and write with the normalised path; ``False`` refuses with 403.
        upload_config: the upload rules (``flystore.uploads``); default: 1 GiB, any safe type.
        allowed_hosts: ``Host`` names to answer; ``None`` answers any (see docs/web.md).
        cookie_name: the cookie that keeps the token (give each server on a host its own).
        listing_ttl: seconds a folder listing is reused for paging, sorting and filtering.

    Raises:
        InvalidConfiguration: the token is too short or has characters a cookie cannot carry,
            or ``disks`` names a disk that is not configured.
    """
    if not _TOKEN.match(token):
        raise InvalidConfiguration("the access token needs 16-256 characters from A-Z a-z 0-9 . _ ~ -")
    if manager is None:
        from ..storage import Storage

        manager = Storage
    served = list(disks) if disks is not None else None
    for name in served or ():
        if name not in manager.disk_names():
            raise InvalidConfiguration(
                f"disk {name!r} is not configured; disks: {', '.join(manager.disk_names()) or 'none'}"
            )
    app = FastAPI(title="flystore", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(
        api_router(
            manager, disks=served, authorize=authorize, upload_config=upload_config, listings=Listings(ttl=listing_ttl)
        )
    )
    prefixes = _signed_prefixes(manager, served)
    for prefix in prefixes:
        app.include_router(_signed_links(manager, prefix))
    page = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{csrf}}", escape(csrf_token(token)))

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return HTMLResponse(page, headers={"Cache-Control": "no-store", "Content-Security-Policy": _PAGE_POLICY})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return AccessGuard(
        app,
        token=token,
        cookie_name=cookie_name,
        open_prefixes=[f"{prefix}/{SIGNED_SEGMENT}/" for prefix in prefixes],
        allowed_hosts=allowed_hosts,
    )


def _signed_prefixes(manager: Any, served: list[str] | None) -> list[str]:
    """Where the served disks' ``temporary_url`` links point (their ``serve_prefix``es)."""
    found = {"/storage"}
    for name in served if served is not None else manager.disk_names():
        prefix = manager.config["disks"].get(name, {}).get("serve_prefix")
        if prefix:
            found.add("/" + str(prefix).strip("/"))
    return sorted(found)


def _signed_links(manager: Any, prefix: str) -> APIRouter:
    """Only the FastAPI router's signed-link download (GET/HEAD): its other routes are not exposed."""
    full = storage_router(manager=manager, prefix=prefix)
    links = APIRouter()
    links.routes.extend(
        route
        for route in full.routes
        if isinstance(route, APIRoute) and f"/{SIGNED_SEGMENT}/" in route.path and "GET" in (route.methods or ())
    )
    return links

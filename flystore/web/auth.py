"""The browser's lock: a token on every request, a same-origin check on every write, known hosts only.

- ``GET /?token=T`` with the right token sets an ``HttpOnly; SameSite=Strict`` cookie and
  redirects to ``/``, so the token leaves the address bar and the history after one use.
- Every other request needs that cookie or ``Authorization: Bearer T`` (scripts, curl); without
  it the answer is 401. Only ``GET``/``HEAD`` of signed temporary links pass without it: their
  signature is the grant.
- A write authenticated by the cookie must come from the page itself: its ``Origin`` (when the
  browser sends one) must be this server's, and it must carry the ``X-CSRF-Token`` header the
  page was given (a cross-origin page can neither read it nor send custom headers without a
  CORS preflight, which is never granted). SameSite alone is not enough here: another port
  on 127.0.0.1 is the same *site*.
- ``allowed_hosts`` refuses requests whose ``Host`` is not one of them (a DNS-rebinding page
  then gets 400 before anything else is looked at).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from html import escape
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["SAFE_METHODS", "AccessGuard", "csrf_token"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"

#: Sent with every answer: no sniffing, no referrer (links carry signatures), no framing by others.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def csrf_token(token: str) -> str:
    """The anti-forgery value the page sends back on writes; derived from the access token."""
    return hmac.new(token.encode(), b"flystore-web-csrf", hashlib.sha256).hexdigest()


class AccessGuard:
    """ASGI middleware enforcing the rules in this module's docstring.

    Args:
        app: the application behind the guard.
        token: the access token (compared in constant time).
        cookie_name: the cookie carrying the token (includes the port: cookies ignore ports).
        open_prefixes: path prefixes whose ``GET``/``HEAD`` need no token (signed links).
        allowed_hosts: ``Host`` names (without port) to accept; ``None`` accepts any.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        cookie_name: str = "flystore_token",
        open_prefixes: Iterable[str] = (),
        allowed_hosts: Iterable[str] | None = None,
    ) -> None:
        self.app = app
        self._token = token.encode()
        self._csrf = csrf_token(token).encode()
        self.cookie_name = cookie_name
        self.open_prefixes = tuple(open_prefixes)
        self.allowed_hosts = None if allowed_hosts is None else {host.lower() for host in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = _headers(scope)
        method = str(scope["method"]).upper()
        path = str(scope["path"])
        if self.allowed_hosts is not None and _hostname(headers.get("host", "")) not in self.allowed_hosts:
            await _refuse(send, 400, "unknown_host", "this server does not answer for that host name")
            return
        if method in ("GET", "HEAD") and path.startswith(self.open_prefixes):
            await self.app(scope, receive, _with_security_headers(send))
            return
        offered = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("token")
        if path == "/" and method == "GET" and offered is not None:
            await self._enter(scope, send, offered)
            return
        bearer = _bearer(headers.get("authorization", ""))
        cookie = _cookie(headers.get("cookie", ""), self.cookie_name)
        if not (self._matches(bearer) or self._matches(cookie)):
            message = "open the URL that `flystore serve` printed (it has the token)"
            await _refuse(send, 401, "token_required", message, html="text/html" in headers.get("accept", ""))
            return
        if method not in SAFE_METHODS and not self._matches(bearer):
            origin = headers.get("origin")
            if origin is not None and origin != _own_origin(scope, headers):
                await _refuse(send, 403, "cross_origin", "writes are accepted only from this server's own page")
                return
            if not hmac.compare_digest(headers.get(CSRF_HEADER, "").encode(), self._csrf):
                await _refuse(send, 403, "csrf", "the request lacks the page's X-CSRF-Token header")
                return
        await self.app(scope, receive, _with_security_headers(send))

    def _matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self._token)

    async def _enter(self, scope: Scope, send: Send, offered: str) -> None:
        if not self._matches(offered):
            await _refuse(send, 401, "token_required", "the token in the URL is not this server's", html=True)
            return
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = f"{self.cookie_name}={self._token.decode()}; Path=/; HttpOnly; SameSite=Strict{secure}"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", b"/"),
                    (b"set-cookie", cookie.encode()),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _headers(scope: Scope) -> dict[str, str]:
    return {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _own_origin(scope: Scope, headers: dict[str, str]) -> str:
    return f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"


def _bearer(value: str) -> str | None:
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _with_security_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {key.lower() for key, _ in message.get("headers", [])}
            message["headers"] = [
                *message.get("headers", []),
                *((key, value) for key, value in SECURITY_HEADERS if key not in present),
            ]
        await send(message)

    return sending


_PAGE = (
    "<!doctype html><meta charset=utf-8><title>flystore: {title}</title>"
    "<body style='font:16px system-ui,sans-serif;margin:15vh auto;max-width:34em;color:#1d2330'>"
    "<h1 style='font-size:22px'>{title}</h1><p>{message}</p></body>"
)


async def _refuse(send: Send, status: int, reason: str, message: str, *, html: bool = False) -> None:
    """A JSON error (``{"detail": {reason, message}}``), or a short page for a browser's navigation."""
    if html:
        title = "Access token needed" if status == 401 else "Request refused"
        body = _PAGE.format(title=title, message=escape(message)).encode()
        kind = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"detail": {"reason": reason, "message": message}}).encode()
        kind = b"application/json"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *SECURITY_HEADERS,
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="flystore"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

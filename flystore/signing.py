"""HMAC-signed temporary URLs for disks without a presigning backend (local, memory).

A URL looks like ``{serve_prefix}/_signed/{disk}/{path}?expires=UNIX&signature=HEX``
(plus ``method=PUT`` for upload URLs). The signature is HMAC-SHA256 over the
method, disk, path and expiry with the disk's ``signing_key`` or the manager's
``app_key``. ``verify_temporary_url`` is what flystore's HTTP routes call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .errors import InvalidConfiguration, InvalidSignedUrl, UnableToGenerateTemporaryUrl

if TYPE_CHECKING:
    from .manager import StorageManager

__all__ = ["SignedTarget", "decode_key", "expiry_to_datetime", "sign_url", "verify_temporary_url"]

SIGNED_SEGMENT = "_signed"
#: HMAC-SHA256 keys shorter than its output are guessable; Laravel's APP_KEY is 32 bytes.
MIN_KEY_BYTES = 32


def decode_key(value: str | bytes, *, disk: str | None = None, option: str = "signing_key") -> bytes:
    """Turn a key option into bytes; ``base64:...`` (Laravel's APP_KEY form) is decoded.

    Raises:
        InvalidConfiguration: a ``base64:`` key that is not valid base64, or a key under 32 bytes.
    """
    if isinstance(value, bytes):
        key = value
    elif value.startswith("base64:"):
        try:
            key = base64.b64decode(value[len("base64:") :], validate=True)
        except ValueError as cause:
            raise InvalidConfiguration("the base64: key is not valid base64", option=option, disk=disk) from cause
    else:
        key = value.encode()
    if len(key) < MIN_KEY_BYTES:
        raise InvalidConfiguration(
            f"the key has {len(key)} bytes; signing keys need at least {MIN_KEY_BYTES} (make one with: "
            'python -c "import base64, os; print(\'base64:\' + base64.b64encode(os.urandom(32)).decode())")',
            option=option,
            disk=disk,
        )
    return key


def expiry_to_datetime(expires: int | float | timedelta | datetime, *, now: float | None = None) -> datetime:
    """Seconds from now, a ``timedelta`` or a ``datetime`` (naive means UTC) as an aware UTC datetime.

    Raises:
        UnableToGenerateTemporaryUrl: the expiry is not in the future or has a bad type.
    """
    current = time.time() if now is None else now
    if isinstance(expires, datetime):
        moment = expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
    elif isinstance(expires, timedelta):
        moment = datetime.fromtimestamp(current, timezone.utc) + expires
    elif isinstance(expires, (int, float)) and not isinstance(expires, bool):
        moment = datetime.fromtimestamp(current + expires, timezone.utc)
    else:
        raise UnableToGenerateTemporaryUrl(
            f"expires must be seconds, a timedelta or a datetime, not {type(expires).__name__}"
        )
    if moment.timestamp() <= current:
        raise UnableToGenerateTemporaryUrl("the expiry must be in the future")
    return moment.astimezone(timezone.utc)


def _prefix(serve_prefix: str) -> str:
    stripped = serve_prefix.strip("/")
    return "/" + stripped if stripped else ""


def _signature(key: bytes, method: str, disk: str, path: str, expires: int) -> str:
    message = f"{method}\n{disk}\n{path}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign_url(
    *,
    disk: str,
    path: str,
    expires_at: datetime,
    key: bytes,
    serve_prefix: str = "/storage",
    method: str = "GET",
    base_url: str = "",
) -> str:
    """Build a signed URL for ``path`` on ``disk``."""
    expires = int(expires_at.timestamp())
    signature = _signature(key, method, disk, path, expires)
    url = f"{base_url.rstrip('/')}{_prefix(serve_prefix)}/{SIGNED_SEGMENT}/{quote(disk, safe='')}/{quote(path)}"
    query = f"expires={expires}&signature={signature}"
    if method != "GET":
        query += f"&method={method}"
    return f"{url}?{query}"


# Set by flystore.storage, which owns the process-wide manager; signing never imports upward.
_default_manager: Callable[[], StorageManager] | None = None


def use_default_manager(provider: Callable[[], StorageManager]) -> None:
    """Name the manager ``verify_temporary_url`` uses when it is given none (the facade's)."""
    global _default_manager
    _default_manager = provider


@dataclass(frozen=True)
class SignedTarget:
    """What a verified URL grants: ``method`` on ``path`` of ``disk`` until ``expires_at``."""

    disk: str
    path: str
    expires_at: datetime
    method: str


def verify_temporary_url(
    url: str,
    *,
    manager: StorageManager | None = None,
    method: str | None = None,
    now: float | None = None,
) -> SignedTarget:
    """Check a URL made by ``disk.temporary_url``/``temporary_upload_url``.

    Args:
        url: the full URL or just its path and query.
        manager: whose disks and app key to use (the global ``Storage`` by default).
        method: when given, the URL must have been signed for this HTTP method.
        now: the current UNIX time (for tests).

    Raises:
        InvalidSignedUrl: the URL is malformed, expired, signed for another method,
            names an unknown disk, or its signature does not match.
    """
    if manager is None:
        if _default_manager is None:
            raise InvalidSignedUrl("no manager to verify against: pass manager=")
        manager = _default_manager()

    parts = urlsplit(url)
    marker = f"/{SIGNED_SEGMENT}/"
    index = parts.path.find(marker)
    if index < 0:
        raise InvalidSignedUrl("this is not a flystore temporary URL")
    disk_name, _, quoted_path = parts.path[index + len(marker) :].partition("/")
    disk_name = unquote(disk_name)
    path = unquote(quoted_path)
    query = parse_qs(parts.query)
    try:
        expires = int(query["expires"][0])
        signature = query["signature"][0]
    except (KeyError, IndexError, ValueError):
        raise InvalidSignedUrl("the URL lacks its expiry or signature", path=path, disk=disk_name) from None
    signed_method = query.get("method", ["GET"])[0]
    if method is not None and method.upper() != signed_method:
        raise InvalidSignedUrl(f"the URL was signed for {signed_method}, not {method.upper()}",
                               path=path, disk=disk_name)
    try:
        disk = manager.disk(disk_name)
    except Exception as cause:  # any failure to resolve means the URL grants nothing
        raise InvalidSignedUrl("the URL names a disk that is not configured", path=path, disk=disk_name) from cause
    key = disk.signing_key()
    expected = _signature(key, signed_method, disk_name, path, expires)
    if not hmac.compare_digest(expected, signature):
        raise InvalidSignedUrl("the signature does not match (the URL was tampered with)", path=path, disk=disk_name)
    current = time.time() if now is None else now
    if expires <= current:
        raise InvalidSignedUrl("the URL has expired", path=path, disk=disk_name)
    expected_prefix = _prefix(disk.serve_prefix)
    if expected_prefix and not parts.path[:index].endswith(expected_prefix):
        raise InvalidSignedUrl("the URL is not under the disk's serve_prefix", path=path, disk=disk_name)
    return SignedTarget(disk_name, path, datetime.fromtimestamp(expires, timezone.utc), signed_method)

"""``create``: a webdav disk from its options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...config import COMMON_OPTIONS
from ...errors import (
    DriverNotInstalled,
    InvalidConfiguration,
)
from .._remote import checked_options, retries_option, retrying, timeout_option
from .backend import WebdavBackend

_CONNECT_TIMEOUT = 4.0
_WEBDAV_OPTIONS = frozenset({"base_url", "username", "password", "root", "verify", "properties"})


def _transient(error: BaseException) -> bool:
    """A 423/429/5xx answer is worth another attempt (webdav4's own set); refused connections are
    retried by the HTTP transport already, so retrying them here too would multiply the attempts."""
    from webdav4.client import HTTPError

    return isinstance(error, HTTPError) and getattr(error, "status_code", None) in (423, 429, 500, 502, 503, 504, 509)


def _retry(retries: int) -> Callable[[Callable[[], Any]], Any]:
    """webdav4's ``retry`` hook (it wraps PROPFIND, MKCOL, DELETE, COPY and MOVE; never a PUT body)."""
    return lambda call: retrying(call, retries, _transient)


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """Build a webdav disk: ``base_url`` (required), ``username`` (alias ``user``), ``password``,
    ``root`` (alias ``base_path``), ``timeout``, ``retries``, ``verify``, ``properties``.

    Raises:
        InvalidConfiguration: an unknown or malformed option.
        DriverNotInstalled: webdav4 is missing.
    """
    from ...disk import FilesystemAdapter

    options = checked_options(name, options, _WEBDAV_OPTIONS)
    try:
        import httpx
        from webdav4.client import Client
        from webdav4.fsspec import WebdavFileSystem
    except ImportError as cause:
        raise DriverNotInstalled.for_extra("webdav", "the webdav driver", disk=name, cause=cause) from cause

    base_url = options.get("base_url")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise InvalidConfiguration("a webdav disk needs 'base_url', an http:// or https:// URL",
                                   option="base_url", disk=name)
    username, password = options.get("username"), options.get("password")
    for key, value in (("username", username), ("password", password)):
        if value is not None and not isinstance(value, str):
            raise InvalidConfiguration(f"must be a string, not {type(value).__name__}", option=key, disk=name)
    if password is not None and not username:
        raise InvalidConfiguration("a password needs a username", option="username", disk=name)
    timeout = timeout_option(name, options)
    retries = retries_option(name, options)
    verify = options.get("verify", True)
    if not isinstance(verify, (bool, str)):
        raise InvalidConfiguration("must be true, false or a CA bundle path", option="verify", disk=name)
    properties = options.get("properties", True)
    if not isinstance(properties, bool):
        raise InvalidConfiguration("must be true or false", option="properties", disk=name)
    root = options.get("root") or ""
    if not isinstance(root, str):
        raise InvalidConfiguration("must be a string (a collection under base_url)", option="root", disk=name)
    url = base_url if base_url.endswith("/") else base_url + "/"
    auth = (username, password or "") if username else None
    tls: Any = verify
    if isinstance(verify, str):
        import ssl

        try:
            tls = ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as cause:
            raise InvalidConfiguration(
                f"cannot load the CA bundle {verify}: {cause}", option="verify", disk=name
            ) from cause

    def factory() -> Any:
        # The transport tries a refused connection again (any request, a PUT too: nothing was sent yet).
        transport = httpx.HTTPTransport(verify=tls, retries=retries)
        # Connecting is retried by the transport: cap each attempt so a silent endpoint fails within 15 s.
        limits = httpx.Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT))
        client = Client(url, auth=auth, timeout=limits, transport=transport, retry=_retry(retries))
        return WebdavFileSystem(url, client=client, skip_instance_cache=True)

    backend = WebdavBackend(factory, root, properties=properties)
    config = {key: value for key, value in options.items() if key in COMMON_OPTIONS}
    return FilesystemAdapter(backend, name=name, config=config, manager=manager)


"""The options of the s3 driver and the checks and conversions of their values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ...errors import InvalidConfiguration

# Options of this driver (on top of flystore.disk.COMMON_OPTIONS).
S3_OPTIONS = frozenset(
    {
        "bucket",
        "region",
        "key",
        "secret",
        "token",
        "endpoint",
        "prefix",
        "use_ssl",
        "options",
        "use_path_style_endpoint",
        "create_bucket",
        "retries",
        "retry_mode",
        "timeout",
        "connect_timeout",
        "read_timeout",
        "part_size",
        "multipart_threshold",
        "max_concurrency",
        "max_pool_connections",
        "acls",
        "checksums",
        "anonymous",
        "fast_path",
    }
)


#: The seed's spellings (``S3FilesystemAdapter(access_key=..., secret_key=..., endpoint_url=...)``).
S3_ALIASES = {"access_key": "key", "secret_key": "secret", "endpoint_url": "endpoint", "base_path": "prefix"}
#: Retries after the first attempt, and seconds to connect and to wait for each read, by default:
#: a dead endpoint fails within (retries + 1) * timeout plus backoff, under 15 s.
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT = 3.0
#: Connections each client keeps (at least; ``2 * max_concurrency`` when larger). Everything of a
#: disk shares its clients' pools, so the pool must cover the widest concurrency flystore runs on
#: one disk: a batch (16 items by default) and flystore.aio's shared thread pool (at most 64 threads).
#: A request beyond the pool still gets a connection, which urllib3 then closes ("Connection pool is
#: full, discarding connection"); the async client (s3fs/aiohttp) waits for a free one instead.
DEFAULT_POOL_CONNECTIONS = 64


def _option_error(name: str, option: str, reason: str) -> InvalidConfiguration:
    return InvalidConfiguration(reason, option=option, disk=name)


def _positive_number(name: str, options: Mapping[str, Any], option: str, default: float) -> float:
    value = options.get(option)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _option_error(name, option, f"must be a positive number of seconds, not {value!r}")
    return float(value)


def _integer(name: str, options: Mapping[str, Any], option: str, default: int, minimum: int) -> int:
    value = options.get(option)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _option_error(name, option, f"must be an integer >= {minimum}, not {value!r}")
    return value


def _endpoint_url(name: str, endpoint: Any, use_ssl: bool) -> str | None:
    if endpoint in (None, ""):
        return None
    if not isinstance(endpoint, str):
        raise _option_error(name, "endpoint", f"must be a URL string, not {type(endpoint).__name__}")
    url = endpoint.rstrip("/")
    if "://" not in url:
        url = f"{'https' if use_ssl else 'http'}://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _option_error(name, "endpoint", f"must be an http(s) URL, not {endpoint!r}")
    return url


def _public_base(bucket: str, endpoint: str | None, region: str | None, path_style: bool, use_ssl: bool) -> str:
    if endpoint is not None:
        if path_style:
            return f"{endpoint}/{bucket}"
        parts = urlsplit(endpoint)
        return f"{parts.scheme}://{bucket}.{parts.netloc}{parts.path}"
    scheme = "https" if use_ssl else "http"
    host = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
    if "." in bucket:  # dotted names break virtual-host TLS
        return f"{scheme}://{host}/{bucket}"
    return f"{scheme}://{bucket}.{host}"

"""The gcs driver's request layer: gcsfs with flystore's own retry policy and timeouts.

gcsfs retries every request 6 times with up to 32 s of backoff (a closed port
takes about 33 s to fail) and logs each failure with ``logger.exception``,
which Python's last-resort handler prints to stderr. Its retry count is fixed
when gcsfs is imported. ``make_filesystem`` builds a ``GCSFileSystem`` whose
``_request`` runs gcsfs's undecorated request under a bounded policy instead:
``retries`` more attempts for what gcsfs itself calls retriable (5xx, 408, 429,
connection and timeout errors), a short exponential backoff, and no logging
above DEBUG.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from typing import Any

#: Retries after the first attempt, by default.
DEFAULT_RETRIES = 2
#: Seconds to connect, and to wait for each piece of an answer, by default.
DEFAULT_TIMEOUT = 3.0
_BACKOFF = 0.25  # seconds before the first retry; doubles each time
_MAX_BACKOFF = 2.0

_logger = logging.getLogger("flystore.gcs")


@functools.lru_cache(maxsize=1)
def _filesystem_class() -> Any:
    """The ``GCSFileSystem`` subclass with the bounded retry loop (made once, on first use)."""
    from gcsfs.core import GCSFileSystem
    from gcsfs.retry import is_retriable

    raw_request = GCSFileSystem._request.__wrapped__  # gcsfs's request without its retry decorator

    class BoundedGCSFileSystem(GCSFileSystem):  # type: ignore[misc,valid-type]
        flystore_retries = DEFAULT_RETRIES

        async def _request(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            attempt = 0
            while True:
                try:
                    return await raw_request(self, method, path, *args, **kwargs)
                except Exception as error:
                    if (
                        getattr(error, "code", None) == 404
                        or attempt >= self.flystore_retries
                        or not is_retriable(error)
                    ):
                        raise
                    attempt += 1
                    _logger.debug("gcs %s %s failed (%s); retry %d", method, path, error, attempt)
                    delay = min(_MAX_BACKOFF, _BACKOFF * 2 ** (attempt - 1))
                    await asyncio.sleep(delay * (0.5 + random.random() / 2))

    return BoundedGCSFileSystem


def make_filesystem(retries: int, timeout: float, **options: Any) -> Any:
    """A ``GCSFileSystem`` retrying ``retries`` times, each attempt bounded by ``timeout`` seconds.

    Raises:
        Exception: whatever gcsfs raises for credentials it cannot load (the caller maps it).
    """
    import aiohttp

    # Connect and each read are bounded per attempt; a long transfer that keeps moving is never cut.
    bounded = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
    fs = _filesystem_class()(requests_timeout=bounded, **options)
    fs.flystore_retries = retries
    return fs

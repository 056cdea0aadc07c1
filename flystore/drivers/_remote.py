"""Options and retries shared by the drivers that talk to a server (ftp, sftp, webdav).

Every such disk takes ``timeout`` (seconds per network operation) and ``retries``
(extra attempts after a transient failure, with exponential backoff), checks its
option names with a did-you-mean, and accepts the seed's spellings as aliases.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..config import apply_aliases, reject_unknown_options
from ..errors import InvalidConfiguration

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "REMOTE_ALIASES",
    "backoff",
    "checked_options",
    "retries_option",
    "retrying",
    "timeout_option",
]

_T = TypeVar("_T")

#: Seconds one network operation (connecting included) may take before it fails.
DEFAULT_TIMEOUT = 10.0
#: Extra attempts after a transient failure (a refused or reset connection, a 5xx/429 answer).
DEFAULT_RETRIES = 2
#: The seed's option spellings, accepted as written (``{alias: canonical}``).
REMOTE_ALIASES: Mapping[str, str] = {"base_path": "root", "user": "username"}
_MAX_BACKOFF = 2.0


def checked_options(
    disk: str, options: Mapping[str, Any], allowed: frozenset[str], aliases: Mapping[str, str] = REMOTE_ALIASES
) -> dict[str, Any]:
    """``options`` with aliases renamed, once every key is known.

    Raises:
        InvalidConfiguration: an unknown option (listing the known ones), or an alias given with its
            canonical name.
    """
    renamed = apply_aliases(disk, options, aliases)
    reject_unknown_options(disk, renamed, allowed | {"timeout", "retries"})
    return renamed


def timeout_option(disk: str, options: Mapping[str, Any], default: float = DEFAULT_TIMEOUT) -> float:
    """The ``timeout`` option in seconds.

    Raises:
        InvalidConfiguration: it is not a positive number.
    """
    value = options.get("timeout")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InvalidConfiguration(f"must be a positive number of seconds, not {value!r}", option="timeout", disk=disk)
    return float(value)


def retries_option(disk: str, options: Mapping[str, Any], default: int = DEFAULT_RETRIES) -> int:
    """The ``retries`` option: how many times a transient failure is tried again.

    Raises:
        InvalidConfiguration: it is not a whole number from 0 to 10.
    """
    value = options.get("retries")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise InvalidConfiguration(f"must be a whole number from 0 to 10, not {value!r}", option="retries", disk=disk)
    return value


def backoff(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (0.25, 0.5, 1, 2, 2 ...)."""
    return float(min(_MAX_BACKOFF, 0.25 * 2**attempt))


def retrying(call: Callable[[], _T], retries: int, transient: Callable[[BaseException], bool]) -> _T:
    """``call()``, tried again up to ``retries`` times while it fails with a ``transient`` error.

    Raises:
        Exception: the last failure, or the first one that is not transient.
    """
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            if attempt >= retries or not transient(error):
                raise
        time.sleep(backoff(attempt))
        attempt += 1

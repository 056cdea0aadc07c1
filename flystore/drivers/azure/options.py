"""The azure driver's options: their names, defaults and validation."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlsplit

from ...errors import InvalidConfiguration, StorageError
from ...paths import normalize

#: Driver options on top of ``flystore.disk.COMMON_OPTIONS``.
AZURE_OPTIONS = frozenset(
    {
        "container",
        "connection_string",
        "account_name",
        "account_key",
        "sas_token",
        "endpoint",
        "prefix",
        "create_container",
        "block_size",
        "max_concurrency",
        "timeout",
        "retries",
    }
)

#: The seed's (and Laravel packages') spellings, accepted as they are written.
AZURE_ALIASES = {"base_path": "prefix", "key": "account_key"}
#: Retries after the first attempt, and seconds to connect and to wait for each read, by default:
#: a dead endpoint fails within (retries + 1) * timeout plus about 3 s of backoff.
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT = 3.0
#: Azure holds at most 8 KiB of metadata per blob (names plus values).
METADATA_LIMIT = 8 * 1024
DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
DEFAULT_MAX_CONCURRENCY = 2
_MIN_BLOCK_SIZE = 64 * 1024
_MAX_BLOCK_SIZE = 4000 * 1024 * 1024
_CONTAINER_NAME = re.compile(r"^(?:\$root|\$web|[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9])$")


def _validated(name: str, **options: Any) -> dict[str, Any]:
    """Check the driver options; returns the normalised ones. Raises ``InvalidConfiguration``."""
    container = options["container"]
    if not isinstance(container, str) or not container:
        raise InvalidConfiguration("the azure driver needs 'container'", option="container", disk=name)
    if not _CONTAINER_NAME.match(container):
        raise InvalidConfiguration(
            f"{container!r} is not a valid container name (3-63 lowercase letters, digits and single hyphens)",
            option="container",
            disk=name,
        )
    connection_string = options["connection_string"]
    if connection_string:
        for other in ("account_name", "account_key", "sas_token", "endpoint"):
            if options[other]:
                raise InvalidConfiguration(
                    "give either connection_string or account_name/account_key/sas_token/endpoint, not both",
                    option=other,
                    disk=name,
                )
    elif not options["account_name"]:
        raise InvalidConfiguration(
            "the azure driver needs connection_string, or account_name with account_key or sas_token",
            option="account_name",
            disk=name,
        )
    if options["account_key"] and options["sas_token"]:
        raise InvalidConfiguration("give account_key or sas_token, not both", option="sas_token", disk=name)
    if options["account_key"]:
        _check_account_key(name, options["account_key"])
    endpoint = options["endpoint"]
    if endpoint is not None and (not isinstance(endpoint, str) or urlsplit(endpoint).scheme not in ("http", "https")):
        raise InvalidConfiguration("must be an http(s) URL of the blob service", option="endpoint", disk=name)
    try:
        prefix = normalize(options["prefix"] or "")
    except (StorageError, TypeError) as cause:
        raise InvalidConfiguration(f"not a valid folder: {cause}", option="prefix", disk=name) from cause
    block_size = options["block_size"]
    if isinstance(block_size, bool) or not isinstance(block_size, int) or not (
        _MIN_BLOCK_SIZE <= block_size <= _MAX_BLOCK_SIZE
    ):
        raise InvalidConfiguration(
            f"must be a whole number of bytes from {_MIN_BLOCK_SIZE} to {_MAX_BLOCK_SIZE}",
            option="block_size",
            disk=name,
        )
    concurrency = options["max_concurrency"]
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidConfiguration("must be a whole number of at least 1", option="max_concurrency", disk=name)
    timeout = options["timeout"]
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise InvalidConfiguration("must be a positive number of seconds", option="timeout", disk=name)
    retries = options["retries"]
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        raise InvalidConfiguration("must be a whole number of at least 0", option="retries", disk=name)
    return {"prefix": prefix}


def _check_account_key(name: str, key: Any) -> None:
    """An account key is base64 (Azure signs with its decoded bytes): refuse anything else now,
    not at the first request.

    Raises:
        InvalidConfiguration: the key is not a string of valid base64.
    """
    if not isinstance(key, str):
        raise InvalidConfiguration(f"must be a string, not {type(key).__name__}", option="account_key", disk=name)
    try:
        decoded = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError) as cause:
        raise InvalidConfiguration(
            "is not valid base64 (copy the key exactly as the Azure portal shows it)", option="account_key", disk=name
        ) from cause
    if not decoded:
        raise InvalidConfiguration("is empty", option="account_key", disk=name)

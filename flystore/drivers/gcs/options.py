"""The gcs driver's options: validating them and building the backend."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ...config import COMMON_OPTIONS, apply_aliases, reject_unknown_options
from ...errors import DriverNotInstalled, InvalidConfiguration, InvalidPath, UnableToCreateDirectory
from ...paths import normalize
from .backend import GcsBackend
from .common import DEFAULT_CHUNK_SIZE, _reason
from .transport import DEFAULT_RETRIES, DEFAULT_TIMEOUT, make_filesystem

# -- configuration -----------------------------------------------------------------------

_GRANULE = 256 * 1024  # resumable chunks must be multiples of 256 KiB

_GCS_OPTIONS = frozenset(
    {
        "bucket",
        "project_id",
        "key_file",
        "token",
        "endpoint",
        "prefix",
        "create_bucket",
        "uniform_bucket_level_access",
        "timeout",
        "retries",
        "chunk_size",
    }
)
#: The seed's (and Laravel packages') spellings, accepted as they are written.
GCS_ALIASES = {
    "credentials_path": "key_file",
    "key_file_path": "key_file",
    "base_path": "prefix",
    "path_prefix": "prefix",
}
_CREDENTIAL_TYPES = ("service_account", "authorized_user")


def _option(options: Mapping[str, Any], name: str, key: str, types: type | tuple[type, ...], what: str) -> Any:
    value = options.get(key)
    if value is None:
        return None
    allowed = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        raise InvalidConfiguration(f"must be {what}, not {type(value).__name__}", option=key, disk=name)
    return value


def _checked_key_file(name: str, key_file: Any, option: str = "key_file") -> str | dict[str, Any] | None:
    """The ``key_file`` as gcsfs takes it, once it is known to hold credentials (no network).

    Raises:
        InvalidConfiguration: not a path or dict, a missing or unreadable file, not JSON,
            or not a service-account / authorized-user credential.
    """
    if key_file is None:
        return None
    if isinstance(key_file, dict):
        info, where = key_file, "the key_file dict"
    elif isinstance(key_file, (str, os.PathLike)):
        path = os.fspath(key_file)
        where = f"key file {path!r}"
        try:
            with open(path, encoding="utf-8") as handle:
                info = json.load(handle)
        except FileNotFoundError as cause:
            raise InvalidConfiguration(f"{where} does not exist", option=option, disk=name) from cause
        except (OSError, UnicodeDecodeError, ValueError) as cause:
            raise InvalidConfiguration(f"{where} is not a readable JSON credentials file: {cause}",
                                       option=option, disk=name) from cause
    else:
        raise InvalidConfiguration("must be a path to a service-account JSON file, or its contents as a dict",
                                   option=option, disk=name)
    kind = info.get("type") if isinstance(info, dict) else None
    if kind not in _CREDENTIAL_TYPES:
        raise InvalidConfiguration(
            f"{where} is not a service-account or authorized-user credential (its type is {kind!r})",
            option=option, disk=name,
        )
    return key_file if isinstance(key_file, dict) else os.fspath(key_file)


def _build(name: str, options: Mapping[str, Any]) -> tuple[GcsBackend, dict[str, Any]]:
    """Validate the options and build the backend; returns it with the disk's common config."""
    options = apply_aliases(name, options, GCS_ALIASES)
    reject_unknown_options(name, options, _GCS_OPTIONS)
    bucket = options.get("bucket")
    if not isinstance(bucket, str) or not bucket or "/" in bucket:
        raise InvalidConfiguration("a gcs disk needs 'bucket', a bucket name without '/'", option="bucket", disk=name)
    raw_prefix = options.get("prefix")
    if raw_prefix is not None and not isinstance(raw_prefix, str):
        raise InvalidConfiguration("must be a string", option="prefix", disk=name)
    try:
        prefix = normalize(raw_prefix or "")
    except InvalidPath as cause:
        raise InvalidConfiguration(f"not a valid key prefix: {cause.reason}", option="prefix", disk=name) from cause
    credential = _checked_key_file(name, options.get("key_file"))
    endpoint = _option(options, name, "endpoint", str, "a URL such as http://127.0.0.1:9023")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise InvalidConfiguration("must start with http:// or https://", option="endpoint", disk=name)
    endpoint = endpoint.rstrip("/") if endpoint else None
    project = _option(options, name, "project_id", str, "a string")
    timeout = _option(options, name, "timeout", (int, float), "a number of seconds")
    if timeout is not None and timeout <= 0:
        raise InvalidConfiguration("must be a positive number of seconds", option="timeout", disk=name)
    retries = _option(options, name, "retries", int, "a whole number of retries")
    if retries is not None and retries < 0:
        raise InvalidConfiguration("must be 0 or more", option="retries", disk=name)
    chunk_size = _option(options, name, "chunk_size", int, "a number of bytes")
    chunk_size = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
    if chunk_size < _GRANULE or chunk_size % _GRANULE:
        raise InvalidConfiguration("must be a positive multiple of 256 KiB (262144 bytes)", option="chunk_size",
                                   disk=name)
    for flag in ("create_bucket", "uniform_bucket_level_access"):
        _option(options, name, flag, bool, "true or false")

    try:
        import aiohttp  # noqa: F401  # the transport needs both; a missing one is reported now
        import gcsfs  # noqa: F401
    except ImportError as cause:
        raise DriverNotInstalled.for_extra("gcs", "the gcs driver", disk=name, cause=cause) from cause

    common: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    if endpoint is not None:
        common["endpoint_url"] = endpoint
    if project is not None:
        common["project"] = project
    common["retries"] = DEFAULT_RETRIES if retries is None else retries
    common["timeout"] = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    token = options.get("token")
    if isinstance(token, str) and ("/" in token or "\\" in token or token.endswith(".json")):
        # gcsfs sends a string that is not an existing file to Google as an access token;
        # a path is checked here instead, with no network.
        _checked_key_file(name, token, option="token")
    try:
        fs = make_filesystem(token=token if token is not None else credential, **common)
        signer = make_filesystem(token=credential, **common) if token is not None and credential is not None else None
    except Exception as cause:  # gcsfs raises whatever loading the credentials raised
        option = "key_file" if credential is not None else "token"
        raise InvalidConfiguration(f"the credentials could not be loaded: {_reason(cause)}",
                                   option=option, disk=name) from cause
    backend = GcsBackend(
        fs,
        bucket,
        prefix,
        signer=signer,
        uniform_bucket_level_access=bool(options.get("uniform_bucket_level_access")),
        chunk_size=chunk_size,
        public_base=endpoint,
    )
    if options.get("create_bucket"):
        try:
            _ensure_bucket(backend)
        except BaseException:
            backend.close()
            raise
    config = {key: value for key, value in options.items() if key in COMMON_OPTIONS}
    return backend, config


def _ensure_bucket(backend: GcsBackend) -> None:
    """Create the bucket when it does not exist (``create_bucket: true``; tests, emulators)."""
    from gcsfs.core import quote
    from gcsfs.retry import HttpError

    with backend._translated(UnableToCreateDirectory, "", missing_reason="the bucket could not be created"):
        try:
            backend._call("GET", f"b/{quote(backend.bucket)}", json_out=True)
            return
        except FileNotFoundError:
            pass
        try:
            backend._call("POST", "b", json={"name": backend.bucket}, project=backend.fs.project or None)
        except HttpError as cause:
            if getattr(cause, "code", None) != 409:  # 409: someone else just made it
                raise

"""Building an ``S3Backend`` from a disk's options: botocore clients, the fast path, the s3fs filesystem."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ...config import apply_aliases, reject_unknown_options
from ...errors import DriverNotInstalled, InvalidPath
from ...paths import normalize
from .backend import S3Backend
from .common import _MIN_PART, MiB
from .fast_path import _DirectRequests
from .options import (
    DEFAULT_POOL_CONNECTIONS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    S3_ALIASES,
    S3_OPTIONS,
    _endpoint_url,
    _integer,
    _option_error,
    _positive_number,
    _public_base,
)

_SESSION_LOCK = threading.Lock()
_SESSION: Any = None


def _create_client(config: Any, arguments: Mapping[str, Any]) -> Any:
    """A botocore S3 client from one shared session (its loader caches the parsed S3 model,
    which makes every disk after the first cheap to build). Client creation is serialised
    because botocore sessions are not thread-safe; the clients themselves are."""
    global _SESSION
    import botocore.session

    with _SESSION_LOCK:
        if _SESSION is None:
            _SESSION = botocore.session.Session()
        return _SESSION.create_client("s3", config=config, **arguments)


def _direct_path(
    client: Any,
    bucket: str,
    options: Mapping[str, Any],
    anonymous: bool,
    retries: int,
    config_values: Mapping[str, Any],
    client_arguments: Mapping[str, Any],
) -> tuple[_DirectRequests | None, Any]:
    """The direct path for this client and the botocore client that takes over when it misses."""
    from botocore.config import Config
    from botocore.credentials import Credentials

    http_session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    if bucket.endswith("--x-s3") or not callable(getattr(http_session, "send", None)):
        return None, None  # S3 Express buckets sign differently; an unknown botocore layout: no direct path
    credentials: Any = None
    if not anonymous:
        if options.get("key") and options.get("secret"):
            credentials = Credentials(options["key"], options["secret"], options.get("token") or None)
        else:
            with _SESSION_LOCK:
                credentials = _SESSION.get_credentials() if _SESSION is not None else None
            if credentials is None:
                return None, None
    # botocore's own endpoint resolution gives the object URLs (addressing style, region, custom endpoint).
    probe = "flystore-probe"
    url = str(client.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": probe}, ExpiresIn=60))
    base = url.split("?", 1)[0]
    if not base.endswith("/" + probe):
        return None, None
    direct = _DirectRequests(client, base[: -len(probe) - 1], credentials, client.meta.region_name or "us-east-1")
    fallback = None
    if retries > 0:  # the direct attempt was the first: botocore gets the remaining ``retries``
        values = dict(config_values)
        values["retries"] = {**values["retries"], "total_max_attempts": retries}
        fallback = _create_client(Config(**values), client_arguments)
    return direct, fallback


def _build_backend(name: str, options: Mapping[str, Any]) -> tuple[S3Backend, str | None]:
    """Validate ``options`` and make the backend; returns it and the region."""
    # The adapter passes its keyword parameters as None when unset: only given values count as spellings.
    given = {key: value for key, value in options.items() if value is not None or key not in S3_ALIASES.values()}
    options = apply_aliases(name, given, S3_ALIASES)
    reject_unknown_options(name, options, S3_OPTIONS)
    try:
        import botocore.session  # noqa: F401  # imported here so a missing botocore is reported now
        import s3fs
        from botocore import UNSIGNED
        from botocore.config import Config
    except ImportError as cause:
        raise DriverNotInstalled.for_extra("s3", "the s3 driver", disk=name, cause=cause) from cause

    bucket = options.get("bucket")
    if not isinstance(bucket, str) or not bucket.strip():
        raise _option_error(name, "bucket", "the s3 driver needs a 'bucket'")
    bucket = bucket.strip()
    if "/" in bucket:
        raise _option_error(name, "bucket", "a bucket name has no '/'; put the key prefix in 'prefix'")
    try:
        prefix = normalize(str(options.get("prefix") or ""))
    except InvalidPath as cause:
        raise _option_error(name, "prefix", str(cause.reason)) from cause
    region = options.get("region") or None
    use_ssl = bool(options.get("use_ssl", True))
    endpoint = _endpoint_url(name, options.get("endpoint"), use_ssl)
    path_style_option = options.get("use_path_style_endpoint")
    path_style = endpoint is not None if path_style_option is None else bool(path_style_option)
    anonymous = bool(options.get("anonymous", False))

    retries = _integer(name, options, "retries", DEFAULT_RETRIES, 0)
    retry_mode = options.get("retry_mode") or "standard"
    if retry_mode not in ("standard", "adaptive", "legacy"):
        raise _option_error(name, "retry_mode", "must be 'standard', 'adaptive' or 'legacy'")
    base_connect = base_read = _positive_number(name, options, "timeout", DEFAULT_TIMEOUT)
    connect_timeout = _positive_number(name, options, "connect_timeout", base_connect)
    read_timeout = _positive_number(name, options, "read_timeout", base_read)
    part_size = _integer(name, options, "part_size", 8 * MiB, _MIN_PART)
    threshold = _integer(name, options, "multipart_threshold", 64 * MiB, 0)
    concurrency = _integer(name, options, "max_concurrency", 2, 1)
    pool_size = _integer(name, options, "max_pool_connections", max(DEFAULT_POOL_CONNECTIONS, 2 * concurrency), 1)
    checksums = options.get("checksums") or ("when_required" if endpoint else "when_supported")
    if checksums not in ("when_supported", "when_required"):
        raise _option_error(name, "checksums", "must be 'when_supported' or 'when_required'")

    extra = options.get("options") or {}
    if not isinstance(extra, Mapping):
        raise _option_error(name, "options", "must be a mapping")
    upload_params = {key: value for key, value in extra.items() if key[:1].isupper()}
    fs_options = {key: value for key, value in extra.items() if not key[:1].isupper()}
    upload_params.update(dict(fs_options.pop("s3_additional_kwargs", None) or {}))
    client_kwargs = dict(fs_options.pop("client_kwargs", None) or {})
    config_kwargs = dict(fs_options.pop("config_kwargs", None) or {})

    config_values: dict[str, Any] = {
        "retries": {"mode": retry_mode, "total_max_attempts": retries + 1},
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
        "max_pool_connections": pool_size,
        "s3": {"addressing_style": "path" if path_style else "auto"},
        "signature_version": UNSIGNED if anonymous else "s3v4",
    }
    if "request_checksum_calculation" in Config.OPTION_DEFAULTS:  # botocore >= 1.36
        config_values["request_checksum_calculation"] = checksums
        config_values["response_checksum_validation"] = checksums
    config_values.update(config_kwargs)

    credentials: dict[str, Any] = {}
    if not anonymous:
        for option, argument in (("key", "aws_access_key_id"), ("secret", "aws_secret_access_key"),
                                 ("token", "aws_session_token")):
            if options.get(option):
                credentials[argument] = options[option]
    client_arguments: dict[str, Any] = {"use_ssl": use_ssl, **client_kwargs}
    if region and "region_name" not in client_arguments:
        client_arguments["region_name"] = region
    if endpoint and "endpoint_url" not in client_arguments:
        client_arguments["endpoint_url"] = endpoint
    try:
        client = _create_client(Config(**config_values), {**credentials, **client_arguments})
    except Exception as cause:
        raise _option_error(name, "options", f"botocore cannot make an S3 client: {cause}") from cause

    for key in upload_params:
        members = client.meta.service_model.operation_model("PutObject").input_shape.members
        if key not in members:
            client.close()
            raise _option_error(name, "options", f"{key!r} is not an S3 PutObject parameter")

    try:
        fs = s3fs.S3FileSystem(
            anon=anonymous,
            key=options.get("key") if not anonymous else None,
            secret=options.get("secret") if not anonymous else None,
            token=options.get("token") if not anonymous else None,
            endpoint_url=endpoint,
            use_ssl=use_ssl,
            client_kwargs={key: value for key, value in client_arguments.items() if key != "endpoint_url"},
            config_kwargs=config_values,
            s3_additional_kwargs=upload_params or None,
            skip_instance_cache=True,
            use_listings_cache=False,
            **fs_options,
        )
    except Exception as cause:
        client.close()
        raise _option_error(name, "options", f"s3fs cannot make a filesystem: {cause}") from cause
    fs.retries = 1  # botocore's retry policy above is the only one: no retries of retries

    public = _public_base(bucket, endpoint, region, path_style, use_ssl)
    direct: _DirectRequests | None = None
    fallback: Any = None
    if options.get("fast_path", True) and checksums == "when_required" and not config_kwargs:
        try:
            direct, fallback = _direct_path(client, bucket, options, anonymous, retries, config_values,
                                            {**credentials, **client_arguments})
        except Exception:  # an unexpected botocore layout: everything goes through botocore
            direct, fallback = None, None
    backend = S3Backend(
        fs,
        client,
        bucket,
        prefix,
        acls=bool(options.get("acls", True)),
        public_base=public,
        part_size=part_size,
        multipart_threshold=threshold,
        max_concurrency=concurrency,
        upload_params=upload_params,
        direct=direct,
        fallback_client=fallback,
        retries=retries,
    )
    if options.get("create_bucket"):
        try:
            backend.create_bucket(region)
        except BaseException:
            backend.close()
            raise
    return backend, region

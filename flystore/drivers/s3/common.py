"""Constants and small helpers shared by the s3 driver's modules: sizes, metadata, times, parameters."""

from __future__ import annotations

import base64
import contextlib
import mimetypes
import posixpath
import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from email.header import decode_header, make_header
from typing import Any

from ...errors import InvalidMetadata

MiB = 1024 * 1024
#: The longest S3 key, in UTF-8 bytes (prefix included).
MAX_KEY_BYTES = 1024
_READ_CHUNK = MiB
_MAX_PARTS = 10_000
_MIN_PART = 5 * MiB
_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")


# -- metadata encoding --------------------------------------------------------------------


#: S3 holds at most 2 KiB of user metadata per object: UTF-8 keys plus values, as sent.
METADATA_LIMIT = 2048
# An HTTP header token in lower case: S3 lower-cases every other letter, so anything else would change.
_METADATA_KEY = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")


def _encode_metadata(metadata: Mapping[str, str], path: str) -> dict[str, str]:
    """User metadata as x-amz-meta-* values: non-ASCII values as RFC 2047 words (what S3 itself returns).

    Raises:
        InvalidMetadata: a key S3 would change (upper case, spaces, non-ASCII ...), or more than
            ``METADATA_LIMIT`` bytes once encoded.
    """
    encoded: dict[str, str] = {}
    for key, value in metadata.items():
        if not _METADATA_KEY.match(key):
            lowered = " (S3 stores keys lower-cased)" if key.lower() != key and _METADATA_KEY.match(key.lower()) else ""
            raise InvalidMetadata.at(
                path, f"metadata key {key!r} cannot be stored as it is{lowered}; "
                "use lower-case ASCII letters, digits and - _ . ! # $ % & ' * + ^ ` | ~"
            )
        text = str(value)
        if text.isascii() and "\r" not in text and "\n" not in text:
            encoded[key] = text
        else:
            encoded[key] = "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="
    size = sum(len(key) + len(value) for key, value in encoded.items())
    if size > METADATA_LIMIT:
        raise InvalidMetadata.at(
            path, f"the metadata takes {size} bytes as S3 headers; S3 holds at most {METADATA_LIMIT} per file"
        )
    return encoded


def _decode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    decoded: dict[str, str] = {}
    for key, value in metadata.items():
        if value.startswith("=?") and value.endswith("?="):
            with contextlib.suppress(Exception):
                value = str(make_header(decode_header(value)))
        decoded[key] = value
    return decoded


def _guess_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(posixpath.basename(path), strict=False)
    return guessed or "application/octet-stream"


def _plain_etag(etag: str | None) -> str | None:
    """The ETag as a hex MD5 when it is one (not multipart ``-N``), else None."""
    if not etag:
        return None
    value = etag.strip('"').lower()
    return value if _PLAIN_MD5.match(value) else None


def _valid_relative(path: str) -> bool:
    """Whether an S3 key (relative to the root) is a path flystore can address."""
    if not path:
        return False
    return all(segment not in ("", ".", "..") for segment in path.split("/"))


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    from ..generic import parse_time

    return parse_time(value)


def _seconds_until(expires_at: datetime) -> int:
    return max(1, round(expires_at.timestamp() - time.time()))


def _canned_acl(visibility: str) -> str:
    """The canned ACL of a flystore visibility (``public`` or ``private``)."""
    return "public-read" if visibility == "public" else "private"


def _params_for(client: Any, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``params`` that ``operation`` accepts."""
    if not params:
        return {}
    members = client.meta.service_model.operation_model(operation).input_shape.members
    return {key: value for key, value in params.items() if key in members}

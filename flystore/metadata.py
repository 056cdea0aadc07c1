"""Custom metadata: one rule for every driver.

Values are JSON values and come back exactly as they were given. Backends hold
only strings (S3's ``x-amz-meta-*``, GCS and Azure metadata, extended
attributes, WebDAV properties), so the disk encodes before a backend sees the
metadata and decodes what a backend returns:

- a string is stored as it is, so other tools reading the object see plain text;
- every other value (numbers, booleans, null, lists, objects) and every string that
  itself starts with the marker ``json:`` is stored as ``json:`` followed by its
  compact JSON text.

Reading reverses it: a stored value starting with ``json:`` whose remainder is
valid JSON is decoded; anything else is returned as the string it is. Values that
JSON cannot carry exactly (tuples, sets, bytes, NaN, non-string object keys, ``1``
versus ``1.0`` ...) are refused with ``InvalidMetadata`` instead of being changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import InvalidMetadata

__all__ = ["MARKER", "decode_metadata", "encode_metadata", "encoded_size"]

MARKER = "json:"


def _same(original: Any, decoded: Any) -> bool:
    """Whether ``decoded`` is ``original`` value for value and type for type (True is not 1)."""
    if type(original) is not type(decoded):
        return False
    if isinstance(original, dict):
        return original.keys() == decoded.keys() and all(_same(original[key], decoded[key]) for key in original)
    if isinstance(original, list):
        return len(original) == len(decoded) and all(_same(a, b) for a, b in zip(original, decoded, strict=True))
    return bool(original == decoded)


def _encode_value(key: str, value: Any, path: str) -> str:
    if isinstance(value, str) and not value.startswith(MARKER):
        return value
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as cause:
        raise InvalidMetadata.at(
            path, f"metadata {key!r} is a {type(value).__name__}, which is not a JSON value", cause=cause
        ) from cause
    if not _same(value, json.loads(text)):
        raise InvalidMetadata.at(
            path,
            f"metadata {key!r} would not come back as given ({type(value).__name__} values change in JSON); "
            "use str, int, float, bool, None, list or dict with str keys",
        )
    return MARKER + text


def encode_metadata(metadata: Mapping[str, Any], path: str, *, limit: int | None = None) -> dict[str, str]:
    """The string form a backend stores.

    Args:
        metadata: user metadata (str keys, JSON values).
        path: the file's path, for errors.
        limit: the backend's ``metadata_limit`` in bytes, or None.

    Raises:
        InvalidMetadata: a key that is not a non-empty str, a value JSON cannot carry
            exactly, or more bytes than the backend holds.
    """
    encoded: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise InvalidMetadata.at(path, f"metadata keys must be non-empty strings, not {key!r}")
        encoded[key] = _encode_value(key, value, path)
    if limit is not None:
        size = encoded_size(encoded)
        if size > limit:
            raise InvalidMetadata.at(
                path, f"the metadata takes {size} bytes; this backend holds at most {limit} bytes per file"
            )
    return encoded


def encoded_size(encoded: Mapping[str, str]) -> int:
    """Bytes of UTF-8 keys plus values: what backends count against their limits."""
    return sum(len(key.encode()) + len(value.encode()) for key, value in encoded.items())


def decode_metadata(stored: Mapping[str, str]) -> dict[str, Any]:
    """User metadata from what a backend returned (the inverse of ``encode_metadata``)."""
    decoded: dict[str, Any] = {}
    for key, value in stored.items():
        if isinstance(value, str) and value.startswith(MARKER):
            try:
                decoded[key] = json.loads(value[len(MARKER) :])
                continue
            except ValueError:
                pass  # written by another tool: keep the text as it is
        decoded[key] = value
    return decoded

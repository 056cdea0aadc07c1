"""Cached values to bytes and back: bytes, str and JSON by default; pickle only when asked."""

from __future__ import annotations

import json
import pickle
from typing import Any

__all__ = ["SERIALIZERS", "decode_value", "encode_value"]

SERIALIZERS = ("json", "pickle")
_MISSING = object()


def encode_value(value: Any, serializer: str) -> bytes:
    """``value`` as tagged bytes.

    Raises:
        TypeError: with the json serializer, a value that is not bytes, str or JSON that
            round-trips exactly (tuples, sets, non-str keys, NaN, objects...).
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b"b" + bytes(value)
    if isinstance(value, str):
        return b"s" + value.encode("utf-8", "surrogatepass")
    if serializer == "pickle":
        return b"p" + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as cause:
        raise TypeError(
            f"cannot cache a {type(value).__name__} as JSON ({cause}); cache bytes, str or JSON values, "
            'or pass serializer="pickle" (only with a store nobody else can write)'
        ) from cause
    if json.loads(text) != value:
        raise TypeError(
            f"this {type(value).__name__} would not come back equal from JSON (tuples, non-str keys...); "
            'cache JSON values, or pass serializer="pickle" (only with a store nobody else can write)'
        )
    return b"j" + text.encode()


def decode_value(payload: bytes, serializer: str) -> Any:
    """The value back, or the module's missing marker for a payload we will not decode.

    A pickled entry is never unpickled unless this cache uses the pickle serializer:
    unpickling runs code, so it is only safe with a store nobody else can write.
    """
    tag, body = payload[:1], payload[1:]
    if tag == b"b":
        return body
    if tag == b"s":
        return body.decode("utf-8", "surrogatepass")
    if tag == b"j":
        try:
            return json.loads(body)
        except ValueError:
            return _MISSING
    if tag == b"p" and serializer == "pickle":
        try:
            return pickle.loads(body)  # opted in: the store is trusted (documented)
        except Exception:
            return _MISSING
    return _MISSING


def is_missing(value: Any) -> bool:
    """Whether ``decode_value`` refused the payload."""
    return value is _MISSING

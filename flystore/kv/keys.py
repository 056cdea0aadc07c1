"""Key <-> path encoding for the key-value store: reversible, collision-free, traversal-proof.

A key (any str) is UTF-8 encoded and written in lower-case base32 (letters and
digits only, safe on case-insensitive filesystems, never ``.`` or ``..``), cut
into 128-character pieces. Every piece but the last is a directory named
``d<piece>``; the last is the file ``k<piece>``. Namespaces are encoded the
same way with a final ``n<piece>``. The leading letter tells the three kinds
apart, so no key of one namespace can land on another key or namespace, and
decoding a listed path gives back the original key.
"""

from __future__ import annotations

import base64

__all__ = ["decode_key", "encode_key", "encode_namespace"]

_PIECE = 128


def _pieces(text: str) -> list[str]:
    encoded = base64.b32encode(text.encode("utf-8", "surrogatepass")).decode("ascii").rstrip("=").lower()
    pieces = [encoded[start : start + _PIECE] for start in range(0, len(encoded), _PIECE)]
    return pieces or [""]


def _encode(text: str, last: str) -> str:
    pieces = _pieces(text)
    return "/".join([*(f"d{piece}" for piece in pieces[:-1]), f"{last}{pieces[-1]}"])


def encode_key(key: str) -> str:
    """The relative path that stores ``key``.

    Raises:
        TypeError: ``key`` is not a str.
    """
    if not isinstance(key, str):
        raise TypeError(f"keys are str, not {type(key).__name__}")
    return _encode(key, "k")


def encode_namespace(namespace: str) -> str:
    """The relative directory of ``namespace``.

    Raises:
        TypeError: ``namespace`` is not a str.
    """
    if not isinstance(namespace, str):
        raise TypeError(f"namespaces are str, not {type(namespace).__name__}")
    return _encode(namespace, "n")


def decode_key(path: str) -> str | None:
    """The key stored at the relative ``path``, or None when it is not a key's path."""
    segments = path.split("/")
    if not segments[-1].startswith("k") or any(
        not segment.startswith("d") or len(segment) != _PIECE + 1 for segment in segments[:-1]
    ):
        return None
    encoded = "".join(segment[1:] for segment in segments).upper()
    try:
        raw = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
        return raw.decode("utf-8", "surrogatepass")
    except (ValueError, UnicodeDecodeError):
        return None

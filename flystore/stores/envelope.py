"""The frame around every cached value: magic, length and checksum.

A store can hand back anything (a half-written file, a value another program
put under our key, a flipped bit on disk), so a value is only believed when
its length and BLAKE2b checksum match. ``unseal`` returns ``None`` for anything
else, and the caller treats that as a miss.
"""

from __future__ import annotations

import hashlib
import struct

__all__ = ["seal", "unseal"]

_MAGIC = b"FSC\x01"
_HEADER = struct.Struct(">4sQ16s")  # magic, payload length, blake2b-128 of the payload


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=16).digest()


def seal(payload: bytes) -> bytes:
    """``payload`` framed with its length and checksum."""
    return _HEADER.pack(_MAGIC, len(payload), _digest(payload)) + payload


def unseal(frame: bytes | None) -> bytes | None:
    """The payload of a sealed frame, or ``None`` when the frame is missing, truncated or corrupt."""
    if frame is None or len(frame) < _HEADER.size:
        return None
    magic, length, digest = _HEADER.unpack_from(frame)
    payload = frame[_HEADER.size :]
    if magic != _MAGIC or length != len(payload) or _digest(payload) != digest:
        return None
    return payload

"""The ciphertext format (version 1), byte by byte; docs/encryption.md describes the same layout.

A file is a 36-byte header followed by one or more sealed segments::

    header  = b"FLYE" | version (1 byte, 0x01) | key id (8) | salt (16) | nonce prefix (7)
    segment = AES-256-GCM(file key, nonce, plaintext segment, aad) -> ciphertext | 16-byte tag
    nonce   = nonce prefix (7) | segment index (uint32, big endian) | last flag (0x00 or 0x01)
    aad     = header | UTF-8 path
    file key = HKDF-SHA256(disk key, salt=salt, info=b"flystore/encrypted/v1")

Every segment but the last carries exactly ``SEGMENT_SIZE`` plaintext bytes; the last carries
1..SEGMENT_SIZE bytes, or 0 when the file is empty (then it is the only segment).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from typing import Any

from ...errors import DriverNotInstalled, IntegrityError, InvalidConfiguration

__all__ = [
    "HEADER_SIZE", "MAGIC", "SEGMENT_SIZE", "SEALED_SEGMENT", "TAG_SIZE", "VERSION",
    "FileCipher", "Header", "KeyRing", "ciphertext_size", "decode_encryption_key", "plaintext_size",
]

MAGIC = b"FLYE"
VERSION = 1
KEY_ID_SIZE = 8
SALT_SIZE = 16
PREFIX_SIZE = 7
HEADER_SIZE = len(MAGIC) + 1 + KEY_ID_SIZE + SALT_SIZE + PREFIX_SIZE
TAG_SIZE = 16
SEGMENT_SIZE = 64 * 1024
SEALED_SEGMENT = SEGMENT_SIZE + TAG_SIZE
MAX_SEGMENTS = 2**32
_INFO = b"flystore/encrypted/v1"


def _primitives() -> Any:
    """The cryptography module, imported when an encrypted disk is built (it is an optional extra).

    Raises:
        DriverNotInstalled: cryptography is missing (names ``pip install 'flystore[crypto]'``).
    """
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    except ImportError as cause:
        raise DriverNotInstalled.for_extra("crypto", "the encrypted disk (AES-256-GCM)", cause=cause) from cause
    return hashes, AESGCM, HKDF


def decode_encryption_key(value: object, *, disk: str | None, option: str = "key") -> bytes:
    """A disk key from 32 raw bytes, a 32-byte str, or ``base64:<44 chars>``.

    Raises:
        InvalidConfiguration: any other length or malformed base64 (the key itself is never echoed).
    """
    if isinstance(value, (bytes, bytearray)):
        key = bytes(value)
    elif isinstance(value, str) and value.startswith("base64:"):
        try:
            key = base64.b64decode(value[len("base64:"):], validate=True)
        except ValueError as cause:
            raise InvalidConfiguration("the base64: key is not valid base64", option=option, disk=disk) from cause
    elif isinstance(value, str):
        key = value.encode()
    else:
        raise InvalidConfiguration(
            f"the encryption key must be bytes or a str, not {type(value).__name__}", option=option, disk=disk
        )
    if len(key) != 32:
        raise InvalidConfiguration(
            f"AES-256 needs a 32-byte key, this one has {len(key)} bytes (make one with: "
            'python -c "import base64, os; print(\'base64:\' + base64.b64encode(os.urandom(32)).decode())")',
            option=option,
            disk=disk,
        )
    return key


def key_id(key: bytes) -> bytes:
    """8 bytes naming a key without revealing it (an HMAC of a fixed label)."""
    return hmac.new(key, b"flystore/encrypted/key-id", hashlib.sha256).digest()[:KEY_ID_SIZE]


@dataclass(frozen=True)
class Header:
    """The parsed header of one ciphertext."""

    key_id: bytes
    salt: bytes
    prefix: bytes
    raw: bytes

    @classmethod
    def fresh(cls, key_identifier: bytes) -> Header:
        salt, prefix = os.urandom(SALT_SIZE), os.urandom(PREFIX_SIZE)
        raw = MAGIC + bytes([VERSION]) + key_identifier + salt + prefix
        return cls(key_identifier, salt, prefix, raw)

    @classmethod
    def parse(cls, raw: bytes, path: str) -> Header:
        """Raises: IntegrityError: not a version-1 flystore ciphertext."""
        if len(raw) != HEADER_SIZE or raw[:4] != MAGIC:
            raise IntegrityError.at(path, "the file is not a flystore ciphertext (bad or missing header)")
        if raw[4] != VERSION:
            raise IntegrityError.at(path, f"unknown ciphertext format version {raw[4]}")
        start = 5
        ident = raw[start:start + KEY_ID_SIZE]
        salt = raw[start + KEY_ID_SIZE:start + KEY_ID_SIZE + SALT_SIZE]
        return cls(ident, salt, raw[HEADER_SIZE - PREFIX_SIZE:], raw)


class KeyRing:
    """The disk's keys: writes use the first, reads pick by the key id in the header."""

    def __init__(self, keys: list[bytes]) -> None:
        _primitives()
        self.keys = keys
        self.by_id = {key_id(key): key for key in keys}
        self.current_id = key_id(keys[0])

    def cipher_for(self, header: Header, path: str) -> FileCipher:
        """Raises: IntegrityError: the header names a key this disk does not have."""
        key = self.by_id.get(header.key_id)
        if key is None:
            raise IntegrityError.at(path, "the file was encrypted with a key this disk does not have (wrong key?)")
        return FileCipher(key, header, path)

    def new_cipher(self, path: str) -> FileCipher:
        return FileCipher(self.keys[0], Header.fresh(self.current_id), path)


class FileCipher:
    """Seals and opens the segments of one file at one path."""

    def __init__(self, disk_key: bytes, header: Header, path: str) -> None:
        hashes, aesgcm, hkdf = _primitives()
        file_key = hkdf(algorithm=hashes.SHA256(), length=32, salt=header.salt, info=_INFO).derive(disk_key)
        self._aead = aesgcm(file_key)
        self.header = header
        self.path = path
        self._aad = header.raw + path.encode("utf-8", "surrogatepass")

    def _nonce(self, index: int, last: bool) -> bytes:
        if index >= MAX_SEGMENTS:
            raise IntegrityError.at(self.path, "the file has more segments than the format allows")
        return self.header.prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")

    def seal(self, index: int, plaintext: bytes, last: bool) -> bytes:
        return self._aead.encrypt(self._nonce(index, last), plaintext, self._aad)  # type: ignore[no-any-return]

    def open(self, index: int, sealed: bytes | memoryview, last: bool) -> bytes:
        """Raises: IntegrityError: the segment was altered, moved, cut or comes from elsewhere."""
        try:
            return self._aead.decrypt(self._nonce(index, last), sealed, self._aad)  # type: ignore[no-any-return]
        except Exception as error:  # cryptography's InvalidTag, without importing it at module load
            if type(error).__name__ != "InvalidTag":
                raise
            raise IntegrityError.at(
                self.path, f"segment {index} failed authentication (tampered, truncated, moved or wrong key)"
            ) from None


def segment_count(ciphertext: int, path: str) -> int:
    """Segments of a ciphertext of this many bytes.

    Raises:
        IntegrityError: no valid ciphertext has this size.
    """
    body = ciphertext - HEADER_SIZE
    if body < TAG_SIZE:
        raise IntegrityError.at(path, f"{ciphertext} bytes is too short for a flystore ciphertext")
    count = -(-body // SEALED_SEGMENT)
    if count > 1 and body - (count - 1) * SEALED_SEGMENT <= TAG_SIZE:
        raise IntegrityError.at(path, f"{ciphertext} bytes is not the size of any flystore ciphertext (truncated?)")
    return count


def plaintext_size(ciphertext: int, path: str) -> int:
    """The plaintext size behind a ciphertext size (no read needed).

    Raises:
        IntegrityError: no valid ciphertext has this size.
    """
    return ciphertext - HEADER_SIZE - TAG_SIZE * segment_count(ciphertext, path)


def ciphertext_size(plaintext: int) -> int:
    """The ciphertext size of a plaintext of this many bytes."""
    count = max(1, -(-plaintext // SEGMENT_SIZE))
    return HEADER_SIZE + plaintext + TAG_SIZE * count

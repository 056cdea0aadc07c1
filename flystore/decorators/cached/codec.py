"""File attributes and listings to bytes and back, exactly (or not cached at all)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ...attributes import DirectoryAttributes, Entry, FileAttributes

__all__ = ["decode_entries", "decode_entry", "encode_entries", "encode_entry"]


def _entry_dict(entry: Entry) -> dict[str, Any]:
    modified = entry.last_modified.isoformat() if entry.last_modified is not None else None
    if isinstance(entry, DirectoryAttributes):
        return {"d": 1, "p": entry.path, "m": modified, "v": entry.visibility}
    return {
        "p": entry.path,
        "s": entry.size,
        "m": modified,
        "t": entry.mime_type,
        "v": entry.visibility,
        "c": entry.checksum,
        "md": dict(entry.metadata),
        "x": dict(entry.extra),
    }


def _from_dict(raw: dict[str, Any]) -> Entry:
    modified = datetime.fromisoformat(raw["m"]) if raw.get("m") else None
    if raw.get("d"):
        return DirectoryAttributes(path=raw["p"], last_modified=modified, visibility=raw.get("v"))
    return FileAttributes(
        path=raw["p"],
        size=raw.get("s"),
        last_modified=modified,
        mime_type=raw.get("t"),
        visibility=raw.get("v"),
        checksum=raw.get("c"),
        metadata=raw.get("md") or {},
        extra=raw.get("x") or {},
    )


def _exact(encoded: bytes, entries: list[Entry]) -> bool:
    """Whether decoding gives back equal values (extras holding tuples, bytes, ... do not)."""
    decoded: object = json.loads(encoded)
    return [_entry_dict(entry) for entry in entries] == decoded


def encode_entry(entry: Entry) -> bytes | None:
    """The entry as JSON bytes, or None when it would not round-trip exactly."""
    return encode_entries([entry])


def decode_entry(payload: bytes) -> Entry | None:
    """The entry back, or None for a payload that is not one."""
    entries = decode_entries(payload)
    return entries[0] if entries and len(entries) == 1 else None


def encode_entries(entries: list[Entry]) -> bytes | None:
    """The entries as JSON bytes, or None when they would not round-trip exactly."""
    try:
        encoded = json.dumps([_entry_dict(entry) for entry in entries], separators=(",", ":")).encode()
    except (TypeError, ValueError):
        return None
    return encoded if _exact(encoded, entries) else None


def decode_entries(payload: bytes) -> list[Entry] | None:
    """The entries back, or None for a payload that is not a listing."""
    try:
        raw = json.loads(payload)
        return [_from_dict(item) for item in raw]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None

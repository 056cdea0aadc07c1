"""The two-way state: what both sides held after the last sync of a pair.

It is a small JSON file on the destination, ``.flystore-sync/<pair>.json`` under
the destination root, where ``<pair>`` is a digest of both sides' labels
(``disk://root``); the state directory is never synced. It records, per file,
the size and each side's modification time as that side reported it, so a
side's change is seen against its own clock, never against the other's.

A state that is missing, unreadable, of another version or of another pair is
ignored: the sync then behaves as a first sync, which never deletes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .listing import STATE_DIRECTORY

__all__ = ["STATE_VERSION", "Synced", "decode_state", "encode_state", "state_path"]

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Synced:
    """One file as both sides held it after the last sync."""

    size: int
    source_mtime: float | None
    destination_mtime: float | None


def state_path(source_label: str, destination_label: str) -> str:
    """The state file of the pair, relative to the destination root."""
    digest = hashlib.sha256(f"{source_label}\n{destination_label}".encode()).hexdigest()[:20]
    return f"{STATE_DIRECTORY}/{digest}.json"


def encode_state(source_label: str, destination_label: str, files: Mapping[str, Synced]) -> bytes:
    """The state as compact JSON bytes."""
    return json.dumps(
        {
            "version": STATE_VERSION,
            "source": source_label,
            "destination": destination_label,
            "files": {path: [entry.size, entry.source_mtime, entry.destination_mtime]
                      for path, entry in sorted(files.items())},
        },
        separators=(",", ":"),
    ).encode()


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a time")
    return float(value)


def decode_state(data: bytes, source_label: str, destination_label: str) -> dict[str, Synced] | None:
    """The files of a state written for this pair, or None when it cannot be trusted."""
    try:
        raw = json.loads(data)
        if (
            not isinstance(raw, dict)
            or raw.get("version") != STATE_VERSION
            or raw.get("source") != source_label
            or raw.get("destination") != destination_label
            or not isinstance(raw.get("files"), dict)
        ):
            return None
        files: dict[str, Synced] = {}
        for path, entry in raw["files"].items():
            size, source_mtime, destination_mtime = entry
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                return None
            files[str(path)] = Synced(size, _number(source_mtime), _number(destination_mtime))
        return files
    except (ValueError, TypeError):
        return None

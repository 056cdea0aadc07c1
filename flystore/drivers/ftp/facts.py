"""What an FTP server says about files: ``MLST``/``MLSD`` facts and ``LIST`` entries, normalised."""

from __future__ import annotations

import ftplib
import posixpath
from collections.abc import Mapping
from typing import Any

from .connection import _MISSING, _NOT_IMPLEMENTED, _reply_code

__all__ = ["_entry", "_parse_facts", "list_directory", "mlst_entry"]


def mlst_entry(reply: str) -> dict[str, Any] | None:
    """The entry an ``MLST`` reply describes (its fact line), or None when it holds none."""
    for line in reply.splitlines()[1:]:
        if "=" in line and not line[:3].isdigit():
            facts, _, _ = line.strip().partition(" ")
            return _entry(_parse_facts(facts))
    return None


def list_directory(fs: Any, key: str) -> list[tuple[str, dict[str, Any]]]:
    """``(name, entry)`` of the directory's children (``MLSD``, else ``LIST``); a missing directory is empty.

    Raises:
        ftplib.Error: the server refused the listing for another reason.
    """
    try:
        found = [(posixpath.basename(name.rstrip("/")), _entry(facts)) for name, facts in fs.ftp.mlsd(key)]
    except ftplib.error_perm as error:
        code = _reply_code(error)
        if code in _MISSING:
            return []
        if code not in _NOT_IMPLEMENTED:
            raise
        try:
            found = [
                (posixpath.basename(str(info["name"]).rstrip("/")), _entry(dict(info)))
                for info in fs.ls(key, detail=True)
            ]
        except FileNotFoundError:
            return []
    return [(name, entry) for name, entry in found if name not in ("", ".", "..") and entry["type"] != "skip"]


def _parse_facts(text: str) -> dict[str, str]:
    facts: dict[str, str] = {}
    for fact in text.split(";"):
        name, sep, value = fact.partition("=")
        if sep:
            facts[name.strip().lower()] = value
    return facts


def _entry(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise MLST/MLSD facts or an fsspec info dict to ``{"type", "size", "modify"}``."""
    kind = str(facts.get("type", "")).lower()
    if kind in ("file",):
        normalized = "file"
    elif kind in ("dir", "directory"):
        normalized = "directory"
    elif kind in ("cdir", "pdir"):
        normalized = "skip"
    else:
        normalized = "other"  # links, devices: neither a file nor a directory here
    return {"type": normalized, "size": facts.get("size") or 0, "modify": facts.get("modify")}

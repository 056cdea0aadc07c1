"""Path normalisation: the one place a user's path becomes a disk path.

Rules (the same on every driver): backslashes become ``/``; ``.`` and empty
segments go; a leading or trailing ``/`` is ignored; ``..`` is resolved and may
not climb above the root; NUL and other control characters are refused.
Percent-escapes are literal characters and are never decoded.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from .errors import InvalidPath, PathTraversalDetected

__all__ = ["join", "normalize", "parent", "basename", "is_within", "split_operand"]

# C0 controls, DEL and C1 controls: none has a place in a storage key.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def normalize(path: str | os.PathLike[str]) -> str:
    """Return the canonical relative form of ``path`` (``""`` is the root).

    Raises:
        PathTraversalDetected: ``..`` climbs above the root, or the path holds
            NUL or another control character.
        InvalidPath: the path is not a string.
    """
    if type(path) is not str:
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if not isinstance(path, str):
            raise InvalidPath(f"a path must be a string, not {type(path).__name__}")
    # The common case, answered by C-level string checks: already canonical.
    if (
        path
        and path.isprintable()
        and path[0] not in "./"
        and path[-1] != "/"
        and "\\" not in path
        and "//" not in path
        and "/." not in path
    ):
        return path
    return _normalize(path)


@lru_cache(maxsize=4096)
def _normalize(path: str) -> str:
    if _CONTROL.search(path):
        raise PathTraversalDetected(
            "the path contains a NUL or control character", path=path.encode("unicode_escape").decode()
        )
    parts: list[str] = []
    for segment in path.replace("\\", "/").split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not parts:
                raise PathTraversalDetected("the path climbs above the disk root", path=path)
            parts.pop()
        else:
            parts.append(segment)
    return "/".join(parts)


def join(*parts: str) -> str:
    """Join already-normalised paths, skipping empty ones."""
    return "/".join(part for part in parts if part)


def parent(path: str) -> str:
    """The directory holding ``path`` (``""`` for top-level entries)."""
    index = path.rfind("/")
    return path[:index] if index > 0 else ""


def basename(path: str) -> str:
    """The last segment of ``path``."""
    return path[path.rfind("/") + 1 :]


def is_within(path: str, directory: str) -> bool:
    """True when ``path`` lies strictly under ``directory`` (the root holds everything)."""
    if not directory:
        return bool(path)
    return path.startswith(directory) and path[len(directory) : len(directory) + 1] == "/"


#: ``disk://path``: a disk's name (``name@tenant`` for a tenant's disk), then a path on that disk.
_OPERAND = re.compile(r"^([A-Za-z0-9_.-]+(?:@[^/\\{}]+)?)://(.*)$", re.DOTALL)


def split_operand(text: str) -> tuple[str | None, str]:
    """``(disk, path)`` for a ``disk://path`` operand, ``(None, text)`` for anything else."""
    match = _OPERAND.match(text)
    if match is None:
        return None, text
    return match.group(1), match.group(2)

"""How two versions of a file are compared: by size and time, or by content (MD5).

``size_mtime`` takes a receiving file as up to date when it has the source's size
and is not older than it: a copy is always written after its source was last
changed, so a newer source means a change since the copy. Times are compared
with ``TOLERANCE`` seconds of slack, because object stores list times to the
second; clocks of the two sides must agree to about that much (use
``checksum`` where they do not). ``checksum`` compares sizes, then MD5s, which
come from the listings where the backend has a reliable one.
"""

from __future__ import annotations

from typing import Literal

from ..errors import InvalidConfiguration
from .listing import Listed

__all__ = ["COMPARE_METHODS", "TOLERANCE", "Compare", "compare_method", "newer", "up_to_date"]

Compare = Literal["size_mtime", "checksum"]
COMPARE_METHODS: tuple[Compare, ...] = ("size_mtime", "checksum")

#: Seconds by which a time must exceed another to count as newer.
TOLERANCE = 1.0


def compare_method(value: str) -> Compare:
    """``value`` checked as a compare method.

    Raises:
        InvalidConfiguration: it is not ``"size_mtime"`` or ``"checksum"``.
    """
    for method in COMPARE_METHODS:
        if value == method:
            return method
    raise InvalidConfiguration(
        f"unknown compare method {value!r}; methods are 'size_mtime' and 'checksum'", option="compare"
    )


def newer(first: float | None, second: float | None) -> bool:
    """Whether time ``first`` is later than ``second`` by more than the tolerance (unknown: no)."""
    return first is not None and second is not None and first > second + TOLERANCE


def up_to_date(source: Listed, target: Listed, method: Compare) -> bool:
    """Whether ``target`` already holds ``source``'s version.

    With ``checksum`` both MD5s must be known (the engine fills them in first).
    """
    if source.size != target.size:
        return False
    if method == "checksum":
        return source.md5 is not None and source.md5 == target.md5
    return not newer(source.mtime, target.mtime)

"""Which disks of a configuration wrap which: the references of decorator disks to other disks by name."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["find_loop", "named_disks", "wrapping"]


def named_disks(options: Mapping[str, Any]) -> Iterator[str]:
    """The disks that ``options`` name (``disk``, ``disks``, an audited disk's ``trail``), inline disks included."""
    for key, value in options.items():
        if isinstance(value, Mapping):
            yield from named_disks(value)
        elif key in ("disk", "trail") and isinstance(value, str):
            yield value
        elif key == "disks" and isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    yield item
                elif isinstance(item, Mapping):
                    yield from named_disks(item)


def find_loop(disks: Mapping[str, Any], name: str) -> list[str] | None:
    """A chain of references from ``name`` that comes back to a disk already on it, or None."""
    path: list[str] = []

    def visit(current: str) -> list[str] | None:
        if current in path:
            return [*path[path.index(current):], current]
        options = disks.get(current)
        if not isinstance(options, Mapping):
            return None
        path.append(current)
        for target in named_disks(options):
            loop = visit(target)
            if loop is not None:
                return loop
        path.pop()
        return None

    return visit(name)


def wrapping(disks: Mapping[str, Any], name: str) -> set[str]:
    """The disks that wrap ``name``, directly or through other disks."""
    found: set[str] = set()
    frontier = [name]
    while frontier:
        target = frontier.pop()
        for other, options in disks.items():
            if other != name and other not in found and isinstance(options, Mapping) \
                    and target in named_disks(options):
                found.add(other)
                frontier.append(other)
    return found

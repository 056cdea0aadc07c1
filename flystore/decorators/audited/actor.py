"""Who is acting: the actor every audit record names, held in a context variable.

A ``ContextVar`` follows the code that set it: each thread starts with no actor
and each asyncio task sees the actor of the code that created it, so two
requests served at the same time never see each other's actor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["acting_as", "current_actor"]

_ACTOR: ContextVar[str | None] = ContextVar("flystore_audit_actor", default=None)


def current_actor() -> str | None:
    """The actor set by the innermost ``acting_as`` around this code, or None."""
    return _ACTOR.get()


@contextlib.contextmanager
def acting_as(actor: str) -> Iterator[str]:
    """Name ``actor`` in the audit records of every operation inside the block.

    Blocks nest (the innermost wins) and the previous actor comes back on exit,
    also when the block raises.

    Raises:
        ValueError: ``actor`` is not a non-empty string.
    """
    if not isinstance(actor, str) or not actor:
        raise ValueError(f"an actor is a non-empty string, not {actor!r}")
    token = _ACTOR.set(actor)
    try:
        yield actor
    finally:
        _ACTOR.reset(token)

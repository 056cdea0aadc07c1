"""Who is acting: the actor every audit record names, held in a context variable.

A ``ContextVar`` follows the code that set it: each thread starts with no actor
and each asyncio task sees the actor of the code that created it, so two
requests served at the same time never see each other's actor.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

__all__ = ["acting_as", "current_actor"]

_ACTOR: ContextVar[str | None] = ContextVar("flystore_audit_actor", default=None)


def current_actor() -> str | None:
    """The actor set by the innermost ``acting_as`` around this code, or None."""
    return _ACTOR.get()


class acting_as:  # noqa: N801  # used like a function: ``with acting_as("user-42"):``
    """Name ``actor`` in the audit records of every operation inside the ``with`` block.

    Blocks nest (the innermost wins) and the previous actor comes back on exit,
    also when the block raises.

    Raises:
        ValueError: ``actor`` is not a non-empty string (raised at the call).
    """

    __slots__ = ("actor", "_tokens")

    def __init__(self, actor: str) -> None:
        if not isinstance(actor, str) or not actor:
            raise ValueError(f"an actor is a non-empty string, not {actor!r}")
        self.actor = actor
        self._tokens: list[Token[str | None]] = []

    def __enter__(self) -> str:
        self._tokens.append(_ACTOR.set(self.actor))
        return self.actor

    def __exit__(self, *exc_info: object) -> None:
        _ACTOR.reset(self._tokens.pop())

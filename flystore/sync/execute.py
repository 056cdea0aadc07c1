"""Carrying out actions on the two endpoints, one file at a time, each failure kept to its file.

The functions here are what an executor runs, in a thread or in another
process: they take the endpoints as arguments (a disk endpoint pickles as its
disk's configuration) and return plain outcomes; they never raise for one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .endpoints import Endpoint
from .listing import Listed
from .plan import Action, Side

__all__ = ["Outcome", "hash_items", "run_actions"]


@dataclass(slots=True)
class Outcome:
    """What became of one action: the bytes it moved, or why it failed."""

    action: Action
    bytes: int = 0
    error: str | None = None


def _other(side: Side) -> Side:
    return "source" if side == "destination" else "destination"


def _message(error: Exception) -> str:
    return str(error) or type(error).__name__


def _run(action: Action, sides: dict[Side, Endpoint]) -> Outcome:
    receiver = sides[action.to]
    sender = sides[_other(action.to)]
    outcome = Outcome(action)
    try:
        if action.kind == "delete":
            receiver.delete(action.item)
            return outcome
        if action.kind == "conflict" and action.replaced is not None and action.conflict_path is not None:
            # The older version is kept beside the name on both sides before the newer one replaces it.
            receiver.copy_within(action.replaced, action.conflict_path)
            with receiver.open_read(action.replaced) as handle:
                sender.write(action.conflict_path, handle)
        receiver.receive(sender, action.item)
        outcome.bytes = action.transfer_size
    except Exception as error:  # one file's failure is reported, the rest go on
        outcome.error = _message(error)
    return outcome


def run_actions(actions: Sequence[Action], source: Endpoint, destination: Endpoint) -> list[Outcome]:
    """Carry out ``actions`` in order."""
    sides: dict[Side, Endpoint] = {"source": source, "destination": destination}
    return [_run(action, sides) for action in actions]


def hash_items(
    items: Sequence[Listed], endpoint: Endpoint, confirm: bool = False
) -> list[tuple[str, str | None, str | None]]:
    """``(path, md5, error)`` for each item: native when listed, else computed; ``confirm`` asks again."""
    results: list[tuple[str, str | None, str | None]] = []
    for item in items:
        try:
            results.append((item.path, endpoint.confirmed_md5(item) if confirm else endpoint.md5(item), None))
        except Exception as error:  # reported per file
            results.append((item.path, None, _message(error)))
    return results

"""The disks of a failover disk, each with its circuit breaker, and how a call on one is made."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ...backend import Backend
from ...errors import OperationFailed, StorageError
from .breaker import CircuitBreaker
from .classify import is_outage

__all__ = ["Member", "call", "turns", "unreachable"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class Member:
    """One disk of a failover disk: its configured name, its backend and its breaker."""

    name: str
    backend: Backend
    breaker: CircuitBreaker


def call(member: Member, function: Callable[[Backend], _T]) -> _T:
    """``function(member.backend)``, telling the member's breaker how it went.

    An outage counts as a failure; any answer, an error like ``FileNotFound`` included,
    shows the disk is reachable and closes the circuit.

    Raises:
        StorageError: whatever ``function`` raised.
    """
    try:
        result = function(member.backend)
    except Exception as error:
        if is_outage(error):
            member.breaker.failed()
        else:
            member.breaker.succeeded()
        raise
    except BaseException:
        member.breaker.released()
        raise
    member.breaker.succeeded()
    return result


def turns(candidates: Iterable[Member]) -> Iterator[Member]:
    """The members to ask, lazily and in order: first those whose circuit lets a call through,
    then, as a last resort, the ones it skipped (an open circuit never makes the disk fail
    while a disk behind it might still answer)."""
    skipped: list[Member] = []
    for member in candidates:
        if member.breaker.allow():
            yield member
        else:
            skipped.append(member)
    yield from skipped


def unreachable(outages: Sequence[tuple[str, BaseException]]) -> BaseException:
    """One error for "no disk could answer", of the first disk's class, naming every disk's failure.

    ``outages`` is never empty.
    """
    name, first = outages[0]
    summary = "; ".join(
        f"disk {member!r}: {error.reason if isinstance(error, StorageError) else error}" for member, error in outages
    )
    reason = f"no disk could answer ({summary})"
    error = type(first)(reason, path=first.path) if isinstance(first, StorageError) else OperationFailed(reason)
    error.__cause__ = first
    return error

"""A circuit breaker per disk: closed, open for a cooldown after N failures, then half-open.

Closed: calls go through; consecutive outages are counted. At ``failure_threshold``
the circuit opens: the disk is skipped (callers go straight to the next disk) until
``cooldown`` seconds have passed. Then it is half-open: exactly one caller at a time is
let through as the probe; its success closes the circuit, its failure opens it for
another cooldown. Every method is thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["CircuitBreaker", "State"]

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Counts a disk's consecutive outages and decides whether to call it.

    Args:
        failure_threshold: consecutive outages that open the circuit (at least 1).
        cooldown: seconds an open circuit waits before letting one probe through.
        clock: a monotonic clock in seconds (tests pass their own).
    """

    def __init__(
        self, failure_threshold: int = 3, cooldown: float = 30.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = max(1, int(failure_threshold))
        self.cooldown = float(cooldown)
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        #: How often the circuit opened, for reports.
        self.times_opened = 0

    @property
    def state(self) -> State:
        """``"closed"``, ``"open"`` (inside the cooldown) or ``"half_open"`` (a probe may go)."""
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether the caller may use the disk now; in half-open state only the first caller (the probe).

        A caller that was allowed must report back with ``succeeded``, ``failed`` or ``released``.
        """
        if self._opened_at is None:
            return True  # closed: the common case needs no lock (a circuit opening meanwhile costs one call)
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half_open" and not self._probing:
                self._probing = True
                return True
            return False

    def succeeded(self) -> None:
        """The disk answered: close the circuit and forget earlier failures."""
        if self._failures == 0 and self._opened_at is None and not self._probing:
            return  # nothing to forget
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def failed(self) -> None:
        """The disk could not answer: count it; open (or re-open) the circuit at the threshold."""
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self.failure_threshold:
                if self._opened_at is None or self._probing:
                    self.times_opened += 1
                self._opened_at = self._clock()
            self._probing = False

    def released(self) -> None:
        """The allowed call never reached the disk (interrupted): let another caller probe."""
        with self._lock:
            self._probing = False

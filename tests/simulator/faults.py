"""Injected failures: scripted ones (the next N requests, every request of a window) and random ones.

A fault is an HTTP status code, ``"timeout"`` (answer normally, but only after a stall long enough for
a client's read timeout) or ``"reset"`` (close the connection without answering). Random faults come
from a seeded RNG so that a run with the same requests in the same order fails the same way.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from typing import Literal

Fault = int | Literal["timeout", "reset"]
RANDOM_FAULTS: tuple[Fault, ...] = (500, 503, "timeout")


def check_fault(status: Fault) -> Fault:
    """Reject faults the server could not play (a typo in a test should fail loudly)."""
    if status in ("timeout", "reset") or (isinstance(status, int) and 400 <= status <= 599):
        return status
    raise ValueError(f"a fault is an HTTP status 400..599, 'timeout' or 'reset', not {status!r}")


class FaultPlan:
    """Thread-safe store of pending faults plus the seeded random source."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"visionone-faults:{seed}")
        self._next: deque[Fault] = deque()
        self._windows: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def fail_next(self, n: int, status: Fault) -> None:
        check_fault(status)
        with self._lock:
            self._next.extend([status] * n)

    def fail_windows(self, start_iso: str, status: Fault) -> None:
        check_fault(status)
        with self._lock:
            self._windows[start_iso] = status

    def clear(self) -> None:
        with self._lock:
            self._next.clear()
            self._windows.clear()

    def scripted(self, *start_params: str | None) -> Fault | None:
        """The fault a request must answer with, if a test asked for one (consumes a ``fail_next``).

        ``start_params`` are the request's window starts (``startDateTime``, ``ingestedStartDateTime``).
        """
        with self._lock:
            if self._next:
                return self._next.popleft()
            for start in start_params:
                if start is not None and start in self._windows:
                    return self._windows[start]
        return None

    def draw(self, rate: float) -> Fault | None:
        """With probability ``rate``, one of 500, 503 or a stall, in equal shares."""
        if rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= rate:
                return None
            return self._rng.choice(RANDOM_FAULTS)

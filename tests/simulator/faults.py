"""Injected failures: scripted ones (the next N requests, every request of a window) and random ones.

A fault is an HTTP status code, ``"timeout"`` (answer normally, but only after a stall long enough for
a client's read timeout) or ``"reset"`` (close the connection without answering). Random faults come
from a seeded RNG so that a run with the same requests in the same order fails the same way.

Content faults answer 200 but spoil the answer (list endpoints; see :data:`CONTENT_FAULTS`):

- ``"truncated"``: the JSON body cut in half, with a matching ``Content-Length`` (a broken gateway);
- ``"cut"``: the full ``Content-Length`` is announced, half the body sent, then the connection closed;
- ``"loop"``: a page after the first links (``nextLink``) back to the first page of its sequence
  instead of the next one, so with :meth:`FaultPlan.fail_windows` the pages cycle forever (first ->
  second -> first -> ...). A first page is answered normally;
- ``"no-key"``: one record of the page (the middle one) lacks its primary key (``uuid``, else ``id``);
- ``"bad-record"``: one record of the page has an ``eventTime`` that is no time at all (an object).
"""

from __future__ import annotations

import random
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Literal

Fault = int | Literal["timeout", "reset", "truncated", "cut", "loop", "no-key", "bad-record"]
RANDOM_FAULTS: tuple[Fault, ...] = (500, 503, "timeout")
CONTENT_FAULTS = ("truncated", "cut", "loop", "no-key", "bad-record")


def check_fault(status: Fault) -> Fault:
    """Reject faults the server could not play (a typo in a test should fail loudly)."""
    if status in ("timeout", "reset", *CONTENT_FAULTS) or (isinstance(status, int) and 400 <= status <= 599):
        return status
    names = ", ".join(repr(name) for name in ("timeout", "reset", *CONTENT_FAULTS))
    raise ValueError(f"a fault is an HTTP status 400..599 or one of {names}, not {status!r}")


class FaultPlan:
    """Thread-safe store of pending faults plus the seeded random source."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"visionone-faults:{seed}")
        self._next: deque[Fault] = deque()
        self._windows: dict[str, Fault] = {}
        self._window_rules: dict[str, tuple[int | None, bool]] = {}  # start -> (answers left, counts too)
        self._epochs: dict[int, Fault] = {}  # the same windows by instant (Workvivo's epoch segments)
        self._lock = threading.Lock()

    def fail_next(self, n: int, status: Fault) -> None:
        check_fault(status)
        with self._lock:
            self._next.extend([status] * n)

    def fail_windows(
        self, start: str | int, status: Fault, *, times: int | None = None, counts: bool = True
    ) -> None:
        """Vision One requests match ``start`` as a string; Workvivo requests by the instant it names.

        ``times``: only that many answers fail, then the window is healthy again (an outage that
        passes); ``counts=False``: Vision One's ``mode=countOnly`` requests of the window are answered.
        """
        check_fault(status)
        epoch = _epoch(start)
        with self._lock:
            if isinstance(start, str):
                self._windows[start] = status
                self._window_rules[start] = (times, counts)
            if epoch is not None:
                self._epochs[epoch] = status

    def clear(self) -> None:
        with self._lock:
            self._next.clear()
            self._windows.clear()
            self._window_rules.clear()
            self._epochs.clear()

    def scripted(
        self, *start_params: str | None, epoch: int | None = None, count: bool = False
    ) -> Fault | None:
        """The fault a request must answer with, if a test asked for one (consumes a ``fail_next``).

        ``start_params`` are the request's window starts (``startDateTime``, ``ingestedStartDateTime``);
        ``epoch`` is a Workvivo request's ``from`` segment; ``count``: a ``mode=countOnly`` request.
        """
        with self._lock:
            if self._next:
                return self._next.popleft()
            for start in start_params:
                if start is not None and start in self._windows:
                    times, counts = self._window_rules.get(start, (None, True))
                    if count and not counts:
                        continue
                    if times is not None:
                        if times <= 0:
                            continue
                        self._window_rules[start] = (times - 1, counts)
                    return self._windows[start]
            if epoch is not None and epoch in self._epochs:
                return self._epochs[epoch]
        return None

    def draw(self, rate: float) -> Fault | None:
        """With probability ``rate``, one of 500, 503 or a stall, in equal shares."""
        if rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= rate:
                return None
            return self._rng.choice(RANDOM_FAULTS)


def _epoch(start: str | int) -> int | None:
    """Epoch seconds of an int or an ISO 8601 string (naive = UTC); None when the string is not one."""
    if isinstance(start, int):
        return start
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())

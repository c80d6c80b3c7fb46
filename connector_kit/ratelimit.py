"""A thread-safe sliding-window rate limiter shared by every request of a tap run.

Limits per second, per minute and per hour hold at once (as the Vision One detections export script
had them); Vision One counts requests in a 60-second window. One limiter instance is shared by all
window workers so the limits hold for the whole run, not per thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Blocks ``acquire()`` until a request fits under every configured limit.

    A limit of 0 (or None) is off. Timestamps of granted requests are kept per window, so at
    any moment no window of 1 s / 60 s / 3600 s holds more grants than its limit.
    """

    def __init__(
        self,
        *,
        per_second: int | None = 0,
        per_minute: int | None = 0,
        per_hour: int | None = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = [
            (float(span), int(limit), deque())
            for span, limit in ((1, per_second), (60, per_minute), (3600, per_hour))
            if limit
        ]
        self._clock = clock
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self._limits)

    def try_acquire(self) -> float:
        """Take a slot if one is free and return 0, else return the seconds to wait."""
        with self._lock:
            return self._try_locked(self._clock())

    def _try_locked(self, now: float) -> float:
        wait = 0.0
        for span, limit, grants in self._limits:
            while grants and grants[0] <= now - span:
                grants.popleft()
            if len(grants) >= limit:
                wait = max(wait, grants[0] + span - now)
        if wait > 0:
            return wait
        for _, _, grants in self._limits:
            grants.append(now)
        return 0.0

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait for a slot. Returns False if ``stop`` was set while waiting."""
        if not self._limits:
            return not (stop and stop.is_set())
        while True:
            if stop is not None and stop.is_set():
                return False
            wait = self.try_acquire()
            if wait <= 0:
                return True
            if stop is not None:
                stop.wait(min(wait, 1.0))
            else:
                time.sleep(wait)

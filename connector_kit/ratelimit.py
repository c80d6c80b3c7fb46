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

NOTICE_AFTER = 5.0  # a wait longer than this is said, so that a quiet run is not taken for a hung one


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
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self._limits = [
            (float(span), int(limit), deque())
            for span, limit in ((1, per_second), (60, per_minute), (3600, per_hour))
            if limit
        ]
        self._clock = clock
        self._lock = threading.Lock()
        self._on_wait = on_wait
        self._quiet_until = 0.0  # one notice per wait, however many workers wait

    @property
    def enabled(self) -> bool:
        return bool(self._limits)

    def try_acquire(self) -> float:
        """Take a slot if one is free and return 0, else return the seconds to wait."""
        with self._lock:
            return self._try_locked(self._clock())

    def _try_locked(self, now: float) -> float:
        wait, full = 0.0, None
        for span, limit, grants in self._limits:
            while grants and grants[0] <= now - span:
                grants.popleft()
            if len(grants) >= limit and grants[0] + span - now > wait:
                wait, full = grants[0] + span - now, (span, limit)
        if wait > 0:
            if full is not None and wait > NOTICE_AFTER and now >= self._quiet_until and self._on_wait:
                self._quiet_until = now + wait
                per = {1.0: "second", 60.0: "minute", 3600.0: "hour"}[full[0]]
                self._on_wait(
                    f"waiting {wait:.0f} s: the rate limit of {full[1]} requests per {per} is used up "
                    f"(rate_limit_per_{per})"
                )
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

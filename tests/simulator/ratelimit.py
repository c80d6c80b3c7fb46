"""The API's request limit: at most N requests in any 60-second window, else 429 until a slot frees."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """Counts admitted requests over the last ``window`` seconds; the limit may change between calls."""

    def __init__(self, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._admitted: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self, limit: int) -> int:
        """Admit one request (returns 0), or return the whole seconds until one would be admitted (>= 1).

        ``limit <= 0`` means unlimited. Rejected requests do not use up a slot.
        """
        if limit <= 0:
            return 0
        with self._lock:
            now = self._clock()
            while self._admitted and self._admitted[0] <= now - self.window:
                self._admitted.popleft()
            if len(self._admitted) < limit:
                self._admitted.append(now)
                return 0
            frees_at = self._admitted[len(self._admitted) - limit] + self.window
            return max(1, math.ceil(frees_at - now))

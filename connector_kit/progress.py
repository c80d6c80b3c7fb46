"""Progress a person can read: one line per stream at most every `INTERVAL` seconds, instead of a line
per window (or the SDK's METRIC lines, which the console scripts keep quiet by default)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

INTERVAL = 10.0  # seconds between progress lines of one stream


def duration(seconds: float) -> str:
    """``45s``, ``3m05s``, ``2h10m``: short enough for a progress line."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Counts a stream's completed windows and records, and says so every `INTERVAL` seconds:
    windows done/total, records, records/s and, from the pace so far, the time left."""

    def __init__(
        self,
        logger: logging.Logger,
        name: str,
        *,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.name, self.interval, self.clock = logger, name, interval, clock
        self.started = self.last = clock()
        self.windows = self.records = 0

    def window_done(self, records: int, planned: int) -> None:
        """One more window is out (``planned`` windows in all, as known now); log if it is time."""
        self.windows += 1
        self.records += records
        now = self.clock()
        if now - self.last >= self.interval and self.windows < planned:
            self.last = now
            self.logger.info("%s", self.line(planned, now))

    def line(self, planned: int, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        left = elapsed / self.windows * (planned - self.windows) if self.windows else 0.0
        return (
            f"{self.name}: {self.windows}/{planned} windows, {self.records:,} records, "
            f"{self.records / elapsed:,.0f} records/s, about {duration(left)} left"
        )

    def finish(self) -> None:
        """The stream's last line: what it read, and how fast."""
        elapsed = max(self.clock() - self.started, 1e-9)
        self.logger.info(
            "%s: done, %d windows, %s records in %s (%s records/s)",
            self.name,
            self.windows,
            f"{self.records:,}",
            duration(elapsed),
            f"{self.records / elapsed:,.0f}",
        )

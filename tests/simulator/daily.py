"""Day-at-a-time generation and caching shared by the record families other than detections.

Two shapes: :class:`RowStore` keeps compact ``(eventTime ms, uuid, bits)`` rows per day and expands them
into records only when served or filtered (the high-volume activity searches); :class:`DayRecords`
keeps full records per day (the low-volume windowed lists: alerts, OAT, tasks). Both generate a day
on first use and keep a bounded number of days, so a long, dense range costs only what is read.
"""

from __future__ import annotations

import bisect
import random
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from tests.simulator import wire
from tests.simulator.data import DAY_MS, _uuid
from tests.simulator.query import Query

Row = tuple[int, str, int]


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@lru_cache(maxsize=1024)
def rows_of_day(seed: int, label: str, count: int, day: date) -> tuple[Row, ...]:
    """``count`` rows for one UTC day, oldest first (by eventTime, then uuid)."""
    rng = random.Random(f"visionone-{label}:{seed}:{day.isoformat()}")
    day_ms = int(day_start(day).timestamp() * 1000)
    rows = [
        (day_ms + rng.randrange(DAY_MS), _uuid(rng.getrandbits(128)), rng.getrandbits(64))
        for _ in range(count)
    ]
    rows.sort()
    return tuple(rows)


class _QueryCache:
    """Recent answers, so that following ``nextLink`` does not re-filter the range for every page."""

    def __init__(self, size: int = 64) -> None:
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return value


class RowStore:
    """``per_day`` compact rows a day for ``days`` days from ``start_day``; ``expand`` makes a record."""

    def __init__(
        self,
        seed: int,
        label: str,
        per_day: int,
        start_day: date,
        days: int,
        expand: Callable[[int, Row], dict[str, Any]],
    ) -> None:
        self.seed, self.label, self.per_day, self.days = seed, label, per_day, days
        self.start_day = start_day
        self.start_ms = int(day_start(start_day).timestamp() * 1000)
        self.end_ms = self.start_ms + days * DAY_MS
        self._expand = expand
        self._cache = _QueryCache()

    def rows(self, start_ms: int | None = None, end_ms: int | None = None) -> list[Row]:
        """Rows with ``start_ms <= eventTime < end_ms``, newest first."""
        lo = self.start_ms if start_ms is None else max(start_ms, self.start_ms)
        hi = self.end_ms if end_ms is None else min(end_ms, self.end_ms)
        out: list[Row] = []
        if lo >= hi:
            return out
        first, last = (lo - self.start_ms) // DAY_MS, (hi - 1 - self.start_ms) // DAY_MS
        for i in range(last, first - 1, -1):
            rows = rows_of_day(self.seed, self.label, self.per_day, self.start_day + timedelta(days=i))
            a = bisect.bisect_left(rows, (lo,))
            b = bisect.bisect_left(rows, (hi,))
            out.extend(reversed(rows[a:b]))
        return out

    def expand(self, row: Row) -> dict[str, Any]:
        return self._expand(self.seed, row)

    def to_json(self, row: Row) -> str:
        return wire.encode(self.expand(row))

    def matching(
        self, query: Query, start_ms: int | None = None, end_ms: int | None = None
    ) -> tuple[Row, ...]:
        def compute() -> tuple[Row, ...]:
            rows = self.rows(start_ms, end_ms)
            if query.match_all:
                return tuple(rows)
            return tuple(row for row in rows if query.matches(self.expand(row)))

        return self._cache.get(("*" if query.match_all else query.text, start_ms, end_ms), compute)

    def records(self, start_ms: int | None = None, end_ms: int | None = None) -> list[dict[str, Any]]:
        return [self.expand(row) for row in self.rows(start_ms, end_ms)]


class DayRecords:
    """Full records generated per day by ``make(seed, day) -> list``, cached (bounded), plus query caching.

    ``lag`` bounds how far after its day a record's later time fields (updated, ingested, last action)
    may lie, so that a window on those fields knows which days to generate.
    """

    def __init__(
        self,
        seed: int,
        start_day: date,
        days: int,
        make: Callable[[int, date], list[dict[str, Any]]],
        lag: timedelta,
        max_days: int = 400,
    ) -> None:
        self.seed, self.start_day, self.days, self.lag = seed, start_day, days, lag
        self.start = day_start(start_day)
        self.end = self.start + timedelta(days=days)
        self._make = make
        self._days: OrderedDict[date, list[dict[str, Any]]] = OrderedDict()
        self._max_days = max_days
        self._lock = threading.Lock()
        self.queries = _QueryCache()

    def day(self, day: date) -> list[dict[str, Any]]:
        with self._lock:
            if day in self._days:
                self._days.move_to_end(day)
                return self._days[day]
        records = self._make(self.seed, day)
        with self._lock:
            self._days[day] = records
            while len(self._days) > self._max_days:
                self._days.popitem(last=False)
        return records

    def created_between(self, lo: datetime | None, hi: datetime | None) -> list[dict[str, Any]]:
        """Records of the days that overlap ``[lo, hi)`` (whole days; callers filter exactly)."""
        first = self.start if lo is None else max(self.start, lo)
        last = self.end if hi is None else min(self.end, hi)
        out: list[dict[str, Any]] = []
        if first >= last:
            return out
        i, j = (first - self.start).days, (last - self.start - timedelta(microseconds=1)).days
        for n in range(i, j + 1):
            out.extend(self.day(self.start_day + timedelta(days=n)))
        return out

    def all(self) -> list[dict[str, Any]]:
        return self.created_between(None, None)

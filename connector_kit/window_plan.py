"""The window plan: how a sync range is cut into windows, the unit of progress of a windowed stream.

Some APIs answer newest first, so a window is only complete once its last page has arrived; the
bookmark moves to a window's end only after every record of that window (and of all earlier
windows) was emitted.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connector_kit.errors import SettingsError
from connector_kit.times import format_api_time


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time range ``[start, end)`` in UTC, whole seconds."""

    start: datetime
    end: datetime

    @property
    def end_ms(self) -> int:
        """The window's end as epoch milliseconds, the unit of the ``eventTime`` bookmark."""
        return int(self.end.timestamp()) * 1000

    @property
    def start_param(self) -> str:
        return format_api_time(self.start)

    @property
    def end_param(self) -> str:
        return format_api_time(self.end)

    def __str__(self) -> str:
        return f"{self.start_param}..{self.end_param}"


def plan_windows(start: datetime, end: datetime, size: timedelta) -> list[Window]:
    """Cut ``[start, end)`` into windows whose inner edges sit on multiples of ``size``.

    Edges are aligned to the UTC epoch grid (hour or day boundaries for ``1h``/``1d``), so a
    resumed run asks for the same windows as the run it resumes.
    """
    step = int(size.total_seconds())
    if step < 1:
        raise SettingsError("Invalid setting `window_size`: it must be at least one second.")
    start_s, end_s = int(start.timestamp()), int(end.timestamp())
    windows: list[Window] = []
    cursor = start_s
    while cursor < end_s:
        edge = min((cursor // step + 1) * step, end_s)
        windows.append(Window(datetime.fromtimestamp(cursor, tz=UTC), datetime.fromtimestamp(edge, tz=UTC)))
        cursor = edge
    return windows


# A window is planned to hold about this share of a page, so that the usual unevenness of the data
# rarely tips one over into a second page.
PAGE_FILL = 0.9


def equal_slices(start: datetime, end: datetime, parts: int, step: int) -> list[Window]:
    """``[start, end)`` cut into up to ``parts`` slices of about equal length, inner edges on the grid of
    ``step`` seconds (`plan_windows`' grid), fewer if the range spans fewer grid cells."""
    start_s, end_s = int(start.timestamp()), int(end.timestamp())
    if end_s <= start_s:
        return []
    inner = {round((start_s + (end_s - start_s) * k / parts) / step) * step for k in range(1, parts)}
    edges = [start_s, *sorted(e for e in inner if start_s < e < end_s), end_s]
    return [_window(a, b) for a, b in itertools.pairwise(edges)]


def plan_by_count(
    slices: list[Window], counts: list[int], *, page_size: int, workers: int, step: int
) -> list[Window]:
    """Windows of about one page each over ``slices`` (consecutive), which hold ``counts`` records.

    A range that fits in one page is one window. Otherwise each slice is cut into windows of about
    ``PAGE_FILL`` of a page: whole cells of the ``step`` grid when such windows are longer than a cell
    (edges snapped to the grid, so resumed runs and the ``window_size`` grid still line up), else each
    cell of the slice cut into equal parts. A slice counted empty joins its neighbour: it costs no
    request of its own, yet is still fetched. Counts only plan: a window that holds more than a page
    still pages through its records. Edges stay on whole seconds.
    """
    if not slices:
        return []
    start_s, end_s = int(slices[0].start.timestamp()), int(slices[-1].end.timestamp())
    if sum(counts) <= page_size or end_s - start_s < 2:
        return [_window(start_s, end_s)]
    windows: list[Window] = []
    pending = start_s
    for window, records in zip(slices, counts, strict=True):
        lo, hi = int(window.start.timestamp()), int(window.end.timestamp())
        if records <= 0:
            if windows:
                windows[-1] = Window(windows[-1].start, _time(hi))
            continue
        edges = _cut(lo, hi, math.ceil(records / (page_size * PAGE_FILL)), step)
        edges[0] = min(edges[0], pending)
        windows.extend(_window(a, b) for a, b in itertools.pairwise(edges))
        pending = hi
    return windows or [_window(start_s, end_s)]


def _cut(lo: int, hi: int, parts: int, step: int) -> list[int]:
    """Edges cutting ``[lo, hi)`` into at least ``parts`` windows: whole cells of the grid when a window
    spans one or more (on the epoch grid of their size), else every cell split evenly."""
    length = (hi - lo) / max(parts, 1)
    if length >= step:
        if parts <= 1:
            return [lo, hi]
        size = int(length // step) * step  # whole cells, never longer than planned
        first = -(-lo // step) * step  # the first grid edge at or after lo
        return [lo, *(e for e in range(first, hi, size) if e > lo), hi]
    cells = [lo, *range((lo // step + 1) * step, hi, step), hi]
    edges: set[int] = set()
    for a, b in itertools.pairwise(cells):
        pieces = max(1, min(math.ceil((b - a) / length), b - a))
        edges.update(a + (b - a) * k // pieces for k in range(pieces + 1))
    return sorted(edges)


def _time(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=UTC)


def _window(start_s: int, end_s: int) -> Window:
    return Window(_time(start_s), _time(end_s))

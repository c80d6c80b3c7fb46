"""The window plan: how a sync range is cut into windows, the unit of progress of a windowed stream.

Some APIs answer newest first, so a window is only complete once its last page has arrived; the
bookmark moves to a window's end only after every record of that window (and of all earlier
windows) was emitted.
"""

from __future__ import annotations

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

"""Time windows: how a sync range is cut up and fetched concurrently but emitted in order.

The Vision One search endpoints answer newest first, so a window is only complete once its
last page has arrived. Windows are therefore the unit of progress: the bookmark moves to a
window's end only after every record of that window (and of all earlier windows) was emitted.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pendulum

from tap_visionone.errors import SettingsError

T = TypeVar("T")

_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)\s*$", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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


def format_api_time(value: datetime) -> str:
    """Vision One wants ``YYYY-MM-DDThh:mm:ssZ``: UTC, whole seconds, no offset."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_epoch_ms(value: int | float) -> datetime:
    """A bookmark in epoch ms as a UTC datetime, floored to the API's whole seconds."""
    return datetime.fromtimestamp(int(value) // 1000, tz=UTC)


def parse_duration(text: str | int | float, *, setting: str) -> timedelta:
    """Read ``90s``, ``15m``, ``1h``, ``1d``, a number of seconds, or an ISO 8601 duration."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        raw = str(text).strip()
        match = _DURATION.match(raw)
        if match:
            seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0].lower()]
        elif raw.isdigit():
            seconds = int(raw)
        else:
            try:
                parsed = pendulum.parse(raw)
            except (ValueError, pendulum.parsing.exceptions.ParserError):
                parsed = None
            if not isinstance(parsed, pendulum.Duration):
                raise SettingsError(
                    f"Invalid setting `{setting}`: {raw!r} is not a duration (use e.g. 1h, 30m, 1d or PT1H)."
                )
            seconds = parsed.total_seconds()
    return timedelta(seconds=seconds)


def parse_datetime(text: str, *, setting: str) -> datetime:
    """Read a date or an ISO 8601 date-time as a UTC datetime truncated to whole seconds.

    A bare date means midnight UTC. A time without an offset is taken as UTC.
    """
    raw = str(text).strip()
    try:
        parsed = pendulum.parse(raw, tz="UTC", strict=False)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        parsed = None
    if isinstance(parsed, pendulum.Date) and not isinstance(parsed, pendulum.DateTime):
        parsed = pendulum.datetime(parsed.year, parsed.month, parsed.day, tz="UTC")
    if not isinstance(parsed, datetime):
        raise SettingsError(
            f"Invalid setting `{setting}`: {raw!r} is not a date or ISO 8601 date-time "
            "(use e.g. 2024-10-01 or 2024-10-01T00:00:00Z)."
        )
    value = datetime.fromtimestamp(parsed.timestamp(), tz=UTC)
    return value.replace(microsecond=0)


def record_time_ms(value: object, unit: str) -> int | None:
    """A record's time as epoch milliseconds, whatever shape the API gave it; None if unreadable.

    Real answers mix shapes within one stream: ``eventTime`` is epoch ms on most products and ISO text on
    CloudTrail records; audit ``loggedDateTime`` is ``2022-02-24T07:29:48Z`` or ``2022-07-16 04:30:04`` (no
    zone: UTC); Workvivo sends epoch seconds as a number or as digits in a string. ``unit`` is what a
    number means: ``"ms"`` or ``"s"`` since the epoch; with ``"iso"`` only text is a time.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and unit != "iso":
            value = int(text)
        else:
            try:
                parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return round(parsed.timestamp() * 1000)
    if isinstance(value, int | float) and not isinstance(value, bool) and unit != "iso":
        return int(value * 1000 if unit == "s" else value)
    return None


def parse_api_time(text: str) -> datetime:
    """A bookmark saved as an ISO 8601 date-time (``2024-10-01T00:00:00Z``), as a UTC datetime."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SettingsError(
            f"Invalid state: bookmark {text!r} is not an ISO 8601 date-time; fix or clear the state."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


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


def fetch_in_order(
    windows: list[Window],
    fetch: Callable[[Window], T],
    *,
    max_workers: int,
    stop: threading.Event,
    fatal: tuple[type[BaseException], ...] = (),
) -> Iterator[tuple[Window, T]]:
    """Fetch windows on ``max_workers`` threads and yield their results in window order.

    At most ``2 * max_workers`` windows are in flight or waiting, which bounds memory while
    keeping every worker busy. A failed window is raised when the caller reaches it, after every
    window before it was yielded, so the bookmark gets as far as the data allows; then ``stop`` is
    set, so the workers still busy with later windows give up their remaining requests. A
    ``fatal`` failure (a refused key: no window can succeed) sets ``stop`` at once and is what the
    caller gets, at whichever window it is.
    """
    ahead = max(1, 2 * max_workers)
    fatal_failure: list[BaseException] = []

    def guarded(window: Window) -> T:
        try:
            return fetch(window)
        except fatal as exc:
            fatal_failure.append(exc)
            stop.set()
            raise

    pending: deque[tuple[Window, Future[T]]] = deque()
    todo = iter(windows)
    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="window")
    try:
        for window in todo:
            pending.append((window, pool.submit(guarded, window)))
            if len(pending) >= ahead:
                break
        while pending:
            window, future = pending.popleft()
            try:
                result = future.result()  # a failure is raised here, in window order
            except BaseException:
                if fatal_failure:
                    raise fatal_failure[0] from None
                raise
            next_window = next(todo, None)
            if next_window is not None:
                pending.append((next_window, pool.submit(guarded, next_window)))
            yield window, result
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)

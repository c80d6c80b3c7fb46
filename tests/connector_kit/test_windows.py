"""Unit tests of window planning, parsing and the ordered parallel fetch."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from connector_kit.errors import SettingsError
from connector_kit.ordered_fetch import Split, fetch_in_order
from connector_kit.settings import parse_datetime, parse_duration
from connector_kit.times import format_api_time, from_epoch_ms, record_time_ms
from connector_kit.window_plan import Window, equal_slices, plan_by_count, plan_windows


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_windows_cover_range_without_gaps_or_overlap() -> None:
    start, end = utc(2024, 10, 1, 0, 30, 15), utc(2024, 10, 2, 3, 0, 0)
    windows = plan_windows(start, end, timedelta(hours=1))
    assert windows[0].start == start
    assert windows[-1].end == end
    for before, after in itertools.pairwise(windows):
        assert before.end == after.start
    # inner edges sit on the hour grid so a resumed run asks for the same windows
    assert windows[0].end == utc(2024, 10, 1, 1)
    assert all(w.start.minute == 0 and w.start.second == 0 for w in windows[1:])
    assert len(windows) == 27


def test_no_windows_for_empty_range() -> None:
    assert plan_windows(utc(2024, 10, 1), utc(2024, 10, 1), timedelta(hours=1)) == []


def assert_covers(windows: list[Window], start: datetime, end: datetime) -> None:
    assert windows[0].start == start and windows[-1].end == end
    for before, after in itertools.pairwise(windows):
        assert before.end == after.start and before.start < before.end


def test_a_range_within_one_page_is_one_window() -> None:
    start, end = utc(2024, 8, 1), utc(2024, 10, 1)
    slices = equal_slices(start, end, 4, 3600)
    assert len(slices) == 4 and all(w.start.minute == 0 for w in slices)
    assert plan_by_count(slices, [300, 300, 300, 300], page_size=5000, workers=4, step=3600) == [
        Window(start, end)
    ]


def test_a_busy_day_gets_about_one_window_per_page_on_the_grid() -> None:
    start, end = utc(2024, 10, 1), utc(2024, 10, 2)
    slices = equal_slices(start, end, 4, 3600)
    windows = plan_by_count(slices, [24000] * 4, page_size=5000, workers=4, step=3600)
    assert_covers(windows, start, end)
    assert len(windows) == 24 and all(w.end - w.start == timedelta(hours=1) for w in windows)


def test_cells_holding_more_than_a_page_are_split_keeping_their_edges() -> None:
    start, end = utc(2024, 10, 1), utc(2024, 10, 3)
    slices = equal_slices(start, end, 2, 6 * 3600)
    windows = plan_by_count(slices, [400, 400], page_size=50, workers=2, step=6 * 3600)
    assert_covers(windows, start, end)
    starts = {w.start for w in windows}
    assert {start + timedelta(hours=6 * k) for k in range(8)} <= starts  # every 6h cell edge stays an edge
    assert all(w.end - w.start <= timedelta(hours=6) for w in windows)


def test_slices_counted_empty_join_a_neighbour() -> None:
    start, end = utc(2024, 10, 1), utc(2024, 10, 2)
    slices = equal_slices(start, end, 4, 3600)
    windows = plan_by_count(slices, [0, 9000, 0, 0], page_size=5000, workers=4, step=3600)
    assert_covers(windows, start, end)
    assert len(windows) == 2  # 9,000 records: 2 windows of 0.9 page each; the empty slices cost none


def test_window_params_are_whole_second_utc() -> None:
    window = Window(utc(2024, 10, 1), utc(2024, 10, 1, 1))
    assert window.start_param == "2024-10-01T00:00:00Z"
    assert window.end_param == "2024-10-01T01:00:00Z"
    assert window.end_ms == 1727744400000
    assert from_epoch_ms(window.end_ms + 999) == window.end


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h", 3600),
        ("15m", 900),
        ("1d", 86400),
        ("90s", 90),
        ("PT2H", 7200),
        ("P1D", 86400),
        (30, 30),
        ("45", 45),
    ],
)
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert parse_duration(text, setting="window_size").total_seconds() == seconds


def test_parse_duration_rejects_nonsense_naming_the_setting() -> None:
    with pytest.raises(SettingsError, match="`window_size`"):
        parse_duration("fortnight", setting="window_size")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-10-01", utc(2024, 10, 1)),
        ("2024-10-01T05:06:07Z", utc(2024, 10, 1, 5, 6, 7)),
        ("2024-10-01T05:06:07.999Z", utc(2024, 10, 1, 5, 6, 7)),
        ("2024-10-01T07:06:07+02:00", utc(2024, 10, 1, 5, 6, 7)),
    ],
)
def test_parse_datetime(text: str, expected: datetime) -> None:
    assert parse_datetime(text, setting="start_date") == expected
    assert format_api_time(expected).endswith("Z")


@pytest.mark.parametrize("text", ["2024-13-01", "yesterday-ish", "2024-02-30"])
def test_parse_datetime_rejects_bad_dates(text: str) -> None:
    with pytest.raises(SettingsError, match="`start_date`"):
        parse_datetime(text, setting="start_date")


def test_fetch_in_order_yields_in_window_order_despite_completion_order() -> None:
    windows = plan_windows(utc(2024, 10, 1), utc(2024, 10, 1, 8), timedelta(hours=1))
    delays = [0.08, 0.0, 0.05, 0.0, 0.03, 0.0, 0.01, 0.0]
    finished: list[int] = []
    lock = threading.Lock()

    def fetch(window: Window) -> int:
        index = windows.index(window)
        time.sleep(delays[index])
        with lock:
            finished.append(index)
        return index

    got = [result for _, result in fetch_in_order(windows, fetch, max_workers=4, stop=threading.Event())]
    assert got == list(range(8))
    assert finished != sorted(finished)  # workers really finished out of order


def test_a_split_window_is_replaced_in_place_by_its_parts() -> None:
    """A fetch that answers `Split` is followed by its parts, in order, before every later window; a part
    may split again; each window is fetched once and at most ``2 * max_workers`` are started ahead."""
    windows = plan_windows(utc(2024, 10, 1), utc(2024, 10, 1, 6), timedelta(hours=1))
    fetched: list[Window] = []
    running = 0
    most_running = 0
    lock = threading.Lock()

    def fetch(window: Window) -> Window | Split:
        nonlocal running, most_running
        with lock:
            fetched.append(window)
            running += 1
            most_running = max(most_running, running)
        time.sleep(0.002)
        with lock:
            running -= 1
        length = window.end - window.start
        if window.start.hour in (1, 4) and length > timedelta(minutes=15):
            return Split(plan_windows(window.start, window.end, length / 2))  # halves split again
        return window

    told: list[tuple[Window, int]] = []
    done = fetch_in_order(
        windows,
        fetch,
        max_workers=2,
        stop=threading.Event(),
        on_split=lambda w, parts: told.append((w, len(parts))),
    )
    got = [result for _, result in done]
    assert got == sorted(got, key=lambda w: w.start)
    assert all(a.end == b.start for a, b in itertools.pairwise(got))
    assert (got[0].start, got[-1].end) == (windows[0].start, windows[-1].end)
    assert len(got) == 6 - 2 + 4 + 4  # 1:00 and 4:00 -> four quarters each
    assert len(fetched) == len(set(fetched)) == len(got) + len(told)
    assert [n for _, n in told].count(2) == len(told) == 6  # each hour, then each of its halves
    assert most_running <= 2


def test_fetch_in_order_raises_first_failure_and_stops_workers() -> None:
    windows = plan_windows(utc(2024, 10, 1), utc(2024, 10, 2), timedelta(hours=1))
    stop = threading.Event()
    started: list[int] = []

    def fetch(window: Window) -> int:
        index = windows.index(window)
        started.append(index)
        if index == 2:
            raise RuntimeError("window 2 broke")
        return index

    got: list[int] = []
    with pytest.raises(RuntimeError, match="window 2 broke"):
        for _, result in fetch_in_order(windows, fetch, max_workers=2, stop=stop):
            got.append(result)
    assert got == [0, 1]
    assert stop.is_set()
    assert len(started) < len(windows)  # bounded look-ahead: not every window was started


def test_a_later_failure_lets_earlier_windows_finish() -> None:
    """Window 1 fails while window 0 is still paging: window 0 is yielded, then window 1's failure."""
    windows = plan_windows(utc(2024, 10, 1), utc(2024, 10, 1, 4), timedelta(hours=1))
    stop = threading.Event()
    one_failed = threading.Event()

    def fetch(window: Window) -> int:
        index = windows.index(window)
        if index == 1:
            one_failed.set()
            raise PermissionError("window 1: HTTP 403")
        if index == 0:
            assert one_failed.wait(5)
            assert not stop.is_set()  # nobody stopped it: its records still count
        return index

    got: list[int] = []
    with pytest.raises(PermissionError, match="403"):
        for _, result in fetch_in_order(windows, fetch, max_workers=2, stop=stop):
            got.append(result)
    assert got == [0]
    assert stop.is_set()  # the workers still busy with later windows are told to give up


def test_fetch_in_order_names_the_earliest_window_that_failed_by_itself() -> None:
    """Windows 0 and 1 both fail, 1 first: the caller hears about window 0, where the bookmark stays."""
    windows = plan_windows(utc(2024, 10, 1), utc(2024, 10, 1, 4), timedelta(hours=1))
    stop = threading.Event()
    one_failed = threading.Event()

    def fetch(window: Window) -> int:
        index = windows.index(window)
        if index == 1:
            one_failed.set()
            raise ValueError("window 1: HTTP 400")
        if index == 0:
            assert one_failed.wait(5)
            raise ValueError("window 0: HTTP 400")
        return index

    with pytest.raises(ValueError, match="window 0"):
        list(fetch_in_order(windows, fetch, max_workers=2, stop=stop))


def test_a_fatal_failure_stops_every_window_at_once() -> None:
    """A refused key (fatal) in window 1 stops window 0 mid-way: the caller hears the fatal failure."""
    windows = plan_windows(utc(2024, 10, 1), utc(2024, 10, 1, 4), timedelta(hours=1))
    stop = threading.Event()

    def fetch(window: Window) -> int:
        index = windows.index(window)
        if index == 1:
            raise PermissionError("HTTP 401")
        if index == 0:
            assert stop.wait(5)  # stopped at once, not after finishing
            raise InterruptedError("stopped")
        return index

    with pytest.raises(PermissionError, match="401"):
        list(fetch_in_order(windows, fetch, max_workers=2, stop=stop, fatal=(PermissionError,)))


# Every shape a record's time takes in real answers, and what it means.
_MS = 1657145286000  # 2022-07-06T22:08:06Z


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (_MS, "ms", _MS),  # search eventTime, most products
        (float(_MS), "ms", _MS),
        ("2022-07-06T22:08:06Z", "ms", _MS),  # CloudTrail eventTime
        ("2022-07-06T22:08:06.250Z", "ms", _MS + 250),
        ("2022-07-06T22:08:06+0000", "ms", _MS),  # detections' rt style
        ("2022-07-06T22:08:06Z", "iso", _MS),  # audit loggedDateTime
        ("2022-07-06 22:08:06", "iso", _MS),  # audit loggedDateTime without a zone: UTC
        ("2022-07-07T00:08:06+02:00", "iso", _MS),
        (_MS // 1000, "s", _MS),  # Workvivo created_at_timestamp
        (str(_MS // 1000), "s", _MS),  # ... as digits in a string
        (str(_MS), "ms", _MS),
    ],
)
def test_record_time_reads_every_real_shape(value: object, unit: str, expected: int) -> None:
    assert record_time_ms(value, unit) == expected


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        ({"$date": _MS}, "ms"),
        (True, "ms"),
        ("yesterday", "ms"),
        ("2022-13-01T00:00:00Z", "iso"),
        (_MS, "iso"),
        ([_MS], "ms"),
        ("", "s"),
    ],
)
def test_record_time_refuses_what_is_no_time(value: object, unit: str) -> None:
    assert record_time_ms(value, unit) is None


def test_audit_times_in_both_forms_sort_by_instant() -> None:
    times = ["2022-07-16 04:30:04", "2022-07-16T04:30:03Z", "2022-07-16T04:30:05Z", "2022-07-16 04:30:02"]
    ordered = sorted(times, key=lambda text: record_time_ms(text, "iso") or 0)
    assert ordered == [
        "2022-07-16 04:30:02",
        "2022-07-16T04:30:03Z",
        "2022-07-16 04:30:04",
        "2022-07-16T04:30:05Z",
    ]

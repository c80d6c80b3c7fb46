"""Faults: under every fault the simulator can play, a sync completes or stops cleanly, and loses nothing.

Each case runs the real console script against the simulator with one fault playing:

- *transient* faults (a burst of 503s, a 429 storm with ``Retry-After``, connection resets, stalls past
  ``request_timeout``, truncated or cut JSON) must be retried: the run exits 0 with exactly the
  simulator's records and the bookmark at the end of the range;
- *persistent* faults (the same, on every attempt for one window, plus a looping ``nextLink``, a record
  without its primary key and a record with a wrong-typed replication key) must stop the run with one
  ``<tap>: error:`` line naming the window and the cause, no traceback, and a bookmark that never passed
  the failed window. The records emitted are exactly those before the window (plus, at most, part of the
  failed window, which the bookmark does not cover). A rerun without the fault then completes from that
  bookmark, and the union of both runs is the simulator's records;
- 30% random 5xx/stalls: every run either completes or stops cleanly as above; runs are resumed from the
  last state until one completes, and the union is the simulator's records.

No case waits for more than the proof needs: the taps retry after ``retry_wait`` = 1 ms instead of
backing off from 0.5 s, fault 429s name ``Retry-After: 0``, and a stall outlasts a ``request_timeout`` of
0.5 s. The one case about the wait itself (``429-storm-retry-after``) keeps Vision One's 1-second
``Retry-After`` and measures the gaps between the requests the simulator received.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.simulator import Simulator
from tests.tap_runner import ALL, TapRun, run_tap

KEY = "fault-key-5e1d"
START, END = "2024-10-01T00:00:00Z", "2024-10-03T00:00:00Z"
WINDOW = timedelta(hours=6)
FAILED_WINDOW = "2024-10-01T18:00:00Z"  # the fourth of eight windows
WV_ORG, WV_TOKEN = "org-faults", "wv-fault-token-91c2"
# backoff from 1 ms: retries cost no time unless Retry-After says so
FAST_RETRIES = {"retry_wait": 0.001, "max_tries": 5}
STALL = 2.0  # seconds a stalled answer is held back; far beyond request_timeout (0.5 s)


def to_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def v1_config(sim: Simulator, **overrides: object) -> dict:
    return {
        "api_key": KEY,
        "api_url": sim.base_url,
        "start_date": START,
        "end_date": END,
        "window_size": "6h",
        "page_size": 50,
        "max_workers": 2,
        "rate_limit_per_minute": 0,
        "request_timeout": 0.5,
        **FAST_RETRIES,
        **overrides,
    }


def error_lines(run: TapRun, tool: str) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith(f"{tool}: error:")]


def bookmark_ms(state: dict | None) -> int | None:
    if not state:
        return None
    return state.get("bookmarks", {}).get("detections", {}).get("replication_key_value")


@dataclass
class Fault:
    id: str
    arm: Callable[[Simulator], None]  # plays the fault
    transient: bool  # True: the run must complete; False: stop at FAILED_WINDOW
    names: tuple[str, ...] = ()  # fragments the error line must hold (persistent faults)
    config: dict | None = None
    min_faults: int = 1  # requests the simulator must have answered with the fault
    retry_after: float = 0  # the Retry-After of the simulator's fault 429s


def _storm(sim: Simulator) -> None:
    sim.fail_next(4, 429)


def _looping(sim: Simulator) -> None:
    sim.fail_windows(FAILED_WINDOW, "loop")
    # counts a quarter of the truth: the tap plans windows of about one page from the counts, so a window
    # then spans several pages, and its nextLink is followed (into the loop)
    sim.config.count_factor = 0.25


FAULTS = [
    # -- transient: retried, the run completes ------------------------------------------------------
    Fault("503-burst", lambda s: s.fail_next(4, 503), True, min_faults=4),
    Fault("429-storm-retry-after", _storm, True, config={"max_workers": 1}, min_faults=4, retry_after=1),
    Fault("connection-resets", lambda s: s.fail_next(3, "reset"), True, min_faults=3),
    Fault("stalls-past-timeout", lambda s: s.fail_next(2, "timeout"), True, min_faults=2),
    Fault("truncated-json", lambda s: s.fail_next(3, "truncated"), True, min_faults=3),
    Fault("body-cut-mid-transfer", lambda s: s.fail_next(3, "cut"), True, min_faults=3),
    # -- persistent: one window fails on every attempt, the run stops at it --------------------------
    Fault(
        "503-every-attempt",
        lambda s: s.fail_windows(FAILED_WINDOW, 503),
        False,
        ("HTTP 503 Service Unavailable", "5 attempts"),
    ),
    Fault("429-every-attempt", lambda s: s.fail_windows(FAILED_WINDOW, 429), False, ("429", "5 attempts")),
    Fault(
        "reset-every-attempt",
        lambda s: s.fail_windows(FAILED_WINDOW, "reset"),
        False,
        ("connection", "5 attempts"),
    ),
    Fault(
        "stall-every-attempt",
        lambda s: s.fail_windows(FAILED_WINDOW, "timeout"),
        False,
        ("request_timeout=0.5 s", "5 attempts"),
    ),
    Fault(
        "truncated-every-attempt",
        lambda s: s.fail_windows(FAILED_WINDOW, "truncated"),
        False,
        ("not JSON", "5 attempts"),
    ),
    Fault("looping-nextlink", _looping, False, ("nextLink loops",)),
    Fault(
        "record-without-primary-key",
        lambda s: s.fail_windows(FAILED_WINDOW, "no-key"),
        False,
        ("has no `uuid`", "primary key"),
    ),
    Fault(
        "record-with-wrong-type",
        lambda s: s.fail_windows(FAILED_WINDOW, "bad-record"),
        False,
        ("field eventTime", "is not a date-time"),
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.id for fault in FAULTS])
def test_fault_completes_or_stops_cleanly(fault: Fault, tmp_path: Path, figures) -> None:
    options = {"api_key": KEY, "fault_stall_seconds": STALL}
    with Simulator(seed=21, scale=400, start="2024-10-01", days=2, **options) as sim:
        sim.config.fault_retry_after = fault.retry_after
        expected = {row["uuid"]: row["eventTime"] for row in sim.expected("detections", START, END)}
        config = v1_config(sim, **(fault.config or {}))
        fault.arm(sim)
        run = run_tap(tmp_path, config)
        played = sum(1 for request in sim.requests if request["fault"] is not None)
        assert played >= fault.min_faults, f"the simulator played {played} faults"
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
        assert KEY not in run.stderr + run.stdout
        ids = run.ids()
        figure = {"faults_played": played, "requests": len(sim.requests), "records": len(expected)}

        if fault.transient:
            assert run.returncode == 0, run.stderr[-3000:]
            assert Counter(ids) == Counter(set(expected)), "records missing or duplicated after retries"
            assert bookmark_ms(run.last_state) == to_ms(END)
            if fault.id.startswith("429"):
                # every retry after a 429 waited at least its Retry-After (1 s), not the 1 ms backoff:
                # the gaps between the requests as the simulator received them
                requests = sim.requests
                after_429 = [
                    later["time"] - request["time"]
                    for request, later in itertools.pairwise(requests)
                    if request["status"] == 429
                ]
                assert len(after_429) == 4 and min(after_429) >= 0.95, after_429
                assert run.stderr.count("as the API asked (Retry-After)") == 4, run.stderr[-3000:]
                figure["min_wait_after_429_s"] = round(min(after_429), 2)
            figures.record("faults", outcome="completed", emitted=len(ids), missing=0, **figure)
            return

        # persistent: one line naming the window and the cause; the bookmark never passes the window
        assert run.returncode == 1, run.stderr[-3000:]
        lines = error_lines(run, "tap-visionone")
        assert len(lines) == 1, run.stderr[-3000:]
        for fragment in (FAILED_WINDOW, *fault.names):
            assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
        failed_ms = to_ms(FAILED_WINDOW)
        bookmarks = [bookmark_ms(state) for state in run.states if bookmark_ms(state) is not None]
        assert bookmarks and max(bookmarks) == failed_ms, bookmarks
        before = {uuid for uuid, at in expected.items() if at < failed_ms}
        in_window = {
            uuid
            for uuid, at in expected.items()
            if failed_ms <= at < failed_ms + WINDOW // timedelta(milliseconds=1)
        }
        assert before <= set(ids), "a record before the failed window is missing"
        assert set(ids) <= before | in_window, "a record after the failed window was emitted"

        sim.clear_faults()
        rerun = run_tap(tmp_path, config, state=run.last_state)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert set(ids) | set(rerun.ids()) == set(expected)
        assert not set(rerun.ids()) & before, "the rerun read again a window the bookmark covered"
        assert bookmark_ms(rerun.last_state) == to_ms(END)
        figures.record(
            "faults",
            outcome="stopped, then resumed",
            error_line=lines[0],
            emitted_before_stop=len(ids),
            emitted_on_resume=len(rerun.ids()),
            missing=0,
            **figure,
        )


def test_30_percent_random_faults_complete_or_stop_and_resume(tmp_path: Path, figures) -> None:
    """30% of requests answer 500, 503 or stall: each run completes or stops cleanly; nothing is lost."""
    faulty = {"fault_rate": 0.3, "fault_stall_seconds": STALL}
    with Simulator(seed=22, scale=600, start="2024-10-01", days=2, api_key=KEY, **faulty) as sim:
        expected = {row["uuid"] for row in sim.expected("detections", START, END)}
        config = v1_config(sim, window_size="3h")
        state: dict | None = None
        seen: Counter[str] = Counter()
        runs = stopped = 0
        while runs < 6:
            runs += 1
            run = run_tap(tmp_path, config, state=state)
            assert "Traceback" not in run.stderr, run.stderr[-3000:]
            start = bookmark_ms(state) or to_ms(START)
            end = bookmark_ms(run.last_state) or start
            assert end >= start, "the bookmark went backwards"
            seen.update(run.ids())
            if run.returncode == 0:
                assert end == to_ms(END)
                break
            stopped += 1
            lines = error_lines(run, "tap-visionone")
            assert len(lines) == 1 and "5 attempts" in lines[0], run.stderr[-3000:]
            state = run.last_state or state
        assert run.returncode == 0, f"still failing after {runs} runs"
        assert set(seen) == expected
        faults = Counter(str(r["fault"]) for r in sim.requests if r["fault"] is not None)
        share = sum(faults.values()) / len(sim.requests)
        assert 0.15 < share < 0.45, share
        figures.record(
            "faults",
            outcome="completed" if stopped == 0 else f"completed after {stopped} clean stop(s)",
            runs=runs,
            requests=len(sim.requests),
            faults_played=dict(faults),
            fault_share=round(share, 3),
            records=len(expected),
            duplicates=sum(seen.values()) - len(seen),
            missing=0,
        )


def test_20_percent_random_faults_over_61_days_complete_in_one_run(tmp_path: Path, figures) -> None:
    """With the default retry policy (retry for up to `retry_for`, no count limit), 20% of requests
    answering 500, 503 or stalling cost retries, not the run: it completes in one go with every record."""
    faulty = {"fault_rate": 0.2, "fault_stall_seconds": STALL}
    start, end = "2024-08-01T00:00:00Z", "2024-10-01T00:00:00Z"
    with Simulator(seed=23, scale=100, start="2024-08-01", days=61, api_key=KEY, **faulty) as sim:
        expected = {row["uuid"] for row in sim.expected("detections", start, end)}
        # pages of 50: the windows follow the data (about a page each), so ~130 requests for the faults to hit
        config = v1_config(sim, start_date=start, end_date=end, max_tries=0, page_size=50)
        run = run_tap(tmp_path, config)
        assert run.returncode == 0, run.stderr[-3000:]
        assert set(run.ids()) == expected and len(run.ids()) == len(expected)
        assert bookmark_ms(run.last_state) == to_ms(end)
        faults = Counter(str(r["fault"]) for r in sim.requests if r["fault"] is not None)
        assert sum(faults.values()) > 20, faults  # the faults were played, and retried past
        figures.record(
            "faults",
            outcome="completed in one run",
            days=61,
            requests=len(sim.requests),
            faults_played=dict(faults),
            records=len(expected),
        )


def workvivo_config(sim: Simulator, **overrides: object) -> dict:
    return {
        "workvivo_id": WV_ORG,
        "api_token": WV_TOKEN,
        "api_url": sim.base_url,
        "start_date": "2024-10-01",
        "end_date": "2024-10-01",
        "window_size": "1h",
        "max_workers": 2,
        "rate_limit_per_minute": 0,
        "request_timeout": 0.5,
        **FAST_RETRIES,
        **overrides,
    }


def wv_bookmark(state: dict | None) -> int | None:
    if not state:
        return None
    return state.get("bookmarks", {}).get("siem_events", {}).get("replication_key_value")


@pytest.mark.parametrize("kind", ["transient", "persistent"])
def test_workvivo_faults(kind: str, tmp_path: Path, figures) -> None:
    """tap-workvivo: a storm of 429/503/resets is retried; a window failing every attempt stops the run."""
    with Simulator(
        seed=23, scale=300, start="2024-10-01", days=1, workvivo_id=WV_ORG, workvivo_token=WV_TOKEN
    ) as sim:
        sim.config.fault_retry_after = 0
        start, end = datetime(2024, 10, 1, tzinfo=UTC), datetime(2024, 10, 2, tzinfo=UTC)
        # created_at_timestamp comes as a number or as digits in a string, as the API sends it
        expected = {e["id"]: int(e["created_at_timestamp"]) for e in sim.workvivo_events(start, end)}
        failed = int(datetime(2024, 10, 1, 9, tzinfo=UTC).timestamp())
        if kind == "transient":
            sim.fail_next(2, 429)
            sim.fail_next(2, 503)
            sim.fail_next(2, "reset")
        else:
            sim.fail_windows(failed, 503)
        config = workvivo_config(sim)
        run = run_tap(tmp_path, config, executable="tap-workvivo", streams=ALL)
        ids = [message["record"]["id"] for message in run.records]
        assert "Traceback" not in run.stderr and WV_TOKEN not in run.stderr + run.stdout
        played = sum(1 for request in sim.requests if request["fault"] is not None)
        if kind == "transient":
            assert run.returncode == 0, run.stderr[-3000:]
            assert Counter(ids) == Counter(set(expected))
            assert wv_bookmark(run.last_state) == int(end.timestamp())
            figures.record(
                "faults", tool="tap-workvivo", outcome="completed", faults_played=played, missing=0
            )
            return
        assert run.returncode == 1
        lines = error_lines(run, "tap-workvivo")
        assert len(lines) == 1 and "503" in lines[0], run.stderr[-3000:]
        assert max(b for b in map(wv_bookmark, run.states) if b is not None) == failed
        assert {i for i, at in expected.items() if at < failed} <= set(ids)
        assert all(at < failed + 3600 for i, at in expected.items() if i in set(ids))
        sim.clear_faults()
        rerun = run_tap(tmp_path, config, state=run.last_state, executable="tap-workvivo", streams=ALL)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert set(ids) | {m["record"]["id"] for m in rerun.records} == set(expected)
        figures.record(
            "faults",
            tool="tap-workvivo",
            outcome="stopped, then resumed",
            error_line=lines[0],
            faults_played=played,
            missing=0,
        )

"""Windows that follow the data for the streams the API cannot count (OAT, workbench alerts, audit logs,
response tasks): the range is asked for as one window, and a window whose first page is full and whose
records show several pages' worth is split among the workers; its requests approach its pages."""

from __future__ import annotations

import math
from pathlib import Path

from tests.simulator import Simulator
from tests.tap_runner import run_tap

OAT = "/v3.0/oat/detections"
OAT_PAGE = 200  # the largest `top` the OAT list takes


def config(sim: Simulator, start: str, end: str, **extra: object) -> dict:
    return {
        "api_key": "split-key",
        "api_url": sim.base_url,
        "start_date": start,
        "end_date": end,
        "rate_limit_per_minute": 0,
        **extra,
    }


def oat_requests(sim: Simulator) -> list[dict]:
    return [r for r in sim.requests if r["path"] == OAT]


def assert_each_record_once(run, sim: Simulator, stream: str, key: str, start: str, end: str) -> list[str]:
    assert run.returncode == 0, run.stderr[-3000:]
    ids = run.ids(stream, key)
    assert len(ids) == len(set(ids)), "a record was emitted twice"
    assert set(ids) == {r[key] for r in sim.expected(stream, start, end)}
    return ids


def test_a_sparse_range_costs_one_request(tmp_path: Path) -> None:
    """61 days holding less than a page of OATs: one request (1,464 with hourly windows)."""
    start, end = "2024-10-01T00:00:00Z", "2024-12-01T00:00:00Z"
    with Simulator(seed=3, scale=8, start="2024-10-01", days=61, api_key="split-key") as sim:
        run = run_tap(tmp_path, config(sim, start, end), streams=["oat_detections"])
        assert_each_record_once(run, sim, "oat_detections", "uuid", start, end)
        held = sim.expected_count("oat_detections", start, end)
        assert 0 < held < OAT_PAGE
        assert len(oat_requests(sim)) == 1
    assert run.last_state is not None


def test_a_busy_range_is_split_among_the_workers(tmp_path: Path) -> None:
    """Two days of about 8,000 OATs (40 pages, newest first): the first page is spent on learning where the
    records lie; then about a page per window, fetched in parallel and emitted in order."""
    start, end = "2024-10-01T00:00:00Z", "2024-10-03T00:00:00Z"
    with Simulator(seed=5, scale=16000, start="2024-10-01", days=2, api_key="split-key") as sim:
        run = run_tap(tmp_path, config(sim, start, end, max_workers=4), streams=["oat_detections"])
        assert_each_record_once(run, sim, "oat_detections", "uuid", start, end)
        pages = math.ceil(sim.expected_count("oat_detections", start, end) / OAT_PAGE)
        sent = oat_requests(sim)
    assert pages >= 30
    # The first page + about a page per window (9 of 10 of a page planned: ingestion is uneven, so a few
    # windows need a second page).
    assert pages <= len(sent) <= 1.35 * pages + 1, (len(sent), pages)
    firsts = {(r["query"]["ingestedStartDateTime"], r["query"]["ingestedEndDateTime"]) for r in sent}
    assert len(firsts) > 4 * 4  # many windows, not one window paged through 40 times
    bookmark = run.last_state["bookmarks"]["oat_detections"]["replication_key_value"]
    assert bookmark == end
    times = [m["record"]["ingestedDateTime"] for m in run.records if m["stream"] == "oat_detections"]
    assert times == sorted(times)  # emitted in time order although fetched in parallel


def test_a_killed_split_run_resumes_at_the_first_unfinished_part(tmp_path: Path) -> None:
    """The parts of a split window are windows: each moves the bookmark, so a run that stops in the
    middle keeps what the completed parts wrote, and the next run fetches only the rest."""
    start, end = "2024-10-01T00:00:00Z", "2024-10-03T00:00:00Z"
    with Simulator(seed=5, scale=16000, start="2024-10-01", days=2, api_key="split-key") as sim:
        first = run_tap(tmp_path, config(sim, start, end, max_workers=2), streams=["oat_detections"])
        assert first.returncode == 0, first.stderr[-3000:]
        bookmarks = [
            s["bookmarks"]["oat_detections"]["replication_key_value"]
            for s in first.states
            if "oat_detections" in s.get("bookmarks", {})
        ]
        middle = bookmarks[len(bookmarks) // 2]
        assert start < middle < end
        sim.clear_requests()
        state = {
            "bookmarks": {
                "oat_detections": {"replication_key": "ingestedDateTime", "replication_key_value": middle}
            }
        }
        rest = run_tap(tmp_path, config(sim, start, end), streams=["oat_detections"], state=state)
        assert_each_record_once(rest, sim, "oat_detections", "uuid", middle, end)
        asked = {r["query"]["ingestedStartDateTime"] for r in oat_requests(sim)}
    assert min(asked) == middle

"""Windows that follow the data: a search stream counts its range (``mode=countOnly``) and fetches about
one page per window, so its requests approach the pages the range holds, whatever ``window_size`` says."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from tests.simulator import Simulator
from tests.tap_runner import run_tap

PAGE = 5000


def config(sim: Simulator, start: str, end: str, **extra: object) -> dict:
    return {
        "api_key": "plan-key",
        "api_url": sim.base_url,
        "start_date": start,
        "end_date": end,
        "rate_limit_per_minute": 0,
        **extra,
    }


def search_requests(sim: Simulator) -> Counter:
    """The detections requests the simulator saw, by mode (``countOnly`` or ``default``)."""
    return Counter(
        r["query"].get("mode", "default") for r in sim.requests if r["path"] == "/v3.0/search/detections"
    )


def assert_emitted_once(run, sim: Simulator, start: str, end: str) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    ids = run.ids()
    assert len(ids) == len(set(ids)), "a record was emitted twice"
    assert set(ids) == sim.detection_ids(start, end)


def test_a_sparse_range_costs_a_count_and_one_page(tmp_path: Path) -> None:
    """61 days holding about 1,200 detections: a handful of requests, not one per hour (1,464 before)."""
    start, end = "2024-10-01T00:00:00Z", "2024-12-01T00:00:00Z"
    with Simulator(seed=3, scale=20, start="2024-10-01", days=61, api_key="plan-key") as sim:
        held = sim.count_detections(start, end)
        assert 1100 <= held <= 1300
        run = run_tap(tmp_path, config(sim, start, end))
        assert_emitted_once(run, sim, start, end)
        seen = search_requests(sim)
    assert sum(seen.values()) <= 10, seen
    assert seen["countOnly"] <= 4  # max_workers slices, counted at once
    assert run.last_state is not None


def test_a_busy_day_costs_about_its_pages(tmp_path: Path) -> None:
    """One day of 96,000 detections (20 pages of 5,000): at most 1.2 x 20 + max_workers = 28 requests."""
    start, end = "2024-10-01T00:00:00Z", "2024-10-02T00:00:00Z"
    with Simulator(seed=3, scale=96000, start="2024-10-01", days=1, api_key="plan-key") as sim:
        held = sim.count_detections(start, end)
        run = run_tap(tmp_path, config(sim, start, end, max_workers=4))
        assert_emitted_once(run, sim, start, end)
        seen = search_requests(sim)
    pages = math.ceil(held / PAGE)
    assert sum(seen.values()) <= 1.2 * pages + 4, seen
    assert seen["default"] >= pages


def test_window_size_no_longer_sets_the_request_count(tmp_path: Path) -> None:
    """Minute windows would be 2,880 requests over two days; the plan does not follow them."""
    start, end = "2024-10-01T00:00:00Z", "2024-10-03T00:00:00Z"
    with Simulator(seed=4, scale=300, start="2024-10-01", days=2, api_key="plan-key") as sim:
        run = run_tap(tmp_path, config(sim, start, end, window_size="1m", page_size=100))
        assert_emitted_once(run, sim, start, end)
        seen = search_requests(sim)
    pages = math.ceil(600 / 100)
    assert sum(seen.values()) <= 1.2 * pages + 4 + 1, seen


def test_counts_are_a_plan_the_fetch_is_the_truth(tmp_path: Path) -> None:
    """An API that counts a quarter of its records: windows then span several pages, followed through
    ``nextLink``, and every record still comes out exactly once."""
    start, end = "2024-10-01T00:00:00Z", "2024-10-03T00:00:00Z"
    with Simulator(seed=6, scale=400, start="2024-10-01", days=2, api_key="plan-key") as sim:
        sim.config.count_factor = 0.25
        run = run_tap(tmp_path, config(sim, start, end, page_size=50, window_size="1h"))
        assert_emitted_once(run, sim, start, end)
        paged = [r for r in sim.requests if "skipToken" in r["query"]]
    assert paged, "no window spanned more than one page"

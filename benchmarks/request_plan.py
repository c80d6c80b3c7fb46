"""How many requests does a range cost, against the pages it holds? One table, every windowed family.

Each case starts the simulator with data of a known shape (sparse over 61 days, or busy), runs the tap
in-process with default settings (window_size 1h, max_workers 4, the largest page) and no rate limit,
and counts the requests the simulator received for that stream: planning counts, first pages spent on
splitting and every page included. Pages are the records divided by the page size (per hour for
Workvivo, whose windows are at most an hour). Before windows followed the data, every case cost one
request per hour at least: 1,464 for 61 days, 24 for a day.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tap_visionone.tap import TapVisionOne
from tap_workvivo.tap import TapWorkvivo
from tests.simulator import Simulator

ORG, TOKEN = "bench-org", "bench-token"


@dataclass(frozen=True)
class Case:
    label: str
    stream: str
    path: str
    page: int
    scale: int
    days: int


CASES = (
    Case("detections, 61 days, sparse", "detections", "/v3.0/search/detections", 5000, 20, 61),
    Case("detections, 1 day of 96,000", "detections", "/v3.0/search/detections", 5000, 96000, 1),
    Case("OAT detections, 61 days, sparse", "oat_detections", "/v3.0/oat/detections", 200, 8, 61),
    Case("OAT detections, 2 days of 8,000", "oat_detections", "/v3.0/oat/detections", 200, 16000, 2),
    Case("Workvivo events, 1 day of 10,000", "siem_events", "/v1/siem/", 250, 40000, 1),
)


class Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def run_case(case: Case) -> tuple[int, int, float]:
    """(requests, pages, seconds) for one case."""
    start = "2024-10-01T00:00:00Z"
    end = (datetime(2024, 10, 1, tzinfo=UTC) + timedelta(days=case.days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with Simulator(
        seed=7,
        scale=case.scale,
        start="2024-10-01",
        days=case.days,
        api_key="bench-key",
        workvivo_id=ORG,
        workvivo_token=TOKEN,
    ) as sim:
        if case.stream == "siem_events":
            events = sim.workvivo_events(start, end)
            per_hour = Counter(int(e["created_at_timestamp"]) // 3600 for e in events)
            pages = sum(math.ceil(n / case.page) for n in per_hour.values())
            tap = TapWorkvivo(
                config={
                    "api_url": sim.base_url,
                    "workvivo_id": ORG,
                    "api_token": TOKEN,
                    "start_date": start,
                    "end_date": end,
                    "rate_limit_per_minute": 0,
                }
            )
        else:
            pages = max(1, math.ceil(sim.expected_count(case.stream, start, end) / case.page))
            tap = TapVisionOne(
                config={
                    "api_key": "bench-key",
                    "api_url": sim.base_url,
                    "start_date": start,
                    "end_date": end,
                    "rate_limit_per_minute": 0,
                }
            )
        for name, stream in tap.streams.items():
            stream.selected = name == case.stream
        sim.clear_requests()
        began = time.perf_counter()
        with redirect_stdout(Discard()), redirect_stderr(io.StringIO()):
            tap.sync_all()
        seconds = time.perf_counter() - began
        sent = sum(1 for r in sim.requests if r["path"].startswith(case.path))
    return sent, pages, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 96,000-detection day")
    args = parser.parse_args()
    print("requests against pages (default settings, no rate limit):")
    print(f"  {'case':<36} {'pages':>6} {'requests':>9} {'ratio':>6} {'hourly windows':>15}")
    for case in CASES:
        if args.quick and case.scale == 96000:
            continue
        sent, pages, seconds = run_case(case)
        hourly = 24 * case.days
        print(f"  {case.label:<36} {pages:>6} {sent:>9} {sent / pages:>6.2f} {hourly:>15}  ({seconds:.1f} s)")


if __name__ == "__main__":
    main()

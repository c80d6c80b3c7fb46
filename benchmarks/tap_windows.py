"""How much do parallel windows buy? Sequential (max_workers 1) against max_workers N, same run.

The simulator adds --latency-ms to every answer, as a distant API does; the tap's sync is timed
in-process (no interpreter start-up in the figure), with Singer output sent to a counting sink.
Prints seconds, records/s, the requests each run sent against the pages the range holds (detections
searches counted at the simulator, planning counts included), and the speed-up of N workers over one.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tap_visionone.tap import TapVisionOne
from tests.simulator import Simulator


class CountingSink(io.TextIOBase):
    """Counts RECORD lines without keeping them."""

    def __init__(self) -> None:
        self.records = 0

    def write(self, text: str) -> int:
        self.records += text.count('"type":"RECORD"') + text.count('"type": "RECORD"')
        return len(text)


def timed_sync(base_url: str, workers: int, args: argparse.Namespace) -> tuple[float, int]:
    config = {
        "api_key": "bench-key",
        "api_url": base_url,
        "start_date": args.start,
        "end_date": args.end,
        "window_size": args.window_size,
        "page_size": args.page_size,
        "max_workers": workers,
        "rate_limit_per_minute": 0,
    }
    tap = TapVisionOne(config=config)
    for name, stream in tap.streams.items():  # only detections: the other streams would blur the ratio
        stream.selected = name == "detections"
    sink = CountingSink()
    began = time.perf_counter()
    with redirect_stdout(sink), redirect_stderr(io.StringIO()):
        tap.sync_all()
    return time.perf_counter() - began, sink.records


def searches(sim: Simulator) -> int:
    """The detections requests the simulator received (pages and planning counts)."""
    return sum(1 for r in sim.requests if r["path"] == "/v3.0/search/detections")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--scale", type=int, default=2400, help="detections per day")
    parser.add_argument("--start", default="2024-10-01")
    parser.add_argument("--end", default="2024-10-02")
    parser.add_argument("--window-size", default="1h")
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()
    with Simulator(
        seed=11, scale=args.scale, start="2024-10-01", days=2, api_key="bench-key", latency_ms=args.latency_ms
    ) as sim:
        expected = sim.count_detections(f"{args.start}T00:00:00Z", f"{args.end}T00:00:00Z")
        seq_s, seq_n = timed_sync(sim.base_url, 1, args)
        seq_requests = searches(sim)
        sim.clear_requests()
        par_s, par_n = timed_sync(sim.base_url, args.workers, args)
        par_requests = searches(sim)
    if not seq_n == par_n == expected:
        sys.exit(f"record counts differ: sequential {seq_n}, parallel {par_n}, simulator {expected}")
    print(
        f"tap windows benchmark: {expected} records, latency {args.latency_ms} ms per request, "
        f"window {args.window_size}, page {args.page_size}"
    )
    pages = math.ceil(expected / args.page_size)
    for label, seconds, records, sent in (
        ("1", seq_s, seq_n, seq_requests),
        (str(args.workers), par_s, par_n, par_requests),
    ):
        print(
            f"  max_workers {label:<10} {seconds:7.2f} s  {records / seconds:9.0f} records/s  {sent} requests"
        )
    print(
        f"  requests against pages: {pages} pages; {seq_requests / pages:.2f} (1 worker), "
        f"{par_requests / pages:.2f} ({args.workers} workers) requests per page"
    )
    print(f"  speed-up: {seq_s / par_s:.2f}x with {args.workers} workers")


if __name__ == "__main__":
    main()

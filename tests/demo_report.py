"""Prints what `make demo` produced: one CSV per selected stream, each row count against the simulator's.

Rows are counted with the csv module (cells may hold newlines, so lines are not rows). The expected
counts come from the simulator's own data for the same seed and range (no server needed). Exits 1
when any count differs, or when a selected stream wrote no file.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from tests.simulator import Simulator


def count_rows(path: Path) -> tuple[list[str], list[list[str]], int]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        first: list[list[str]] = []
        count = 0
        for row in reader:
            if len(first) < 3:
                first.append(row)
            count += 1
    return header, first, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True, type=Path, help="the target's output folder")
    parser.add_argument("--streams", required=True, help="comma-separated selected streams")
    parser.add_argument("--from", dest="start", required=True, help="the tap's start_date")
    parser.add_argument("--to", dest="end", required=True, help="the tap's end_date (exclusive)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=2000)
    parser.add_argument("--start", dest="data_start", default="2024-10-01")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--show", default="detections", help="stream whose first rows are printed")
    parser.add_argument("--columns", type=int, default=8, help="columns to show")
    args = parser.parse_args()
    sim = Simulator(seed=args.seed, scale=args.scale, start=args.data_start, days=args.days)
    failed = []
    print(f"\n== CSV files in {args.dir.resolve()}")
    print(f"   {'stream':<22}{'rows':>9}{'simulator':>11}{'columns':>9}")
    for stream in [s.strip() for s in args.streams.split(",") if s.strip()]:
        expected = sim.expected_count(stream, args.start, args.end)
        path = args.dir / f"{stream}.csv"
        if not path.exists():
            print(f"   {stream:<22}{'missing':>9}{expected:>11}")
            failed.append(stream)
            continue
        header, first, count = count_rows(path)
        print(f"   {stream:<22}{count:>9}{expected:>11}{len(header):>9}{'' if count == expected else '  <-'}")
        if count != expected:
            failed.append(stream)
        if stream == args.show:
            shown = (header, first)
    if "shown" in locals():
        header, first = shown
        print(f"\n== {args.show}.csv, first {len(first)} rows, first {args.columns} columns:")
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header[: args.columns])
        for row in first:
            writer.writerow([cell.replace("\n", "\\n")[:40] for cell in row[: args.columns]])
    if failed:
        print(f"demo: FAILED, these files differ from the simulator: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("== OK: every record of every selected stream is in its CSV, once.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Prints what `make demo` produced: the CSV's path, its row count against the simulator's, first rows.

Rows are counted with the csv module (cells may hold newlines, so lines are not rows). Exits 1
when the count differs from the simulator's own count for the same range.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", required=True, type=Path)
    parser.add_argument("--expected", required=True, type=int, help="the simulator's count for the range")
    parser.add_argument("--rows", type=int, default=3, help="rows to show")
    parser.add_argument("--columns", type=int, default=8, help="columns to show")
    args = parser.parse_args()
    if not args.csv.exists():
        print(f"demo: {args.csv} was not written", file=sys.stderr)
        return 1
    with args.csv.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        shown: list[list[str]] = []
        count = 0
        for row in reader:
            if len(shown) < args.rows:
                shown.append(row)
            count += 1
    print(f"\n== CSV file:   {args.csv.resolve()}")
    print(f"== columns:    {len(header)}")
    print(f"== rows:       {count}  (simulator holds {args.expected} for the range)")
    print(f"== first {len(shown)} rows, first {args.columns} columns:")
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header[: args.columns])
    for row in shown:
        writer.writerow([cell.replace("\n", "\\n")[:40] for cell in row[: args.columns]])
    if count != args.expected:
        print(
            f"demo: FAILED, the CSV has {count} rows but the simulator holds {args.expected}", file=sys.stderr
        )
        return 1
    print("== OK: every detection in the range is in the CSV, once.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

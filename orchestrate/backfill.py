"""Partition keys of a date range, for a backfill from the command line.

``python -m orchestrate.backfill --from 2024-10-01 --to 2024-10-31 [--tenant acme ...]`` prints the
keys of ``visionone_sync`` (``<day>|<tenant>``) for every day of the range (both ends included) and
every tenant of the tenants file (or the ``--tenant`` ones), comma-separated, as Dagster's own backfill
command takes them::

    dagster job backfill -m orchestrate.definitions -j visionone_sync_job --noprompt \\
      --partitions "$(python -m orchestrate.backfill --from 2024-10-01 --to 2024-10-31 --tenant acme)"

The backfill is then Dagster's: queued, limited per tenant and partition (`orchestrate.instance`),
shown under Backfills in the UI, each partition retried and resumed at its bookmark on failure.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, timedelta

from orchestrate.tenants import TenantsError, load_tenants


def partition_keys(tenants: list[str], first: date, last: date) -> list[str]:
    """``<day>|<tenant>`` for every day from ``first`` to ``last`` (included) and every tenant."""
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [f"{day.isoformat()}|{tenant}" for day in days for tenant in tenants]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrate.backfill", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--from", dest="first", type=_day, required=True, help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="last", type=_day, required=True, help="last day, included")
    parser.add_argument(
        "--tenant", action="append", default=[], help="a tenant's name (repeatable; default: every tenant)"
    )
    parser.add_argument(
        "--tenants-file",
        default=os.environ.get("VISIONONE_TENANTS_FILE", "tenants.yml"),
        help="the tenants file (default: $VISIONONE_TENANTS_FILE, else tenants.yml)",
    )
    args = parser.parse_args(argv)
    try:
        known = [t.name for t in load_tenants(args.tenants_file)]
    except (TenantsError, OSError) as error:
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    unknown = sorted(set(args.tenant) - set(known))
    if unknown:
        parser.exit(1, f"{parser.prog}: error: not in {args.tenants_file}: {', '.join(unknown)}\n")
    try:
        keys = partition_keys(args.tenant or known, args.first, args.last)
    except ValueError as error:
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    print(",".join(keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())

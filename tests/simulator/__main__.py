"""Command line: serve the simulator until SIGINT/SIGTERM, or print how many records a range holds.

python -m tests.simulator --port 8777 --seed 1 --scale 2000 --start 2024-10-01 --days 14 --api-key sim-key
python -m tests.simulator count --seed 1 --scale 2000 --start 2024-10-01 --days 14 [--from ISO --to ISO]
python -m tests.simulator count --stream oat_detections --from ISO --to ISO   (any stream of PATHS)
python -m tests.simulator count --stream siem_events --from ISO --to ISO      (Workvivo SIEM events)
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from tests.simulator.query import QueryError
from tests.simulator.routes import TEMPLATES
from tests.simulator.server import API_PATHS, Simulator
from tests.simulator.workvivo import STREAM as WORKVIVO_STREAM
from tests.simulator.world import PATHS


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated data (default 1)")
    parser.add_argument("--scale", type=int, default=2000, help="detections per day (default 2000)")
    parser.add_argument("--start", default="2024-10-01", help="first day, YYYY-MM-DD (default 2024-10-01)")
    parser.add_argument("--days", type=int, default=14, help="number of days with data (default 14)")
    parser.add_argument(
        "--now", default=None, help="the simulator's clock, ISO 8601 (default: midnight after the last day)"
    )
    parser.add_argument(
        "--workvivo-per-day",
        type=int,
        default=None,
        help="Workvivo SIEM events per day (default max(24, scale // 4))",
    )


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.simulator",
        description="Serve a fake Trend Vision One v3.0 API and, under /v1/siem/, the Workvivo SIEM API "
        "(subcommand `count`: print a record count).",
    )
    _data_args(parser)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8777, help="0 picks a free port")
    parser.add_argument("--api-key", default="sim-key", help="the only accepted bearer key")
    parser.add_argument("--workvivo-id", default="sim-org", help="the only accepted Workvivo-Id header")
    parser.add_argument(
        "--workvivo-token", default="sim-workvivo-token", help="the only accepted Workvivo bearer token"
    )
    parser.add_argument("--latency-ms", type=float, default=0, help="delay before every answer")
    parser.add_argument("--rate-limit-per-minute", type=int, default=0, help="429 above this (0 = no limit)")
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of requests failing (500/503/stall)"
    )
    parser.add_argument("--fault-stall-seconds", type=float, default=5.0, help="length of a stall fault")
    parser.add_argument(
        "--forbid",
        action="append",
        default=[],
        metavar="PATH",
        choices=(*API_PATHS, *TEMPLATES),
        help="answer 403 AccessDenied on this API path or route template (repeatable)",
    )
    parser.add_argument(
        "--task-polls-to-finish",
        type=int,
        default=2,
        help="GETs of a new response task before its final status (queued, running...; default 2)",
    )
    parser.add_argument(
        "--task-final-status",
        default="succeeded",
        choices=("succeeded", "failed", "rejected", "canceled", "pendingApproval"),
        help="the final status of new response tasks (default succeeded)",
    )
    parser.add_argument(
        "--sandbox-polls-to-finish", type=int, default=2, help="GETs a sandbox submission stays running"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def _count_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.simulator count",
        description="Print the number of records of a stream whose window field lies in [from, to) "
        "(full-table streams: all records); for detections, those matching the query.",
    )
    _data_args(parser)
    parser.add_argument(
        "--stream",
        default="detections",
        choices=(*PATHS, WORKVIVO_STREAM),
        help=f"a tap stream name, or {WORKVIVO_STREAM} for Workvivo (default detections)",
    )
    parser.add_argument("--from", dest="start_time", default=None, help="ISO 8601 (default: first day)")
    parser.add_argument(
        "--to", dest="end_time", default=None, help="ISO 8601, exclusive (default: end of data)"
    )
    parser.add_argument("--query", default="*", help="a TMV1-Query expression, detections only (default *)")
    return parser


def count(argv: Sequence[str]) -> int:
    args = _count_parser().parse_args(argv)
    try:
        sim = Simulator(
            seed=args.seed,
            scale=args.scale,
            start=args.start,
            days=args.days,
            now=args.now,
            workvivo_per_day=args.workvivo_per_day,
        )
        if args.stream == "detections":
            print(sim.count_detections(args.start_time, args.end_time, args.query))
        elif args.query != "*":
            raise ValueError("--query applies to the detections stream only")
        else:
            print(sim.expected_count(args.stream, args.start_time, args.end_time))
    except (QueryError, ValueError) as exc:
        print(f"simulator count: error: {exc}", file=sys.stderr)
        return 2
    return 0


def serve(argv: Sequence[str]) -> int:
    args = _serve_parser().parse_args(argv)
    sim = Simulator(
        seed=args.seed,
        scale=args.scale,
        start=args.start,
        days=args.days,
        api_key=args.api_key,
        latency_ms=args.latency_ms,
        rate_limit_per_minute=args.rate_limit_per_minute,
        fault_rate=args.fault_rate,
        fault_stall_seconds=args.fault_stall_seconds,
        host=args.host,
        port=args.port,
        verbose=args.verbose,
        now=args.now,
        workvivo_id=args.workvivo_id,
        workvivo_token=args.workvivo_token,
        workvivo_per_day=args.workvivo_per_day,
    )
    sim.forbid(*args.forbid)
    sim.config.task_polls_to_finish = args.task_polls_to_finish
    sim.config.task_final_status = args.task_final_status
    sim.config.sandbox_polls_to_finish = args.sandbox_polls_to_finish
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        sim.start()
    except OSError as exc:
        print(f"simulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"simulator listening on {sim.base_url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["count"]:
        return count(argv[1:])
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())

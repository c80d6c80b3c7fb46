"""How close is tap-visionone to the floor? One day of detections replayed from memory, no rate limit.

A replay server (its own process, `http.server` on 127.0.0.1) answers ``GET /v3.0/search/detections``
from memory: ``--records`` detections of one day (the simulator's generator, cached as JSON lines in
benchmarks/.work/replay/; delete it to regenerate), each record encoded once at start-up, pages of up
to ``top`` records newest first with a ``nextLink`` while more follow, and ``mode=countOnly`` as
``{"totalCount": N}`` (the tap counts its range to plan windows). The 20 page-sized pages of the day
are built at start-up; a page of another range is joined from the encoded records once and kept (the
time that took is printed: it is the server's, not the tap's).

Measured in one run, best of ``--repeat``:

- the floor: what any tap must at least do with the same answers, in a process of its own: the tap's
  own request sequence replayed on 4 threads with requests, each body ``json.loads``-ed and one
  ``json.dumps`` Singer RECORD line per record written to a buffered file;
- tap-visionone alone: the real console script (detections only, page_size 5000, max_workers 4, no
  rate limit) with stdout to a file, its RECORD lines counted; start-up included;
- the pipeline: ``tap-visionone | target-csv-flat`` (the target's defaults) into a temporary folder,
  its CSV rows counted;
- the floor pipeline: the floor writing to a pipe into ``sdk_floor_target.py`` (a Singer SDK target
  that reads every message and discards every record): what a plain tap and a Singer SDK target
  spend on the same answers before any CSV work, on this machine at this moment. Its rate says how
  fast the machine is in that run (on a shared 2-core machine it moves by a quarter from hour to
  hour); the pipeline's time is printed against it.

Prints seconds, records/s, CPU seconds, tap/floor (wall and CPU: on a shared machine the CPU ratio is
the steadier one), the tap's peak RSS over all runs, and the requests the tap sent against the pages
the data holds. A benchmark, not a test: nothing is asserted about time; the exit code is non-zero
only when a run does not put out exactly the records the server holds.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.pipeline import BIN, running_pipeline, started, wait_child

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(__file__).resolve().parent / ".work" / "replay"
PATH = "/v3.0/search/detections"
DAY = date(2024, 10, 1)
API_KEY = "replay-key"
STREAM = "detections"
WORKERS = 4
PAGE = 5000
csv.field_size_limit(sys.maxsize)


# -- the data --------------------------------------------------------------------------------------


def records_file(records: int, seed: int) -> Path:
    """One day of ``records`` detections as compact JSON lines, oldest first, generated once."""
    path = WORK / f"detections-{records}-seed{seed}.jsonl"
    if not path.exists():
        from tests.simulator.data import Dataset

        WORK.mkdir(parents=True, exist_ok=True)
        rows = Dataset(seed, records, DAY, 1).records()  # newest first
        rows.reverse()
        partial = path.with_suffix(".partial")
        with partial.open("wb") as out:
            for row in rows:
                out.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
        partial.replace(path)
    return path


# -- the replay server (its own process) -----------------------------------------------------------


def parse_time_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class Pages:
    """Every record encoded once; a page is the records' bytes joined, kept once built."""

    def __init__(self, path: Path) -> None:
        self.lines = path.read_bytes().split(b"\n")
        if self.lines and not self.lines[-1]:
            self.lines.pop()
        self.times = [
            json.loads(line[: line.index(b',"eventTimeDT"')] + b"}")["eventTime"] for line in self.lines
        ]
        assert self.times == sorted(self.times), "records must be oldest first"
        self.cache: dict[tuple, bytes] = {}
        self.lock = threading.Lock()
        self.built_s = 0.0
        self.built = 0
        self.log: list[str] = []

    def span(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        """Indexes ``[lo, hi)`` of the records with ``start_ms <= eventTime < end_ms``."""
        return bisect.bisect_left(self.times, start_ms), bisect.bisect_left(self.times, end_ms)

    def page(self, base: str, query: dict[str, str]) -> bytes:
        start, end = query["startDateTime"], query["endDateTime"]
        lo, hi = self.span(parse_time_ms(start), parse_time_ms(end))
        if query.get("mode") == "countOnly":
            return json.dumps({"totalCount": hi - lo}).encode()
        top = int(query.get("top") or 50)
        skip = int(query.get("skipToken") or 0)
        key = (lo, hi, top, skip)
        with self.lock:
            body = self.cache.get(key)
        if body is not None:
            return body
        began = time.perf_counter()
        last = hi - skip  # newest first: the page holds records [first, last) in reverse order
        first = max(lo, last - top)
        items = b",".join(reversed(self.lines[first:last]))
        body = b'{"items":[' + items + b"]"
        if first > lo:
            link = urlencode(
                {"startDateTime": start, "endDateTime": end, "top": top, "skipToken": skip + top}
            )
            body += b',"nextLink":"' + f"{base}{PATH}?{link}".encode() + b'"'
        body += b"}"
        with self.lock:
            self.cache[key] = body
            self.built += 1
            self.built_s += time.perf_counter() - began
        return body

    def prebuild(self, base: str, start: str, end: str, top: int) -> int:
        """The page-sized pages of the whole day (what the floor's second form and a 1-window tap read)."""
        count, skip = 0, 0
        lo, hi = self.span(parse_time_ms(start), parse_time_ms(end))
        while skip < max(hi - lo, 1):
            self.page(
                base, {"startDateTime": start, "endDateTime": end, "top": str(top), "skipToken": str(skip)}
            )
            skip += top
            count += 1
        self.built_s = 0.0
        self.built = 0
        return count


def serve(records_path: Path, ready: Path) -> None:
    """Run the replay server until killed; writes its base URL to ``ready`` once listening."""
    pages = Pages(records_path)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/_stats":
                with pages.lock:
                    body = json.dumps(
                        {"log": pages.log, "built": pages.built, "built_s": pages.built_s}
                    ).encode()
                    pages.log = []
                    pages.built, pages.built_s = 0, 0.0
                return self.answer(200, body)
            if parts.path != PATH:
                return self.answer(404, b'{"error":{"code":"NotFound","message":"no such path"}}')
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            with pages.lock:
                pages.log.append(self.path)
            try:
                body = pages.page(base, query)
            except (KeyError, ValueError) as exc:
                return self.answer(
                    400, json.dumps({"error": {"code": "BadRequest", "message": str(exc)}}).encode()
                )
            self.answer(200, body)

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    start, end = day_range()
    pages.prebuild(base, start, end, PAGE)
    ready.write_text(base)
    server.serve_forever()


def day_range() -> tuple[str, str]:
    return f"{DAY.isoformat()}T00:00:00Z", f"{(DAY + timedelta(days=1)).isoformat()}T00:00:00Z"


def start_server(records_path: Path) -> tuple[subprocess.Popen, str]:
    ready = WORK / "server.url"
    ready.unlink(missing_ok=True)
    log = (WORK / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(records_path), "--ready", str(ready)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def address() -> str | None:
        return ready.read_text() if ready.exists() else None

    return proc, started(proc, address, "the replay server", WORK / "server.log", seconds=120)


def server_stats(base: str) -> dict:
    """The requests the server answered since the last call, and the pages it had to build for them."""
    import requests

    return requests.get(f"{base}/_stats", timeout=30).json()


# -- the floor -------------------------------------------------------------------------------------


FLOOR_SCHEMA = {
    "type": "SCHEMA",
    "stream": STREAM,
    "schema": {"type": "object", "properties": {"uuid": {"type": "string"}}},
    "key_properties": ["uuid"],
}


def floor_run(base: str, paths: list[str], out_path: Path | None) -> tuple[float, float, int]:
    """``paths`` fetched on 4 threads with requests, each body json.loads-ed, one json.dumps RECORD line
    per record written (buffered, one write per page; after a SCHEMA line, so that a target can read
    it), in the tap's request order, to ``out_path`` or standard output: seconds, CPU seconds (this
    process), records."""
    import requests

    local = threading.local()
    lock = threading.Lock()
    count = 0

    opened = (
        out_path.open("w", encoding="utf-8", buffering=1 << 20)
        if out_path is not None
        else open(sys.stdout.fileno(), "w", encoding="utf-8", buffering=1 << 20, closefd=False)  # noqa: SIM115
    )
    with opened as out:
        out.write(json.dumps(FLOOR_SCHEMA) + "\n")

        def fetch(path: str) -> None:
            nonlocal count
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
            response = session.get(base + path, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=120)
            response.raise_for_status()
            items = json.loads(response.content).get("items") or []
            text = "".join(
                json.dumps({"type": "RECORD", "stream": STREAM, "record": item}) + "\n" for item in items
            )
            with lock:
                out.write(text)
                count += len(items)

        began, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(fetch, paths))
        out.flush()
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    return elapsed, cpu, count


def floor_process(base: str, paths: list[str], out_path: Path) -> tuple[float, float, int]:
    """`floor_run` in a process of its own, like the tap: this one stays small, so that the tap's peak
    RSS (``ru_maxrss`` of a child spawned from here) is the tap's own."""
    listed = WORK / "floor-paths.json"
    listed.write_text(json.dumps(paths))
    command = [sys.executable, __file__, "--floor", base, str(listed), str(out_path)]
    seconds, cpu, records = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    return seconds, cpu, records


def floor_pipeline_run(base: str, paths: list[str]) -> tuple[float, int]:
    """The floor piped into the SDK floor target (`sdk_floor_target.py`: a Singer SDK target that reads
    every message and discards every record): the least any tap | SDK target pipeline does with the
    same answers. Seconds, and the records the target says it read."""
    listed = WORK / "floor-paths.json"
    listed.write_text(json.dumps(paths))
    config = WORK / "floor-target.json"
    config.write_text("{}")
    floor_target = Path(__file__).resolve().parent / "sdk_floor_target.py"
    with (WORK / "floor-pipeline.log").open("wb") as log:
        began = time.perf_counter()
        floor = subprocess.Popen(
            [sys.executable, __file__, "--floor", base, str(listed), "-"], stdout=subprocess.PIPE, stderr=log
        )
        target = subprocess.run(
            [sys.executable, str(floor_target), "--config", str(config)],
            stdin=floor.stdout,
            capture_output=True,
            check=False,
        )
        assert floor.stdout is not None
        floor.stdout.close()
        floor.wait()
        elapsed = time.perf_counter() - began
    read = re.search(rb"\b(\d+) records\b", target.stderr)
    if floor.returncode or target.returncode or read is None:
        sys.exit(f"the floor pipeline failed:\n{target.stderr.decode(errors='replace')[-2000:]}")
    return elapsed, int(read.group(1))


# -- the tap and the pipeline ----------------------------------------------------------------------


def write_inputs(base: str) -> tuple[Path, Path]:
    from tests.tap_runner import discovered_catalog, select_streams

    start, end = day_range()
    config, catalog = WORK / "tap.json", WORK / "catalog.json"
    catalog.write_text(json.dumps(select_streams(discovered_catalog(), [STREAM])))
    config.write_text(
        json.dumps(
            {
                "api_key": API_KEY,
                "api_url": base,
                "start_date": start,
                "end_date": end,
                "page_size": PAGE,
                "max_workers": WORKERS,
                "rate_limit_per_second": 0,
                "rate_limit_per_minute": 0,
                "rate_limit_per_hour": 0,
            }
        )
    )
    return config, catalog


def count_records(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.startswith(b'{"type":"RECORD"'))


def tap_run(config: Path, catalog: Path, out_path: Path) -> tuple[float, float, float, int]:
    """The console script, stdout to a file: seconds, CPU seconds, peak RSS (MB), RECORD lines."""
    command = [str(BIN / "tap-visionone"), "--config", str(config), "--catalog", str(catalog)]
    with out_path.open("wb") as out, (WORK / "tap.log").open("wb") as log:
        began = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=log)
        cpu, peak_kib = wait_child(proc)
        rss = peak_kib * 1024 / 1e6
        elapsed = time.perf_counter() - began
    if proc.returncode != 0:
        tail = (WORK / "tap.log").read_text(errors="replace").strip().splitlines()[-5:]
        sys.exit(f"tap-visionone exited with {proc.returncode}:\n  " + "\n  ".join(tail))
    return elapsed, cpu, rss, count_records(out_path)


def count_csv(folder: Path) -> int:
    rows = 0
    for path in sorted(folder.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader, None)
            rows += sum(1 for _ in reader)
    return rows


def pipeline_run(config: Path, catalog: Path) -> tuple[float, dict[str, float], int]:
    """``tap-visionone | target-csv-flat`` into a temporary folder: seconds, CPU seconds each, CSV rows."""
    with tempfile.TemporaryDirectory(prefix="replay-csv-", dir=WORK) as folder:
        target_config = Path(folder) / "target.json"
        out_dir = Path(folder) / "out"
        target_config.write_text(json.dumps({"output_path": str(out_dir)}))
        tap_log, target_log = WORK / "pipeline-tap.log", WORK / "pipeline-target.log"
        began = time.perf_counter()
        with running_pipeline(
            ["--config", str(config), "--catalog", str(catalog)],
            target_config,
            tap_log=tap_log,
            target_log=target_log,
            state_out=Path(folder) / "state.jsonl",
        ) as (tap, target):
            tap_cpu = wait_child(tap).cpu_s
            target_cpu = wait_child(target).cpu_s
            elapsed = time.perf_counter() - began
        for name, proc, log in (
            ("tap-visionone", tap, tap_log),
            ("target-csv-flat", target, target_log),
        ):
            if proc.returncode != 0:
                tail = Path(log).read_text(errors="replace").strip().splitlines()[-5:]
                sys.exit(f"{name} in the pipeline exited with {proc.returncode}:\n  " + "\n  ".join(tail))
        rows = count_csv(out_dir)
    return elapsed, {"tap": tap_cpu, "target": target_cpu}, rows


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=96_000, help="detections in the day (default 96,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the best is kept")
    parser.add_argument("--skip-pipeline", action="store_true", help="measure the floor and the tap only")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ready", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs=3, metavar=("BASE", "PATHS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.ready)
        return
    if args.floor:  # OUT "-": records to standard output (a pipe), the figures to standard error
        base, paths, out = args.floor
        figures = floor_run(base, json.loads(Path(paths).read_text()), None if out == "-" else Path(out))
        print(json.dumps(figures), file=sys.stderr if out == "-" else sys.stdout)
        return

    records_path = records_file(args.records, args.seed)
    expected = args.records
    pages_in_data = math.ceil(expected / PAGE)
    server, base = start_server(records_path)
    try:
        server_stats(base)  # reset
        config, catalog = write_inputs(base)
        tap_out, floor_out = WORK / "tap.out", WORK / "floor.out"
        tap_best: tuple[float, float, float, int] | None = None
        floor_best: tuple[float, float, int] | None = None
        pipe_best: tuple[float, dict[str, float], int] | None = None
        floor_pipe_best: tuple[float, int] | None = None
        requests_sent: list[str] = []
        peak_rss = 0.0  # the largest of every run, not only the fastest one's
        built: list[tuple[int, float]] = []
        for _ in range(max(1, args.repeat)):
            run = tap_run(config, catalog, tap_out)
            stats = server_stats(base)
            requests_sent = stats["log"]
            built.append((stats["built"], stats["built_s"]))
            peak_rss = max(peak_rss, run[2])
            if tap_best is None or run[0] < tap_best[0]:
                tap_best = run
            floor = floor_process(base, requests_sent, floor_out)
            server_stats(base)
            if floor_best is None or floor[0] < floor_best[0]:
                floor_best = floor
            if not args.skip_pipeline:
                pipe = pipeline_run(config, catalog)
                server_stats(base)
                if pipe_best is None or pipe[0] < pipe_best[0]:
                    pipe_best = pipe
                floor_pipe = floor_pipeline_run(base, requests_sent)
                server_stats(base)
                if floor_pipe_best is None or floor_pipe[0] < floor_pipe_best[0]:
                    floor_pipe_best = floor_pipe
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert tap_best is not None and floor_best is not None
    tap_s, tap_cpu, _, tap_records = tap_best
    tap_rss = peak_rss
    floor_s, floor_cpu, floor_records = floor_best
    counts = sum(1 for path in requests_sent if "mode=countOnly" in path)
    figures: dict = {
        "records": expected,
        "cpus": os.cpu_count(),
        "repeat": args.repeat,
        "floor": {
            "seconds": round(floor_s, 2),
            "cpu_s": round(floor_cpu, 2),
            "records": floor_records,
            "records_per_s": round(floor_records / floor_s),
        },
        "tap": {
            "seconds": round(tap_s, 2),
            "cpu_s": round(tap_cpu, 2),
            "peak_rss_mb": round(tap_rss, 1),
            "records": tap_records,
            "records_per_s": round(tap_records / tap_s),
            "ratio_to_floor": round(tap_s / floor_s, 2),
            "cpu_ratio_to_floor": round(tap_cpu / floor_cpu, 2),
            "requests": len(requests_sent),
            "count_requests": counts,
            "pages_in_data": pages_in_data,
        },
        "server_pages_built_during_tap_runs": [{"pages": n, "seconds": round(s, 3)} for n, s in built],
        "load_average": round(os.getloadavg()[0], 1),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    print(
        f"tap replay: {expected:,} detections of one day, pages of {PAGE}, max_workers {WORKERS}, "
        f"no rate limit, {os.cpu_count()} CPUs, best of {args.repeat}; load average at the end "
        f"{os.getloadavg()[0]:.1f}, PYTHONUNBUFFERED={os.environ.get('PYTHONUNBUFFERED', '')!r}\n"
    )
    print(
        f"  floor (4 threads, json.loads + json.dumps)  {floor_s:7.2f} s  "
        f"{floor_records / floor_s:9,.0f} records/s  (CPU {floor_cpu:.1f} s)"
    )
    print(
        f"  tap-visionone alone                         {tap_s:7.2f} s  "
        f"{tap_records / tap_s:9,.0f} records/s  (CPU {tap_cpu:.1f} s, peak RSS {tap_rss:.0f} MB)"
    )
    print(
        f"  tap / floor                                 {tap_s / floor_s:7.2f}x  "
        f"(CPU {tap_cpu / floor_cpu:.2f}x; target: <= 1.3x and >= 20,000 records/s)"
    )
    print(
        f"  requests                                    {len(requests_sent)} ({counts} countOnly) "
        f"for {pages_in_data} pages of data ({len(requests_sent) / pages_in_data:.2f} per page)"
    )
    print(
        "  pages the server joined during tap runs     "
        + ", ".join(f"{n} in {s * 1000:.0f} ms" for n, s in built)
        + " (then kept)"
    )
    failed = []
    if tap_records != expected:
        failed.append(f"the tap wrote {tap_records} RECORDs, not {expected}")
    if floor_records != expected:
        failed.append(f"the floor read {floor_records} records, not {expected}")
    if pipe_best is not None:
        pipe_s, pipe_cpu, rows = pipe_best
        figures["pipeline"] = {
            "seconds": round(pipe_s, 2),
            "csv_rows": rows,
            "records_per_s": round(rows / pipe_s),
            "cpu_s": {k: round(v, 2) for k, v in pipe_cpu.items()},
        }
        print(
            f"  tap-visionone | target-csv-flat             {pipe_s:7.2f} s  {rows / pipe_s:9,.0f} records/s"
            f"  (CPU tap {pipe_cpu['tap']:.1f} s, target {pipe_cpu['target']:.1f} s; "
            "target: >= 15,000 records/s)"
        )
        if rows != expected:
            failed.append(f"the CSV holds {rows} rows, not {expected}")
    if floor_pipe_best is not None and pipe_best is not None:
        floor_pipe_s, floor_pipe_records = floor_pipe_best
        figures["floor_pipeline"] = {
            "seconds": round(floor_pipe_s, 2),
            "records": floor_pipe_records,
            "records_per_s": round(floor_pipe_records / floor_pipe_s),
        }
        print(
            f"  floor | SDK floor target                    {floor_pipe_s:7.2f} s  "
            f"{floor_pipe_records / floor_pipe_s:9,.0f} records/s  (the least a tap | SDK target does)"
        )
        print(
            f"  pipeline / that floor                       {pipe_best[0] / floor_pipe_s:7.2f}x  "
            "(time; the CSV target flattens, checks and writes 545 columns, the floor target nothing)"
        )
        if floor_pipe_records != expected:
            failed.append(f"the floor target read {floor_pipe_records} records, not {expected}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if failed:
        sys.exit("; ".join(failed))


if __name__ == "__main__":
    main()

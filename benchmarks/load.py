"""Does memory stay bounded under load? 2,000,000 detections through tap-visionone | target-csv-flat.

Starts the simulator as its own process (`python -m tests.simulator`) with `--records` detections
spread evenly over `--days` days, then runs the real `tap-visionone` console script (detections
only; page_size 5000, window 1h, max_workers 4, no rate limit) piped into the real
`target-csv-flat` (its defaults: crash-safe batches of 100,000 rows, CSV injection guard on), as
a Meltano run would. Each process's resident memory is sampled every 0.2 s (VmRSS in
/proc/<pid>/status) and its peak read at the end (tap and target: their own rusage via wait4;
simulator: VmHWM before it is stopped).

Prints records, elapsed seconds, records/s, the CPU seconds (user + system) and peak RSS of tap,
target and simulator and whether each peak stayed under --limit-mb (300); `--json PATH` writes the
same figures for RELIABILITY.md. The CPU seconds say which process is the bottleneck (tap and target:
rusage via wait4; simulator: /proc/<pid>/stat during the sync only, so its start-up is not counted). A
benchmark, not a test: nothing is asserted about time or memory; the exit code is non-zero only
when the CSV file does not hold exactly the simulator's records (row count and distinct uuids).

The simulator is test code and keeps every generated day in memory, packed (48 bytes a row: about
7 MB per 143,000 rows, up to 64 days), so its peak grows with --records by design; the bound is
promised for the tap and the target only.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.pipeline import running_pipeline, started, wait_child
from tests.tap_runner import discovered_catalog, select_streams

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(__file__).resolve().parent / ".work" / "load"
API_KEY = "load-key"
STREAM = "detections"
csv.field_size_limit(sys.maxsize)


def status_kib(pid: int, field: str) -> int | None:
    """A `VmRSS` / `VmHWM` line of /proc/<pid>/status in KiB (None once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class Sampler(threading.Thread):
    """Polls VmRSS of each named pid every `interval` seconds; keeps the largest value seen."""

    def __init__(self, pids: dict[str, int], interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pids, self.interval = pids, interval
        self.peak_kib = dict.fromkeys(pids, 0)
        self.samples = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.samples += 1
            for name, pid in self.pids.items():
                rss = status_kib(pid, "VmRSS")
                if rss is not None and rss > self.peak_kib[name]:
                    self.peak_kib[name] = rss

    def stop(self) -> None:
        self._done.set()
        self.join()


def start_simulator(scale: int, days: int, seed: int, log: Path) -> tuple[subprocess.Popen, str]:
    """The simulator on a free port, as its own process; returns it and its base URL."""
    out = log.open("w")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.simulator", "--port", "0", "--seed", str(seed)),
            *("--scale", str(scale), "--start", "2024-10-01", "--days", str(days), "--api-key", API_KEY),
        ],
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )

    def address() -> str | None:
        text = log.read_text()
        return text.split("listening on ", 1)[1].split()[0] if "listening on " in text else None

    return proc, started(proc, address, "the simulator", log, seconds=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (utime + stime of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_csv(folder: Path) -> tuple[int, int]:
    """Data rows and distinct uuids in the stream's CSV file(s)."""
    rows, uuids = 0, set()
    for path in sorted(folder.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            column = next(reader).index("uuid")
            for row in reader:
                rows += 1
                uuids.add(row[column])
    return rows, len(uuids)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=2_000_000, help="detections to sync (default 2M)")
    parser.add_argument("--days", type=int, default=16, help="days the records are spread over")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--window-size", default="1h")
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--max-workers", type=int, default=4)
    parser.add_argument(
        "--limit-mb", type=float, default=300, help="the memory bound reported (MB, 10^6 bytes)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument("--keep-output", action="store_true", help="keep the CSV under benchmarks/.work/")
    args = parser.parse_args()

    scale = math.ceil(args.records / args.days)
    expected = scale * args.days  # the simulator generates exactly `scale` detections a day
    start = date(2024, 10, 1)
    end = start + timedelta(days=args.days)
    shutil.rmtree(WORK, ignore_errors=True)
    out_dir = WORK / "out"
    out_dir.mkdir(parents=True)

    catalog_path = WORK / "catalog.json"
    catalog_path.write_text(json.dumps(select_streams(discovered_catalog(), [STREAM])))
    tap_config, target_config = WORK / "tap.json", WORK / "target.json"
    target_config.write_text(json.dumps({"output_path": str(out_dir), "overwrite_behavior": "replace"}))

    sim, base_url = start_simulator(scale, args.days, args.seed, WORK / "simulator.log")
    try:
        tap_config.write_text(
            json.dumps(
                {
                    "api_key": API_KEY,
                    "api_url": base_url,
                    "start_date": f"{start.isoformat()}T00:00:00Z",
                    "end_date": f"{end.isoformat()}T00:00:00Z",
                    "window_size": args.window_size,
                    "page_size": args.page_size,
                    "max_workers": args.max_workers,
                    "rate_limit_per_second": 0,
                    "rate_limit_per_minute": 0,
                    "rate_limit_per_hour": 0,
                }
            )
        )
        sim_cpu_before = cpu_seconds(sim.pid)
        began = time.perf_counter()
        with running_pipeline(
            ["--config", str(tap_config), "--catalog", str(catalog_path)],
            target_config,
            tap_log=WORK / "tap.log",
            target_log=WORK / "target.log",
            state_out=WORK / "state.jsonl",
        ) as (tap, target):
            sampler = Sampler({"tap": tap.pid, "target": target.pid, "simulator": sim.pid})
            sampler.start()
            tap_cpu, tap_kib = wait_child(tap)
            target_cpu, target_kib = wait_child(target)
            elapsed = time.perf_counter() - began
            sim_cpu = cpu_seconds(sim.pid) - sim_cpu_before
            sampler.stop()
        sim_kib = max(status_kib(sim.pid, "VmHWM") or 0, sampler.peak_kib["simulator"])
    finally:
        sim.terminate()
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()

    for name, proc in (("tap-visionone", tap), ("target-csv-flat", target)):
        if proc.returncode != 0:
            log = WORK / ("tap.log" if proc is tap else "target.log")
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            print(f"{name} exited with {proc.returncode}; last lines of {log}:\n  " + "\n  ".join(tail))

    rows, distinct = count_csv(out_dir)
    peaks_mb = {
        "tap": max(tap_kib, sampler.peak_kib["tap"]) * 1024 / 1e6,
        "target": max(target_kib, sampler.peak_kib["target"]) * 1024 / 1e6,
        "simulator": sim_kib * 1024 / 1e6,
    }
    cpu_s = {"tap": tap_cpu, "target": target_cpu, "simulator": sim_cpu}
    figures = {
        "records": rows,
        "expected_records": expected,
        "distinct_uuids": distinct,
        "elapsed_s": round(elapsed, 1),
        "records_per_s": round(rows / elapsed),
        "cpu_s": {name: round(seconds, 1) for name, seconds in cpu_s.items()},
        "peak_rss_mb": {name: round(mb, 1) for name, mb in peaks_mb.items()},
        "limit_mb": args.limit_mb,
        "under_limit": {name: mb < args.limit_mb for name, mb in peaks_mb.items()},
        "rss_samples": sampler.samples,
        "config": {
            "days": args.days,
            "per_day": scale,
            "window_size": args.window_size,
            "page_size": args.page_size,
            "max_workers": args.max_workers,
        },
        "exit_codes": {"tap": tap.returncode, "target": target.returncode},
        "load_average_1m": round(os.getloadavg()[0], 1),  # other work on the machine slows elapsed, not CPU
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }

    print(
        f"load: {expected:,} detections ({scale:,}/day over {args.days} days), tap-visionone | "
        f"target-csv-flat, window {args.window_size}, page {args.page_size}, "
        f"max_workers {args.max_workers}, no rate limit, {os.cpu_count()} CPUs "
        f"(load average {os.getloadavg()[0]:.1f} at the end)\n"
    )
    print(f"  records written   {rows:>12,}   (distinct uuids {distinct:,})")
    print(f"  elapsed           {elapsed:>12.1f} s")
    print(f"  records/s         {rows / elapsed:>12,.0f}")
    for name, seconds in cpu_s.items():
        print(f"  CPU {name:<13} {seconds:>12.1f} s   ({seconds / elapsed:.0%} of one CPU)")
    for name, mb in peaks_mb.items():
        verdict = "under" if mb < args.limit_mb else "OVER"
        print(f"  peak RSS {name:<9} {mb:>10.1f} MB  {verdict} {args.limit_mb:g} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")
    if not args.keep_output:
        shutil.rmtree(out_dir, ignore_errors=True)
    if rows != expected or distinct != expected or tap.returncode or target.returncode:
        sys.exit(f"wrong result: {rows:,} rows, {distinct:,} distinct uuids, expected {expected:,}")


if __name__ == "__main__":
    main()

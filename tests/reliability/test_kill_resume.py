"""Kill and resume: `tap-visionone | target-csv-flat` killed with SIGKILL, then resumed, loses nothing.

Both real console scripts run as subprocesses. A relay between them plays Meltano's part: it copies
the tap's stdout into the target's stdin line by line, counts the lines, kills a process (SIGKILL) at
a seeded random line count, keeps forwarding whatever the tap had already written (a last line may be
torn), closes the target's input, and saves the last STATE the target emitted, as Meltano saves it.
The next run starts from that state.

- Tap kills: 20 kills at random moments, then a run to completion. The CSV rows together hold exactly
  the simulator's uuids for the range; a uuid written twice was always re-read by the run right after
  a kill, from the one window that run resumed at (``[bookmark, bookmark + window_size)``).
- Target kills (small batches, so a kill lands mid-batch): the CSV never has a torn row (every row
  parses with the header's width, every uuid is the simulator's), and the rerun completes the file.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from target_csv_flat.atomic_csv import recover
from tests.simulator import Simulator
from tests.tap_runner import BIN, tap_command

START, END = "2024-10-01T00:00:00Z", "2024-10-07T00:00:00Z"
WINDOW_MS = 2 * 3600 * 1000
START_MS = 1727740800000  # START in epoch ms
TAP_KILLS = 20


def tap_config(sim: Simulator, end: str = END) -> dict:
    return {
        "api_key": "sim-key",
        "api_url": sim.base_url,
        "start_date": START,
        "end_date": end,
        "window_size": "2h",
        "page_size": 50,
        "max_workers": 2,
    }


@dataclass
class Run:
    lines: int  # tap lines the relay forwarded (complete or torn)
    tap_returncode: int
    target_returncode: int
    state: dict | None  # the last STATE the target emitted, if any
    target_stderr: str


def run_relayed(
    tmp_path: Path,
    config: dict,
    target_config: dict,
    state: dict | None,
    *,
    kill_tap_at: int | None = None,
    kill_target_at: int | None = None,
) -> Run:
    """One `tap | target` run through a relay that kills the tap or the target after N lines."""
    target_file = tmp_path / "target.json"
    target_file.write_text(json.dumps(target_config))
    tap_err, target_err = tmp_path / "tap.err", tmp_path / "target.err"
    with tap_err.open("w") as tap_err_out, target_err.open("w") as target_err_out:
        tap = subprocess.Popen(
            tap_command(tmp_path, config, state=state), stdout=subprocess.PIPE, stderr=tap_err_out
        )
        target = subprocess.Popen(
            [str(BIN / "target-csv-flat"), "--config", str(target_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=target_err_out,
        )
        assert tap.stdout is not None and target.stdin is not None and target.stdout is not None
        lines = 0
        try:
            for line in tap.stdout:  # after a kill: what the tap had written, then EOF
                if kill_target_at is not None and lines >= kill_target_at and target.poll() is None:
                    os.kill(target.pid, signal.SIGKILL)
                    target.wait()
                    os.kill(tap.pid, signal.SIGKILL)  # Meltano stops the tap when its target dies
                    break
                target.stdin.write(line)
                lines += 1
                if kill_tap_at is not None and lines >= kill_tap_at and tap.poll() is None:
                    os.kill(tap.pid, signal.SIGKILL)
            target.stdin.close()
        except BrokenPipeError:
            os.kill(tap.pid, signal.SIGKILL)
        out = target.stdout.read().decode()
        target_rc, tap_rc = target.wait(timeout=60), tap.wait(timeout=60)
        tap.stdout.close()
    complete = out[: out.rfind("\n") + 1]
    states = [json.loads(text) for text in complete.splitlines() if text.strip()]
    return Run(lines, tap_rc, target_rc, states[-1] if states else None, target_err.read_text())


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the CSV; every row must have the header's width (no torn or shifted row)."""
    if not path.exists():
        return [], []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        rows = list(reader)
    for number, row in enumerate(rows, start=2):
        assert len(row) == len(header), f"row {number} has {len(row)} cells, the header {len(header)}"
    assert path.read_bytes().endswith(b"\n") or not rows, "the file does not end on a line end"
    return header, rows


def bookmark(state: dict | None) -> int | None:
    if not state:
        return None
    return state.get("bookmarks", {}).get("detections", {}).get("replication_key_value")


def test_tap_killed_20_times_resumes_with_nothing_missing(tmp_path: Path, figures) -> None:
    rng = random.Random(20241001)
    with Simulator(seed=11, scale=400, start="2024-10-01", days=6, api_key="sim-key", latency_ms=60) as sim:
        config = tap_config(sim)
        target_config = {"output_path": str(tmp_path / "out"), "batch_size_rows": 500}
        csv_path = tmp_path / "out" / "detections.csv"
        expected = {row["uuid"]: row["eventTime"] for row in sim.expected("detections", START, END)}
        state: dict | None = None
        written: Counter[str] = Counter()
        dupes_per_kill: list[int] = []
        forwarded, torn_runs, target_failures = 0, 0, 0
        for kill in range(TAP_KILLS + 1):
            final = kill == TAP_KILLS
            at = None if final else rng.choice([rng.randint(1, 8), rng.randint(20, 160)])
            run = run_relayed(tmp_path, config, target_config, state, kill_tap_at=at)
            forwarded += run.lines
            if final:
                assert run.tap_returncode == 0 and run.target_returncode == 0, run.target_stderr
            else:
                assert run.tap_returncode == -signal.SIGKILL
            if run.target_returncode != 0:
                target_failures += 1
            header, rows = read_csv(csv_path)
            uuids = [row[header.index("uuid")] for row in rows] if rows else []
            assert set(uuids) <= set(expected), "a row whose uuid the simulator never served"
            now = Counter(uuids)
            new = now - written
            # Rows this run wrote again: re-read from the one window it resumed at.
            repeated = [u for u in new if written[u] > 0 or new[u] > 1]
            # No state yet (every run so far was killed inside the first window, whose rows the target
            # still wrote at end of input): the run resumed at start_date, the first window.
            start_ms = bookmark(state) or START_MS
            for uuid in repeated:
                assert start_ms <= expected[uuid] < start_ms + WINDOW_MS, (uuid, expected[uuid], start_ms)
            if kill > 0:
                added_rows = sum(now.values()) - sum(written.values())
                dupes_per_kill.append(added_rows - (len(now) - len(written)))
            written = now
            state = run.state or state  # Meltano keeps the last state it got
            if "Traceback" in run.target_stderr:
                torn_runs += 1
        total = sum(written.values())
        duplicates = total - len(written)
        assert set(written) == set(expected), f"missing {len(set(expected) - set(written))} uuids"
        assert bookmark(state) == 1728259200000  # 2024-10-07T00:00:00Z
        assert max(dupes_per_kill) <= max(Counter(t // WINDOW_MS for t in expected.values()).values())
        figures.record(
            "kill-resume",
            kills=TAP_KILLS,
            records=len(expected),
            rows_written=total,
            duplicates=duplicates,
            max_duplicates_per_kill=max(dupes_per_kill),
            missing=0,
            lines_forwarded=forwarded,
            target_failures=target_failures,
            target_tracebacks=torn_runs,
        )


def test_target_killed_mid_batch_leaves_no_torn_row_and_rerun_completes(tmp_path: Path, figures) -> None:
    rng = random.Random(7)
    end = "2024-10-03T00:00:00Z"
    with Simulator(seed=12, scale=600, start="2024-10-01", days=2, api_key="sim-key", latency_ms=20) as sim:
        config = tap_config(sim, end)
        target_config = {"output_path": str(tmp_path / "out"), "batch_size_rows": 40}
        csv_path = tmp_path / "out" / "detections.csv"
        expected = {row["uuid"] for row in sim.expected("detections", START, end)}
        state: dict | None = None
        kills, rows_after_kills, tails_cut = 3, [], 0
        for _ in range(kills):
            run = run_relayed(tmp_path, config, target_config, state, kill_target_at=rng.randint(60, 900))
            assert run.target_returncode == -signal.SIGKILL
            # A kill during a batch's write may leave part of it past the committed length; the next
            # open cuts it (atomic_csv's contract), which is what the next run, and this check, do.
            tails_cut += recover(csv_path) > 0
            header, rows = read_csv(csv_path)
            assert len(rows) % 40 == 0 or rows == [], "a partial batch reached the file"
            assert {row[header.index("uuid")] for row in rows} <= expected
            rows_after_kills.append(len(rows))
            state = run.state or state
        final = run_relayed(tmp_path, config, target_config, state)
        assert final.tap_returncode == 0 and final.target_returncode == 0, final.target_stderr
        header, rows = read_csv(csv_path)
        uuids = [row[header.index("uuid")] for row in rows]
        assert set(uuids) == expected
        leftovers = [p.name for p in csv_path.parent.iterdir() if ".tmp-" in p.name]
        assert leftovers == [], leftovers
        # STATE follows every full batch: a kill re-reads at most a batch and the window in progress
        times = {row["uuid"]: row["eventTime"] for row in sim.expected("detections", START, end)}
        per_window = max(Counter(at // WINDOW_MS for at in times.values()).values())
        assert len(uuids) - len(set(uuids)) <= kills * (40 + per_window), "a kill cost more than a batch"
        figures.record(
            "target-kill",
            kills=kills,
            records=len(expected),
            rows_after_each_kill=rows_after_kills,
            rows_final=len(uuids),
            duplicates=len(uuids) - len(set(uuids)),
            torn_rows=0,
            uncommitted_tails_cut=tails_cut,
        )

"""A backfill launched with Dagster's own command line, run by Dagster's daemon under the run limits.

The same commands as docs/orchestrate.md: ``python -m orchestrate.instance`` writes dagster.yaml,
``python -m orchestrate.backfill`` lists the partitions of a date range, ``dagster job backfill`` queues
them, and ``dagster-daemon`` (what ``dagster dev`` starts beside the UI) launches the runs, one at a
time for a tenant whose ``max_concurrent_runs`` is 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunRecord

from orchestrate.definitions import csv_rows
from tests.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAYS = ("2024-10-01", "2024-10-02")
DONE = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def overlap(a: RunRecord, b: RunRecord) -> bool:
    assert a.start_time and a.end_time and b.start_time and b.end_time
    return a.start_time < b.end_time and b.start_time < a.end_time


def test_a_date_range_backfilled_from_the_command_line(tmp_path: Path) -> None:
    """Two tenants (own simulator, key and streams) x two days: four runs, a tenant's one at a time,
    the two tenants' at the same time, none reading the other's key, streams or bookmark."""
    home = tmp_path / "dagster"
    home.mkdir()
    with (
        Simulator(seed=13, scale=60, start="2024-10-01", days=3, api_key="key-c") as sim_c,
        Simulator(seed=14, scale=400, start="2024-10-01", days=3, api_key="key-d") as sim_d,
    ):
        sims = {"tenant-c": (sim_c, "detections"), "tenant-d": (sim_d, "workbench_alerts")}
        tenants = tmp_path / "tenants.json"
        tenants.write_text(json.dumps({"tenants": [
            {"name": name, "api_url": sim.base_url, "api_key_env": f"V1_KEY_{name[-1].upper()}",
             "select": [f"{stream}.*"], "max_concurrent_runs": 1}
            for name, (sim, stream) in sims.items()
        ]}))  # fmt: skip
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "VISIONONE_TENANTS_FILE": str(tenants),
            "VISIONONE_FIRST_DAY": DAYS[0],
            "VISIONONE_OUTPUT_ROOT": str(tmp_path / "out"),
            "V1_KEY_C": "key-c",
            "V1_KEY_D": "key-d",
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        }

        def run(*command: str) -> str:
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, (command, done.stderr[-2000:])
            return done.stdout

        config = run(sys.executable, "-m", "orchestrate.instance", str(tenants))
        (home / "dagster.yaml").write_text(config + "telemetry:\n  enabled: false\n")
        partitions = run(sys.executable, "-m", "orchestrate.backfill", "--from", DAYS[0], "--to", DAYS[1])
        assert partitions.strip() == ",".join(f"{d}|{t}" for d in DAYS for t in sims)
        launched = run(
            str(BIN / "dagster"), "job", "backfill", "-m", "orchestrate.definitions",
            "-j", "visionone_sync_job", "--partitions", partitions.strip(), "--noprompt",
        )  # fmt: skip
        assert "Launched backfill" in launched, launched

        with (tmp_path / "daemon.log").open("w") as log:
            daemon = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-m", "orchestrate.definitions"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                with DagsterInstance.from_config(str(home)) as instance:
                    deadline = time.monotonic() + 300
                    while time.monotonic() < deadline:
                        records = instance.get_run_records()
                        if len(records) == 4 and {r.dagster_run.status for r in records} <= DONE:
                            break
                        time.sleep(0.5)
            finally:
                daemon.terminate()
                daemon.wait(timeout=60)

        assert len(records) == 4, (tmp_path / "daemon.log").read_text()[-3000:]
        runs: dict[str, list[RunRecord]] = {name: [] for name in sims}
        for record in records:
            assert record.dagster_run.status == DagsterRunStatus.SUCCESS, record.dagster_run.run_id
            assert "dagster/backfill" in record.dagster_run.tags
            runs[record.dagster_run.tags["visionone/tenant"]].append(record)
        for name, (sim, stream) in sims.items():
            first, second = runs[name]
            assert not overlap(first, second), name  # max_concurrent_runs 1: one after the other
            for day, end in (("2024-10-01", "2024-10-02"), ("2024-10-02", "2024-10-03")):
                rows = csv_rows(tmp_path / "out" / name / day)  # only the tenant's own stream
                assert rows == {stream: sim.expected_count(stream, day, end)}, (name, day)
            assert {r["status"] for r in sim.requests} == {200}, name  # its own key, every time
        # the two tenants' runs did run at the same time, each in its own Meltano run folder
        assert any(overlap(c, d) for c in runs["tenant-c"] for d in runs["tenant-d"])

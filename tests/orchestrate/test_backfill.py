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

from dagster import DagsterInstance, DagsterRunStatus

from orchestrate.definitions import csv_rows
from tests.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAYS = ("2024-10-01", "2024-10-02")
DONE = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def test_a_date_range_backfilled_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "dagster"
    home.mkdir()
    with Simulator(seed=13, scale=60, start="2024-10-01", days=3, api_key="key-c") as sim:
        tenants = tmp_path / "tenants.json"
        tenants.write_text(json.dumps({"tenants": [{
            "name": "tenant-c", "api_url": sim.base_url, "api_key_env": "V1_KEY_TENANT_C",
            "select": ["detections.*"], "max_concurrent_runs": 1,
        }]}))  # fmt: skip
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "VISIONONE_TENANTS_FILE": str(tenants),
            "VISIONONE_FIRST_DAY": DAYS[0],
            "VISIONONE_OUTPUT_ROOT": str(tmp_path / "out"),
            "V1_KEY_TENANT_C": "key-c",
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        }

        def run(*command: str) -> str:
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, (command, done.stderr[-2000:])
            return done.stdout

        config = run(sys.executable, "-m", "orchestrate.instance", str(tenants))
        (home / "dagster.yaml").write_text(config + "telemetry:\n  enabled: false\n")
        partitions = run(sys.executable, "-m", "orchestrate.backfill", "--from", DAYS[0], "--to", DAYS[1])
        assert partitions.strip() == "2024-10-01|tenant-c,2024-10-02|tenant-c"
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
                    deadline = time.monotonic() + 240
                    while time.monotonic() < deadline:
                        records = instance.get_run_records()
                        if len(records) == 2 and {r.dagster_run.status for r in records} <= DONE:
                            break
                        time.sleep(0.5)
            finally:
                daemon.terminate()
                daemon.wait(timeout=60)

    assert len(records) == 2, (tmp_path / "daemon.log").read_text()[-3000:]
    by_day = {r.dagster_run.tags["dagster/partition/day"]: r for r in records}
    assert set(by_day) == set(DAYS)
    for record in records:
        assert record.dagster_run.status == DagsterRunStatus.SUCCESS, record.dagster_run.run_id
        assert record.dagster_run.tags["dagster/partition/tenant"] == "tenant-c"
        assert "dagster/backfill" in record.dagster_run.tags
    # max_concurrent_runs 1: the queue started the second run only after the first had ended
    first, second = sorted(records, key=lambda r: r.start_time or 0)
    assert first.end_time is not None and second.start_time is not None
    assert second.start_time >= first.end_time
    for day, end in (("2024-10-01", "2024-10-02"), ("2024-10-02", "2024-10-03")):
        rows = csv_rows(tmp_path / "out" / "tenant-c" / day)
        assert rows == {"detections": sim.expected_count("detections", day, end)}, day
    assert {r["status"] for r in sim.requests} == {200}

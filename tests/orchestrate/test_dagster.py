"""The Dagster code location, executed in process: 2 tenants x 2 days against two simulators, two keys."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest
import yaml

from orchestrate.definitions import (
    MeltanoProject,
    build_definitions,
    csv_rows,
    run_env,
)
from orchestrate.instance import concurrency_limits
from orchestrate.tenants import TenantsError, load_tenants
from tests.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
DAYS = [("2024-10-01", "2024-10-02"), ("2024-10-02", "2024-10-03")]
STREAMS = ["detections", "workbench_alerts"]


def write_tenants(path: Path, urls: dict[str, str]) -> Path:
    tenants = [
        {"name": name, "api_url": url, "api_key_env": f"V1_KEY_{name.upper().replace('-', '_')}",
         "select": [f"{s}.*" for s in STREAMS], "max_concurrent_runs": 2, "rate_limit_per_minute": 600}
        for name, url in urls.items()
    ]  # fmt: skip
    path.write_text(json.dumps({"tenants": tenants}), encoding="utf-8")
    return path


def rows_of(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    (materialization,) = result.asset_materializations_for_node("visionone_sync")
    return {k: v.value for k, v in materialization.metadata.items() if k.startswith("rows")}


def test_two_tenants_two_days_each_with_its_own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        Simulator(seed=11, scale=60, start="2024-10-01", days=3, api_key="key-a") as sim_a,
        Simulator(seed=12, scale=90, start="2024-10-01", days=3, api_key="key-b") as sim_b,
    ):
        sims = {"tenant-a": sim_a, "tenant-b": sim_b}
        monkeypatch.setenv("V1_KEY_TENANT_A", "key-a")
        monkeypatch.setenv("V1_KEY_TENANT_B", "key-b")
        monkeypatch.setenv("TAP_VISIONONE_API_KEY", "leaked-from-the-orchestrator")  # never passed on
        tenants = load_tenants(
            write_tenants(tmp_path / "tenants.json", {n: s.base_url for n, s in sims.items()})
        )
        project = MeltanoProject(
            project_dir=str(ROOT), output_root=str(tmp_path / "out"),
            database_uri=f"sqlite:///{tmp_path / 'meltano.db'}",
        )  # fmt: skip
        defs = build_definitions(tenants, first_day="2024-10-01", project=project)
        job = defs.resolve_job_def("visionone_sync_job")
        seen: dict[tuple[str, str], dict[str, int]] = {}
        for name, sim in sims.items():
            for day, end in DAYS:
                key = dg.MultiPartitionKey({"tenant": name, "day": day})
                result = job.execute_in_process(partition_key=key, resources={"meltano": project})
                assert result.success
                assert result.dagster_run.tags["visionone/tenant"] == name  # what the run queue limits by
                rows = seen[name, day] = rows_of(result)
                for stream in STREAMS:
                    assert rows[f"rows/{stream}"] == sim.expected_count(stream, day, end), (name, day, stream)
                assert rows["rows"] == sum(sim.expected_count(s, day, end) for s in STREAMS), rows
                assert rows["rows"] > 0
        print("rows per tenant and day:", seen)
        received = {name: dict(Counter(r["status"] for r in sim.requests)) for name, sim in sims.items()}
        print("requests per tenant's simulator, by status:", received)
        for sim in sims.values():
            statuses = {r["status"] for r in sim.requests}
            assert sim.requests and 401 not in statuses, statuses
        # the two tenants' data differ, so each CSV came from its own simulator
        assert seen["tenant-a", "2024-10-01"] != seen["tenant-b", "2024-10-01"]

        # re-materializing a partition is incremental: its bookmark is at the day's end, nothing new
        sim_a.clear_requests()
        key = dg.MultiPartitionKey({"tenant": "tenant-a", "day": "2024-10-01"})
        again = job.execute_in_process(partition_key=key, resources={"meltano": project})
        assert again.success
        assert rows_of(again)["rows"] == 0
        searched = [r for r in sim_a.requests if r["path"].endswith("/search/detections")]
        print("requests of the second run:", len(sim_a.requests), "of them detections:", len(searched))
        assert all(r["status"] != 401 for r in sim_a.requests)
        assert not searched, searched  # the bookmark is at the closed day's end: no request at all
        folder = tmp_path / "out" / "tenant-a" / "2024-10-01"
        assert csv_rows(folder) == {s: sim_a.expected_count(s, *DAYS[0]) for s in STREAMS}


def test_a_tenants_file_with_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tenants.yml"
    path.write_text("tenants:\n- name: acme\n  region: eu\n  api_key: secret-123\n", encoding="utf-8")
    with pytest.raises(TenantsError) as error:
        load_tenants(path)
    message = str(error.value)
    assert "'acme'" in message and "api_key_env" in message and "secret-123" not in message
    assert "\n" not in message


def test_yaml_tenants_defaults_and_per_run_rate_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text(
        "- {name: acme, region: eu, api_key_env: ACME_KEY, max_concurrent_runs: 3}\n"
        "- {name: globex, api_url: 'https://proxy.example', api_key_env: GLOBEX_KEY}\n",
        encoding="utf-8",
    )
    acme, globex = load_tenants(path)
    assert (acme.max_concurrent_runs, acme.rate_limit_per_run()) == (3, 150)
    assert (globex.max_concurrent_runs, globex.rate_limit_per_run()) == (1, 450)
    assert concurrency_limits([acme, globex]) == [
        {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
        {"key": "visionone/tenant", "value": "acme", "limit": 3},
        {"key": "visionone/tenant", "value": "globex", "limit": 1},
    ]
    monkeypatch.delenv("ACME_KEY", raising=False)
    with pytest.raises(TenantsError, match="ACME_KEY is not set"):
        run_env(acme, date(2024, 10, 1), MeltanoProject())
    monkeypatch.setenv("ACME_KEY", "k")
    monkeypatch.setenv("TAP_VISIONONE_API_URL", "http://elsewhere")
    env = run_env(acme, date(2024, 10, 1), MeltanoProject())
    assert env["TAP_VISIONONE_REGION"] == "eu" and "TAP_VISIONONE_API_URL" not in env
    assert (env["TAP_VISIONONE_START_DATE"], env["TAP_VISIONONE_END_DATE"]) == ("2024-10-01", "2024-10-02")
    assert env["TAP_VISIONONE_RATE_LIMIT_PER_MINUTE"] == "150"


def test_hourly_schedule_asks_for_todays_partition_of_every_tenant(tmp_path: Path) -> None:
    path = write_tenants(
        tmp_path / "tenants.json", {"tenant-a": "http://127.0.0.1:9", "tenant-b": "http://127.0.0.1:9"}
    )
    defs = build_definitions(load_tenants(path), first_day="2024-10-01")
    schedule = defs.resolve_schedule_def("visionone_hourly")
    repository = defs.get_repository_def()
    for hour, days in ((5, {"2024-10-03"}), (0, {"2024-10-03", "2024-10-02"})):
        when = dg.build_schedule_context(
            scheduled_execution_time=datetime(2024, 10, 3, hour, tzinfo=UTC), repository_def=repository
        )
        requests = list(schedule.evaluate_tick(when).run_requests or [])
        keys = {(r.partition_key.keys_by_dimension["tenant"], r.partition_key.keys_by_dimension["day"])
                for r in requests}  # fmt: skip
        assert keys == {(t, d) for t in ("tenant-a", "tenant-b") for d in days}
        assert {r.tags["visionone/tenant"] for r in requests} == {"tenant-a", "tenant-b"}


def test_a_failed_partition_is_retried_by_dagster_and_resumes_at_its_bookmark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API fails the day's third window once; Dagster retries the partition, which starts at the
    bookmark the failed attempt committed: windows before it are not fetched again, no row is written
    twice, and the day is complete."""
    day, end = DAYS[0]
    failing = f"{day}T12:00:00Z"  # 60 records, pages of 50: the day's four count slices are its windows
    with Simulator(seed=11, scale=60, start="2024-10-01", days=3, api_key="key-a") as sim:
        sim.fail_windows(failing, 500, times=1, counts=False)
        monkeypatch.setenv("V1_KEY_TENANT_A", "key-a")
        monkeypatch.setenv("TAP_VISIONONE_PAGE_SIZE", "50")
        monkeypatch.setenv("TAP_VISIONONE_MAX_TRIES", "1")  # the tap gives up at once: Dagster retries
        tenants = load_tenants(write_tenants(tmp_path / "tenants.json", {"tenant-a": sim.base_url}))
        tenants = [replace(t, select=("detections.*",)) for t in tenants]
        project = MeltanoProject(
            project_dir=str(ROOT), output_root=str(tmp_path / "out"),
            database_uri=f"sqlite:///{tmp_path / 'meltano.db'}",
        )  # fmt: skip
        defs = build_definitions(tenants, "2024-10-01", project, retry_policy=dg.RetryPolicy(max_retries=1))
        key = dg.MultiPartitionKey({"tenant": "tenant-a", "day": day})
        result = defs.resolve_job_def("visionone_sync_job").execute_in_process(
            partition_key=key, resources={"meltano": project}, raise_on_error=False
        )
        assert result.success
        kinds = [event.event_type_value for event in result.all_events]
        assert kinds.count("STEP_UP_FOR_RETRY") == 1 and kinds.count("STEP_RESTARTED") == 1, kinds
        (retried,) = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert "failed after 1 attempts: HTTP 500" in str(retried.event_specific_data)  # the tap's line
        assert "key-a" not in repr(result.all_events)  # the key is in no log line or metadata

        searches = [r for r in sim.requests if r["path"].endswith("/search/detections")]
        data = [r for r in searches if not r["query"].get("mode")]  # countOnly requests only plan
        by_start = Counter(r["query"]["startDateTime"] for r in data)
        print("data requests by window start:", dict(by_start))
        assert [r["status"] for r in data if r["query"]["startDateTime"] == failing] == [500, 200]
        # the windows before the failed one were committed by the first attempt: never fetched again
        assert by_start[f"{day}T00:00:00Z"] == by_start[f"{day}T06:00:00Z"] == 1
        expected = sim.expected_count("detections", day, end)
        assert csv_rows(tmp_path / "out" / "tenant-a" / day) == {"detections": expected}
        (materialization,) = result.asset_materializations_for_node("visionone_sync")
        metadata = {k: v.value for k, v in materialization.metadata.items()}
        assert metadata["rows_in_partition"] == expected
        assert 0 < metadata["rows"] < expected  # the retry added only what the first attempt had not
        with (tmp_path / "out" / "tenant-a" / day / "detections.csv").open(newline="") as handle:
            uuids = [row["uuid"] for row in csv.DictReader(handle)]
        assert len(uuids) == len(set(uuids)) == expected


def test_instance_settings_load_in_dagster_and_backfill_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestrate import backfill, instance

    path = write_tenants(
        tmp_path / "tenants.json", {"tenant-a": "http://127.0.0.1:9", "tenant-b": "http://x:9"}
    )
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance.instance_settings(load_tenants(path))))
    with dg.DagsterInstance.from_config(str(home)) as loaded:  # Dagster validates the file
        limits = loaded.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": "visionone/tenant", "value": "tenant-b", "limit": 2} in limits
    assert instance.main([str(tmp_path / "missing.yml")]) == 1

    assert backfill.partition_keys(["a", "b"], date(2024, 10, 30), date(2024, 11, 1)) == [
        "2024-10-30|a", "2024-10-30|b", "2024-10-31|a", "2024-10-31|b", "2024-11-01|a", "2024-11-01|b",
    ]  # fmt: skip
    for argv, message, code in (
        (["--from", "2024-10-02", "--to", "2024-10-01"], "is before --from", 1),
        (["--from", "2024-10-01", "--to", "2024-10-02", "--tenant", "nobody"], "not in", 1),
        (["--from", "2024-13-01", "--to", "2024-10-02"], "is not a date", 2),  # argparse: usage
    ):
        with pytest.raises(SystemExit) as stopped:
            backfill.main([*argv, "--tenants-file", str(path)])
        assert stopped.value.code == code and message in capsys.readouterr().err, (argv, message)


def test_full_table_lists_have_their_own_asset_read_once_per_run_not_per_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant selecting detections and IAM accounts: its days hold detections only; its inventory
    partition holds the accounts, replaced (not appended) by each run."""
    with Simulator(seed=11, scale=60, start="2024-10-01", days=3, api_key="key-a") as sim:
        monkeypatch.setenv("V1_KEY_TENANT_A", "key-a")
        tenants = load_tenants(write_tenants(tmp_path / "tenants.json", {"tenant-a": sim.base_url}))
        tenants = [replace(t, select=("detections.*", "iam_accounts.*")) for t in tenants]
        project = MeltanoProject(
            project_dir=str(ROOT), output_root=str(tmp_path / "out"),
            database_uri=f"sqlite:///{tmp_path / 'meltano.db'}",
        )  # fmt: skip
        defs = build_definitions(tenants, "2024-10-01", project)
        day, end = DAYS[0]
        key = dg.MultiPartitionKey({"tenant": "tenant-a", "day": day})
        result = defs.resolve_job_def("visionone_sync_job").execute_in_process(
            partition_key=key, resources={"meltano": project}
        )
        assert result.success
        assert csv_rows(tmp_path / "out" / "tenant-a" / day) == {
            "detections": sim.expected_count("detections", day, end)
        }
        accounts = sim.expected_count("iam_accounts")
        assert accounts > 0
        inventory = defs.resolve_job_def("visionone_inventory_job")
        for _ in range(2):
            listed = inventory.execute_in_process(partition_key="tenant-a", resources={"meltano": project})
            assert listed.success
            assert listed.dagster_run.tags["visionone/tenant"] == "tenant-a"
            (materialization,) = listed.asset_materializations_for_node("visionone_inventory")
            assert materialization.metadata["rows_in_partition"].value == accounts
            assert csv_rows(tmp_path / "out" / "tenant-a" / "inventory") == {"iam_accounts": accounts}
        paths = [r["path"] for r in sim.requests]
        assert sum(p.endswith("/iam/accounts") for p in paths) >= 2  # once per inventory run


def test_a_project_without_its_plugins_installed_fails_once_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "meltano.yml").write_text((ROOT / "meltano.yml").read_text())
    monkeypatch.setenv("V1_KEY_TENANT_A", "key-a")
    tenants = load_tenants(write_tenants(tmp_path / "tenants.json", {"tenant-a": "http://127.0.0.1:9"}))
    project = MeltanoProject(project_dir=str(tmp_path), output_root=str(tmp_path / "out"))
    defs = build_definitions(tenants, "2024-10-01", project, retry_policy=dg.RetryPolicy(max_retries=2))
    result = defs.resolve_job_def("visionone_sync_job").execute_in_process(
        partition_key=dg.MultiPartitionKey({"tenant": "tenant-a", "day": "2024-10-01"}),
        resources={"meltano": project},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.user_failure_data.description
    assert "tap-visionone, target-csv" in message and "meltano install" in message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]  # no use retrying

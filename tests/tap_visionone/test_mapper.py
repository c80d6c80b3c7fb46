"""mapper-visionone-actions: every message passes through; `account_cleanup` lists the inactive accounts.

Three levels: Singer messages built here fed to the mapper in-process (exact rows, pass-through,
settings), the real `tap-visionone | mapper-visionone-actions` console scripts over real HTTP
against the simulator, and a real `meltano run` writing `account_cleanup.csv`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from singer_sdk.io_base import SingerWriter

from connector_kit.errors import SettingsError
from connector_kit.times import format_api_time
from tap_visionone.mapper import REPORT_SCHEMA, VisionOneActionsMapper, read_settings
from tests.simulator import Simulator
from tests.tap_runner import run_pipeline

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MAPPER = BIN / "mapper-visionone-actions"
COLUMNS = ["UserId", "RoleName", "RequestType", "LastLogon", "DaysInactive"]
AS_OF = "2024-10-01T00:00:00Z"  # with inactive_days 90, the threshold is 2024-07-03T00:00:00Z

# -- messages built here ------------------------------------------------------------------------------


def account(email: str, role: str = "Analyst", status: str = "enabled", auth: str = "local") -> dict:
    return {
        "type": "RECORD",
        "stream": "iam_accounts",
        "record": {
            "id": f"id-{email.lower()}",
            "email": email,
            "role": role,
            "status": status,
            "authType": auth,
        },
        "time_extracted": "2024-10-01T00:00:05.123456+00:00",
    }


def audit(
    when: str,
    user: str,
    activity: str = "Log on",
    result: str = "Successful",
    category: str = "Logon and Logoff",
) -> dict:
    record = {
        "loggedDateTime": when,
        "ingestedDateTime": when,
        "loggedUser": user,
        "loggedRole": "Analyst",
        "accessType": "Console",
        "category": category,
        "activity": activity,
        "result": result,
        "details": {"sourceIp": "203.0.113.7", "note": "=not a formula, ünïcode, 1.10"},
        "recordHash": f"hash-{when}-{user}-{activity}-{result}",
    }
    return {"type": "RECORD", "stream": "audit_logs", "record": record}


def schema(stream: str, keys: list[str]) -> dict:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": {"score": {"type": ["number", "null"]}}},
        "key_properties": keys,
    }


INPUT: list[dict] = [
    # audit_logs first, as the tap sends them (its stream order), then the accounts
    schema("audit_logs", ["recordHash"]),
    audit("2024-04-05T08:00:00Z", "api key: SIEM export", "Isolate endpoint", category="Response"),
    audit("2024-05-01T10:00:00Z", "ZED@CORP.EXAMPLE"),  # mixed case on both sides; stale
    audit("2024-07-02T23:59:59Z", "justbefore@corp.example"),  # one second before the threshold
    audit("2024-07-03T00:00:00Z", "edge@corp.example"),  # exactly at the threshold: recent
    {
        "type": "STATE",
        "value": {"bookmarks": {"audit_logs": {"replication_key_value": "2024-07-03T00:00:00Z"}}},
    },
    audit("2024-09-20T09:15:00Z", "ana.silva@corp.example"),  # recent, account e-mail in mixed case
    audit("2024-09-25T09:00:00Z", "failed@corp.example", result="Unsuccessful"),  # only failed logons
    audit("2024-09-26T09:00:00Z", "failed@corp.example", result="Unsuccessful"),
    audit("2024-09-27T17:00:00Z", "logoff@corp.example", activity="Log off"),  # only a log off
    audit("2024-09-28T12:00:00Z", "other@corp.example", "Change alert status", category="Workbench"),
    audit("2024-09-29T12:00:00Z", "disabled@corp.example", result="Unsuccessful"),
    audit("2024-10-02T08:00:00Z", "later@corp.example"),  # after as_of: not known yet
    {
        "type": "STATE",
        "value": {"bookmarks": {"audit_logs": {"replication_key_value": "2024-10-03T00:00:00Z"}}},
    },
    schema("iam_accounts", ["id"]),
    {"type": "ACTIVATE_VERSION", "stream": "iam_accounts", "version": 1727740800000},
    account("Ana.Silva@Corp.example"),
    account("edge@corp.example"),
    account("justbefore@corp.example", "Senior Analyst"),
    account("failed@corp.example"),
    account("logoff@corp.example", "Operator"),
    account("auditor@corp.example", "Auditor"),  # excluded role, never logged on
    account("SVC.Backup@corp.example", "Read Only"),  # excluded account, never logged on
    account("invited@corp.example", status="invited"),  # invited, never logged on: listed
    account("disabled@corp.example", status="disabled"),  # disabled: left out by default
    account("secops-team@corp.example", auth="samlGroup"),  # SAML group: members log on, never the group
    account("Zed@Corp.Example", "Read Only"),
    account("later@corp.example"),
    {"type": "RECORD", "stream": "detections", "record": {"uuid": "d-1", "score": 1.10}},
    {"type": "STATE", "value": {"bookmarks": {"iam_accounts": {}, "audit_logs": {"x": 1}}}},
]
EXCLUSIONS = {"exclude_roles": ["AUDITOR"], "exclude_accounts": ["svc.backup@CORP.example"]}


def row(user: str, role: str, last: str | None, days: int | None) -> dict:
    return {
        "UserId": user,
        "RoleName": role,
        "RequestType": "Remove",
        "LastLogon": last,
        "DaysInactive": days,
    }


EXPECTED = [
    row("failed@corp.example", "Analyst", None, None),
    row("invited@corp.example", "Analyst", None, None),
    row("justbefore@corp.example", "Senior Analyst", "2024-07-02T23:59:59Z", 90),
    row("later@corp.example", "Analyst", None, None),
    row("logoff@corp.example", "Operator", None, None),
    row("Zed@Corp.Example", "Read Only", "2024-05-01T10:00:00Z", 152),  # 152 days 14 hours
]


class Captured(SingerWriter):
    """The mapper's output, serialised as on stdout and read back."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict] = []

    def write_message(self, message: object) -> None:
        self.messages.append(json.loads(self.format_message(message)))


def run_mapper(config: dict, messages: Iterable[dict] = INPUT) -> list[dict]:
    writer = Captured()
    mapper = VisionOneActionsMapper(config=config, message_writer=writer)
    lines = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages)
    mapper.listen(io.StringIO(lines))
    return writer.messages


def report_rows(messages: list[dict]) -> list[dict]:
    return [m["record"] for m in messages if m.get("stream") == "account_cleanup" and m["type"] == "RECORD"]


def parsed(lines: Iterable[dict]) -> list[dict]:
    """Messages as a reader sees them (floats as JSON numbers), for comparing input with output."""
    return [json.loads(json.dumps(m)) for m in lines]


# -- (a) the mapper in-process --------------------------------------------------------------------------


def test_report_lists_exactly_the_inactive_accounts() -> None:
    out = run_mapper({"as_of": AS_OF, **EXCLUSIONS})
    assert report_rows(out) == EXPECTED
    schemas = [m for m in out if m["type"] == "SCHEMA" and m["stream"] == "account_cleanup"]
    assert schemas == [
        {"type": "SCHEMA", "stream": "account_cleanup", "schema": REPORT_SCHEMA, "key_properties": ["UserId"]}
    ]
    assert list(REPORT_SCHEMA["properties"]) == COLUMNS


def test_every_message_passes_through_unchanged_and_in_order_then_the_report() -> None:
    out = run_mapper({"as_of": AS_OF, **EXCLUSIONS})
    assert out[: len(INPUT)] == parsed(INPUT)  # SCHEMA, RECORD, STATE, ACTIVATE_VERSION as received
    assert out[len(INPUT)]["type"] == "SCHEMA" and out[len(INPUT)]["stream"] == "account_cleanup"
    assert len(out) == len(INPUT) + 1 + len(EXPECTED) + 1
    # the report is one table version, activated after its last row: targets replace the last report
    report = out[len(INPUT) + 1 :]
    versions = {m["version"] for m in report[:-1]}
    assert [m["type"] for m in report] == ["RECORD"] * len(EXPECTED) + ["ACTIVATE_VERSION"]
    assert len(versions) == 1 and report[-1]["version"] in versions
    # times and numbers are not re-formatted on the way through
    assert (
        out[INPUT.index(account("edge@corp.example"))]["time_extracted"] == "2024-10-01T00:00:05.123456+00:00"
    )


def test_pass_through_keeps_decimal_text() -> None:
    """Numbers keep their digits (1.10 stays 1.10, big integers stay exact), not re-rounded as floats."""
    line = '{"type":"RECORD","stream":"detections","record":{"score":1.10,"big":12345678901234567890}}\n'
    writer = Captured()
    writer_text: list[str] = []
    writer.write_message = lambda m: writer_text.append(writer.format_message(m))  # type: ignore[method-assign]
    mapper = VisionOneActionsMapper(config={"as_of": AS_OF}, message_writer=writer)
    mapper.listen(io.StringIO(line))
    assert writer_text == [line.strip()]


def test_include_disabled_lists_inactive_disabled_accounts() -> None:
    rows = report_rows(run_mapper({"as_of": AS_OF, "include_disabled": True, **EXCLUSIONS}))
    assert [r["UserId"] for r in rows] == [
        "disabled@corp.example",
        *(r["UserId"] for r in EXPECTED),
    ]
    assert rows[0] == row("disabled@corp.example", "Analyst", None, None)  # failed logons do not count


@pytest.mark.parametrize(
    "exclusions",
    [
        {"exclude_roles": "auditor", "exclude_accounts": "SVC.BACKUP@corp.example"},
        {"exclude_roles": " Auditor , , Nobody ", "exclude_accounts": "x@y.example,svc.backup@corp.example"},
        {"exclude_roles": '["Auditor"]', "exclude_accounts": '["svc.backup@corp.example"]'},
    ],
)
def test_exclusions_as_comma_separated_or_json_text(exclusions: dict) -> None:
    assert report_rows(run_mapper({"as_of": AS_OF, **exclusions})) == EXPECTED


def test_without_exclusions_the_excluded_accounts_are_listed() -> None:
    users = [r["UserId"] for r in report_rows(run_mapper({"as_of": AS_OF}))]
    assert "auditor@corp.example" in users and "SVC.Backup@corp.example" in users
    assert users == sorted(users, key=str.casefold)


def test_inactive_days_moves_the_threshold() -> None:
    rows = report_rows(run_mapper({"as_of": AS_OF, "inactive_days": 5, **EXCLUSIONS}))
    listed = {r["UserId"] for r in rows}
    assert "Ana.Silva@Corp.example" in listed and "edge@corp.example" in listed
    assert next(r for r in rows if r["UserId"] == "Ana.Silva@Corp.example")["DaysInactive"] == 10


def test_as_of_date_means_midnight_utc_and_default_is_now() -> None:
    assert read_settings({"as_of": "2024-10-01"}).as_of == datetime(2024, 10, 1, tzinfo=UTC)
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    settings = read_settings({}, now=now)
    assert (settings.as_of, settings.inactive_days, settings.include_disabled) == (now, 90, False)
    assert settings.exclude_roles == settings.exclude_accounts == ()
    assert read_settings({"inactive_days": 30.0}).inactive_days == 30  # a whole float is fine


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"inactive_days": "ninety"}, "Invalid setting `inactive_days`: 'ninety' is not a whole number"),
        ({"inactive_days": 2.5}, "Invalid setting `inactive_days`: 2.5 is not a whole number"),
        ({"inactive_days": float("inf")}, "Invalid setting `inactive_days`: inf is not a whole number"),
        ({"inactive_days": True}, "Invalid setting `inactive_days`: True is not a whole number"),
        ({"inactive_days": 0}, "Invalid setting `inactive_days`: 0 is not between 1 and 180"),
        ({"inactive_days": 365}, "Invalid setting `inactive_days`: 365 is not between 1 and 180"),
        ({"as_of": "last tuesday"}, "Invalid setting `as_of`: 'last tuesday' is not a date"),
        ({"exclude_roles": 7}, "Invalid setting `exclude_roles`: 7 is not a list of names"),
        ({"exclude_accounts": ["a@b.example", 3]}, "Invalid setting `exclude_accounts`:"),
        ({"exclude_accounts": "[not json"}, "Invalid setting `exclude_accounts`: '[not json' is not a JSON"),
        ({"include_disabled": "maybe"}, "Invalid setting `include_disabled`: 'maybe' is not true or false"),
    ],
)
def test_bad_settings_fail_with_one_line_naming_the_setting(config: dict, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        VisionOneActionsMapper(config=config)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


# The console script with a bad setting (one line, exit 1, nothing on stdout): the mapper's case in
# tests/reliability/test_bad_input.py.


@pytest.mark.parametrize("missing", ["iam_accounts", "audit_logs"])
def test_without_a_needed_stream_no_report_and_one_warning(
    missing: str, caplog: pytest.LogCaptureFixture
) -> None:
    messages = [m for m in INPUT if m.get("stream") != missing]
    with caplog.at_level(logging.WARNING):
        out = run_mapper({"as_of": AS_OF}, messages)
    assert out == parsed(messages)  # everything passed through, nothing added
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert f"the input has no {missing} stream" in warnings[0]
    assert "select iam_accounts and audit_logs in the tap" in warnings[0]


def test_audit_logs_that_start_after_the_threshold_give_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    recent_only = [m for m in INPUT if m.get("stream") != "audit_logs" or m["type"] == "SCHEMA"]
    recent_only.insert(1, audit("2024-09-30T00:00:00Z", "ana.silva@corp.example"))
    with caplog.at_level(logging.WARNING):
        rows = report_rows(run_mapper({"as_of": AS_OF, **EXCLUSIONS}, recent_only))
    assert "Ana.Silva@Corp.example" not in {r["UserId"] for r in rows}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "audit records only from 2024-09-30T00:00:00Z on" in warnings[0]
    assert "--full-refresh" in warnings[0]


def test_exclusions_that_match_nothing_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        run_mapper({"as_of": AS_OF, "exclude_roles": "Auditor,Admin", "exclude_accounts": "nobody@x.example"})
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "account_cleanup: `exclude_accounts` entry 'nobody@x.example' matches no account.",
        "account_cleanup: `exclude_roles` entry 'Admin' matches no account.",
    ]


# -- what the simulator says the report must be -------------------------------------------------------------


def expected_report(accounts: list[dict], last_logons: dict[str, str | None], as_of: datetime) -> list[dict]:
    """The README's rules, applied to the simulator's own accounts and last logons (default settings)."""
    threshold = as_of - timedelta(days=90)
    rows = []
    for a in accounts:
        if a["status"] == "disabled" or a["authType"] == "samlGroup":
            continue
        last = last_logons[a["email"]]
        when = None if last is None else datetime.fromisoformat(last)
        if when is not None and when >= threshold:
            continue
        rows.append(row(a["email"], a["role"], last, None if when is None else (as_of - when).days))
    return sorted(rows, key=lambda r: r["UserId"].casefold())


@pytest.fixture(scope="module")
def sim() -> Iterable[Simulator]:
    with Simulator(seed=11, scale=20, start="2024-10-01", days=1, api_key="mapper-key") as simulator:
        yield simulator


@pytest.fixture(scope="module")
def sim_report(sim: Simulator) -> list[dict]:
    report = expected_report(sim.expected("iam_accounts"), sim.last_logons(), sim.now)
    # the simulator's accounts cover every case: stale and never-seen listed, recent ones not
    assert any(r["LastLogon"] for r in report) and any(r["LastLogon"] is None for r in report)
    assert 3 < len(report) < len(sim.expected("iam_accounts")) - 5
    return report


def tap_config(sim: Simulator) -> dict:
    return {
        "api_key": "mapper-key",
        "api_url": sim.base_url,
        "start_date": format_api_time(sim.now - timedelta(days=179)),
        "end_date": format_api_time(sim.now),
        "window_size": "30d",
        "rate_limit_per_minute": 0,
    }


# -- (b) tap-visionone | mapper-visionone-actions, both console scripts, over real HTTP ---------------------


def test_tap_piped_into_the_mapper_reports_the_simulators_inactive_accounts(
    sim: Simulator, sim_report: list[dict], tmp_path: Path
) -> None:
    run = run_pipeline(
        tmp_path,
        tap_config(sim),
        "mapper-visionone-actions",
        {"as_of": format_api_time(sim.now)},
        streams=["iam_accounts", "audit_logs"],
    )
    assert run.tap_returncode == 0, run.tap_stderr[-2000:]
    assert run.target_returncode == 0, run.target_stderr[-2000:]
    out = [json.loads(line) for line in run.target_stdout.splitlines() if line.strip()]
    assert report_rows(out) == sim_report
    # the tap's own streams came through whole, and the report comes last
    records = [m for m in out if m["type"] == "RECORD"]
    assert sum(m["stream"] == "iam_accounts" for m in records) == len(sim.expected("iam_accounts"))
    assert sum(m["stream"] == "audit_logs" for m in records) == sim.expected_count(
        "audit_logs", sim.now - timedelta(days=179), sim.now
    )
    assert {m["stream"] for m in out[-len(sim_report) - 1 :]} == {"account_cleanup"}
    assert "WARNING" not in run.target_stderr


# -- (c) meltano run tap-visionone mapper-visionone-actions target-csv --------------------------------------


def test_meltano_run_writes_account_cleanup_csv(
    sim: Simulator, sim_report: list[dict], tmp_path: Path
) -> None:
    config = tap_config(sim)
    excluded_role = sim_report[-1]["RoleName"]
    env = {
        **os.environ,
        "TAP_VISIONONE_API_KEY": config["api_key"],
        "TAP_VISIONONE_API_URL": config["api_url"],
        "TAP_VISIONONE_START_DATE": config["start_date"],
        "TAP_VISIONONE_END_DATE": config["end_date"],
        "TAP_VISIONONE_WINDOW_SIZE": config["window_size"],
        "TAP_VISIONONE__SELECT": json.dumps(["iam_accounts.*", "audit_logs.*"]),
        "MAPPER_VISIONONE_ACTIONS_AS_OF": config["end_date"],
        "MAPPER_VISIONONE_ACTIONS_EXCLUDE_ROLES": f"{excluded_role.upper()},Nobody",
        "TARGET_CSV_OUTPUT_PATH": str(tmp_path / "out"),
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
    }
    command = ["run", "--full-refresh", "--no-state-update", "tap-visionone", "mapper-visionone-actions"]
    run = subprocess.run(
        [str(BIN / "meltano"), *command, "target-csv"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "iam_accounts.csv",
        "audit_logs.csv",
        "account_cleanup.csv",
    }
    with (tmp_path / "out" / "account_cleanup.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == [*COLUMNS, "_extra"]
        rows = list(reader)
    expected = [r for r in sim_report if r["RoleName"] != excluded_role]  # comma-separated, from the env
    assert 0 < len(expected) < len(sim_report)
    assert [r["UserId"] for r in rows] == [r["UserId"] for r in expected]
    for got, want in zip(rows, expected, strict=True):
        assert (got["RoleName"], got["RequestType"]) == (want["RoleName"], "Remove")
        assert got["LastLogon"] == (want["LastLogon"] or "")  # ISO 8601 UTC either way; empty when never
        assert got["DaysInactive"] == ("" if want["DaysInactive"] is None else str(want["DaysInactive"]))
    assert "account_cleanup not written" not in run.stderr


def test_meltano_yml_declares_the_mapper_with_every_setting() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (mapper,) = project["plugins"]["mappers"]
    assert "variant" not in mapper
    assert mapper["executable"] == "mapper-visionone-actions"
    assert mapper["pip_url"] == "-e ./connector_kit -e ./tap_visionone"  # the mapper ships with the tap
    assert mapper["namespace"] == "mapper_visionone_actions"  # env vars MAPPER_VISIONONE_ACTIONS_*
    mappings = {m["name"]: m.get("config") for m in mapper["mappings"]}
    assert mappings == {
        "mapper-visionone-actions": {},
        "union-fields-as-json-text": {"union_fields_as_json_text": True},  # the DuckDB job's
    }
    jobs = {job["name"]: job["tasks"] for job in project["jobs"]}
    assert jobs["visionone-to-duckdb"] == ["tap-visionone union-fields-as-json-text target-duckdb"]
    assert mapper["name"] != "mapper-visionone-actions"  # Meltano runs mappers by mapping name only
    declared = {s["name"]: s for s in mapper["settings"]}
    assert set(declared) == set(VisionOneActionsMapper.config_jsonschema["properties"])
    for setting in declared.values():
        assert setting.get("kind") and setting.get("description"), setting["name"]


def test_union_fields_pass_on_as_json_text_when_asked() -> None:
    """For loaders with one type per column: `src` (text or a list) becomes JSON text, with a text schema;
    single-typed fields, the report and the other streams are untouched."""
    from tap_visionone.json_text import encode, text_schema, union_fields

    schema = {
        "type": "object",
        "properties": {
            "uuid": {"type": "string"},
            "src": {"type": ["string", "number", "boolean", "array", "object", "null"], "items": {}},
            "eventTime": {"type": ["string", "number"]},
            "act": {"type": ["string", "null"]},
        },
    }
    names = union_fields(schema)
    assert names == {"src", "eventTime"}
    assert text_schema(schema, names)["properties"]["src"]["type"] == ["string", "null"]
    assert text_schema(schema, names)["properties"]["act"] == {"type": ["string", "null"]}
    record = {"uuid": "u", "src": ["10.0.0.1"], "eventTime": 1727761860863, "act": "Block"}
    encoded = encode(record, names)
    assert encoded == {"uuid": "u", "src": '["10.0.0.1"]', "eventTime": "1727761860863", "act": "Block"}
    assert encode({"uuid": "v", "src": "10.0.0.2", "eventTime": None}, names) == {
        "uuid": "v", "src": '"10.0.0.2"', "eventTime": None,
    }  # fmt: skip
    messages = [
        {"type": "SCHEMA", "stream": "detections", "schema": schema, "key_properties": ["uuid"]},
        {"type": "RECORD", "stream": "detections", "record": record},
    ]
    out = run_mapper({"union_fields_as_json_text": True}, messages)
    assert out[0]["schema"]["properties"]["src"]["type"] == ["string", "null"]
    assert out[1]["record"]["src"] == '["10.0.0.1"]' and out[1]["record"]["act"] == "Block"
    assert run_mapper({}, messages)[:2] == messages


def test_the_report_written_twice_holds_one_copy(tmp_path: Path) -> None:
    """Run after run into the same CSV folder (append, the default): the report replaces the last one."""
    from target_csv_flat.target import TargetCsvFlat

    for _ in range(2):
        out = run_mapper({"as_of": AS_OF, **EXCLUSIONS})
        lines = "".join(json.dumps(m) + "\n" for m in out if m.get("stream") == "account_cleanup")
        TargetCsvFlat(config={"output_path": str(tmp_path)}).listen(io.StringIO(lines))
    with (tmp_path / "account_cleanup.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["UserId"] for r in rows] == [r["UserId"] for r in EXPECTED]

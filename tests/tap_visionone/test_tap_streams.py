"""Every Vision One stream against the simulator, over real HTTP, through the real console script.

The simulator knows which records each endpoint holds (``Simulator.expected``); each stream must
deliver exactly those, incremental streams must deliver nothing new on a re-run, a stream the
key may not read (403) must not stop the others, and unselected streams must cost no request.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tap_visionone.streams import STREAMS
from tap_visionone.streams.audit import record_hash
from tests.simulator import Simulator
from tests.tap_runner import ALL, BIN, TapRun, run_tap

START, END = "2024-10-01T00:00:00Z", "2024-10-03T00:00:00Z"
INCREMENTAL = {s.name: s.replication_key for s in STREAMS if s.replication_key}
FULL_TABLE = {s.name for s in STREAMS if not s.replication_key}
KEYS = {s.name: tuple(s.primary_keys) for s in STREAMS}
TAP_ADDED = {"audit_logs": ("recordHash",), "suspicious_objects": ("value",), "exception_objects": ("value",)}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed=5, scale=60, start="2024-10-01", days=2, api_key="streams-key") as simulator:
        yield simulator


def config_for(sim: Simulator, **overrides: object) -> dict:
    return {
        "api_key": "streams-key",
        "api_url": sim.base_url,
        "start_date": START,
        "end_date": END,
        "window_size": "12h",
        "page_size": 50,
        "max_workers": 3,
        "rate_limit_per_minute": 0,
        **overrides,
    }


def key_of(stream: str, record: dict) -> tuple:
    return tuple(record.get(name) for name in KEYS[stream])


def expected_record(stream: str, record: dict) -> dict:
    """The API record as the tap emits it: with the fields the tap adds."""
    record = dict(record)
    if stream == "audit_logs":
        record["recordHash"] = record_hash(record)
    elif stream in ("suspicious_objects", "exception_objects"):
        record["value"] = record[record["type"]]
    return record


def by_stream(run: TapRun) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for message in run.records:
        grouped.setdefault(message["stream"], []).append(message["record"])
    return grouped


@pytest.fixture(scope="module")
def full_run(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> TapRun:
    run = run_tap(tmp_path_factory.mktemp("all"), config_for(sim), streams=ALL)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_discover_lists_every_stream_with_schema_and_keys(tmp_path: Path, sim: Simulator) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(sim)))
    proc = subprocess.run(
        [str(BIN / "tap-visionone"), "--config", str(config), "--discover"],
        capture_output=True,
        text=True,
        check=True,
    )
    catalog = {entry["tap_stream_id"]: entry for entry in json.loads(proc.stdout)["streams"]}
    assert set(catalog) == {s.name for s in STREAMS}
    for name, entry in catalog.items():
        properties = entry["schema"]["properties"]
        assert entry["key_properties"] == list(KEYS[name])
        assert all(key in properties for key in KEYS[name]), name
        assert entry.get("replication_key") == INCREMENTAL.get(name)
        if name in INCREMENTAL:
            assert INCREMENTAL[name] in properties
        assert len(properties) >= 4, name


@pytest.mark.parametrize("stream", [s.name for s in STREAMS])
def test_each_stream_delivers_exactly_the_simulators_records(
    stream: str, sim: Simulator, full_run: TapRun
) -> None:
    got = by_stream(full_run).get(stream, [])
    expected = [expected_record(stream, r) for r in sim.expected(stream, START, END)]
    assert expected, f"the simulator holds no {stream} records in the range; the test would prove nothing"
    assert len(got) == len(expected)
    want = {key_of(stream, r): r for r in expected}
    assert Counter(key_of(stream, r) for r in got) == Counter(want.keys())  # no key lost, none twice
    for record in got:
        assert record == want[key_of(stream, record)]  # every field as the API sent it, nested kept


def test_incremental_streams_bookmark_each_window_end(full_run: TapRun) -> None:
    bookmarks = full_run.last_state["bookmarks"]
    for stream, key in INCREMENTAL.items():
        assert bookmarks[stream]["replication_key"] == key
        value = bookmarks[stream]["replication_key_value"]
        assert value == (1727913600000 if key == "eventTime" else END), stream
    assert not FULL_TABLE & set(k for k, v in bookmarks.items() if v.get("replication_key_value"))


def test_rerun_from_state_emits_nothing_new(sim: Simulator, full_run: TapRun, tmp_path: Path) -> None:
    sim.clear_requests()
    rerun = run_tap(tmp_path, config_for(sim), state=full_run.last_state, streams=ALL)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    counts = Counter(message["stream"] for message in rerun.records)
    assert not set(counts) & set(INCREMENTAL), counts  # 0 records from every incremental stream
    assert set(counts) == FULL_TABLE  # lists the API only returns whole come again, whole
    incremental_paths = {s.path for s in STREAMS if s.replication_key}
    assert not [r for r in sim.requests if r["path"] in incremental_paths]


def test_forbidden_stream_is_reported_once_and_the_others_complete(sim: Simulator, tmp_path: Path) -> None:
    streams = ["audit_logs", "iam_accounts", "workbench_alerts", "detections"]
    sim.forbid("/v3.0/audit/logs")
    try:
        run = run_tap(tmp_path, config_for(sim, window_size="6h"), streams=streams)
    finally:
        sim.allow()
    assert run.returncode == 0, run.stderr[-2000:]
    counts = Counter(message["stream"] for message in run.records)
    assert "audit_logs" not in counts
    for stream in ("iam_accounts", "workbench_alerts", "detections"):
        assert counts[stream] == sim.expected_count(stream, START, END)
    warnings = [line for line in run.stderr.splitlines() if "audit_logs: skipped" in line]
    assert len(warnings) == 1 and "403" in warnings[0] and "fail_on_forbidden" in warnings[0]
    assert not run.last_state["bookmarks"].get("audit_logs", {}).get("replication_key_value")
    assert "streams-key" not in run.stderr


def test_fail_on_forbidden_stops_the_run_with_one_line(sim: Simulator, tmp_path: Path) -> None:
    sim.forbid("/v3.0/iam/apiKeys")
    try:
        run = run_tap(tmp_path, config_for(sim, fail_on_forbidden=True), streams=["api_keys", "detections"])
    finally:
        sim.allow()
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-visionone: error:") and "/v3.0/iam/apiKeys" in last and "403" in last


def test_unselected_streams_cost_no_request(sim: Simulator, tmp_path: Path) -> None:
    sim.clear_requests()
    run = run_tap(tmp_path, config_for(sim), streams=["endpoints", "oat_detections"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert {r["path"] for r in sim.requests} == {
        "/v3.0/endpointSecurity/endpoints",
        "/v3.0/oat/detections",
    }
    assert {m["stream"] for m in run.records} == {"endpoints", "oat_detections"}


def test_stream_filters_pass_through_on_every_page(sim: Simulator, tmp_path: Path) -> None:
    action = sim.expected("response_tasks", START, END)[0]["action"]
    options = {
        "audit_logs": {"filter": "category eq 'Logon and Logoff'"},
        "response_tasks": {"filter": f"action eq '{action}'"},
        "endpoint_activities": {"query": "*", "select": "endpointHostName,processCmd"},
        "suspicious_objects": {"filter": "not (type eq 'ip')"},
    }
    sim.clear_requests()
    run = run_tap(
        tmp_path,
        config_for(sim, page_size=50, stream_options=options),
        streams=list(options),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    got = by_stream(run)
    audit = [r for r in sim.expected("audit_logs", START, END) if r["category"] == "Logon and Logoff"]
    assert audit and len(got["audit_logs"]) == len(audit)
    tasks = [r for r in sim.expected("response_tasks", START, END) if r["action"] == action]
    assert tasks and sorted(r["id"] for r in got["response_tasks"]) == sorted(r["id"] for r in tasks)
    objects = [r for r in sim.expected("suspicious_objects") if r["type"] != "ip"]
    assert len(objects) > 200 and len(got["suspicious_objects"]) == len(objects)  # 2 pages of top=200
    assert "ip" not in {r["type"] for r in got["suspicious_objects"]}
    activities = got["endpoint_activities"]
    assert len(activities) == sim.expected_count("endpoint_activities", START, END)
    assert all(set(r) <= {"uuid", "eventTime", "endpointHostName", "processCmd"} for r in activities)

    def sent(path: str) -> list[dict]:
        return [r for r in sim.requests if r["path"] == path]

    audit_requests = sent("/v3.0/audit/logs")
    # Less than a page (top=200) in the range: one request, the whole range in one window.
    assert len(audit) < 200 and len(audit_requests) == 1
    assert {r["headers"].get("TMV1-Filter") for r in audit_requests} == {"category eq 'Logon and Logoff'"}
    object_requests = sent("/v3.0/threatintel/suspiciousObjects")
    assert len(object_requests) == 2 and "skipToken" in object_requests[1]["query"]
    assert {r["headers"].get("TMV1-Filter") for r in object_requests} == {"not (type eq 'ip')"}
    assert {r["query"].get("orderBy") for r in audit_requests if "skipToken" not in r["query"]} == {
        "loggedDateTime asc"
    }
    tasks_sent = sent("/v3.0/response/tasks")
    assert {r["query"].get("filter") for r in tasks_sent} == {f"action eq '{action}'"}
    assert all("TMV1-Filter" not in r["headers"] for r in tasks_sent)
    selects = {r["query"].get("select") for r in sent("/v3.0/search/endpointActivities")}
    assert selects == {"uuid,eventTime,endpointHostName,processCmd"}


def test_oat_windows_on_ingestion_with_a_full_detected_range(sim: Simulator, tmp_path: Path) -> None:
    sim.clear_requests()
    run = run_tap(tmp_path, config_for(sim, window_size="1d"), streams=["oat_detections"])
    assert run.returncode == 0, run.stderr[-2000:]
    # The two days hold less than a page (top=200): one window, one request, whose detected range is
    # the 365 days before the window's end.
    (query,) = [r["query"] for r in sim.requests]
    assert (query["ingestedStartDateTime"], query["ingestedEndDateTime"]) == (START, END)
    assert (query["detectedStartDateTime"], query["detectedEndDateTime"]) == (
        "2023-10-04T00:00:00Z",  # 365 days: 2024 has a 29 February
        "2024-10-03T00:00:00Z",
    )
    assert len(run.records) == sim.expected_count("oat_detections", START, END) < 200
    late = [
        r
        for r in sim.expected("oat_detections", START, END)
        if r["detectedDateTime"][:10] != r["ingestedDateTime"][:10]
    ]
    assert late, "no OAT ingested on a later day than detected: the test would prove nothing"


def test_audit_start_is_clipped_to_the_apis_retention(sim: Simulator, tmp_path: Path) -> None:
    sim.clear_requests()
    config = config_for(sim, start_date="2023-01-01", window_size="30d", end_date=END)
    run = run_tap(tmp_path, config, streams=["audit_logs"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert "the API keeps 180 days" in run.stderr
    starts = sorted(r["query"]["startDateTime"] for r in sim.requests if "startDateTime" in r["query"])
    assert starts[0] >= "2024-04-06"  # 180 days before the range's end, plus the hour's margin
    assert len(run.records) == sim.expected_count("audit_logs", starts[0], END)


# Bad `stream_options` (one line naming the option, before any request): the table of
# tests/reliability/test_bad_input.py, for every tool.


def test_a_filter_the_api_refuses_names_the_option(sim: Simulator, tmp_path: Path) -> None:
    options = {"audit_logs": {"filter": "colour eq 'blue'"}}
    run = run_tap(tmp_path, config_for(sim, stream_options=options), streams=["audit_logs"])
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-visionone: error: audit_logs: window 2024-10-01T00:00:00Z")
    assert "HTTP 400" in last and "`stream_options.audit_logs.filter`" in last


def test_a_full_table_stream_that_keeps_failing_ends_the_run_in_one_line(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.fail_next(5, 503)
    try:
        quick = config_for(sim, retry_wait=0.001, max_tries=5)  # no backoff, five attempts
        run = run_tap(tmp_path, quick, streams=["iam_accounts"])
    finally:
        sim.clear_faults()
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last == "tap-visionone: error: iam_accounts: failed after 5 attempts: HTTP 503 Service Unavailable"
    assert run.records == []

"""tap-visionone against the simulator over real HTTP: counts, state, resume, faults, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.simulator import Simulator
from tests.tap_runner import parse_messages, run_tap, tap_command
from tests.tap_runner import run_console_script as run_script

START, END = "2024-10-01T00:00:00Z", "2024-10-04T00:00:00Z"
# backoff from 1 ms: the retry tests are not about the wait
FAST_RETRIES = {"retry_wait": 0.001, "max_tries": 5}


def config_for(sim: Simulator, **overrides: object) -> dict:
    config = {
        "api_key": "sim-key",
        "api_url": sim.base_url,
        "start_date": START,
        "end_date": END,
        "window_size": "6h",
        "page_size": 100,
        "max_workers": 4,
        "rate_limit_per_minute": 0,
    }
    config.update(overrides)
    return config


def assert_one_line_error(stderr: str, *needles: str) -> str:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("tap-visionone: error:")]
    assert len(errors) == 1, stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def test_full_sync_emits_every_detection_once_in_window_order(
    tmp_path: Path, visionone_sim: Simulator
) -> None:
    run = run_tap(tmp_path, config_for(visionone_sim))
    assert run.returncode == 0, run.stderr
    ids = run.ids()
    assert len(ids) == visionone_sim.count_detections(START, END)
    assert set(ids) == visionone_sim.detection_ids(START, END)
    assert len(set(ids)) == len(ids)
    times = [r["record"]["eventTime"] for r in run.records]
    assert times == sorted(times)  # windows in order, each window oldest first
    # the bookmark is the end of the range, in the replication key's unit (epoch ms)
    bookmark = run.last_state["bookmarks"]["detections"]
    assert bookmark["replication_key"] == "eventTime"
    assert bookmark["replication_key_value"] == 1728000000000  # 2024-10-04T00:00:00Z


def test_state_advances_once_per_window(tmp_path: Path, visionone_sim: Simulator) -> None:
    # 200 records a day, pages of 500: the counted plan makes each day one window
    run = run_tap(tmp_path, config_for(visionone_sim, window_size="1d", page_size=500))
    values = [s["bookmarks"]["detections"].get("replication_key_value") for s in run.states]
    window_ends = [1727827200000, 1727913600000, 1728000000000]
    assert [v for v in values if v is not None][: len(window_ends)] == window_ends
    # each STATE comes after the last record of its window
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    for index, message in enumerate(lines):
        if message["type"] == "STATE":
            value = message["value"]["bookmarks"]["detections"].get("replication_key_value")
            emitted_before = [m["record"]["eventTime"] for m in lines[:index] if m["type"] == "RECORD"]
            emitted_after = [m["record"]["eventTime"] for m in lines[index:] if m["type"] == "RECORD"]
            assert all(t < value for t in emitted_before)
            assert all(t >= value for t in emitted_after)


def test_second_run_with_state_emits_nothing(tmp_path: Path, visionone_sim: Simulator) -> None:
    first = run_tap(tmp_path, config_for(visionone_sim))
    assert first.returncode == 0 and first.records
    before = len(visionone_sim.requests)
    second = run_tap(tmp_path, config_for(visionone_sim), state=first.last_state)
    assert second.returncode == 0, second.stderr
    assert second.records == []
    assert len(visionone_sim.requests) == before  # nothing left to ask for


def test_query_filters_as_the_api_does(tmp_path: Path, visionone_sim: Simulator) -> None:
    query = "(productCode:sao or productCode:xes) and act:Block"
    run = run_tap(tmp_path, config_for(visionone_sim, query=query))
    assert run.returncode == 0, run.stderr
    expected = visionone_sim.detection_ids(START, END, query=query)
    assert 0 < len(expected) < visionone_sim.count_detections(START, END)
    assert set(run.ids()) == expected and len(run.ids()) == len(expected)
    sent = {r["headers"].get("TMV1-Query") for r in visionone_sim.requests[-3:]}
    assert sent == {query}  # resent on every page


def test_sequential_and_parallel_runs_give_identical_output(tmp_path: Path, visionone_sim: Simulator) -> None:
    one = run_tap(tmp_path, config_for(visionone_sim, max_workers=1))
    four = run_tap(tmp_path, config_for(visionone_sim, max_workers=4))
    assert one.ids() == four.ids()


def test_requests_respect_the_shared_rate_limit(tmp_path: Path) -> None:
    # enough data for ~50 requests: the counted plan asks about one request per page, not one per window_size
    with Simulator(seed=1, scale=600, start="2024-10-01", days=3, api_key="sim-key") as sim:
        run = run_tap(
            tmp_path, config_for(sim, window_size="2h", page_size=50, rate_limit_per_second=10, max_workers=8)
        )
        assert run.returncode == 0, run.stderr
        sent = sorted(r["time"] for r in sim.requests)
    assert len(sent) >= 30  # enough requests for the limit to bind
    # 8 workers, yet no 0.75-second span holds more than 10 requests: the limiter grants at most 10 per
    # second across all workers (a limiter per worker would allow 80). The 0.25 s margin absorbs the
    # gap between when the tap was granted a slot and when the server saw the request.
    for i, t0 in enumerate(sent):
        assert sum(1 for t1 in sent[i:] if t1 - t0 < 0.75) <= 10


def test_sigkill_midway_then_resume_loses_nothing(tmp_path: Path) -> None:
    with Simulator(seed=3, scale=400, start="2024-10-01", days=3, api_key="sim-key", latency_ms=60) as sim:
        config = config_for(sim, window_size="2h", page_size=50, max_workers=2)
        out_file = tmp_path / "first.jsonl"
        with out_file.open("w") as out:
            proc = subprocess.Popen(tap_command(tmp_path, config), stdout=out, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                text = out_file.read_text()
                if text.count('"type":"STATE"') + text.count('"type": "STATE"') >= 4:
                    break
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        text = out_file.read_text()
        complete = text[: text.rfind("\n") + 1]  # a killed writer may leave half a line
        first_records, first_states = parse_messages(complete)
        assert first_states, "the run was killed before its first window completed"
        emitted = [m["record"]["uuid"] for m in first_records]
        assert len(emitted) < sim.count_detections(START, END), "kill came too late to test a resume"

        resume = run_tap(tmp_path, config, state=first_states[-1])
        assert resume.returncode == 0, resume.stderr
        union = set(emitted) | set(resume.ids())
        assert union == sim.detection_ids(START, END)
        # duplicates only from the one window that was in progress when the run was killed
        dupes = Counter(emitted + resume.ids())
        duplicated = [u for u, n in dupes.items() if n > 1]
        assert len(duplicated) <= 400 * 2 / 24 * 1.5


def test_429_and_5xx_are_retried_and_complete(tmp_path: Path) -> None:
    faulty = {"fault_rate": 0.3, "fault_stall_seconds": 2}  # a stall outlasts request_timeout
    with Simulator(seed=5, scale=300, start="2024-10-01", days=3, api_key="sim-key", **faulty) as sim:
        sim.config.fault_retry_after = 0  # the 429s' Retry-After: 0
        sim.fail_next(3, status=429)
        run = run_tap(tmp_path, config_for(sim, request_timeout=0.5, **FAST_RETRIES), env={})
        assert run.returncode == 0, run.stderr
        assert set(run.ids()) == sim.detection_ids(START, END)
        assert len(run.ids()) == sim.count_detections(START, END)
        statuses = Counter(r["status"] for r in sim.requests)
        assert statuses[429] >= 3 and (statuses[500] + statuses[503]) > 0
        assert "sim-key" not in run.stderr


def test_window_failing_every_retry_stops_the_run_naming_it_and_keeps_state(tmp_path: Path) -> None:
    with Simulator(seed=5, scale=100, start="2024-10-01", days=3, api_key="sim-key") as sim:
        sim.fail_windows("2024-10-02T00:00:00Z", status=503)
        # pages of 50: the counted plan cuts each day (100 records) into windows, the first starting at 00:00
        run = run_tap(
            tmp_path, config_for(sim, window_size="1d", page_size=50, max_workers=1, **FAST_RETRIES)
        )
        assert run.returncode == 1
        assert_one_line_error(run.stderr, "window 2024-10-02T00:00:00Z..", "503")
        # state never moved past the failed window; every record before it was emitted
        values = [s["bookmarks"]["detections"].get("replication_key_value") for s in run.states]
        assert max(v for v in values if v) == 1727827200000
        assert set(run.ids()) == sim.detection_ids("2024-10-01T00:00:00Z", "2024-10-02T00:00:00Z")
        failed = [r for r in sim.requests if r["query"].get("startDateTime") == "2024-10-02T00:00:00Z"]
        assert len(failed) == 5  # tried, then given up


def test_wrong_key_fails_fast_with_one_line_and_no_key(tmp_path: Path, visionone_sim: Simulator) -> None:
    before = len(visionone_sim.requests)
    secret = "wrong-key-0123456789abcdef"
    run = run_tap(tmp_path, config_for(visionone_sim, api_key=secret, window_size="1d", max_workers=1))
    assert run.returncode == 1
    line = assert_one_line_error(run.stderr, "`api_key`", "401")
    assert secret not in run.stderr + run.stdout and secret not in line
    assert len(visionone_sim.requests) - before == 1  # no retries


# Bad settings (one line naming the setting, before any request): the table of
# tests/reliability/test_bad_input.py, for every tool.


def test_verify_ssl_false_warns_once(tmp_path: Path, visionone_sim: Simulator) -> None:
    run = run_tap(tmp_path, config_for(visionone_sim, verify_ssl=False, window_size="1d"))
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("verify_ssl is false") == 1


# The key in no output of --about, --discover or a sync: tests/reliability/test_secrets.py (a random key,
# every --about format, DEBUG logs, retries, a refused key).


def test_connection_resets_on_every_attempt_fail_in_one_readable_line(tmp_path: Path) -> None:
    with Simulator(seed=2, scale=50, start="2024-10-01", days=1, api_key="sim-key") as sim:
        sim.fail_next(50, status="reset")
        config = config_for(sim, start_date="2024-10-01", end_date="2024-10-01T01:00:00Z", **FAST_RETRIES)
        run = run_tap(tmp_path, config)
        assert run.returncode == 1
        line = assert_one_line_error(run.stderr, "2024-10-01T00:00:00Z..2024-10-01T01:00:00Z", "5 attempts")
        assert "Connection reset by peer" in line and "Max retries" not in line
        assert not [s for s in run.states if s["bookmarks"]["detections"].get("replication_key_value")]


def test_a_429_without_retry_after_waits_out_the_rate_window(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Vision One counts requests per 60-second window; a 429 that names no Retry-After is retried once
    that window has passed, not after the backoff. The window is the stream's own knob
    (`rate_window_seconds`), shortened here to 0.3 s, and the backoff to 1 ms (`retry_wait`), so the
    gap tells which of the two was waited; it is measured on the simulator's clock, from the requests
    it received."""
    from tap_visionone.client import VisionOneStream
    from tap_visionone.tap import TapVisionOne

    monkeypatch.setattr(VisionOneStream, "rate_window_seconds", 0.3)
    with Simulator(seed=5, scale=50, start="2024-10-01", days=1, api_key="sim-key") as sim:
        sim.config.retry_after = False
        sim.fail_next(1, status=429)
        config = config_for(sim, start_date="2024-10-01", end_date="2024-10-02", window_size="1d")
        tap = TapVisionOne(config={**config, **FAST_RETRIES}, parse_env_config=False)
        tap.streams["detections"].sync()
        first, retry = sim.requests[:2]
        assert first["status"] == 429 and retry["status"] == 200
        assert retry["time"] - first["time"] >= 0.29, retry["time"] - first["time"]
        ids = {json.loads(line)["record"]["uuid"] for line in capfd.readouterr().out.splitlines()
               if '"RECORD"' in line}  # fmt: skip
        assert ids == sim.detection_ids("2024-10-01", "2024-10-02")


def run_console_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_script("tap-visionone", tmp_path, *args)


def test_discover_needs_no_key_but_a_sync_does(tmp_path: Path) -> None:
    """Discovery sends no request, so it runs without `api_key` (and warns about nothing); a sync without
    it stops with one line naming the setting; --about still lists it as required and secret."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": "http://127.0.0.1:9"}))
    discover = run_console_script(tmp_path, "--config", str(config), "--discover")
    assert discover.returncode == 0, discover.stderr
    assert "detections" in {s["tap_stream_id"] for s in json.loads(discover.stdout)["streams"]}
    assert "WARNING" not in discover.stderr and "api_key" not in discover.stderr, discover.stderr
    sync = run_console_script(tmp_path, "--config", str(config))
    assert sync.returncode == 1 and sync.stdout == ""
    assert_one_line_error(sync.stderr, "Missing setting `api_key`", "TAP_VISIONONE_API_KEY")
    about = json.loads(run_console_script(tmp_path, "--about", "--format", "json").stdout)["settings"]
    assert "api_key" in about["required"] and about["properties"]["api_key"]["secret"] is True


def test_a_tap_built_for_discovery_checks_the_key_before_it_syncs() -> None:
    from connector_kit.errors import SettingsError
    from tap_visionone.tap import TapVisionOne

    tap = TapVisionOne(config={"api_url": "http://127.0.0.1:9"}, validate_config=False)
    assert tap.catalog_dict["streams"]
    with pytest.raises(SettingsError, match="Missing setting `api_key`"):
        tap.sync_all()

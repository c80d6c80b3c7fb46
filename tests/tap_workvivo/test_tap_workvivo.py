"""tap-workvivo against the simulator's Workvivo SIEM API, over real HTTP, through the console script."""

from __future__ import annotations

import json
import math
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulator import Simulator
from tests.tap_runner import ALL, TapRun, run_tap
from tests.tap_runner import run_console_script as run_script

TOKEN, ORG = "wv-token-7f3a9c", "org-4242"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(
        seed=9, scale=400, start="2024-10-01", days=2, workvivo_id=ORG, workvivo_token=TOKEN
    ) as simulator:
        yield simulator


def config_for(sim: Simulator, **overrides: object) -> dict:
    return {
        "workvivo_id": ORG,
        "api_token": TOKEN,
        "api_url": sim.base_url,
        "start_date": "2024-10-01",
        "end_date": "2024-10-02",  # a date: the whole day, inclusive as in the seed
        "max_workers": 4,
        "rate_limit_per_minute": 0,
        **overrides,
    }


def workvivo(tmp_path: Path, config: dict, state: dict | None = None) -> TapRun:
    return run_tap(tmp_path, config, state=state, executable="tap-workvivo", streams=ALL)


def ids(run: TapRun) -> list[int | str]:
    return [message["record"]["id"] for message in run.records]


def test_full_range_equals_the_simulators_events_and_rerun_emits_nothing(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.clear_requests()
    run = workvivo(tmp_path, config_for(sim))
    assert run.returncode == 0, run.stderr[-2000:]
    expected = sim.workvivo_events("2024-10-01", "2024-10-03")
    assert expected and sorted(ids(run), key=int) == sorted((e["id"] for e in expected), key=int)
    assert len(set(ids(run))) == len(ids(run))
    assert [m["record"] for m in run.records] == sorted(
        expected, key=lambda e: (int(e["created_at_timestamp"]), int(e["id"]))
    )
    windows = {r["path"] for r in sim.requests}
    assert len(windows) == 48  # hour by hour, both days whole
    assert {r["headers"].get("Workvivo-Id") for r in sim.requests} == {ORG}
    assert run.last_state["bookmarks"]["siem_events"] == {
        "replication_key": "created_at_timestamp",
        "replication_key_value": 1727913600,  # 2024-10-03T00:00:00Z, epoch seconds
    }
    sim.clear_requests()
    rerun = workvivo(tmp_path, config_for(sim), state=run.last_state)
    assert rerun.returncode == 0 and rerun.records == []
    assert sim.requests == []


def test_an_hour_failing_five_times_stops_the_run_and_the_next_run_fetches_it(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.fail_windows("2024-10-01T05:00:00Z", 503)
    try:
        quick = config_for(sim, end_date="2024-10-01", retry_wait=0.001, max_tries=5)  # no backoff
        failed = workvivo(tmp_path, quick)
    finally:
        sim.clear_faults()
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "tap-workvivo: error: siem_events: window 2024-10-01T05:00:00Z..2024-10-01T06:00:00Z"
    )
    assert "5 attempts" in last and "HTTP 503" in last
    assert failed.last_state["bookmarks"]["siem_events"]["replication_key_value"] == 1727758800  # 05:00
    resumed = workvivo(tmp_path, config_for(sim, end_date="2024-10-01"), state=failed.last_state)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    day = {e["id"] for e in sim.workvivo_events("2024-10-01", "2024-10-02")}
    assert set(ids(failed)) | set(ids(resumed)) == day  # nothing lost
    assert min(int(m["record"]["created_at_timestamp"]) for m in resumed.records) >= 1727758800


def test_wrong_token_fails_fast_in_one_line_and_never_shows_the_token(sim: Simulator, tmp_path: Path) -> None:
    secret = "wrong-token-ZX81"
    sim.clear_requests()
    run = workvivo(tmp_path, config_for(sim, api_token=secret))
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-workvivo: error: Workvivo rejected the API token (HTTP 401")
    assert "`api_token`" in last
    assert secret not in run.stdout + run.stderr
    assert len(sim.requests) <= 4  # one per worker at most: 401 is not retried


def test_wrong_workvivo_id_names_the_setting(sim: Simulator, tmp_path: Path) -> None:
    run = workvivo(tmp_path, config_for(sim, workvivo_id="someone-else"))
    assert run.returncode == 1
    assert "`workvivo_id`" in run.stderr.strip().splitlines()[-1]
    assert TOKEN not in run.stdout + run.stderr


# Bad settings (one line naming the setting, before any request): the table of
# tests/reliability/test_bad_input.py, for every tool.


def test_a_busy_hour_is_paged_through(tmp_path: Path) -> None:
    with Simulator(
        seed=2, scale=12000, start="2024-10-01", days=1, workvivo_id=ORG, workvivo_token=TOKEN
    ) as busy:
        run = workvivo(tmp_path, config_for(busy, end_date="2024-10-01"))
        assert run.returncode == 0, run.stderr[-2000:]
        paged = [r for r in busy.requests if r["query"].get("page")]
        assert paged, "no hour had a second page: the test would prove nothing"
        served = busy.workvivo_events("2024-10-01", "2024-10-02")
        assert sorted(ids(run), key=int) == sorted((e["id"] for e in served), key=int)


def test_a_very_busy_hour_is_split_among_the_workers(tmp_path: Path) -> None:
    """An hour of about five pages: its first page (oldest first) shows how far one page reaches, and the
    hour is fetched as about a page per window, in parallel, each event once and in order."""
    with Simulator(
        seed=2, scale=40000, start="2024-10-01", days=1, workvivo_id=ORG, workvivo_token=TOKEN
    ) as busy:
        run = workvivo(tmp_path, config_for(busy, end_date="2024-10-01", max_workers=4))
        assert run.returncode == 0, run.stderr[-2000:]
        served = busy.workvivo_events("2024-10-01", "2024-10-02")
        got = ids(run)
        assert len(got) == len(set(got)) and sorted(got, key=int) == sorted(
            (e["id"] for e in served), key=int
        )
        windows = Counter(r["path"] for r in busy.requests)
    hours = {path for path in windows if (int(path.split("/")[-1]) - int(path.split("/")[-2])) == 3600}
    assert len(windows) > len(hours) + 1  # some hour became several windows
    pages = sum(
        math.ceil(n / 250) for n in Counter(int(e["created_at_timestamp"]) // 3600 for e in served).values()
    )
    assert sum(windows.values()) <= 1.2 * pages + 1, (sum(windows.values()), pages)


def run_console_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_script("tap-workvivo", tmp_path, *args)


def test_discover_needs_no_credentials_but_a_sync_does(tmp_path: Path) -> None:
    """Discovery sends no request, so it runs without `api_token` and `workvivo_id` (and warns about
    nothing); a sync without the token stops with one line naming it; --about still lists both."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": "http://127.0.0.1:9"}))
    discover = run_console_script(tmp_path, "--config", str(config), "--discover")
    assert discover.returncode == 0, discover.stderr
    assert [s["tap_stream_id"] for s in json.loads(discover.stdout)["streams"]] == ["siem_events"]
    assert "WARNING" not in discover.stderr and "api_token" not in discover.stderr, discover.stderr
    config.write_text(json.dumps({"api_url": "http://127.0.0.1:9", "workvivo_id": ORG}))
    sync = run_console_script(tmp_path, "--config", str(config))
    assert sync.returncode == 1 and sync.stdout == ""
    errors = [line for line in sync.stderr.splitlines() if line.startswith("tap-workvivo: error:")]
    assert len(errors) == 1 and "Missing setting `api_token`" in errors[0], sync.stderr
    about = json.loads(run_console_script(tmp_path, "--about", "--format", "json").stdout)["settings"]
    assert {"workvivo_id", "api_token"} <= set(about["required"])
    assert about["properties"]["api_token"]["secret"] is True


def test_a_tap_built_for_discovery_checks_the_credentials_before_it_syncs() -> None:
    from connector_kit.errors import SettingsError
    from tap_workvivo.tap import TapWorkvivo

    tap = TapWorkvivo(config={"api_url": "http://127.0.0.1:9"}, validate_config=False)
    assert tap.catalog_dict["streams"]
    with pytest.raises(SettingsError, match="Missing setting `workvivo_id`"):
        tap.sync_all()

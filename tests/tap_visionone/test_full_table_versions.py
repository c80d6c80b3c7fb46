"""Full-table streams as Singer table versions: each run replaces the previous copy instead of adding one.

The tap tags a full-table read's RECORDs with a `version` and sends `ACTIVATE_VERSION` once the read
is complete (`connector_kit.sdk_adapter`); target-csv-flat stages the version's rows beside the
CSV and swaps them in on activation (`target_csv_flat.versions`). Checked here: the SDK members the
tap relies on, the target's handling of both orders (after the rows, and the SDK's before them),
two real runs through the console scripts against the simulator, and kills during the second run.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
import requests
from singer_sdk.streams import Stream

from connector_kit.sdk_adapter import activate_version, begin_version
from tap_visionone.tap import TapVisionOne
from target_csv_flat.target import TargetCsvFlat
from tests.simulator import Simulator
from tests.tap_runner import BIN, PipelineRun, run_pipeline, tap_command

API_KEY = "versions-key"
KEYS = {"iam_accounts": "id", "api_keys": "id", "endpoints": "agentGuid", "detections": "uuid"}
FULL_TABLE = ("iam_accounts", "api_keys", "endpoints")
FIRST_END, SECOND_END = "2024-10-02T00:00:00Z", "2024-10-03T00:00:00Z"


# --------------------------------------------------------------------------- the pinned SDK


def test_the_pinned_sdk_has_the_members_table_versions_uses(capsys: pytest.CaptureFixture) -> None:
    """`Stream._stream_version` tags RECORDs; `Stream._write_activate_version_message(version)` exists."""
    parameters = inspect.signature(Stream._write_activate_version_message).parameters
    assert list(parameters) == ["self", "full_table_version"]
    assert "_stream_version" in inspect.getsource(Stream._generate_record_messages)
    assert "emit_activate_version_messages" in dir(Stream)

    tap = TapVisionOne(config={"api_key": "pinned-sdk", "api_url": "http://127.0.0.1:9"})
    stream = tap.streams["iam_accounts"]
    assert stream._stream_version is None  # set by Stream.__init__; no version unless we begin one
    version = begin_version(stream)
    (message,) = stream._generate_record_messages({"id": "a-1"})
    assert message.version == version
    assert message.to_dict()["version"] == version
    capsys.readouterr()
    activate_version(stream, version)
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {"type": "ACTIVATE_VERSION", "stream": "iam_accounts", "version": version}
    assert tap.streams["detections"]._stream_version is None  # windowed streams carry no version


# --------------------------------------------------------------------------- the target, message by message

SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "name": {"type": ["string", "null"]}},
}


def schema(stream: str = "accounts") -> dict:
    return {"type": "SCHEMA", "stream": stream, "schema": SCHEMA, "key_properties": ["id"]}


def records(ids: Iterable[str], version: int | None = None, stream: str = "accounts") -> list[dict]:
    out = []
    for i in ids:
        message = {"type": "RECORD", "stream": stream, "record": {"id": i, "name": f"name {i}"}}
        if version is not None:
            message["version"] = version
        out.append(message)
    return out


def activate(version: int, stream: str = "accounts") -> dict:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def run(folder: Path, messages: list[dict], **config: object) -> TargetCsvFlat:
    target = TargetCsvFlat(config={"output_path": str(folder), **config})
    target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    return target


def ids(path: Path, key: str = "id") -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return [row[key] for row in csv.DictReader(f)]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_activation_after_the_rows_replaces_the_file_and_unversioned_streams_append(tmp_path: Path) -> None:
    for run_number, (version, names) in enumerate([(1000, ["a", "b", "c"]), (2000, ["b", "c", "d"])]):
        run(
            tmp_path,
            [
                schema(),
                *records(names, version),
                activate(version),
                schema("events"),
                *records([f"e{run_number}"], stream="events"),
            ],
        )
        assert ids(tmp_path / "accounts.csv") == names
    assert ids(tmp_path / "events.csv") == ["e0", "e1"]
    assert leftovers(tmp_path) == []


def test_activation_before_the_rows_sdk_style_commits_at_the_end_of_the_input(tmp_path: Path) -> None:
    run(tmp_path, [schema(), activate(1000), *records(["a", "b", "c"], 1000)])
    run(tmp_path, [schema(), activate(2000), *records(["c", "d"], 2000)])
    assert ids(tmp_path / "accounts.csv") == ["c", "d"]
    # a newer version announced in the same input settles the previous one first
    run(tmp_path, [schema(), activate(3000), *records(["x"], 3000), activate(4000), *records(["y"], 4000)])
    assert ids(tmp_path / "accounts.csv") == ["y"]
    assert leftovers(tmp_path) == []


def test_a_version_never_activated_is_dropped_and_the_file_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run(tmp_path, [schema(), *records(["a", "b"], 1000), activate(1000)])
    before = (tmp_path / "accounts.csv").read_bytes()
    run(tmp_path, [schema(), *records(["c", "d", "e"], 2000)])  # the tap stopped before its activation
    assert (tmp_path / "accounts.csv").read_bytes() == before
    assert "table version 2000 was never activated" in caplog.text
    assert leftovers(tmp_path) == []


def test_an_activated_version_without_rows_empties_the_file(tmp_path: Path) -> None:
    run(tmp_path, [schema(), *records(["a", "b"], 1000), activate(1000)])
    run(tmp_path, [schema(), activate(2000)])
    assert (tmp_path / "accounts.csv").read_bytes() == b"id,name,_extra\r\n"


def test_versions_with_small_batches_sort_by_and_a_schema_change(tmp_path: Path) -> None:
    names = [f"n{i:03d}" for i in range(50, 0, -1)]
    grown = {**SCHEMA, "properties": {**SCHEMA["properties"], "role": {"type": ["string", "null"]}}}
    messages = [
        schema(),
        *records(names[:25], 7),
        {"type": "SCHEMA", "stream": "accounts", "schema": grown, "key_properties": ["id"]},
        *records(names[25:], 7),
        activate(7),
    ]
    run(tmp_path, [schema(), *records(["old"], 1), activate(1)])
    run(tmp_path, messages, batch_size_rows=10, sort_by="id")
    with (tmp_path / "accounts.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["id"] for r in rows) == sorted(names)
    assert list(rows[0]) == ["id", "name", "role", "_extra"]
    assert leftovers(tmp_path) == []


def test_process_activate_version_messages_false_appends_as_before(tmp_path: Path) -> None:
    for version in (1000, 2000):
        run(
            tmp_path,
            [schema(), *records(["a", "b"], version), activate(version)],
            process_activate_version_messages=False,
        )
    assert ids(tmp_path / "accounts.csv") == ["a", "b", "a", "b"]


# --------------------------------------------------------------------------- the console script, SDK style

_CLI_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def cli_run(tmp_path: Path, messages: list[dict]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "target.json"
    config.write_text(json.dumps({"output_path": str(tmp_path / "out")}), encoding="utf-8")
    result = subprocess.run(
        [str(BIN / "target-csv-flat"), "--config", str(config)],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**_CLI_ENV, "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_sdk_style_stream_through_the_console_script_ends_with_its_latest_rows(tmp_path: Path) -> None:
    """ACTIVATE_VERSION first, then the rows, as SDK taps send it (`emit_activate_version_messages`)."""
    state = {"type": "STATE", "value": {"bookmarks": {"accounts": {}}}}
    cli_run(tmp_path, [schema(), activate(1000), *records(["a", "b", "c"], 1000), state])
    result = cli_run(tmp_path, [schema(), activate(2000), *records(["b", "x"], 2000), state])
    assert ids(tmp_path / "out" / "accounts.csv") == ["b", "x"]
    assert json.loads(result.stdout.splitlines()[-1]) == state["value"]
    assert leftovers(tmp_path / "out") == []


# --------------------------------------------------------------------------- real runs: tap | target


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator per test: a test may delete records from it."""
    with Simulator(seed=33, scale=150, start="2024-10-01", days=2, api_key=API_KEY) as simulator:
        yield simulator


def tap_config(sim: Simulator, end: str) -> dict:
    return {
        "api_key": API_KEY,
        "api_url": sim.base_url,
        "start_date": "2024-10-01",
        "end_date": end,
        "window_size": "12h",
        "rate_limit_per_minute": 0,
    }


def delete_api_key(sim: Simulator) -> str:
    """Delete one API key through the API, as an administrator would between two runs."""
    key_id = sim.expected("api_keys")[0]["id"]
    answer = requests.post(
        f"{sim.base_url}/v3.0/iam/apiKeys/delete",
        json=[{"id": key_id}],
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert answer.status_code == 207 and answer.json()[0]["status"] == 204, answer.text
    return key_id


def csv_keys(out: Path, stream: str) -> list[str]:
    return ids(out / f"{stream}.csv", KEYS[stream])


def assert_ok(run: PipelineRun) -> None:
    assert run.tap_returncode == 0, run.tap_stderr[-3000:]
    assert run.target_returncode == 0, run.target_stderr[-3000:]


def test_two_runs_into_csv_hold_one_copy_of_each_full_table_stream(tmp_path: Path, sim: Simulator) -> None:
    out = tmp_path / "out"
    streams = [*FULL_TABLE, "detections"]
    config = {"output_path": str(out)}
    first = run_pipeline(tmp_path, tap_config(sim, FIRST_END), "target-csv-flat", config, streams=streams)
    assert_ok(first)
    counts = {s: len(csv_keys(out, s)) for s in streams}
    deleted = delete_api_key(sim)
    second = run_pipeline(
        tmp_path,
        tap_config(sim, SECOND_END),
        "target-csv-flat",
        config,
        streams=streams,
        state=first.last_state,
    )
    assert_ok(second)
    for stream in FULL_TABLE:
        keys = csv_keys(out, stream)
        expected = {r[KEYS[stream]] for r in sim.expected(stream)}
        assert len(keys) == len(set(keys)) == len(expected), stream
        assert set(keys) == expected, stream
    assert deleted not in csv_keys(out, "api_keys")
    assert len(csv_keys(out, "api_keys")) == counts["api_keys"] - 1
    # the incremental stream appended the second run's window to the first run's rows
    detections = csv_keys(out, "detections")
    assert len(detections) == counts["detections"] + sim.expected_count("detections", FIRST_END, SECOND_END)
    assert set(detections) == sim.detection_ids("2024-10-01", SECOND_END)
    assert leftovers(out) == []


def relay(
    tmp_path: Path,
    sim: Simulator,
    out: Path,
    stop_at: Callable[[dict], bool],
) -> tuple[subprocess.Popen, subprocess.Popen]:
    """`tap | target` with the test in the middle: lines are passed on until `stop_at` is true."""
    target_config = tmp_path / "relay-target.json"
    target_config.write_text(json.dumps({"output_path": str(out)}), encoding="utf-8")
    tap = subprocess.Popen(
        tap_command(tmp_path, tap_config(sim, FIRST_END), streams=("iam_accounts",)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    target = subprocess.Popen(
        [str(BIN / "target-csv-flat"), "--config", str(target_config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "relay-target.err").open("w"),
    )
    assert tap.stdout is not None and target.stdin is not None
    for line in tap.stdout:
        if stop_at(json.loads(line)):
            break
        target.stdin.write(line)
        target.stdin.flush()
    else:
        pytest.fail("the tap ended without the message the test waits for")
    return tap, target


def is_activation(message: dict) -> bool:
    return message["type"] == "ACTIVATE_VERSION"


def staging_files(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.name.startswith(".iam_accounts.csv.tmp-")]


def sync_accounts(tmp_path: Path, sim: Simulator, out: Path) -> None:
    """One complete `tap-visionone | target-csv-flat` run of iam_accounts into `out`."""
    config, target = tap_config(sim, FIRST_END), {"output_path": str(out)}
    assert_ok(run_pipeline(tmp_path, config, "target-csv-flat", target, streams=["iam_accounts"]))


def first_copy(tmp_path: Path, sim: Simulator, out: Path) -> bytes:
    sync_accounts(tmp_path, sim, out)
    assert len(csv_keys(out, "iam_accounts")) == sim.expected_count("iam_accounts")
    return (out / "iam_accounts.csv").read_bytes()


def test_tap_killed_before_its_activation_leaves_the_first_copy(tmp_path: Path, sim: Simulator) -> None:
    out = tmp_path / "out"
    before = first_copy(tmp_path, sim, out)
    tap, target = relay(tmp_path, sim, out, is_activation)  # every record passed on, not the activation
    tap.send_signal(signal.SIGKILL)
    tap.wait()
    target.stdin.close()  # type: ignore[union-attr]
    assert target.wait(timeout=60) == 0
    assert (out / "iam_accounts.csv").read_bytes() == before
    assert "never activated" in (tmp_path / "relay-target.err").read_text()
    assert leftovers(out) == []


def test_target_killed_mid_version_leaves_the_first_copy_and_the_next_run_cleans_up(
    tmp_path: Path, sim: Simulator
) -> None:
    out = tmp_path / "out"
    before = first_copy(tmp_path, sim, out)
    tap, target = relay(tmp_path, sim, out, is_activation)
    deadline = time.monotonic() + 60
    while not staging_files(out):  # the target has staged the version's rows
        assert time.monotonic() < deadline, "no staging file appeared"
        time.sleep(0.05)
    target.send_signal(signal.SIGKILL)
    target.wait()
    tap.kill()
    tap.wait()
    assert (out / "iam_accounts.csv").read_bytes() == before
    assert staging_files(out)  # left by the killed run ...
    sync_accounts(tmp_path, sim, out)
    keys = csv_keys(out, "iam_accounts")
    assert len(keys) == len(set(keys)) == sim.expected_count("iam_accounts")
    assert leftovers(out) == []  # ... and removed by the next one

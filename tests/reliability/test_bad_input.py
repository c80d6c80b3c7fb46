"""Bad input: every tool refuses bad settings, files and command lines in one line, before any output.

One case per row of ``CASES``: the tool, its config (a dict, or raw text for a file that is not JSON),
extra files and arguments, and a fragment the error line must contain (the setting, option or row it
names). This is the one table of bad settings for every tool; the plugins' own test folders hold no
second copy of these cases. Each case runs the tool's console entry point (``main``) and must:

- exit non-zero;
- print exactly one error line, ``<tool>: error: ...``, as the last line of stderr, containing the
  fragment (the SDK's INFO log lines may come before it; the target's stderr has no other line with
  "error" in it); no ``Traceback`` anywhere in stderr;
- leave no partial output: no RECORD on stdout (taps, mapper), no STATE on stdout and no CSV or
  temporary file in the output folder (target), an empty stdout (visionone-actions), and no request
  received by the simulator (every case fails before the first request).

One case per tool (``process=True``) runs the real console script as a subprocess, with its input on
stdin, and proves the same of the script as the user runs it; the others call ``main`` in this process
(tests.in_process.run_main: same command line, environment and working folder, a second less each).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.in_process import run_main
from tests.simulator import Simulator
from tests.tap_runner import BIN, discovered_catalog, select_streams

V1 = "tap-visionone"
WV = "tap-workvivo"
MAPPER = "mapper-visionone-actions"
TARGET = "target-csv-flat"
ACTIONS = "visionone-actions"

SIM = "{sim}"  # replaced by the simulator's base URL
TMP = "{tmp}"  # replaced by the case's temporary folder

V1_OK = {"api_key": "sim-key", "api_url": SIM, "start_date": "2024-10-01", "end_date": "2024-10-02"}
WV_OK = {
    "workvivo_id": "sim-org",
    "api_token": "sim-workvivo-token",
    "api_url": SIM,
    "start_date": "2024-10-01",
    "end_date": "2024-10-01",
}
TARGET_OK = {"output_path": f"{TMP}/out"}
CATALOG = object()  # `--catalog` with the one default stream of the tap selected
BAD_CATALOG = object()  # `--catalog` selecting a stream the tap does not have


@dataclass
class Case:
    id: str
    tool: str
    config: dict | str | None
    expect: str
    args: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    catalog: object | None = None
    env: dict[str, str] = field(default_factory=dict)
    stdin: bool = False  # feed the target a small Singer stream
    exit_code: int | None = None  # None: any non-zero
    process: bool = False  # run the real console script (one case per tool), else `main` in this process


def v1(**changes: object) -> dict:
    return {k: v for k, v in {**V1_OK, **changes}.items() if v is not None}


def wv(**changes: object) -> dict:
    return {k: v for k, v in {**WV_OK, **changes}.items() if v is not None}


WRONG_BOOKMARK = {
    "bookmarks": {"detections": {"replication_key": "eventTime", "replication_key_value": "yesterday"}}
}
WV_WRONG_BOOKMARK = {
    "bookmarks": {"siem_events": {"replication_key": "created_at_timestamp", "replication_key_value": [1]}}
}

CASES = [
    # -- tap-visionone ------------------------------------------------------------------------------
    Case("v1-bad-start-date", V1, v1(start_date="2024-13-45"), "`start_date`", catalog=CATALOG, process=True),
    Case("v1-end-before-start", V1, v1(start_date="2024-10-05", end_date="2024-10-01"), "`end_date`"),
    Case("v1-unknown-region", V1, v1(api_url=None, region="mars"), "`region`"),
    Case("v1-plain-http-remote", V1, v1(api_url="http://example.com"), "`api_url`"),
    Case("v1-page-size", V1, v1(page_size=77), "`page_size`"),
    Case("v1-negative-rate-limit", V1, v1(rate_limit_per_minute=-5), "`rate_limit_per_minute`"),
    Case("v1-negative-workers", V1, v1(max_workers=-1), "`max_workers`"),
    Case(  # the SDK reads an integer setting from the environment with int(): a traceback before
        "v1-env-workers-not-a-number",
        V1,
        None,
        "TAP_VISIONONE_MAX_WORKERS='two' is not a whole number",
        args=["--config", "ENV", "--discover"],
        env={"TAP_VISIONONE_API_KEY": "sim-key", "TAP_VISIONONE_MAX_WORKERS": "two"},
    ),
    Case(
        "wv-env-workers-not-a-number",
        WV,
        None,
        "TAP_WORKVIVO_MAX_WORKERS='2.5' is not a whole number",
        args=["--config", "ENV", "--discover"],
        env={"TAP_WORKVIVO_MAX_WORKERS": "2.5"},
    ),
    Case("v1-bad-window", V1, v1(window_size="forever"), "`window_size`"),
    Case(
        "v1-unknown-stream-option",
        V1,
        v1(stream_options={"nope": {}}),
        "Invalid setting `stream_options`: there is no stream 'nope'",
    ),
    Case(
        "v1-stream-option-audit-query",
        V1,
        v1(stream_options={"audit_logs": {"query": "x"}}),
        "Invalid setting `stream_options.audit_logs.query`: audit_logs takes filter",
    ),
    Case(
        "v1-stream-option-detections-filter",
        V1,
        v1(stream_options={"detections": {"filter": "x"}}),
        "Invalid setting `stream_options.detections.filter`",
    ),
    Case(
        "v1-stream-option-oat-range-too-long",
        V1,
        v1(
            stream_options={
                "oat_detections": {"detected_start_date": "2022-01-01", "detected_end_date": "2024-01-01"}
            }
        ),
        "Invalid setting `stream_options.oat_detections.detected_start_date`: "
        "the API allows a detected range",
    ),
    Case(
        "v1-stream-option-oat-bad-date",
        V1,
        v1(stream_options={"oat_detections": {"detected_start_date": "yesterday-ish"}}),
        "Invalid setting `stream_options.oat_detections.detected_start_date`",
    ),
    Case(
        "v1-stream-options-not-object",
        V1,
        v1(stream_options="audit_logs"),
        "Invalid setting `stream_options`: it must be an object",
    ),
    Case("v1-missing-key", V1, v1(api_key=None), "`api_key`"),
    Case("v1-empty-key", V1, v1(api_key=""), "`api_key`"),
    Case("v1-config-not-json", V1, "{api_key: sim-key", "--config"),
    Case("v1-config-missing", V1, None, "--config", args=["--config", f"{TMP}/nowhere.json"]),
    Case("v1-state-not-json", V1, v1(), "--state", files={"state.json": '{"bookmarks": {'}, catalog=CATALOG),
    Case("v1-state-not-object", V1, v1(), "--state", files={"state.json": "[1, 2]"}, catalog=CATALOG),
    Case(
        "v1-state-bookmark-wrong-type",
        V1,
        v1(),
        "Invalid state: bookmark 'yesterday'",
        files={"state.json": json.dumps(WRONG_BOOKMARK)},
        catalog=CATALOG,
    ),
    Case("v1-catalog-unknown-stream", V1, v1(), "stream 'nope'", catalog=BAD_CATALOG),
    Case(
        "v1-catalog-not-json",
        V1,
        v1(),
        "--catalog",
        args=["--catalog", f"{TMP}/catalog.txt"],
        files={"catalog.txt": "streams: [detections]"},
    ),
    # -- tap-workvivo -------------------------------------------------------------------------------
    Case("wv-bad-start-date", WV, wv(start_date="2024-99-01"), "Invalid setting `start_date`", process=True),
    Case(
        "wv-end-before-start",
        WV,
        wv(start_date="2024-10-03", end_date="2024-10-01"),
        "Invalid setting `end_date`: 2024-10-01 is not after `start_date`",
    ),
    Case("wv-window-too-long", WV, wv(window_size="2d"), "Invalid setting `window_size`"),
    Case("wv-plain-http-remote", WV, wv(api_url="http://workvivo.example"), "Invalid setting `api_url`"),
    Case("wv-missing-token", WV, wv(api_token=None), "Missing setting `api_token`"),
    Case("wv-empty-workvivo-id", WV, wv(workvivo_id=""), "Missing setting `workvivo_id`"),
    Case("wv-state-not-json", WV, wv(), "--state", files={"state.json": "{oops"}),
    Case(
        "wv-state-bookmark-wrong-type",
        WV,
        wv(),
        "Invalid state: bookmark '[1]'",
        files={"state.json": json.dumps(WV_WRONG_BOOKMARK)},
        catalog=CATALOG,
    ),
    Case("wv-catalog-unknown-stream", WV, wv(), "stream 'nope'", catalog=BAD_CATALOG),
    # -- mapper-visionone-actions ---------------------------------------------------------------------
    Case(
        "mapper-inactive-days-negative",
        MAPPER,
        {"inactive_days": -3},
        "Invalid setting `inactive_days`: -3 is not between 1 and 180 "
        "(Vision One keeps 180 days of audit logs).",
        stdin=True,
        exit_code=1,
        process=True,
    ),
    Case("mapper-bad-as-of", MAPPER, {"as_of": "next tuesday"}, "`as_of`", stdin=True),
    Case("mapper-config-not-json", MAPPER, "inactive_days = 90", "--config", stdin=True),
    # -- target-csv-flat ----------------------------------------------------------------------------
    # Tests run as root, where chmod 000 does not stop writes: a folder under a regular file does.
    Case("target-output-under-file", TARGET, {"output_path": "/etc/hostname/sub"}, "output_path", stdin=True),
    Case(
        "target-unknown-timezone",
        TARGET,
        {**TARGET_OK, "timezone": "Mars/Olympus"},
        "timezone",
        stdin=True,
        exit_code=1,
        process=True,
    ),
    Case("target-bad-list-format", TARGET, {**TARGET_OK, "list_format": "xml"}, "list_format", stdin=True),
    Case(
        "target-bad-on-invalid",
        TARGET,
        {**TARGET_OK, "on_invalid_record": "explode"},
        "on_invalid_record",
        stdin=True,
    ),
    Case(
        "target-bad-naming",
        TARGET,
        {**TARGET_OK, "file_naming_scheme": "{nope}.csv"},
        "file_naming_scheme",
        stdin=True,
    ),
    Case("target-config-not-json", TARGET, "output_path: out", "--config", stdin=True),
    # -- visionone-actions (exit code 2: nothing was sent) ------------------------------------------------
    Case(
        "actions-csv-missing-column",
        ACTIONS,
        None,
        "rows.csv row 1: missing --account-name",
        args=["disable-account", "--from-file", f"{TMP}/rows.csv", "--yes"],
        files={"rows.csv": "RoleName,RequestType\nAnalyst,Remove\n"},
        exit_code=2,
        process=True,
    ),
    Case(
        "actions-csv-empty-cell",
        ACTIONS,
        None,
        "rows.csv row 2: missing --account-name",
        args=["disable-account", "--from-file", f"{TMP}/rows.csv", "--yes"],
        files={"rows.csv": "UserId,RoleName\nalice@corp.example,Analyst\n,Analyst\n"},
        exit_code=2,
    ),
    Case(
        "actions-jsonl-broken",
        ACTIONS,
        None,
        "line 1 is not JSON",
        args=["add-to-block-list", "--from-file", f"{TMP}/rows.jsonl", "--yes"],
        files={"rows.jsonl": '{"object_type": "domain"\n'},
        exit_code=2,
    ),
    Case(
        "actions-from-file-missing",
        ACTIONS,
        None,
        "--from-file",
        args=["disable-account", "--from-file", f"{TMP}/nowhere.csv", "--yes"],
        exit_code=2,
    ),
    Case(
        "actions-config-not-json",
        ACTIONS,
        None,
        "--config",
        args=[
            "add-to-block-list",
            "--config",
            f"{TMP}/c.json",
            "--object-type",
            "domain",
            "--object-value",
            "evil.example",
            "--yes",
        ],
        files={"c.json": "api_key=sim-key"},
        exit_code=2,
    ),
    Case(
        "actions-plain-http-remote",
        ACTIONS,
        None,
        "`api_url`",
        args=["add-to-block-list", "--object-type", "domain", "--object-value", "evil.example", "--yes"],
        env={"TAP_VISIONONE_API_KEY": "sim-key", "TAP_VISIONONE_API_URL": "http://example.com"},
        exit_code=2,
    ),
    Case(
        "actions-missing-key",
        ACTIONS,
        None,
        "`api_key`",
        args=["add-to-block-list", "--object-type", "domain", "--object-value", "evil.example", "--yes"],
        env={"TAP_VISIONONE_API_URL": SIM},
        exit_code=2,
    ),
]

FULL_DISK = Case(
    "target-full-disk", TARGET, {"output_path": f"{TMP}/tiny"}, "No space left on device", stdin=True
)


def singer_input(records: int = 20, width: int = 10) -> str:
    """A small Singer stream (SCHEMA, RECORDs, STATE) for the target and the mapper."""
    schema = {
        "type": "SCHEMA",
        "stream": "detections",
        "key_properties": ["uuid"],
        "schema": {"type": "object", "properties": {"uuid": {"type": "string"}, "text": {"type": "string"}}},
    }
    lines = [json.dumps(schema)]
    lines += [
        json.dumps(
            {"type": "RECORD", "stream": "detections", "record": {"uuid": f"u-{i}", "text": "x" * width}}
        )
        for i in range(records)
    ]
    lines.append(json.dumps({"type": "STATE", "value": {"bookmarks": {"detections": {"n": records}}}}))
    return "\n".join(lines) + "\n"


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment without any tool's settings (so only the case's settings apply)."""
    prefixes = ("TAP_VISIONONE_", "TAP_WORKVIVO_", "TARGET_CSV_", "MAPPER_VISIONONE_ACTIONS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**env, **extra}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed=1, scale=50, start="2024-10-01", days=2, api_key="sim-key") as simulator:
        yield simulator


def fill(text: str, sim: Simulator, tmp: Path) -> str:
    return text.replace(SIM, sim.base_url).replace(TMP, str(tmp))


def catalog_for(tool: str, unknown: bool) -> dict:
    default = "detections" if tool == V1 else "siem_events"
    catalog = select_streams(discovered_catalog(tool), [default])
    if unknown:
        entry = json.loads(json.dumps(catalog["streams"][0]))
        entry["tap_stream_id"] = entry["stream"] = "nope"
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = True
        catalog["streams"] = [entry]
    return catalog


def prepare(case: Case, sim: Simulator, tmp: Path) -> tuple[list[str], dict[str, str], str]:
    """The case's command line (after the executable), the settings variables it sets, and its input;
    its config, catalog and other files are written to ``tmp``."""
    args: list[str] = []
    if case.config is not None:
        text = case.config if isinstance(case.config, str) else json.dumps(case.config)
        (tmp / "config.json").write_text(fill(text, sim, tmp))
        args += ["--config", str(tmp / "config.json")]
    for name, content in case.files.items():
        (tmp / name).write_text(content)
    if "state.json" in case.files:
        args += ["--state", str(tmp / "state.json")]
    if case.catalog is not None:
        catalog_file = tmp / "catalog.json"
        catalog_file.write_text(json.dumps(catalog_for(case.tool, unknown=case.catalog is BAD_CATALOG)))
        args += ["--catalog", str(catalog_file)]
    args += [fill(arg, sim, tmp) for arg in case.args]
    env = {k: fill(v, sim, tmp) for k, v in case.env.items()}
    stdin = singer_input(2000, 100) if case is FULL_DISK else singer_input()
    return args, env, stdin if case.stdin else ""


def run_case(case: Case, sim: Simulator, tmp: Path) -> subprocess.CompletedProcess:
    """The real console script, as a subprocess, its input on stdin."""
    args, env, stdin = prepare(case, sim, tmp)
    return subprocess.run(
        [str(BIN / case.tool), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp,  # no .env of the checkout is read
        env=clean_env(env),
        check=False,
    )


def run_in_process(case: Case, sim: Simulator, tmp: Path) -> subprocess.CompletedProcess:
    """The console script's `main` in this process (tests.in_process), its input from ``--input``."""
    args, env, stdin = prepare(case, sim, tmp)
    if case.stdin:
        (tmp / "input.jsonl").write_text(stdin)
        args += ["--input", str(tmp / "input.jsonl")]
    run = run_main(case.tool, args, cwd=tmp, env=env)  # cwd: no .env of the checkout is read
    return subprocess.CompletedProcess(args, run.returncode, run.stdout, run.stderr)


def check_one_line(case: Case, proc: subprocess.CompletedProcess) -> str:
    """The promise common to every case; returns the error line."""
    assert proc.returncode != 0, f"{case.id}: exit code 0\n{proc.stderr[-2000:]}"
    if case.exit_code is not None:
        assert proc.returncode == case.exit_code, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]
    prefix = f"{case.tool}: error: "
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith(prefix)]
    assert len(error_lines) == 1, f"{case.id}: {len(error_lines)} error lines\n{proc.stderr[-2000:]}"
    assert proc.stderr.rstrip("\n").splitlines()[-1] == error_lines[0], "the error line must come last"
    assert case.expect in error_lines[0], f"{case.id}: {case.expect!r} not in {error_lines[0]!r}"
    if case.tool == TARGET:  # the target logs nothing else about it (a tap's SDK logs an ERROR line too)
        others = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
        assert others == error_lines, f"{case.id}: more lines about the error: {others}"
    return error_lines[0]


def check_no_output(case: Case, proc: subprocess.CompletedProcess, tmp: Path) -> None:
    if case.tool == ACTIONS:
        assert proc.stdout == ""
        return
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    kinds = {message["type"] for message in messages}
    if case.tool == TARGET:
        assert not messages, "the target wrote STATE for data it did not write"
        written = [p for p in tmp.rglob("*") if p.is_file() and p.parent != tmp]
        assert not written, f"files left behind: {written}"
    else:
        assert "RECORD" not in kinds, f"records on stdout before the error: {kinds}"
        if "Invalid state" not in case.expect:  # settings fail before the tap writes anything
            assert proc.stdout == ""


@pytest.mark.parametrize("case", CASES, ids=[f"{case.id}{'-process' * case.process}" for case in CASES])
def test_bad_input(case: Case, sim: Simulator, tmp_path: Path, figures) -> None:
    before = len(sim.requests)
    proc = (run_case if case.process else run_in_process)(case, sim, tmp_path)
    line = check_one_line(case, proc)
    check_no_output(case, proc, tmp_path)
    assert len(sim.requests) == before, "a request was sent despite the bad input"
    figures.record(
        "bad-input",
        tool=case.tool,
        run="console script" if case.process else "main() in process",
        exit_code=proc.returncode,
        error_lines=1,
        tracebacks=0,
        records_out=0,
        requests=0,
        message=line,
    )


def test_one_console_script_case_per_tool() -> None:
    """The subprocess cases: exactly one per tool, so each script's own wiring is proven once."""
    tools = [case.tool for case in CASES if case.process]
    assert sorted(tools) == sorted({V1, WV, MAPPER, TARGET, ACTIONS}), tools


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (needs root); skipped where it cannot be mounted."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_full_disk(tiny_disk: Path, sim: Simulator, tmp_path: Path, figures) -> None:
    """200 KB of rows into a 64 KiB filesystem: one line naming the file, and nothing left on the disk."""
    proc = run_case(FULL_DISK, sim, tmp_path)
    line = check_one_line(FULL_DISK, proc)
    assert "detections.csv" in line
    assert proc.stdout == "", "no STATE for rows that were not written"
    left = list(tiny_disk.iterdir())
    assert left == [], f"half-written files left on the full disk: {left}"
    figures.record("bad-input", tool=TARGET, exit_code=proc.returncode, files_left=0, message=line)


def test_case_count(figures) -> None:
    """The issue asks for at least 25 bad configurations and command lines across the tools."""
    tools = {case.tool for case in CASES}
    assert len(CASES) + 1 >= 25 and tools == {V1, WV, MAPPER, TARGET, ACTIONS}
    figures.record("bad-input", cases=len(CASES) + 1, tools=len(tools))

"""Runs the real `tap-visionone` console script as a subprocess and parses its Singer output."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


@dataclass
class TapRun:
    returncode: int
    stdout: str
    stderr: str
    records: list[dict] = field(default_factory=list)
    states: list[dict] = field(default_factory=list)

    @property
    def last_state(self) -> dict | None:
        return self.states[-1] if self.states else None

    def ids(self, stream: str = "detections", key: str = "uuid") -> list[str]:
        return [r["record"][key] for r in self.records if r["stream"] == stream]


def run_console_script(tool: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``TOOL ARGS`` with none of the tool's own variables (``TAP_VISIONONE_*`` for tap-visionone), in
    ``cwd`` (an empty folder: no .env is read)."""
    prefix = tool.upper().replace("-", "_") + "_"
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
    return subprocess.run(
        [str(BIN / tool), *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60, check=False,
    )  # fmt: skip


def parse_messages(stdout: str) -> tuple[list[dict], list[dict]]:
    records, states = [], []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.append(message)
        elif message["type"] == "STATE":
            states.append(message["value"])
    return records, states


SECRET_SETTINGS = ("api_key", "api_token")


def secrets_of(config: dict | None, env: dict | None = None) -> list[str]:
    """The keys and tokens a run was given (settings, or ``*_API_KEY``/``*_API_TOKEN`` variables)."""
    values = [str(config[name]) for name in SECRET_SETTINGS if config and config.get(name)]
    values += [str(v) for k, v in (env or {}).items() if k.endswith(("_API_KEY", "_API_TOKEN")) and v]
    return [value for value in values if len(value) >= 6]  # shorter ones are bad-input cases


def assert_no_secret(secrets: Sequence[str], **outputs: str) -> None:
    """Every run through these helpers checks that its outputs never hold a key or token it was given."""
    for secret in secrets:
        if len(secret) < 6:  # none, or a deliberately short bad-input value
            continue
        for name, text in outputs.items():
            assert secret not in text, f"a {len(secret)}-character key or token it was given is in its {name}"


ALL = None  # `streams=ALL`: every stream, as the tap selects them without a catalog


@functools.cache
def discovered_catalog(executable: str = "tap-visionone") -> str:
    """The tap's own `--discover` output (it needs no connection), run once per test session."""
    settings = {"api_url": "http://127.0.0.1:9"}
    if executable == "tap-workvivo":
        settings |= {"workvivo_id": "discover-only", "api_token": "discover-only"}
    else:
        settings["api_key"] = "discover-only"
    config = json.dumps(settings)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as config_file:
        config_file.write(config)
        config_file.flush()
        proc = subprocess.run(
            [str(BIN / executable), "--config", config_file.name, "--discover"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
    return proc.stdout


def select_streams(catalog_text: str, streams: Sequence[str]) -> dict:
    """The discovered catalog with exactly `streams` selected, as `meltano select` would leave it."""
    catalog = json.loads(catalog_text)
    known = {entry["tap_stream_id"] for entry in catalog["streams"]}
    unknown = set(streams) - known
    if unknown:
        raise ValueError(f"no such streams: {sorted(unknown)}")
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def tap_command(
    tmp_path: Path,
    config: dict,
    *,
    state: dict | None = None,
    executable: str = "tap-visionone",
    streams: Sequence[str] | None = ("detections",),
) -> list[str]:
    """The console script's command line, with `config` (and `state`, catalog) written to `tmp_path`.

    Only `streams` are selected (default: detections, which most tests are about); `ALL` runs
    every stream, as the tap does without a catalog.
    """
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    args = [str(BIN / executable), "--config", str(config_file)]
    if state is not None:
        state_file = tmp_path / "state.json"
        state_file.write_text(json.dumps(state))
        args += ["--state", str(state_file)]
    if streams is not None:
        catalog_file = tmp_path / "catalog.json"
        catalog_file.write_text(json.dumps(select_streams(discovered_catalog(executable), streams)))
        args += ["--catalog", str(catalog_file)]
    return args


def run_tap(
    tmp_path: Path,
    config: dict,
    *,
    state: dict | None = None,
    executable: str = "tap-visionone",
    timeout: float = 240,
    env: dict | None = None,
    streams: Sequence[str] | None = ("detections",),
) -> TapRun:
    args = tap_command(tmp_path, config, state=state, executable=executable, streams=streams)
    proc = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, check=False
    )
    # A failed run may have been cut mid-line; parse only its complete lines.
    assert_no_secret(secrets_of(config, env), stdout=proc.stdout, stderr=proc.stderr)
    complete = proc.stdout[: proc.stdout.rfind("\n") + 1]
    records, states = parse_messages(complete)
    return TapRun(proc.returncode, proc.stdout, proc.stderr, records, states)


@dataclass
class PipelineRun:
    tap_returncode: int
    target_returncode: int
    target_stdout: str
    tap_stderr: str
    target_stderr: str

    @property
    def last_state(self) -> dict | None:
        states = [json.loads(line) for line in self.target_stdout.splitlines() if line.strip()]
        return states[-1] if states else None


def run_pipeline(
    tmp_path: Path,
    tap_config: dict,
    target: str,
    target_config: dict,
    *,
    state: dict | None = None,
    timeout: float = 300,
    streams: Sequence[str] | None = ("detections",),
    executable: str = "tap-visionone",
    env: dict | None = None,
    mapper_config: dict | None = None,
) -> PipelineRun:
    """`<tap> | <target>`, both real console scripts joined by a pipe, as Meltano runs them; with
    `mapper_config`, `<tap> | mapper-visionone-actions | <target>` (the mapper's exit code must be 0)."""
    target_file = tmp_path / f"{target}.json"
    target_file.write_text(json.dumps(target_config))
    tap_args = tap_command(tmp_path, tap_config, state=state, executable=executable, streams=streams)
    environment = {**os.environ, **(env or {})}
    tap_err, target_err = tmp_path / "tap.err", tmp_path / "target.err"
    with tap_err.open("w") as tap_err_out, target_err.open("w") as target_err_out:
        tap = subprocess.Popen(tap_args, stdout=subprocess.PIPE, stderr=tap_err_out, env=environment)
        upstream, mapper = tap.stdout, None
        if mapper_config is not None:
            mapper_file = tmp_path / "mapper.json"
            mapper_file.write_text(json.dumps(mapper_config))
            mapper = subprocess.Popen(
                [str(BIN / "mapper-visionone-actions"), "--config", str(mapper_file)],
                stdin=tap.stdout, stdout=subprocess.PIPE, stderr=target_err_out, env=environment,
            )  # fmt: skip
            tap.stdout.close()
            upstream = mapper.stdout
        target_proc = subprocess.run(
            [str(BIN / target), "--config", str(target_file)],
            env=environment,
            stdin=upstream,
            stdout=subprocess.PIPE,
            stderr=target_err_out,
            text=True,
            timeout=timeout,
            check=False,
        )
        upstream.close()
        tap_rc = tap.wait(timeout=timeout)
        if mapper is not None:
            assert mapper.wait(timeout=timeout) == 0, target_err.read_text()[-3000:]
    run = PipelineRun(
        tap_rc, target_proc.returncode, target_proc.stdout, tap_err.read_text(), target_err.read_text()
    )
    assert_no_secret(
        secrets_of(tap_config),
        tap_stderr=run.tap_stderr,
        target_stdout=run.target_stdout,
        target_stderr=run.target_stderr,
    )
    return run

"""Secrets: no key or token in any output of any tool; TLS is verified by default; `verify_ssl: false` warns.

Every run uses a key and a token made of random hex for this test session, so a match cannot come
from fixture data. Each tool runs in every mode that prints something — ``--about`` in its three
formats, ``--discover``, full syncs at DEBUG log level with retries and a forbidden stream, a refused
key, a refused TLS certificate, the actions CLI's ``--help``, ``--dry-run``, real actions and
``--wait`` — and its stdout, stderr and every file it wrote (CSV, state) are scanned for the full
secret and for any 12-character slice of it (a key cut short is still a leak).

Besides these, every run of the shared runners (`tests.tap_runner.run_tap`, `run_pipeline`, and the
actions CLI's `run_cli`/`run_main`) asserts that its stdout and stderr hold none of the keys it was given.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.simulator import Simulator
from tests.simulator.tls import cert_file
from tests.tap_runner import ALL, BIN, run_pipeline, run_tap, tap_command

V1_KEY = "v1key-" + secrets.token_hex(24)
WRONG_KEY = "v1wrong-" + secrets.token_hex(24)
WV_TOKEN = "wvtoken-" + secrets.token_hex(24)
WRONG_TOKEN = "wvwrong-" + secrets.token_hex(24)
ALL_SECRETS = (V1_KEY, WRONG_KEY, WV_TOKEN, WRONG_TOKEN)
ORG = "org-secrets"
START, END = "2024-10-01T00:00:00Z", "2024-10-02T00:00:00Z"
DEBUG = {"LOGLEVEL": "DEBUG"}  # the Singer SDK's log level: the most it ever logs
# the retries are here for what they log, not for their waits
FAST_RETRIES = {"retry_wait": 0.001, "max_tries": 5}


def fragments(secret: str, width: int = 12) -> list[str]:
    """The secret and every slice of ``width`` characters of its random part."""
    random_part = secret.split("-", 1)[1]
    return [secret, *(random_part[i : i + width] for i in range(len(random_part) - width + 1))]


@dataclass
class Scan:
    """What one test scanned: outputs and files, and any secret found."""

    outputs: int = 0
    files: int = 0
    bytes: int = 0
    found: list[str] = field(default_factory=list)

    def text(self, where: str, text: str) -> None:
        self.outputs += 1
        self.bytes += len(text.encode())
        for secret in ALL_SECRETS:
            if any(fragment in text for fragment in fragments(secret)):
                self.found.append(where)  # never the secret itself

    def folder(self, folder: Path, skip: Iterable[str] = ()) -> None:
        """Every file the tools wrote under ``folder`` (the inputs the test wrote are ``skip``ped)."""
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name not in skip:
                self.files += 1
                self.text(str(path.relative_to(folder)), path.read_text(errors="replace"))
                self.outputs -= 1

    def assert_clean(self) -> None:
        assert self.outputs > 0 or self.files > 0, "nothing was scanned"
        assert self.found == [], f"a key or token appears in: {self.found}"


INPUTS = ("config.json", "catalog.json", "state.json", "tap-visionone.json", "target-csv-flat.json")


def v1_config(sim: Simulator, **overrides: object) -> dict:
    return {
        "api_key": V1_KEY,
        "api_url": sim.base_url,
        "start_date": START,
        "end_date": END,
        "window_size": "6h",
        "max_workers": 2,
        "rate_limit_per_minute": 0,
        "request_timeout": 5,
        **FAST_RETRIES,
        **overrides,
    }


def wv_config(sim: Simulator, **overrides: object) -> dict:
    return {
        "workvivo_id": ORG,
        "api_token": WV_TOKEN,
        "api_url": sim.base_url,
        "start_date": "2024-10-01",
        "end_date": "2024-10-01",
        "max_workers": 2,
        "rate_limit_per_minute": 0,
        **FAST_RETRIES,
        **overrides,
    }


def run(
    args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_VISIONONE_", "TAP_WORKVIVO_"))}
    return subprocess.run(
        args, capture_output=True, text=True, env={**clean, **(env or {})}, cwd=cwd, timeout=240, check=False
    )


def scan_about_and_discover(scan: Scan, command: list[str], setting: str, stream: str) -> None:
    """``--about`` (which lists the secret ``setting``) in its three formats, and ``--discover`` (which
    lists ``stream``), with a config holding the secret."""
    for extra in (
        ["--about"],
        ["--about", "--format=json"],
        ["--about", "--format=markdown"],
        ["--discover"],
    ):
        proc = run([*command, *extra], DEBUG)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert (f'"{stream}"' if extra == ["--discover"] else setting) in proc.stdout, extra
        scan.text(" ".join(extra) + " stdout", proc.stdout)
        scan.text(" ".join(extra) + " stderr", proc.stderr)


def test_tap_visionone_outputs_hold_no_key(tmp_path: Path, figures) -> None:
    scan = Scan()
    with Simulator(seed=31, scale=200, start="2024-10-01", days=1, api_key=V1_KEY) as sim:
        scan_about_and_discover(
            scan, tap_command(tmp_path, v1_config(sim), streams=None), "api_key", "detections"
        )

        # every stream, tap | target, at DEBUG, with retries and one forbidden stream
        sim.fail_next(4, 503)
        sim.forbid("/v3.0/iam/apiKeys")
        out = tmp_path / "out"
        pipeline = run_pipeline(
            tmp_path, v1_config(sim), "target-csv-flat", {"output_path": str(out)}, streams=ALL, env=DEBUG
        )
        assert pipeline.tap_returncode == 0 and pipeline.target_returncode == 0, pipeline.tap_stderr[-2000:]
        assert "retry 1/4" in pipeline.tap_stderr and "api_keys: skipped" in pipeline.tap_stderr
        assert "DEBUG" in pipeline.tap_stderr
        scan.text("sync: tap stderr", pipeline.tap_stderr)
        scan.text("sync: target stdout (state)", pipeline.target_stdout)
        scan.text("sync: target stderr", pipeline.target_stderr)
        (tmp_path / "final-state.json").write_text(pipeline.target_stdout)
        scan.folder(out)
        csvs = sorted(p.name for p in out.glob("*.csv"))
        assert len(csvs) >= 10, csvs

        # a refused key: the wrong key is in no output either
        refused = run_tap(tmp_path, v1_config(sim, api_key=WRONG_KEY), env=DEBUG)
        assert refused.returncode == 1 and "rejected the API key" in refused.stderr
        scan.text("401: stdout", refused.stdout)
        scan.text("401: stderr", refused.stderr)
        requests = len(sim.requests)
    scan.assert_clean()
    figures.record(
        "secrets",
        tool="tap-visionone",
        runs=7,
        outputs_scanned=scan.outputs,
        files_scanned=scan.files,
        bytes_scanned=scan.bytes,
        requests=requests,
        occurrences=0,
    )


def test_tap_workvivo_outputs_hold_no_token(tmp_path: Path, figures) -> None:
    scan = Scan()
    with Simulator(
        seed=32, scale=300, start="2024-10-01", days=1, workvivo_id=ORG, workvivo_token=WV_TOKEN
    ) as sim:
        command = tap_command(tmp_path, wv_config(sim), executable="tap-workvivo", streams=None)
        scan_about_and_discover(scan, command, "api_token", "siem_events")
        sim.config.fault_retry_after = 0  # Retry-After: 0, no wait
        sim.fail_next(3, 429)
        out = tmp_path / "out"
        target_config = tmp_path / "target.json"
        target_config.write_text(f'{{"output_path": "{out}"}}')
        tap = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **DEBUG}
        )
        tap_out, tap_err = tap.communicate(timeout=240)
        assert tap.returncode == 0, tap_err.decode()[-2000:]
        target = subprocess.run(
            [str(BIN / "target-csv-flat"), "--config", str(target_config)],
            input=tap_out,
            capture_output=True,
            timeout=240,
            check=True,
        )
        scan.text("sync: tap stdout", tap_out.decode())
        scan.text("sync: tap stderr", tap_err.decode())
        scan.text("sync: target stdout", target.stdout.decode())
        scan.text("sync: target stderr", target.stderr.decode())
        scan.folder(out)
        assert (out / "siem_events.csv").exists()

        refused = run_tap(
            tmp_path, wv_config(sim, api_token=WRONG_TOKEN), executable="tap-workvivo", streams=ALL, env=DEBUG
        )
        assert refused.returncode == 1 and "rejected the API token" in refused.stderr
        scan.text("401: stdout", refused.stdout)
        scan.text("401: stderr", refused.stderr)
    scan.assert_clean()
    figures.record(
        "secrets",
        tool="tap-workvivo",
        runs=6,
        outputs_scanned=scan.outputs,
        files_scanned=scan.files,
        bytes_scanned=scan.bytes,
        occurrences=0,
    )


def test_actions_cli_outputs_hold_no_key(tmp_path: Path, figures) -> None:
    scan = Scan()
    cli = str(BIN / "visionone-actions")
    with Simulator(seed=33, scale=100, start="2024-10-01", days=1, api_key=V1_KEY) as sim:
        sim.config.task_polls_to_finish = 1
        env = {"TAP_VISIONONE_API_KEY": V1_KEY, "TAP_VISIONONE_API_URL": sim.base_url}
        guid = sim.expected("endpoints")[0]["agentGuid"]
        (tmp_path / "rows.csv").write_text("UserId\nalice@corp.example\nbob@corp.example\n")
        runs = [
            ["--help"],
            ["isolate-endpoint", "--help"],
            ["disable-account", "--from-file", "rows.csv", "--dry-run"],
            ["add-to-block-list", "--object-type", "domain", "--object-value", "evil.example", "--dry-run"],
            ["isolate-endpoint", "--agent-guid", guid, "--yes", "--wait", "--poll-interval", "0.1"],
            ["add-to-block-list", "--object-type", "domain", "--object-value", "evil.example", "--yes"],
            ["list-api-keys", "--fields", '{"status": "enabled"}', "--output", "table"],
        ]
        for args in runs:
            proc = run([cli, *args], env, cwd=tmp_path)
            assert proc.returncode == 0, (args, proc.stderr[-2000:])
            scan.text(f"{args[0]} stdout", proc.stdout)
            scan.text(f"{args[0]} stderr", proc.stderr)
        refused = run(
            [cli, "add-to-block-list", "--object-type", "domain", "--object-value", "x.example", "--yes"],
            {**env, "TAP_VISIONONE_API_KEY": WRONG_KEY},
            cwd=tmp_path,
        )
        assert refused.returncode == 1 and "refused the API key" in refused.stderr
        scan.text("401 stdout", refused.stdout)
        scan.text("401 stderr", refused.stderr)
        scan.folder(tmp_path, skip=("rows.csv",))
    scan.assert_clean()
    figures.record(
        "secrets",
        tool="visionone-actions",
        runs=len(runs) + 1,
        outputs_scanned=scan.outputs,
        bytes_scanned=scan.bytes,
        occurrences=0,
    )


# -- TLS --------------------------------------------------------------------------------------------


def tls_runs(
    tool: str, sim: Simulator, tmp_path: Path, env: dict[str, str], config: dict
) -> list[tuple[subprocess.CompletedProcess, int]]:
    """The tool run three ways against the TLS simulator (default, trusting its CA, verify_ssl false),
    each with the number of requests the simulator had received after it."""
    if tool == "visionone-actions":
        args = [
            str(BIN / tool),
            "add-to-block-list",
            "--object-type",
            "domain",
            "--object-value",
            "e.example",
            "--yes",
        ]
        base = {"TAP_VISIONONE_API_KEY": V1_KEY, "TAP_VISIONONE_API_URL": sim.base_url}
        variants = [
            base,
            {**base, "REQUESTS_CA_BUNDLE": str(cert_file())},
            {**base, "TAP_VISIONONE_VERIFY_SSL": "false"},
        ]
        return [(run(args, {**env, **variant}, cwd=tmp_path), len(sim.requests)) for variant in variants]
    executable = tool
    streams = ("detections",) if tool == "tap-visionone" else ALL
    out = []
    for variant_env, overrides in (
        ({}, {}),
        ({"REQUESTS_CA_BUNDLE": str(cert_file())}, {}),
        ({}, {"verify_ssl": False}),
    ):
        command = tap_command(tmp_path, {**config, **overrides}, executable=executable, streams=streams)
        out.append((run(command, {**env, **variant_env}), len(sim.requests)))
    return out


@pytest.mark.parametrize("tool", ["tap-visionone", "tap-workvivo", "visionone-actions"])
def test_tls_is_verified_by_default_and_verify_ssl_false_warns_once(
    tool: str, tmp_path: Path, figures
) -> None:
    with Simulator(
        seed=34,
        scale=100,
        start="2024-10-01",
        days=1,
        api_key=V1_KEY,
        workvivo_id=ORG,
        workvivo_token=WV_TOKEN,
        tls=True,
    ) as sim:
        assert sim.base_url.startswith("https://")
        config = v1_config(sim) if tool != "tap-workvivo" else wv_config(sim)
        # the machine's own CA bundle (this image sets REQUESTS_CA_BUNDLE) does not trust the simulator
        env = {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""}
        (refused, requests_after_refusal), (trusted, _), (unchecked, _) = tls_runs(
            tool, sim, tmp_path, env, config
        )

        # 1. default: verification on, the self-signed certificate refused, one line, nothing sent
        assert refused.returncode == 1, refused.stderr[-2000:]
        assert "Traceback" not in refused.stderr
        errors = [line for line in refused.stderr.splitlines() if line.startswith(f"{tool}: error:")]
        assert len(errors) == 1, refused.stderr[-2000:]
        assert (
            "TLS certificate" in errors[0]
            and "self-signed certificate" in errors[0]
            and "verify_ssl" in errors[0]
        )
        assert requests_after_refusal == 0, "a request got through an unverified TLS connection"

        # 2. trusting the simulator's certificate (REQUESTS_CA_BUNDLE): verified, and the run succeeds
        assert trusted.returncode == 0, trusted.stderr[-2000:]
        assert "verify_ssl is false" not in trusted.stderr
        assert len(sim.requests) > 0

        # 3. verify_ssl false: succeeds, one warning, no urllib3 warning per request
        assert unchecked.returncode == 0, unchecked.stderr[-2000:]
        assert unchecked.stderr.count("verify_ssl is false") == 1, unchecked.stderr[-2000:]
        assert "InsecureRequestWarning" not in unchecked.stderr
        for proc in (refused, trusted, unchecked):
            for secret in (V1_KEY, WV_TOKEN):
                assert secret not in proc.stdout + proc.stderr
    figures.record(
        "tls",
        tool=tool,
        tls_default="refused self-signed, 0 requests sent",
        tls_trusted_ca="verified, completed",
        verify_ssl_false_warnings=1,
        error_line=errors[0],
    )

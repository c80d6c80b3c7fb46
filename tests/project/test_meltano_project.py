"""meltano.yml stays true to the plugins: custom declarations, every setting, and a real `meltano run`."""

from __future__ import annotations

import csv
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tap_visionone.tap import TapVisionOne
from tap_workvivo.tap import TapWorkvivo
from target_csv_flat.target import TargetCsvFlat
from tests.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
PROJECT = yaml.safe_load((ROOT / "meltano.yml").read_text())
MELTANO = Path(sys.executable).parent / "meltano"
# Settings the SDK adds to every plugin's schema (in place, once a plugin has been validated).
SDK_BUILTINS = {
    "stream_maps", "stream_map_config", "faker_config", "flattening_enabled", "flattening_max_depth",
    "flattening_max_key_length", "flattening_separator", "batch_config",
}  # fmt: skip
SDK_BUILTINS_TARGET = {
    "stream_maps", "stream_map_config", "faker_config", "flattening_enabled", "batch_config",
    "add_record_metadata", "load_method", "validate_records",
}  # fmt: skip


def plugins() -> list[dict]:
    return [p for kind in PROJECT["plugins"].values() for p in kind]


def plugin(name: str) -> dict:
    return next(p for p in plugins() if p["name"] == name)


@pytest.mark.parametrize("name", [p["name"] for p in plugins()])
def test_every_plugin_is_custom(name: str) -> None:
    declared = plugin(name)
    assert "variant" not in declared  # a variant makes Meltano query its hub
    assert declared.get("namespace") and declared.get("pip_url") and declared.get("executable")


@pytest.mark.parametrize(
    ("name", "plugin_class", "builtins"),
    [
        ("tap-visionone", TapVisionOne, SDK_BUILTINS),
        ("tap-workvivo", TapWorkvivo, SDK_BUILTINS),
        ("target-csv", TargetCsvFlat, SDK_BUILTINS_TARGET),
    ],
)
def test_every_setting_is_declared_with_a_kind(name: str, plugin_class: type, builtins: set[str]) -> None:
    declared = {s["name"]: s for s in plugin(name)["settings"]}
    ours = set(plugin_class.config_jsonschema["properties"]) - builtins
    assert ours <= set(declared), f"missing in meltano.yml: {sorted(ours - set(declared))}"
    assert set(declared) <= ours, f"not settings of {name}: {sorted(set(declared) - ours)}"
    for setting in declared.values():
        assert setting.get("kind") and setting.get("description"), setting["name"]
    for secret in (n for n, p in plugin_class.config_jsonschema["properties"].items() if p.get("secret")):
        assert declared[secret].get("sensitive") is True, secret


# Kinds Meltano uses to reinterpret a value before the plugin sees it (`date_iso8601` turned `2024-13-01`
# into `2024-01-13T00:00:00`), or that Meltano 4 rewrites (`password`).
REWRITING_KINDS = {"date_iso8601", "password"}


def test_no_setting_has_a_kind_meltano_reinterprets() -> None:
    assert "version" not in PROJECT  # deprecated in Meltano 4: every command warned about it
    for declared in plugins():
        for setting in declared.get("settings") or []:
            assert setting.get("kind") not in REWRITING_KINDS, (declared["name"], setting["name"])
    # the taps check their own dates, durations and numbers, with one line naming the setting
    for name in ("tap-visionone", "tap-workvivo"):
        kinds = {s["name"]: s.get("kind") for s in plugin(name)["settings"]}
        for setting in ("start_date", "end_date", "lag", "window_size", "max_workers", "request_timeout"):
            assert kinds[setting] == "string", (name, setting)


def test_every_option_can_be_given_in_the_environment(tmp_path: Path) -> None:
    """Meltano compares an environment variable's text with a setting's options: options written as
    numbers (`page_size: 50`) made `TAP_VISIONONE_PAGE_SIZE=50` fail with a Meltano traceback."""
    env = {**os.environ, "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}"}
    checked = 0
    for declared in plugins():
        prefix = declared["name"].upper().replace("-", "_")
        given: dict[str, str] = {}
        for setting in declared.get("settings") or []:
            if setting.get("kind") != "options":
                continue
            assert all(isinstance(o["value"], str) for o in setting["options"]), setting["name"]
            assert isinstance(setting.get("value", ""), str), setting["name"]  # the default is an option too
            given[setting["name"]] = setting["options"][0]["value"]
        if not given:
            continue
        variables = {f"{prefix}_{name.upper()}": value for name, value in given.items()}
        printed = subprocess.run(
            [str(MELTANO), "config", "print", declared["name"], "--format=json"],
            cwd=ROOT, env={**env, **variables}, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert printed.returncode == 0, (variables, printed.stderr[-400:])
        config = json.loads(printed.stdout)
        assert {name: config[name] for name in given} == given
        checked += len(given)
    assert checked >= 5


def test_meltano_config_set_changes_one_setting_not_the_file(tmp_path: Path) -> None:
    """meltano.yml is written the way Meltano 4 writes it, so its own edits stay small."""
    original = (ROOT / "meltano.yml").read_text(encoding="utf-8")
    (tmp_path / "meltano.yml").write_text(original, encoding="utf-8")
    env = {**os.environ, "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}"}
    run = subprocess.run(
        [str(MELTANO), "config", "set", "tap-visionone", "query", "productCode:sao"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "DeprecationWarning" not in run.stderr
    written = (tmp_path / "meltano.yml").read_text(encoding="utf-8")
    changed = list(difflib.unified_diff(original.splitlines(), written.splitlines(), n=0))
    edits = [line for line in changed if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert edits == ["+    config:", "+      query: productCode:sao"], edits


def test_a_mistyped_date_reaches_the_tap_as_typed_and_fails_naming_it(tmp_path: Path) -> None:
    env = visionone_env(tmp_path, "http://127.0.0.1:9", START_DATE="2024-13-01")  # never reached
    printed = subprocess.run(
        [str(MELTANO), "config", "print", "tap-visionone"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert '"start_date": "2024-13-01"' in printed.stdout, printed.stdout[-2000:]
    run = subprocess.run(
        [str(MELTANO), "run", "tap-visionone", "target-csv"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode != 0
    # Meltano logs the tap's error at error level (structured logging) and repeats the tap's raw stderr,
    # one JSON line, in its own summary: one distinct error
    marker = "tap-visionone: error:"
    shown = [line for line in run.stderr.splitlines() if marker in line and not line.startswith("{")]
    assert any("[error" in line for line in shown), run.stderr[-3000:]
    errors = {line.split(marker, 1)[1] for line in shown}
    assert len(errors) == 1, run.stderr[-3000:]
    (error,) = errors
    assert "`start_date`" in error and "2024-13-01" in error, error
    assert not list((tmp_path / "out").glob("*.csv"))
    assert "meltano-key" not in run.stdout + run.stderr


def visionone_env(tmp_path: Path, api_url: str, **tap_settings: str) -> dict[str, str]:
    """The environment of a `meltano run tap-visionone target-csv` into `tmp_path`, settings as typed."""
    return {
        **os.environ,
        "TAP_VISIONONE_API_KEY": "meltano-key",
        "TAP_VISIONONE_API_URL": api_url,
        **{f"TAP_VISIONONE_{name}": value for name, value in tap_settings.items()},
        "TARGET_CSV_OUTPUT_PATH": str(tmp_path / "out"),
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
    }


def test_job_and_hourly_schedule() -> None:
    jobs = {j["name"]: j["tasks"] for j in PROJECT["jobs"]}
    assert jobs["visionone-to-csv"] == ["tap-visionone target-csv"]
    schedule = next(s for s in PROJECT["schedules"] if s["job"] == "visionone-to-csv")
    assert schedule["interval"] == "@hourly"


def test_meltano_run_writes_the_simulators_detections(tmp_path: Path) -> None:
    """The README's main path: `meltano run tap-visionone target-csv`, settings from the environment."""
    with Simulator(seed=4, scale=150, start="2024-10-01", days=2, api_key="meltano-key") as sim:
        env = visionone_env(tmp_path, sim.base_url, START_DATE="2024-10-01", END_DATE="2024-10-03")
        run = subprocess.run(
            [str(MELTANO), "run", "tap-visionone", "target-csv"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        with (tmp_path / "out" / "detections.csv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == sim.count_detections("2024-10-01", "2024-10-03")
        assert {r["uuid"] for r in rows} == sim.detection_ids("2024-10-01", "2024-10-03")
        # one CSV per stream meltano.yml selects, each with exactly the simulator's records
        selected = {pattern.split(".")[0] for pattern in plugin("tap-visionone")["select"]}
        assert {p.stem for p in (tmp_path / "out").glob("*.csv")} == selected
        for stream in selected:
            with (tmp_path / "out" / f"{stream}.csv").open(newline="", encoding="utf-8") as handle:
                count = sum(1 for _ in csv.DictReader(handle))
            assert count == sim.expected_count(stream, "2024-10-01", "2024-10-03"), stream
        assert "meltano-key" not in run.stdout + run.stderr
        state = subprocess.run(
            [str(MELTANO), "state", "get", "dev:tap-visionone-to-target-csv"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        assert '"replication_key_value":1727913600000' in state.stdout.replace(" ", "")


SEED_001_COLUMNS = [
    "local_timestamp", "created_at", "created_at_timestamp", "event", "id", "ip_address", "note",
    "user_agent", "user_email", "workvivo_id",
]  # fmt: skip


def test_meltano_run_workvivo_writes_the_seeds_csv_columns(tmp_path: Path) -> None:
    """README's migration path: `meltano run tap-workvivo target-csv` with the seed's local timestamp."""
    with Simulator(
        seed=6, scale=200, start="2024-09-01", days=2, workvivo_id="org-77", workvivo_token="wv-secret-token"
    ) as sim:
        env = {
            **os.environ,
            "TAP_WORKVIVO_WORKVIVO_ID": "org-77",
            "TAP_WORKVIVO_API_TOKEN": "wv-secret-token",
            "TAP_WORKVIVO_API_URL": sim.base_url,
            "TAP_WORKVIVO_START_DATE": "2024-09-01",
            "TAP_WORKVIVO_END_DATE": "2024-09-02",
            "TARGET_CSV_OUTPUT_PATH": str(tmp_path / "log"),
            "TARGET_CSV_FILE_NAMING_SCHEME": "siem_data.csv",
            "TARGET_CSV_LOCAL_TIMESTAMP_COLUMN": "local_timestamp",
            "TARGET_CSV_TIMEZONE": "Asia/Tokyo",
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        }
        run = subprocess.run(
            [str(MELTANO), "run", "tap-workvivo", "target-csv"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        with (tmp_path / "log" / "siem_data.csv").open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows = list(reader)
        # the seed's columns in its order, then target-csv-flat's `_extra` (fields Workvivo may add; empty)
        assert header == [*SEED_001_COLUMNS, "_extra"]
        assert {row[-1] for row in rows} == {""}
        assert len(rows) == sim.workvivo_count("2024-09-01", "2024-09-03")  # both days, end inclusive
        assert all(row[0].endswith(" JST") for row in rows)
        assert "wv-secret-token" not in run.stdout + run.stderr

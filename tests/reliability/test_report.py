"""RELIABILITY.md comes from what the suite measured: a failed proof reads FAIL, a missing one says so."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability import report

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.reliability.test_kill_resume" name="test_tap_killed" time="10.5"/>
<testcase classname="tests.reliability.test_faults" name="test_fault[503]" time="2.0">
  <failure message="AssertionError: records missing">trace</failure>
</testcase>
<testcase classname="tests.reliability.test_secrets" name="test_tls_default[tap]" time="1.0"/>
</testsuite></testsuites>
"""


def write_inputs(tmp_path: Path, load: dict | None) -> list[str]:
    figures = {
        "tests/reliability/test_kill_resume.py::test_tap_killed": {"promise": "kill-resume", "kills": 20},
        "tests/reliability/test_faults.py::test_fault[503]": {"promise": "faults", "faults_played": 4},
    }
    (tmp_path / "f.json").write_text(json.dumps(figures))
    (tmp_path / "j.xml").write_text(JUNIT)
    args = ["--figures", str(tmp_path / "f.json"), "--junit", str(tmp_path / "j.xml")]
    if load is not None:
        (tmp_path / "l.json").write_text(json.dumps(load))
        args += ["--load", str(tmp_path / "l.json")]
    return [*args, "--out", str(tmp_path / "R.md")]


def test_results_and_figures_reach_the_summary(tmp_path: Path) -> None:
    load = {
        "records": 10,
        "expected_records": 10,
        "limit_mb": 300,
        "peak_rss_mb": {"tap": 120.0, "target": 310.0},
        "under_limit": {"tap": True, "target": False},
        "exit_codes": {"tap": 0, "target": 0},
    }
    assert report.main(write_inputs(tmp_path, load)) == 0
    text = (tmp_path / "R.md").read_text()
    summary = [line.split("|") for line in text.splitlines() if line.startswith("| ")]
    rows = {cells[2].strip(): cells[3].strip() for cells in summary if cells[1].strip().isdigit()}
    assert rows["Nothing lost on kill and resume"] == "PASS (1 of 1)"
    assert rows["Faults complete or stop cleanly"].startswith("FAIL (1 of 1 failed)")
    assert rows["TLS verified by default"] == "PASS (1 of 1)"  # by its name, without figures
    assert rows["Bad input is refused plainly"] == report.NOT_MEASURED
    assert rows["Bounded memory under load"] == "FAIL (target over 300 MB)"
    assert "kills 20" in text and "records missing" in text


def test_missing_load_is_not_measured(tmp_path: Path) -> None:
    assert report.main(write_inputs(tmp_path, None)) == 0
    assert f"`benchmarks/load.py`: {report.NOT_MEASURED}." in (tmp_path / "R.md").read_text()

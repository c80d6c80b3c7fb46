"""RELIABILITY.md comes from what the suite measured: a failed proof reads FAIL, a missing one says so."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
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


def git(root: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=True).stdout


def repository(tmp_path: Path) -> Path:
    """A git repository of two committed files, one commit old."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "code.py").write_text("x = 1\n")
    (root / "RELIABILITY.md").write_text("old report\n")
    git(root, "add", "code.py", "RELIABILITY.md")
    git(root, "commit", "-q", "-m", "one")
    return root


def test_the_header_names_the_full_commit_measured_and_says_later_commits_may_differ(tmp_path: Path) -> None:
    root = repository(tmp_path)
    (root / "RELIABILITY.md").write_text("new report\n")  # the report itself never makes the tree dirty
    (root / "notes.txt").write_text("untracked\n")  # nor do untracked files
    version = report.code_version(root)
    assert version.commit == git(root, "rev-parse", "HEAD").strip() and len(version.commit) == 40
    assert version.uncommitted == ()
    text = report.render([], None, None, "now", version)
    assert f"- Code measured: commit `{version.commit}`" in text
    assert "with no uncommitted changes" in text
    assert "later commits may change them" in text
    assert "Warning" not in text


def test_uncommitted_changes_are_named(tmp_path: Path) -> None:
    root = repository(tmp_path)
    (root / "code.py").write_text("x = 2\n")
    version = report.code_version(root)
    assert version.uncommitted == ("code.py",)
    line = report.version_lines(version, None)[0]
    assert "uncommitted changes to 1 tracked file(s) (`code.py`)" in line
    assert "no commit holds exactly the code measured" in line


def test_code_changed_during_the_run_is_flagged(tmp_path: Path) -> None:
    root = repository(tmp_path)
    started = datetime.now(UTC) - timedelta(hours=1)  # the tests started before the commit and the edit
    (root / "code.py").write_text("x = 3\n")
    version = report.code_version(root, started)
    assert version.touched_after_start == ("code.py",)
    lines = report.version_lines(version, started)
    assert any("commit was made after the tests started" in line for line in lines)
    assert any("1 tracked file(s) changed after the tests started (`code.py`)" in line for line in lines)


def test_the_junit_timestamp_is_when_the_tests_started(tmp_path: Path) -> None:
    stamped = JUNIT.replace('tests="3"', 'tests="3" timestamp="2026-01-02T03:04:05+00:00"')
    (tmp_path / "j.xml").write_text(stamped)
    _, totals = report.read_junit(tmp_path / "j.xml")
    assert totals["started"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_outside_git_the_commit_is_unknown(tmp_path: Path) -> None:
    version = report.code_version(tmp_path)  # not a repository (git may also be missing)
    assert version.commit is None
    assert report.version_lines(version, None) == [
        "- Code measured: unknown (not a git checkout, or git is not installed)."
    ]

"""Write RELIABILITY.md from one `make reliability` run: each promise, the tests that prove it, their
results and the figures they measured.

python -m tests.reliability.report --figures F.json --junit J.xml --load L.json --out RELIABILITY.md

Inputs, each optional (a missing or unreadable one leaves its promises "not yet measured"):
``--figures``: what the tests recorded with the ``figures`` fixture (node id -> {promise, numbers});
``--junit``: pytest's ``--junitxml`` (pass/fail of every test); ``--load``: ``benchmarks/load.py --json``.
A test belongs to the promise it recorded figures for; a test that recorded none, to the promise its
file proves (FILE_PROMISES). Figures under a promise this script does not know are listed too.

The header names the code the figures come from (`code_version`): the full hash of HEAD, the tracked
files that differ from it (the figures are then of code no commit holds), and a warning when HEAD or a
tracked file changed after the tests started (the junit file's timestamp), since the run may then have
measured older code than the commit named.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOT_MEASURED = "not yet measured"


@dataclass(frozen=True)
class Promise:
    title: str
    claim: str
    keys: tuple[str, ...]  # the `promise` names tests record figures under


PROMISES: tuple[Promise, ...] = (
    Promise(
        "Nothing lost on kill and resume",
        "The tap is killed (SIGKILL) at random moments and resumed from its last state: every record of "
        "the range ends up in the output.",
        ("kill-resume",),
    ),
    Promise(
        "Duplicates bounded to one window",
        "After a kill and resume, the only records written twice are those of the window that was being "
        "emitted when the tap died.",
        ("kill-resume", "duplicates"),
    ),
    Promise(
        "No torn rows",
        "The target is killed mid-write: from the moment the next run opens the file (before it writes "
        "anything), it holds whole committed batches only, readable by any CSV reader, and that run "
        "completes it. In between, the file may end with part of the interrupted batch.",
        ("target-kill", "torn-rows"),
    ),
    Promise(
        "Faults complete or stop cleanly",
        "Under 429/5xx/stall/reset faults a sync either completes with every record or stops with one "
        "error line, without advancing the state past what was emitted.",
        ("faults",),
    ),
    Promise(
        "Bad input is refused plainly",
        "A wrong setting, catalog, state or input gives one line naming the setting, a non-zero exit, no "
        "traceback and no partial output.",
        ("bad-input",),
    ),
    Promise(
        "No secret in any output",
        "API keys and tokens appear in no log line, error message, Singer message or output file.",
        ("secrets",),
    ),
    Promise(
        "TLS verified by default",
        "Each tool refuses a certificate it cannot verify, in one line and before sending the key; "
        "`verify_ssl: false` works and warns once.",
        ("tls",),
    ),
    Promise(
        "Bounded memory under load",
        "A large sync through tap-visionone | target-csv-flat keeps each process's peak RSS under the bound.",
        ("load", "memory"),
    ),
)
LOAD_TITLE = "Bounded memory under load"

# Where a test that recorded no figures belongs, by its file (and, for shared files, its name).
FILE_PROMISES: dict[str, tuple[str, ...]] = {
    "test_kill_resume.py": ("kill-resume",),
    "test_faults.py": ("faults",),
    "test_bad_input.py": ("bad-input",),
    "test_secrets.py": ("secrets",),
}
# Within a file: a test whose name holds the hint belongs to that promise instead.
NAME_HINTS: dict[str, tuple[tuple[str, str], ...]] = {
    "test_kill_resume.py": (("target", "target-kill"),),
    "test_secrets.py": (("tls", "tls"),),
}


@dataclass
class TestResult:
    node_id: str
    outcome: str  # passed, failed, error, skipped, or "no result" (figures without a junit entry)
    seconds: float = 0.0
    message: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    promise: str = ""


def read_json(path: Path | None) -> Any:
    if path is None or not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"report: ignoring {path}: {exc}", file=sys.stderr)
        return None


def node_id(classname: str, name: str) -> str:
    """The pytest node id of a junit testcase (``a.b.test_x.TestY`` -> ``a/b/test_x.py::TestY::name``)."""
    parts = classname.split(".")
    for i in range(len(parts), 0, -1):
        if parts[i - 1].startswith("test_") or parts[i - 1].endswith("_test"):
            return "::".join(["/".join(parts[:i]) + ".py", *parts[i:], name])
    return "::".join([classname.replace(".", "/") + ".py", name])


def suite_start(tree: ET.ElementTree) -> datetime | None:
    """When pytest started the run: the first ``testsuite``'s ``timestamp`` (local time if it has no zone)."""
    for suite in tree.iter("testsuite"):
        try:
            return datetime.fromisoformat(suite.get("timestamp") or "").astimezone(UTC)
        except ValueError:
            return None
    return None


def read_junit(path: Path | None) -> tuple[dict[str, TestResult], dict[str, Any]] | None:
    if path is None or not path.exists():
        return None
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as exc:
        print(f"report: ignoring {path}: {exc}", file=sys.stderr)
        return None
    results: dict[str, TestResult] = {}
    totals = {"tests": 0, "passed": 0, "failed": 0, "error": 0, "skipped": 0, "seconds": 0.0}
    totals["started"] = suite_start(tree)
    for case in tree.iter("testcase"):
        outcome, message = "passed", ""
        for kind, label in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            element = case.find(kind)
            if element is not None:
                outcome = label
                message = (element.get("message") or "").strip().splitlines()[0:1]
                message = message[0][:160] if message else ""
                break
        nid = node_id(case.get("classname", ""), case.get("name", ""))
        if not nid.startswith("tests/reliability/"):
            continue  # `make test` writes one junit file for the whole suite
        seconds = float(case.get("time") or 0)
        if nid in results and outcome == "passed":
            continue  # an error in teardown comes as a second testcase with the same id
        results[nid] = TestResult(nid, outcome, seconds, message)
    for result in results.values():
        totals["tests"] += 1
        totals[result.outcome] += 1
        totals["seconds"] += result.seconds
    return results, totals


def promise_of_file(nid: str) -> str:
    path, _, rest = nid.partition("::")
    keys = FILE_PROMISES.get(Path(path).name)
    if not keys:
        return "other"
    for hint, key in NAME_HINTS.get(Path(path).name, ()):
        if hint in rest.lower():
            return key
    return keys[0]


def collect(figures: dict[str, Any] | None, junit: dict[str, TestResult] | None) -> list[TestResult]:
    tests = dict(junit or {})
    for nid, numbers in (figures or {}).items():
        if not isinstance(numbers, dict):
            continue
        result = tests.setdefault(nid, TestResult(nid, "no result"))
        result.promise = str(numbers.get("promise", ""))
        result.figures = {k: v for k, v in numbers.items() if k != "promise"}
    for result in tests.values():
        if not result.promise:
            result.promise = promise_of_file(result.node_id)
    return sorted(tests.values(), key=lambda r: r.node_id)


def verdict(results: list[TestResult]) -> str:
    if not results:
        return NOT_MEASURED
    outcomes = [r.outcome for r in results]
    if any(o in ("failed", "error") for o in outcomes):
        bad = sum(o in ("failed", "error") for o in outcomes)
        return f"FAIL ({bad} of {len(outcomes)} failed)"
    passed = outcomes.count("passed")
    if passed == 0:
        return "skipped" if "skipped" in outcomes else "no result"
    extra = len(outcomes) - passed
    return f"PASS ({passed} of {len(outcomes)})" + (f", {extra} skipped or without result" if extra else "")


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def format_figures(numbers: dict[str, Any]) -> str:
    if not numbers:
        return NOT_MEASURED
    return ", ".join(f"{k} {format_value(v)}" for k, v in sorted(numbers.items())).replace("|", "\\|")


def load_verdict(load: dict[str, Any] | None) -> str:
    if not load:
        return NOT_MEASURED
    under = load.get("under_limit", {})
    counted = load.get("records") == load.get("expected_records")
    codes_ok = not any((load.get("exit_codes") or {}).values())
    product_ok = under.get("tap") and under.get("target")
    if counted and codes_ok and product_ok:
        return "PASS"
    reasons = []
    if not counted or not codes_ok:
        reasons.append("wrong record count or exit code")
    reasons += [
        f"{name} over {format_value(load.get('limit_mb'))} MB"
        for name in ("tap", "target")
        if not under.get(name)
    ]
    return "FAIL (" + "; ".join(reasons) + ")"


def load_section(load: dict[str, Any] | None) -> list[str]:
    if not load:
        return [f"`benchmarks/load.py`: {NOT_MEASURED}.", ""]
    config = load.get("config", {})
    peaks, under = load.get("peak_rss_mb", {}), load.get("under_limit", {})
    limit = format_value(load.get("limit_mb"))
    per_window = ""
    if config.get("per_day") and config.get("window_size"):
        per_window = f", window {config['window_size']}"
    lines = [
        f"`benchmarks/load.py` ({load.get('date', 'date unknown')}): "
        f"{format_value(config.get('per_day', '?'))} detections a day over {config.get('days', '?')} days"
        f"{per_window}, page {config.get('page_size', '?')}, max_workers {config.get('max_workers', '?')}, "
        "no rate limit; the real console scripts, tap piped into target.",
        "",
        "| Figure | Value |",
        "| --- | --- |",
        f"| records written (expected) | {format_value(load.get('records'))} "
        f"({format_value(load.get('expected_records'))}) |",
        f"| distinct uuids | {format_value(load.get('distinct_uuids'))} |",
        f"| elapsed | {format_value(load.get('elapsed_s'))} s |",
        f"| records/s | {format_value(load.get('records_per_s'))} |",
    ]
    for name in ("tap", "target", "simulator"):
        if name in peaks:
            mark = "under" if under.get(name) else "**over**"
            note = " (test fixture, not part of the promise)" if name == "simulator" else ""
            lines.append(f"| peak RSS {name} | {format_value(peaks[name])} MB, {mark} {limit} MB{note} |")
    lines.append("")
    return lines


@dataclass(frozen=True)
class CodeVersion:
    """The code a report's figures come from, as far as git can tell when the report is written."""

    commit: str | None = None  # full hash of HEAD; None outside a git checkout
    committed_at: datetime | None = None  # HEAD's committer date
    uncommitted: tuple[str, ...] = ()  # tracked files that differ from HEAD (RELIABILITY.md aside)
    touched_after_start: tuple[str, ...] = ()  # tracked files modified after the tests started


def code_version(root: Path = ROOT, started: datetime | None = None) -> CodeVersion:
    """HEAD, the tracked files that differ from it, and (given when the tests started) the tracked files
    modified since then. Untracked files are not code the suite runs, so they do not count."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        committed_at = datetime.fromtimestamp(int(git("show", "-s", "--format=%ct", "HEAD").strip()), UTC)
        changed = git("diff", "--name-only", "-z", "HEAD").split("\0")
        tracked = git("ls-files", "-z").split("\0")
    except (OSError, ValueError, subprocess.CalledProcessError):
        return CodeVersion()
    uncommitted = tuple(sorted(name for name in changed if name and name != "RELIABILITY.md"))
    touched: list[str] = []
    if started is not None:
        for name in sorted({*tracked, *uncommitted} - {"", "RELIABILITY.md"}):
            try:
                modified = datetime.fromtimestamp((root / name).stat().st_mtime, UTC)
            except OSError:
                continue  # deleted in the working tree: already among the uncommitted files
            if modified > started:
                touched.append(name)
    return CodeVersion(commit, committed_at, uncommitted, tuple(touched))


def _some(names: tuple[str, ...], shown: int = 5) -> str:
    listed = ", ".join(f"`{name}`" for name in names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")


def version_lines(version: CodeVersion, started: datetime | None) -> list[str]:
    """The header's account of which code was measured, in plain words."""
    if version.commit is None:
        return ["- Code measured: unknown (not a git checkout, or git is not installed)."]
    when = f" of {version.committed_at:%Y-%m-%d %H:%M} UTC" if version.committed_at else ""
    if version.uncommitted:
        state = (
            f"plus uncommitted changes to {len(version.uncommitted)} tracked file(s) "
            f"({_some(version.uncommitted)}), so no commit holds exactly the code measured"
        )
    else:
        state = "with no uncommitted changes to tracked files"
    lines = [
        f"- Code measured: commit `{version.commit}`{when}, {state}. The figures below are those of that "
        "code; later commits may change them (`make reliability` measures the code you have and rewrites "
        "this file)."
    ]
    if started is not None and version.committed_at is not None and version.committed_at > started:
        lines.append(
            f"- Warning: that commit was made after the tests started ({started:%Y-%m-%d %H:%M:%S} UTC): "
            "they may have run on an earlier commit."
        )
    if version.touched_after_start:
        lines.append(
            f"- Warning: {len(version.touched_after_start)} tracked file(s) changed after the tests started "
            f"({_some(version.touched_after_start)}): the run may have measured older code than this."
        )
    return lines


def render(
    tests: list[TestResult],
    totals: dict[str, Any] | None,
    load: dict[str, Any] | None,
    when: str,
    version: CodeVersion | None = None,
) -> str:
    started = (totals or {}).get("started")
    by_key: dict[str, list[TestResult]] = {}
    for result in tests:
        by_key.setdefault(result.promise, []).append(result)
    known = {key for promise in PROMISES for key in promise.keys}

    out = [
        "# Reliability",
        "",
        "What the connectors promise when things go wrong, the tests that prove each promise, and what "
        "they measured. Generated by `make reliability` (tests in `tests/reliability/`, then "
        "`benchmarks/load.py`); do not edit by hand.",
        "",
        f"- Date: {when}",
        *version_lines(version or code_version(ROOT, started), started),
    ]
    if totals:
        out.append(
            f"- pytest `tests/reliability`: {totals['tests']} tests, {totals['passed']} passed, "
            f"{totals['failed']} failed, {totals['error']} errors, {totals['skipped']} skipped "
            f"({totals['seconds']:.0f} s)"
        )
    else:
        out.append(f"- pytest `tests/reliability`: {NOT_MEASURED} (no junit XML)")
    out += ["", "## Summary", "", "| # | Promise | Result | Tests |", "| --- | --- | --- | --- |"]
    sections: list[str] = []
    for number, promise in enumerate(PROMISES, start=1):
        results = [r for key in promise.keys for r in by_key.get(key, [])]
        if promise.title == LOAD_TITLE:
            result = load_verdict(load) if not results else f"{load_verdict(load)}; tests {verdict(results)}"
            count = f"{len(results)} + load benchmark" if results else "load benchmark"
        else:
            result, count = verdict(results), str(len(results)) if results else "—"
        out.append(f"| {number} | {promise.title} | {result} | {count} |")
        sections += [f"### {number}. {promise.title}", "", promise.claim, "", f"Result: {result}", ""]
        if promise.title == LOAD_TITLE:
            sections += load_section(load)
        if results:
            sections += ["| Test | Result | Figures |", "| --- | --- | --- |"]
            for r in results:
                outcome = r.outcome + (f": {r.message}" if r.message and r.outcome != "passed" else "")
                sections.append(
                    f"| `{r.node_id}` | {outcome.replace('|', '/')} | {format_figures(r.figures)} |"
                )
            sections.append("")
        elif promise.title != LOAD_TITLE:
            sections += [f"No test yet: {NOT_MEASURED}.", ""]
    others = [r for key, results in sorted(by_key.items()) if key not in known for r in results]
    if others:
        sections += [
            "### Other tests in tests/reliability",
            "",
            "| Test | Promise recorded | Result | Figures |",
            "| --- | --- | --- | --- |",
        ]
        sections += [
            f"| `{r.node_id}` | {r.promise} | {r.outcome} | {format_figures(r.figures)} |" for r in others
        ]
        sections.append("")
    out += ["", "## Promises", "", *sections]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--figures", type=Path, default=None, help="the figures JSON the tests recorded")
    parser.add_argument("--junit", type=Path, default=None, help="pytest --junitxml output")
    parser.add_argument("--load", type=Path, default=None, help="benchmarks/load.py --json output")
    parser.add_argument("--out", type=Path, default=ROOT / "RELIABILITY.md")
    args = parser.parse_args(argv)

    figures = read_json(args.figures)
    junit = read_junit(args.junit)
    load = read_json(args.load)
    tests = collect(figures if isinstance(figures, dict) else None, junit[0] if junit else None)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    args.out.write_text(
        render(tests, junit[1] if junit else None, load if isinstance(load, dict) else None, when),
        encoding="utf-8",
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""README.md's commands (and docs/without-meltano.md's) run as printed, against the simulator, and do
what the document says they do.

The shell blocks are read from each document itself (:mod:`tests.project.readme_blocks`), in order, as
one reader typing them into one terminal: each block runs in ``bash -e -o pipefail`` in the working
directory and with the variables the previous block exported. The working directory is a scratch copy
of the checkout after ``make demo``, one per document: ``meltano.yml`` and ``.env.example`` copied (the
recipes change and create files), ``.venv`` pointing at this test's virtual environment, the package
folders and the installed Meltano plugins linked, a ``.meltano`` system database of its own; `.venv/bin`
is taken off ``PATH`` and no ``TAP_*``/``TARGET_*``/``MAPPER_*``/``MELTANO_*`` variable is inherited.
The only change made to a block's text: the demo simulator's ``127.0.0.1:8777`` becomes the port of
the simulator this test starts (same seed, dates and keys as ``make demo``, 20 detections a day
instead of 2,000). A block marked ``<!-- readme-test: skip (reason) -->`` is reported as a skipped test
with its reason; every other block must exit 0, and what a section promises (`DOCUMENTS`) is checked
right after its last block.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.meltano_plugins import PLUGINS, clean_environment, ensure_installed
from tests.project.readme_blocks import Block, shell_blocks
from tests.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
DEMO_PORT = "127.0.0.1:8777"
START, END = "2024-10-01", "2024-10-15"  # the demo data's range (`make demo`, the README's exports)
LINKED = ("connector_kit", "tap_visionone", "tap_workvivo", "target_csv_flat", "visionone_actions", "tests")
# The Meltano plugins the README's blocks run, and where Meltano installs each (`make demo` installs them).
BLOCK_TIMEOUT = 180
Run = subprocess.CompletedProcess


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def rows(work: Path, stream: str) -> int:
    return len(csv_rows(work / "output" / f"{stream}.csv"))


def selected_streams() -> set[str]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    tap = next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-visionone")
    return {pattern.split(".")[0] for pattern in tap["select"]}


# -- what each section promises, checked right after its last block ----------------------------------


def check_csv_quick_start(work: Path, sim: Simulator, runs: dict[int, Run]) -> None:
    """`meltano run tap-visionone target-csv`: output/<stream>.csv for every selected stream, complete."""
    written = {path.stem for path in (work / "output").glob("*.csv")}
    assert written == selected_streams(), written
    for stream in sorted(written):
        assert rows(work, stream) == sim.expected_count(stream, START, END), stream


def check_schedule(work: Path, sim: Simulator, runs: dict[int, Run]) -> None:
    """The job runs the same pipeline with the same bookmark: nothing new, no row added."""
    for stream in ("detections", "workbench_alerts", "audit_logs"):
        assert rows(work, stream) == sim.expected_count(stream, START, END), stream


def check_without_meltano(work: Path, sim: Simulator, runs: dict[int, Run]) -> None:
    """Only the two streams of the catalog, complete, and a state file the next run can start from."""
    out = work / "output" / "singer"
    assert {path.name for path in out.iterdir()} == {"detections.csv", "workbench_alerts.csv"}
    detections = [r["uuid"] for r in csv_rows(out / "detections.csv")]
    assert len(detections) == sim.count_detections(START, END)  # no row twice, after a second run too
    assert set(detections) == sim.detection_ids(START, END)
    assert len(csv_rows(out / "workbench_alerts.csv")) == sim.expected_count("workbench_alerts", START, END)
    bookmarks = json.loads((work / "state.json").read_text(encoding="utf-8"))["bookmarks"]
    assert set(bookmarks) == {"detections", "workbench_alerts"}
    assert bookmarks["detections"]["replication_key_value"] == 1728950400000  # 2024-10-15T00:00:00Z


def check_workvivo(work: Path, sim: Simulator, runs: dict[int, Run]) -> None:
    rows = csv_rows(work / "output" / "siem_events.csv")
    assert rows and len(rows) == sim.workvivo_count("2024-10-14", END)  # the README's start_date


def check_account_cleanup(work: Path, sim: Simulator, runs: dict[int, Run]) -> None:
    """The report lists accounts; the dry run names each of them and sends nothing."""
    report = csv_rows(work / "output" / "cleanup" / "account_cleanup.csv")
    assert report, "account_cleanup.csv is empty: the demo dates find no audit logs?"
    assert {"UserId", "RoleName", "LastLogon", "DaysInactive"} <= set(report[0])
    dry_run = runs[max(runs)].stdout
    for row in report:
        assert row["UserId"] in dry_run, row["UserId"]
    assert not [r for r in sim.requests if r.get("method") == "PATCH"]


def check_singer_config(work: Path, sim: Simulator, runs: dict[int, Run]) -> None:
    assert json.loads((work / "config.json").read_text(encoding="utf-8"))["api_key"] == "sim-key"
    assert json.loads((work / "target.json").read_text(encoding="utf-8"))["output_path"] == "output/singer"


def check_singer_catalog(work: Path, sim: Simulator, runs: dict[int, Run]) -> None:
    catalog = json.loads((work / "catalog.json").read_text(encoding="utf-8"))
    selected = {
        s["tap_stream_id"]
        for s in catalog["streams"]
        for m in s["metadata"]
        if m["breadcrumb"] == [] and m["metadata"].get("selected")
    }
    assert selected == {"detections", "workbench_alerts"}
    assert "endpoint_activities" in runs[max(runs)].stdout  # the listed stream names


def check_singer_resume(work: Path, sim: Simulator, runs: dict[int, Run]) -> None:
    """The wrapper's run starts at the bookmark: nothing new in the demo range, the state kept."""
    check_without_meltano(work, sim, runs)
    assert (work / "sync.sh").stat().st_mode & 0o100


def check_singer_reset(work: Path, sim: Simulator, runs: dict[int, Run]) -> None:
    bookmarks = json.loads((work / "state.json").read_text(encoding="utf-8"))["bookmarks"]
    assert set(bookmarks) == {"detections"}


Check = Callable[[Path, Simulator, dict[int, Run]], None]
# What each document's sections promise, by document and section heading.
DOCUMENTS: dict[str, dict[str, Check]] = {
    "README.md": {
        "Vision One to CSV": check_csv_quick_start,
        "Every hour: schedules and cron": check_schedule,
        "Without Meltano": check_without_meltano,
        "Workvivo": check_workvivo,
        "Inactive console accounts: report and clean-up": check_account_cleanup,
    },
    "docs/without-meltano.md": {
        "config.json": check_singer_config,
        "Choosing streams: catalog.json": check_singer_catalog,
        "Running, and state from one run to the next": check_without_meltano,
        "Every hour from cron": check_singer_resume,
        "Starting a stream over": check_singer_reset,
    },
}
BLOCKS = [
    (document, block)
    for document in DOCUMENTS
    for block in shell_blocks((ROOT / document).read_text(encoding="utf-8"))
]


# -- the scratch checkout and the session -------------------------------------------------------------


def scratch_checkout(work: Path) -> None:
    shutil.copy(ROOT / "meltano.yml", work / "meltano.yml")
    shutil.copy(ROOT / ".env.example", work / ".env.example")
    (work / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    for folder in LINKED:
        (work / folder).symlink_to(ROOT / folder, target_is_directory=True)
    (work / ".meltano").mkdir()  # its own system database and run folder
    for kind in sorted(set(PLUGINS.values())):
        (work / ".meltano" / kind).symlink_to(ROOT / ".meltano" / kind, target_is_directory=True)


@dataclass
class Outcome:
    run: subprocess.CompletedProcess | None = None
    error: str | None = None  # why the block failed, or was not run


def failure(run: Run) -> str:
    return f"exit {run.returncode}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n{run.stderr[-3000:]}"


def as_printed(block: Block, port: int) -> str:
    return block.text.replace(DEMO_PORT, f"127.0.0.1:{port}")


def run_block(script: str, work: Path, env: dict[str, str], state: Path) -> tuple[Run, dict[str, str]]:
    """One block in bash, then the environment it exported, for the next block."""
    trailer = f'\nenv -0 > "{state}"\n'
    run = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script + trailer],
        cwd=work, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT, check=False,
    )  # fmt: skip
    if run.returncode == 0:
        pairs = (item.split("=", 1) for item in state.read_text(encoding="utf-8").split("\0") if "=" in item)
        env = dict(pairs)
    return run, env


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    ensure_installed()
    with Simulator(seed=1, scale=20, start=START, days=14, api_key="sim-key") as sim:
        yield sim


@pytest.fixture(scope="module")
def sessions(
    simulator: Simulator, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], dict[int, Outcome]]:
    """Each document's blocks, run once in order in a scratch checkout of its own."""
    done: dict[str, dict[int, Outcome]] = {}

    def outcomes(document: str) -> dict[int, Outcome]:
        if document not in done:
            done[document] = run_document(document, simulator, tmp_path_factory)
        return done[document]

    return outcomes


def run_document(
    document: str, sim: Simulator, tmp_path_factory: pytest.TempPathFactory
) -> dict[int, Outcome]:
    work = tmp_path_factory.mktemp("checkout")
    scratch_checkout(work)
    state = tmp_path_factory.mktemp("shell") / "env"
    env = clean_environment()
    checks = DOCUMENTS[document]
    runnable = [b for d, b in BLOCKS if d == document and b.skip is None]
    last_of_section = {b.section: b.line for b in runnable}
    outcomes: dict[int, Outcome] = {}
    runs: dict[int, Run] = {}
    for block in runnable:
        if any(o.error for o in outcomes.values()):
            outcomes[block.line] = Outcome(error="not run: an earlier block failed")
            continue
        run, env = run_block(as_printed(block, sim.port), work, env, state)
        runs[block.line] = run
        outcome = outcomes[block.line] = Outcome(run)
        if run.returncode != 0:
            outcome.error = failure(run)
        elif block.section in checks and last_of_section[block.section] == block.line:
            try:
                checks[block.section](work, sim, runs)
            except AssertionError as failed:
                outcome.error = f"ran, but not as the document says: {failed}"
    return outcomes


@pytest.mark.parametrize(("document", "block"), BLOCKS, ids=[f"{d}:{b.line}" for d, b in BLOCKS])
def test_block_runs_as_printed(
    document: str, block: Block, sessions: Callable[[str], dict[int, Outcome]]
) -> None:
    if block.skip is not None:
        pytest.skip(f"{document} {block}: {block.skip}")
    outcome = sessions(document)[block.line]
    if outcome.error is not None:
        pytest.fail(f"{document} {block}:\n{block.text}\n{outcome.error}", pytrace=False)


def test_readme_shows_no_bare_uv_run() -> None:
    """`uv` may be a pip module off PATH (`make` installs it so): the README calls `.venv/bin/...`."""
    for document in DOCUMENTS:
        text = (ROOT / document).read_text(encoding="utf-8")
        assert not re.search(r"(^|[`\s;|&(])uv run\b", text, re.MULTILINE), document


def test_every_check_has_its_section() -> None:
    for document, checks in DOCUMENTS.items():
        sections = {b.section for d, b in BLOCKS if d == document and b.skip is None}
        assert set(checks) <= sections, f"{document}: sections renamed? {sorted(set(checks) - sections)}"
        runnable = [b for d, b in BLOCKS if d == document and b.skip is None]
        assert len(runnable) >= len(checks), document

"""Crash safety: target-csv-flat killed with SIGKILL at any moment leaves a whole CSV file behind.

The real console script runs as a subprocess on a large input with small batches (many drains);
it is killed at seeded random moments, and after each kill the file's committed part (what its
sidecar records; the next run cuts anything after it) must parse, every row must have the header's
width, it must end on a line end, its data rows must be whole batches of the input (a prefix of
it), and an appending rerun must cut the uncommitted tail, complete and clean up. STATE lines on
stdout must only ever follow rows that are already committed in the real file. A stream sent as a Singer
table version, killed the same way, leaves either the previous copy or the whole new one. Below
those, the file object itself (`AtomicCsvFile`) is checked step by step.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest

from target_csv_flat import atomic_csv
from target_csv_flat.atomic_csv import (
    AtomicCsvFile,
    committed_length,
    kernel_copy,
    mark_path,
    read_header,
    remove_stale_temps,
    temp_prefix,
    write_mark,
)
from tests.schema_shorthand import L, S, obj

SCRIPT = Path(sys.executable).parent / "target-csv-flat"
RECORDS = 30_000
BATCH = 3_000
SMALL = 50
STREAM = "events"
SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "n": {"type": "integer"},
        "note": S,
        "tags": L,
        "host": obj(name=S, os=obj(name=S, version=S)),
        "body": S,
    },
}
HOSTILE = ["plain", "a, b", 'say "hi"', "line one\nline two", "crlf\r\nend", "Zoë 田中", "=1+1"]


def record(i: int, prefix: str) -> dict:
    return {
        "id": f"{prefix}-{i}",
        "n": i,
        "note": HOSTILE[i % len(HOSTILE)] * (1 + i % 3),
        "tags": ["x", HOSTILE[i % len(HOSTILE)]],
        "host": {"name": f"host-{i % 97}", "os": {"name": "Windows", "version": str(i % 11)}},
        "body": f"{i:08d} " * 45,  # rows of ~650 bytes: a batch is twice the writer's 1 MiB buffer
    }


def write_input(path: Path, count: int, prefix: str, version: int | None = None) -> Path:
    """SCHEMA, `count` RECORDs and a STATE after every BATCH records: `{"rows": records so far}`.

    With `version`: the RECORDs carry it, and ACTIVATE_VERSION follows the last one.
    """
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    tag = {} if version is None else {"version": version}
    with path.open("w", encoding="utf-8") as out:
        out.write(
            dumps({"type": "SCHEMA", "stream": STREAM, "schema": SCHEMA, "key_properties": ["id"]}) + "\n"
        )
        for i in range(count):
            out.write(dumps({"type": "RECORD", "stream": STREAM, "record": record(i, prefix), **tag}) + "\n")
            if (i + 1) % BATCH == 0 or i + 1 == count:
                state = {"type": "STATE", "value": {"bookmarks": {STREAM: {"rows": i + 1}}}}
                out.write(dumps(state) + "\n")
        if version is not None:
            out.write(dumps({"type": "ACTIVATE_VERSION", "stream": STREAM, "version": version}) + "\n")
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crash")


@pytest.fixture(scope="module")
def env(work: Path) -> dict[str, str]:
    """The subprocesses' environment: bytecode cached in the test folder, so each start is quick."""
    variables = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**variables, "PYTHONPYCACHEPREFIX": str(work / "pycache")}


@pytest.fixture(scope="module")
def big_input(work: Path) -> Path:
    return write_input(work / "big.jsonl", RECORDS, "r")


@pytest.fixture(scope="module")
def small_input(work: Path) -> Path:
    return write_input(work / "small.jsonl", SMALL, "s")


def start(
    config: Path, messages: Path, env: dict[str, str], stdout: int = subprocess.DEVNULL
) -> subprocess.Popen:
    with messages.open("rb") as stdin:
        return subprocess.Popen(
            [str(SCRIPT), "--config", str(config)],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            env=env,
        )


def run_to_end(config: Path, messages: Path, env: dict[str, str]) -> None:
    with messages.open("rb") as stdin:
        result = subprocess.run(
            [str(SCRIPT), "--config", str(config)],
            stdin=stdin,
            capture_output=True,
            timeout=300,
            check=False,
            env=env,
        )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]


def whole_rows(path: Path) -> list[list[str]]:
    """The file's rows after checking it is whole: parses strictly, even width, ends on a line end."""
    raw = path.read_bytes()
    assert raw.endswith(b"\r\n"), raw[-200:]
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, strict=True))
    header = rows[0]
    assert header[:2] == ["id", "n"]
    bad = [i for i, row in enumerate(rows) if len(row) != len(header)]
    assert not bad, f"rows {bad[:5]} do not have the header's {len(header)} columns"
    return rows[1:]


def committed_rows(path: Path) -> list[list[str]]:
    """`whole_rows` of the file's committed part: what the next run keeps of it."""
    part = path.parent.parent / f"{path.parent.name}-committed.csv"
    part.write_bytes(path.read_bytes()[: committed_length(path)])
    return whole_rows(part)


def config_file(work: Path, name: str, **settings: object) -> tuple[Path, Path]:
    out = work / name
    path = work / f"{name}.json"
    path.write_text(
        json.dumps({"output_path": str(out), "batch_size_rows": BATCH, **settings}), encoding="utf-8"
    )
    return path, out / f"{STREAM}.csv"


def temp_files(csv_path: Path) -> list[str]:
    return sorted(p.name for p in csv_path.parent.iterdir() if p.name.startswith(temp_prefix(csv_path)))


def test_sigkill_at_random_moments_never_leaves_a_torn_file(
    work: Path, env: dict[str, str], big_input: Path, small_input: Path
) -> None:
    config, csv_path = config_file(work, "previous")
    run_to_end(config, small_input, env)  # (also compiles the bytecode the later runs start from)
    previous = csv_path.read_bytes()  # the file each killed run starts from
    config, csv_path = config_file(work, "whole")
    began = time.monotonic()
    run_to_end(config, small_input, env)
    startup = time.monotonic() - began
    run_to_end(config, big_input, env)
    full_run = time.monotonic() - began - startup  # how long a whole run takes on this machine, now
    assert [r[0] for r in whole_rows(csv_path)][SMALL:] == [f"r-{i}" for i in range(RECORDS)]

    rng = random.Random(20241001)
    partial_kills = 0
    for kill in range(10):
        config, csv_path = config_file(work, f"kill-{kill}")
        csv_path.parent.mkdir()
        csv_path.write_bytes(previous)
        proc = start(config, big_input, env)
        time.sleep(rng.uniform(startup / 2, full_run))
        proc.send_signal(signal.SIGKILL)
        proc.wait()

        rows = committed_rows(csv_path)
        assert [r[0] for r in rows[:SMALL]] == [f"s-{i}" for i in range(SMALL)]
        added = len(rows) - SMALL
        assert added % BATCH == 0 and 0 <= added <= RECORDS, f"{added} rows: not whole batches"
        assert [r[0] for r in rows[SMALL:]] == [f"r-{i}" for i in range(added)]
        partial_kills += 0 < added < RECORDS

        run_to_end(config, small_input, env)  # an appending rerun cuts the tail, completes, cleans up
        rows = whole_rows(csv_path)
        assert len(rows) == SMALL + added + SMALL
        assert [r[0] for r in rows[SMALL : SMALL + added]] == [f"r-{i}" for i in range(added)]
        assert [r[0] for r in rows[-SMALL:]] == [f"s-{i}" for i in range(SMALL)]
        assert temp_files(csv_path) == []
        assert not mark_path(csv_path).exists()
    assert partial_kills, "no kill landed between two batch ends"


def test_an_uncommitted_tail_left_by_a_kill_is_cut_by_the_next_run(
    work: Path, env: dict[str, str], small_input: Path
) -> None:
    config, csv_path = config_file(work, "tail")
    run_to_end(config, small_input, env)
    committed = csv_path.read_bytes()
    # What a run killed mid-batch leaves: its sidecar, then whole rows and a torn one after it.
    write_mark(csv_path, len(committed), csv_path.stat().st_ino)
    with csv_path.open("ab") as out:
        out.write(committed.split(b"\r\n", 1)[1][:-300])
        out.write(b'x-1,1,"half a ro')
    assert csv_path.stat().st_size > len(committed)
    assert committed_rows(csv_path) == whole_rows(csv_path.parent.parent / "tail-committed.csv")
    run_to_end(config, small_input, env)
    rows = whole_rows(csv_path)
    assert [r[0] for r in rows] == [f"s-{i}" for i in range(SMALL)] * 2
    assert csv_path.read_bytes().startswith(committed)
    assert temp_files(csv_path) == []
    assert not mark_path(csv_path).exists()  # a clean run leaves no sidecar


def test_sigkill_during_a_table_version_leaves_the_previous_or_the_whole_new_copy(
    work: Path, env: dict[str, str]
) -> None:
    small = write_input(work / "small-v1.jsonl", SMALL, "s", version=1)
    big = write_input(work / "big-v2.jsonl", RECORDS, "r", version=2)
    config, csv_path = config_file(work, "version-whole")
    began = time.monotonic()
    run_to_end(config, small, env)
    previous = csv_path.read_bytes()
    full_run = time.monotonic() - began
    run_to_end(config, big, env)
    new = [r[0] for r in whole_rows(csv_path)]
    assert new == [f"r-{i}" for i in range(RECORDS)]  # one copy: version 1's rows are gone

    rng = random.Random(20250101)
    outcomes = []
    for kill in range(5):
        config, csv_path = config_file(work, f"version-kill-{kill}")
        csv_path.parent.mkdir()
        csv_path.write_bytes(previous)
        proc = start(config, big, env)
        time.sleep(rng.uniform(full_run / 2, full_run * 2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        rows = [r[0] for r in whole_rows(csv_path)]
        assert csv_path.read_bytes() == previous or rows == new, f"{len(rows)} rows: neither copy"
        outcomes.append(csv_path.read_bytes() == previous)
        run_to_end(config, small, env)  # the next run activates its own version and cleans up
        assert csv_path.read_bytes() == previous
        assert temp_files(csv_path) == []
    assert any(outcomes), "no kill landed before the activation"


def test_state_lines_only_follow_rows_already_in_the_file(
    work: Path, env: dict[str, str], big_input: Path
) -> None:
    config, csv_path = config_file(work, "state")
    proc = start(config, big_input, env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    covered = json.loads(line)["bookmarks"][STREAM]["rows"]
    rows = committed_rows(csv_path)
    assert len(rows) >= covered
    assert [r[0] for r in rows[:covered]] == [f"r-{i}" for i in range(covered)]


# --------------------------------------------------------------------------- AtomicCsvFile step by step


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_rows_reach_the_real_file_only_on_commit(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    header = ["id", "_extra"]
    output = AtomicCsvFile(path, "utf-8", None, replace=False)
    output.set_header(header)
    output.write_row(("1", None), output.header)
    assert not path.exists()
    (temp,) = temp_files(path)
    assert temp.startswith(f".a.csv.tmp-{os.getpid()}-")
    output.commit()
    assert lines(path) == ["id,_extra", "1,"]
    output.write_row(("2", None), output.header)  # appended to the file itself, after its sidecar
    assert committed_length(path) == len(b"id,_extra\r\n1,\r\n")
    output.discard()  # cuts the file back to its committed length
    assert lines(path) == ["id,_extra", "1,"]
    assert temp_files(path) == []
    assert not mark_path(path).exists()


def test_a_crash_mid_batch_leaves_a_tail_that_the_next_open_cuts(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id\r\n1\r\n", encoding="utf-8")
    output = AtomicCsvFile(path, "utf-8", ["id"], replace=False)
    output.write_rows([(str(i),) for i in range(2, 5000)], output.header)
    output.commit()
    before = path.read_bytes()
    output.write_rows([(str(i),) for i in range(5000, 300_000)], output.header)  # over the buffer
    assert path.stat().st_size > len(before)  # a reader may see the open batch's rows...
    assert committed_length(path) == len(before)  # ...but they are not committed
    # Killed here: the next run's file object cuts the tail before it appends.
    again = AtomicCsvFile(path, "utf-8", read_header(path, "utf-8"), replace=False)
    again.write_row(("next",), again.header)
    again.finish()
    assert path.read_bytes() == before + b"next\r\n"
    assert not mark_path(path).exists()


def test_appended_batches_write_each_row_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes written through the file objects: the batches' own bytes, never a copy of the file."""
    written: list[int] = []

    class CountingFile(io.FileIO):
        def write(self, data: bytes) -> int:  # type: ignore[override]
            count = super().write(data)
            written[-1] += count
            return count

    def counting_open(self: AtomicCsvFile, path: Path, mode: str, errors: str = "strict") -> t.TextIO:
        return io.TextIOWrapper(
            io.BufferedWriter(CountingFile(path, mode)), encoding=self.encoding, errors=errors, newline=""
        )

    def no_copy(*_: object) -> None:
        raise AssertionError("the file was copied")

    monkeypatch.setattr(AtomicCsvFile, "_open", counting_open)
    monkeypatch.setattr(atomic_csv, "kernel_copy", no_copy)
    path = tmp_path / "a.csv"
    output = AtomicCsvFile(path, "utf-8", None, replace=False)
    output.set_header(["id", "body"])
    sizes, inodes = [], set()
    for batch in range(20):
        written.append(0)
        output.write_rows([(f"{batch}-{i}", "x" * 100) for i in range(500)], output.header)
        output.commit()
        sizes.append(path.stat().st_size)
        inodes.add(path.stat().st_ino)
        assert committed_length(path) == sizes[-1]
    growth = [sizes[0]] + [b - a for a, b in itertools.pairwise(sizes)]
    assert written == growth  # each batch wrote exactly what it added to the file
    assert sum(written) == path.stat().st_size
    assert len(inodes) == 1  # the first batch created the file; the other 19 appended to it
    output.finish()
    assert not mark_path(path).exists()


def test_a_header_that_grows_mid_append_rewrites_once_and_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,_extra\r\n1,\r\n", encoding="utf-8")
    output = AtomicCsvFile(path, "utf-8", ["id", "_extra"], replace=False)
    output.write_rows([(str(i), None) for i in range(2, 40_000)], output.header)  # past the buffer
    output.set_header(["id", "severity", "_extra"])
    assert path.read_bytes() == b"id,_extra\r\n1,\r\n"  # the open batch moved to the rewrite
    output.write_row(("x", "high", None), output.header)
    output.commit()
    rows = lines(path)
    assert rows[:3] == ["id,severity,_extra", "1,,", "2,,"]
    assert rows[-1] == "x,high,"
    assert len(rows) == 1 + 40_000
    assert temp_files(path) == []
    assert not mark_path(path).exists()


def test_a_failed_rename_keeps_the_old_file_and_drops_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id\r\n1\r\n", encoding="utf-8")
    output = AtomicCsvFile(path, "utf-8", ["id"], replace=False)
    output.write_row(("2",), output.header)

    def no_space(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_csv.os, "replace", no_space)
    with pytest.raises(OSError, match="No space"):
        output.commit()
    assert lines(path) == ["id", "1"]
    assert temp_files(path) == []


def test_growing_the_header_rewrites_the_open_batch_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,_extra\r\n1,\r\n", encoding="utf-8")
    output = AtomicCsvFile(path, "utf-8", ["id", "_extra"], replace=False)
    old_layout = output.header
    output.write_row(("2", None), old_layout)
    output.set_header(["id", "severity", "_extra"])
    output.write_row(("3", "high", None), output.header)
    output.write_rows([("4", '{"a":1}')], old_layout)  # rows built for the old header still fit
    output.commit()
    assert lines(path) == ["id,severity,_extra", "1,,", "2,,", "3,high,", '4,,"{""a"":1}"']
    assert temp_files(path) == []


def test_replace_starts_from_an_empty_file_once(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("old,header\r\nx,y\r\n", encoding="utf-8")
    output = AtomicCsvFile(path, "utf-8", None, replace=True)
    output.set_header(["id"])
    output.write_row(("1",), output.header)
    output.commit()
    output.write_row(("2",), output.header)
    output.commit()
    assert lines(path) == ["id", "1", "2"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_a_last_line_without_line_end_gets_one_before_new_rows(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id\r\n1", encoding=encoding, newline="")
    output = AtomicCsvFile(path, encoding, ["id"], replace=False)
    output.write_row(("2",), output.header)
    output.commit()
    output.write_row(("3",), output.header)
    output.commit()
    assert path.read_bytes().decode(encoding) == "id\r\n1\r\n2\r\n3\r\n"


def test_kernel_copy_copies_everything(tmp_path: Path) -> None:
    source = tmp_path / "big"
    source.write_bytes(os.urandom(3 << 20))
    kernel_copy(source, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == source.read_bytes()


def test_only_temp_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    dead = tmp_path / f".a.csv.tmp-{2**22 + 17}-1"
    alive = tmp_path / f".a.csv.tmp-{os.getppid()}-1"
    unrelated = tmp_path / ".b.csv.tmp-1-1"
    for p in (dead, alive, unrelated):
        p.write_text("x", encoding="utf-8")
    assert remove_stale_temps(path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, unrelated.name])

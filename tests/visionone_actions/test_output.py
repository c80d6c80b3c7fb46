"""`-o table`: long cells wrap at word boundaries to the terminal's width, and no text is lost."""

from __future__ import annotations

import os

import pytest

from visionone_actions.output import render, table, terminal_width
from visionone_actions.runner import Outcome

MESSAGE = (
    "The endpoint named client-0042.corp.example could not be found in the Endpoint Inventory; check the "
    "name, or give --agent-guid instead, since names need not be unique across the connected products."
)


def column(lines: list[str], header: str) -> list[str]:
    """The lines of one column (below the header and rule), as printed."""
    start = lines[0].index(header)
    after = lines[0][start + len(header) :]
    end = start + len(header) + (len(after) - len(after.lstrip()) if after.strip() else 10**6)
    return [line[start:end].rstrip() for line in lines[2:]]


def test_a_long_cell_wraps_between_words_under_its_column() -> None:
    rows = [
        {"#": 1, "result": "FAILED", "status": 400, "error": MESSAGE},
        {"#": 2, "result": "ok", "status": 202, "task_id": "00002134"},
    ]
    lines = table(rows, width=80).splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "..." not in "\n".join(lines)
    errors = column(lines, "error")
    assert len([e for e in errors if e]) > 1  # wrapped, not cut
    assert " ".join(" ".join(errors).split()) == MESSAGE  # every word, in order
    assert set(" ".join(errors).split()) <= set(MESSAGE.split())  # no word broken in two
    first, *more = lines[2 : 2 + len([e for e in errors if e])]
    assert first.startswith("1  FAILED  400")
    offset = lines[0].index("error")
    assert all(line[:offset].strip() == "" and line[offset] != " " for line in more)
    # the short columns keep their width; the row below starts after the wrapped lines
    assert lines[0].startswith("#  result  status  error")
    assert lines[2 + len(more) + 1].startswith("2  ok      202")


def test_a_word_longer_than_its_column_is_split_not_cut() -> None:
    url = "https://phish.example/" + "a" * 150
    lines = table([{"input": f"url={url}", "status": 400, "error": MESSAGE}], width=70).splitlines()
    assert max(len(line) for line in lines) <= 70
    assert "".join(column(lines, "input")) == f"url={url}"
    assert " ".join(" ".join(column(lines, "error")).split()) == MESSAGE


def test_a_table_that_fits_is_left_alone() -> None:
    rows = [{"field": "id", "value": "WB-14-20190709-00003"}, {"field": "status", "value": "Open"}]
    assert table(rows, width=100) == (
        "field   value\n------  --------------------\nid      WB-14-20190709-00003\nstatus  Open"
    )


def test_render_wraps_to_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes = [
        Outcome({"endpoint_name": "client-0042.corp.example"}, ok=False, status=400,
                error={"code": "BadRequest", "message": MESSAGE}),
        Outcome({"endpoint_name": "client-0043"}, status=202, task_id="00002134"),
    ]  # fmt: skip
    monkeypatch.setenv("COLUMNS", "90")
    text = render("isolate-endpoint", outcomes, 2, "table")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 90
    assert " ".join(" ".join(column(lines[:-1], "error")).split()) == f"BadRequest {MESSAGE}"
    assert lines[-1] == "isolate-endpoint: 1 succeeded, 1 failed"


def test_without_a_terminal_the_width_is_100(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)

    def no_terminal(fd: int = 1) -> os.terminal_size:
        raise OSError("not a terminal")

    monkeypatch.setattr(os, "get_terminal_size", no_terminal)
    assert terminal_width() == 100
    monkeypatch.setenv("COLUMNS", "132")
    assert terminal_width() == 132


def test_columns_keep_their_longest_word_whole_where_the_width_allows() -> None:
    rows = [
        {"#": 1, "input": "endpoint_name=WS-LON-0087", "result": "ok", "status": 202, "task_id": "90000001"},
        {
            "#": 2,
            "input": "endpoint_name=no-such-host-207",
            "result": "FAILED",
            "status": 400,
            "error": MESSAGE,
        },
    ]
    lines = table(rows, width=88).splitlines()
    assert max(len(line) for line in lines) <= 88
    assert [line for line in column(lines, "input") if line] == [
        "endpoint_name=WS-LON-0087",
        "endpoint_name=no-such-host-207",  # not split: the error column gives up the room
    ]
    assert " ".join(" ".join(column(lines, "error")).split()) == MESSAGE

"""The CSV injection guard: formula-like text is neutralised, numbers and ordinary text are not."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from target_csv_flat.flatten import Column, compile_row_builder, flatten_record, flatten_schema
from target_csv_flat.safety import guard_cell, guard_header, guard_text, is_plain_number, needs_guard
from tests.schema_shorthand import I, L, S, obj


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example","click")',
        "=1+1",
        "+1+1",
        "-2+3",
        "+cmd|' /C calc'!A0",
        "-",
        "+",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "-e5",
        "--5",
        "-5 ",
        "-1,000",
        "-0x1F",
    ],
)
def test_formula_like_text_gets_a_leading_quote(text: str) -> None:
    assert needs_guard(text)
    assert guard_text(text) == "'" + text


@pytest.mark.parametrize("text", ["-5", "+3.25", "-1e5", "-1E+05", "+0", "-.5", "-5.", "12", "3.14"])
def test_text_that_is_just_a_number_stays(text: str) -> None:
    assert is_plain_number(text)
    assert guard_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain",
        "a=b",
        " =1",
        "'=1",
        "[1,2]",
        '{"k":"=x"}',
        "2024-10-01T03:04:05Z",
        "10.0.0.1",
        "Zoë",
        "日本",
    ],
)
def test_ordinary_text_stays(text: str) -> None:
    assert not needs_guard(text)
    assert guard_text(text) == text


def test_only_text_cells_are_touched() -> None:
    for value in (-5, -5.5, Decimal("-1.50"), None, 0):
        assert guard_cell(value) is value
    assert guard_cell("=x") == "'=x"


def test_header_names_are_guarded() -> None:
    assert guard_header(["uuid", "=cmd", "-5", "@x"]) == ["uuid", "'=cmd", "-5", "'@x"]


SCHEMA = {
    "type": "object",
    "properties": {
        "subject": S,
        "score": I,
        "tags": L,
        "nested": obj(cmd=S),
    },
}
HOSTILE = ["=1+1", "+1", "-5", "-x", "@x", "\tx", "\rx", "", "ok", "A", "@", "0", "9=", ":", "?x", "é"]


@pytest.mark.parametrize("list_format", ["json", "comma"])
def test_compiled_builder_guards_like_the_reference(list_format: str) -> None:
    columns = flatten_schema(SCHEMA)
    build = compile_row_builder(columns, list_format=list_format, guard=True)
    rng = random.Random(3)
    for _ in range(2000):
        record = {
            "subject": rng.choice([*HOSTILE, None, -5, Decimal("-2.5")]),
            "score": rng.choice([-5, 3, None]),
            "tags": rng.sample(HOSTILE, rng.randrange(0, 3)),
            "nested": {"cmd": rng.choice(HOSTILE)},
            "extra": rng.choice(HOSTILE),
        }
        expected = flatten_record(record, columns, list_format, guard=True)
        assert build(record) == expected, record
        for cell in expected:
            assert not (isinstance(cell, str) and needs_guard(cell)), (record, cell)


def test_comma_lists_are_guarded_as_a_whole_cell_and_json_lists_need_nothing() -> None:
    columns = [Column("tags", ("tags",))]
    record = {"tags": ["=cmd", "b"]}
    assert compile_row_builder(columns, list_format="comma", guard=True)(record)[0] == "'=cmd,b"
    assert compile_row_builder(columns, list_format="json", guard=True)(record)[0] == '["=cmd","b"]'


def test_numbers_are_never_guarded_and_guard_off_writes_raw() -> None:
    columns = [Column("a", ("a",)), Column("b", ("b",))]
    assert compile_row_builder(columns, guard=True)({"a": -5, "b": Decimal("-1.5")})[:2] == (
        -5,
        Decimal("-1.5"),
    )
    assert compile_row_builder(columns, guard=False)({"a": "=1", "b": "-x"})[:2] == ("=1", "-x")

"""The column-at-a-time CSV encoder writes exactly what the row builder and csv.writer write."""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import random
from pathlib import Path

import pytest

from target_csv_flat import columnar
from target_csv_flat.columnar import ChunkEncoder, json_list_column, text_column
from target_csv_flat.errors import RecordError
from target_csv_flat.flatten import compile_row_builder, flatten_schema, header

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "n": {"type": ["integer", "null"]},
        "x": {"type": ["number", "null"]},
        "flag": {"type": ["boolean", "null"]},
        "text": {"type": ["string", "null"]},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "blob": {"type": ["object", "null"]},
        "host": {
            "type": ["object", "null"],
            "properties": {
                "name": {"type": ["string", "null"]},
                "os": {"type": ["object", "null"], "properties": {"name": {"type": "string"}}},
                "ips": {"type": ["array", "null"]},
            },
        },
    },
}

TEXTS = [
    "plain",
    "",
    '=HYPERLINK("x")',
    "+1",
    "-5",
    "-x",
    "@me",
    "\tTAB",
    "\rCR",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "cr\rin",
    "nul\x00in",
    "Zoë, 田中",
    " lead",
    "'quoted",
    "10.0.0.1",
    "[x]",
]


@pytest.fixture(params=["columns", "sparse"], autouse=True)
def chunk_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs on both ways of encoding a chunk: by columns, and record by record (sparse)."""
    if request.param == "sparse":
        monkeypatch.setattr(columnar, "SPARSE_MIN_WIDTH", 0)
        monkeypatch.setattr(columnar, "SPARSE_SHARE", float("inf"))
    else:
        monkeypatch.setattr(columnar, "SPARSE_MIN_WIDTH", 10**9)
    return request.param


def value(rng: random.Random) -> object:
    """Any value a record could hold, weighted to the awkward ones."""
    return rng.choice(
        [
            None,
            rng.choice(TEXTS),
            rng.randrange(-5, 5),
            1.5,
            -2.5e-7,
            decimal.Decimal("-1.50"),
            True,
            False,
            [],
            [rng.choice(TEXTS) for _ in range(rng.randrange(3))],
            [1, None, {"k": "v"}],
            {"k": rng.choice(TEXTS)},
            datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        ]
    )


def record(rng: random.Random, *, plain: bool) -> dict:
    """A record of SCHEMA: `plain` ones have typical values only (the encoder's column path)."""
    if plain:
        rec: dict = {
            "id": rng.choice(TEXTS),
            "n": rng.choice([None, 1, -2, 10**20]),
            "x": rng.choice([None, 0.1, decimal.Decimal("1.50"), 3]),
            "flag": rng.choice([None, True, False]),
            "text": rng.choice([*TEXTS, None]),
            "tags": rng.choice([None, [], [rng.choice(TEXTS)], [rng.choice(TEXTS), rng.choice(TEXTS)]]),
            "blob": rng.choice([None, {"a": [1, "b"]}]),
            "host": rng.choice(
                [
                    None,
                    {},
                    {"name": rng.choice(TEXTS), "os": rng.choice([None, {"name": "-x"}]), "ips": ["1"]},
                ]
            ),
        }
        for key in rng.sample(sorted(rec), rng.randrange(3)):
            del rec[key]
        return rec
    rec = {key: value(rng) for key in SCHEMA["properties"] if rng.random() < 0.8}
    if rng.random() < 0.5:
        rec["host"] = {"name": value(rng), "os": rng.choice([None, "linux", {"name": value(rng)}]), "new": 1}
    if rng.random() < 0.3:
        rec["undeclared"] = value(rng)
    return rec


def by_rows(build: object, records: list[dict]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(map(build, records))  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("guard", [True, False])
@pytest.mark.parametrize("list_format", ["json", "comma"])
@pytest.mark.parametrize("plain_share", [1.0, 0.7, 0.0])
def test_same_text_as_row_builder_and_csv_writer(guard: bool, list_format: str, plain_share: float) -> None:
    columns = flatten_schema(SCHEMA, 3, "__")
    layouts = [
        header(columns),
        ["local", *header(columns)],  # a computed first column
        ["old_col", *reversed(header(columns)), "gone"],  # a file's own order and columns
        ["id", "host__os__name"],  # columns the file lacks go to no cell
    ]
    rng = random.Random(f"{guard}{list_format}{plain_share}")
    for layout in layouts:
        computed = {"local": lambda: "2025-06-08 09:07:21 JST"}
        build = compile_row_builder(columns, layout, list_format=list_format, guard=guard, computed=computed)
        encode = ChunkEncoder(
            columns, layout, build, list_format=list_format, guard=guard, computed=computed
        ).encode
        for _ in range(30):
            records = [record(rng, plain=rng.random() < plain_share) for _ in range(rng.randrange(1, 40))]
            assert encode(records) == by_rows(build, records)


@pytest.mark.parametrize("guard", [True, False])
@pytest.mark.parametrize("list_format", ["json", "comma"])
def test_a_column_of_text_in_some_records_and_lists_in_others(guard: bool, list_format: str) -> None:
    """Many Vision One fields (src, tags, objectCmd, ...) are text in one record and a list in the next."""
    schema = {"properties": {"id": {"type": "string"}, "src": {"type": ["string", "array", "null"]}}}
    columns = flatten_schema(schema, 3, "__")
    build = compile_row_builder(columns, list_format=list_format, guard=guard)
    encode = ChunkEncoder(columns, header(columns), build, list_format=list_format, guard=guard).encode
    rng = random.Random(f"mixed{guard}{list_format}")
    for _ in range(50):
        records = [
            {
                "id": "x",
                "src": rng.choice(
                    [None, rng.choice(TEXTS), [], [rng.choice(TEXTS) for _ in range(rng.randrange(3))], [1]]
                ),
            }
            for _ in range(rng.randrange(1, 30))
        ]
        assert encode(records) == by_rows(build, records)


def test_one_column_and_no_records() -> None:
    columns = flatten_schema({"properties": {}}, 3, "__")
    build = compile_row_builder(columns)
    encode = ChunkEncoder(columns, header(columns), build).encode
    assert encode([]) == ""
    assert encode([{}, {"a": None}, {"a": 1}]) == by_rows(build, [{}, {"a": None}, {"a": 1}])


def test_text_column_guards_then_quotes_like_csv_writer() -> None:
    cells = ["=1+2", "-5", "ok", "a,b", "-x,y", ""]
    assert text_column(cells, guard=True) == ["'=1+2", "-5", "ok", '"a,b"', '"\'-x,y"', ""]
    assert text_column(cells, guard=False) == ["=1+2", "-5", "ok", '"a,b"', '"-x,y"', ""]
    assert text_column(['a"b', "c", "d\r"], guard=False) == ['"a""b"', "c", '"d\r"']


def test_json_list_column() -> None:
    assert json_list_column([["a"], [], ['b"', "c,d"]]) == ['"[""a""]"', "[]", '"[""b\\"""",""c,d""]"']
    assert json_list_column([["a"], ["b"]]) == ['"[""a""]"', '"[""b""]"']
    assert json_list_column([["a"], [1]]) is None


# --------------------------------------------------------------------------- checks by chunk


def test_chunk_checks_are_never_looser_than_jsonschema() -> None:
    from singer_sdk.sinks.core import JSONSchemaValidator

    from target_csv_flat.validation import column_rules
    from tests.target_csv_flat.test_target_validation import DETECTION, STRICT, VALID, random_record

    assert column_rules(STRICT, 3) is None  # other keywords: checked record by record
    rules = column_rules(DETECTION, 3)
    assert rules is not None
    columns = flatten_schema(DETECTION, 3, "__")
    build = compile_row_builder(columns, guard=True)
    encoder = ChunkEncoder(columns, header(columns), build, guard=True, rules=rules)
    assert encoder.checkable
    reference = JSONSchemaValidator(DETECTION).validator
    rng = random.Random(11)
    accepted = rejected = 0
    for _ in range(3000):
        records = [random_record(rng, VALID["detection"]) for _ in range(rng.randrange(1, 4))]
        for r in records:
            r.pop("newField", None)
        text = encoder.encode_checked(records)
        if text is None:
            rejected += 1
            continue
        accepted += 1
        assert all(reference.is_valid(r) for r in records), records
        assert text == by_rows(build, records)
    assert accepted > 200
    assert rejected > 300


def test_invalid_records_inside_a_chunk_are_found_and_numbered(tmp_path: Path) -> None:
    from tests.target_csv_flat.test_target_csv import read, run

    schema = {"properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}}
    records = [{"id": i, "name": f"n{i}"} for i in range(1, 1200)]
    records[700]["id"] = "x"  # record #701
    records[1100]["name"] = 5  # record #1101
    msgs = [{"type": "SCHEMA", "stream": "s", "schema": schema, "key_properties": []}]
    msgs += [{"type": "RECORD", "stream": "s", "record": r} for r in records]
    target = run(tmp_path, msgs, on_invalid_record="quarantine")
    assert target is not None
    rows = read(tmp_path / "s.csv")
    assert len(rows) == 1 + len(records) - 2
    assert [r[0] for r in rows[700:703]] == ["700", "702", "703"]
    rejected = (tmp_path / "s.rejected.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in rejected] == [records[700], records[1100]]
    with pytest.raises(RecordError, match=r"record #701: field id: 'x' is not of type 'integer'"):
        run(tmp_path / "fail", msgs)

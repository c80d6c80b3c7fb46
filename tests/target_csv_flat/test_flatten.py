"""Unit tests of target_csv_flat.flatten: columns from schemas, rows from records."""

from __future__ import annotations

import datetime
import decimal
import json
import random
from decimal import Decimal

import pytest

from target_csv_flat.flatten import (
    Column,
    collect_extras,
    comma_text,
    compile_row_builder,
    flatten_record,
    flatten_schema,
    header,
    json_list_text,
    json_text,
    list_formatter,
    union_header,
)
from tests.schema_shorthand import I, L, S, obj

SCHEMA = {
    "type": "object",
    "properties": {
        "uuid": {"type": "string"},
        "eventTime": {"type": "integer"},
        "processFileHash": obj(Md5=S, Sha1=S, Sha256=S),
        "policy": obj(id=S, name=S, rule=obj(id=S, name=S)),
        "tags": L,
        "endpoint": obj(name=S, os=obj(name=S, version=S, build=obj(id=I, channel=S)), ips=L),
        "score": I,
    },
}

RECORD = {
    "uuid": "u-1",
    "eventTime": 1727751845000,
    "processFileHash": {"Md5": "m", "Sha1": "s1", "Sha256": "s256"},
    "policy": {"id": "p1", "name": "Policy, one", "rule": {"id": "r1", "name": 'Block "macro"'}},
    "tags": ["a", "b,c"],
    "endpoint": {
        "name": "host-1",
        "os": {"name": "Windows", "version": "10", "build": {"id": 19045, "channel": "GA"}},
        "ips": ["10.0.0.1"],
    },
    "score": 7,
}


def names(columns: list[Column]) -> list[str]:
    return [c.name for c in columns]


def as_dict(row: tuple, columns: list[Column]) -> dict:
    return dict(zip(header(columns), row, strict=True))


# --------------------------------------------------------------------------- columns


def test_columns_follow_schema_order_with_nested_objects_in_place() -> None:
    assert names(flatten_schema(SCHEMA)) == [
        "uuid",
        "eventTime",
        "processFileHash__Md5",
        "processFileHash__Sha1",
        "processFileHash__Sha256",
        "policy__id",
        "policy__name",
        "policy__rule__id",
        "policy__rule__name",
        "tags",
        "endpoint__name",
        "endpoint__os__name",
        "endpoint__os__version",
        "endpoint__os__build__id",  # three object levels expanded at the default depth 3
        "endpoint__os__build__channel",
        "endpoint__ips",
        "score",
    ]


def test_header_ends_with_the_extra_column() -> None:
    columns = flatten_schema(SCHEMA)
    assert header(columns) == [*names(columns), "_extra"]


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (0, ["uuid", "eventTime", "processFileHash", "policy", "tags", "endpoint", "score"]),
        (
            1,
            [
                "uuid",
                "eventTime",
                "processFileHash__Md5",
                "processFileHash__Sha1",
                "processFileHash__Sha256",
                "policy__id",
                "policy__name",
                "policy__rule",
                "tags",
                "endpoint__name",
                "endpoint__os",
                "endpoint__ips",
                "score",
            ],
        ),
    ],
)
def test_depth_limit(depth: int, expected: list[str]) -> None:
    assert names(flatten_schema(SCHEMA, max_depth=depth)) == expected


def test_depth_limit_turns_deeper_objects_into_json_cells() -> None:
    columns = flatten_schema(SCHEMA, max_depth=1)
    row = as_dict(flatten_record(RECORD, columns), columns)
    assert json.loads(row["policy__rule"]) == {"id": "r1", "name": 'Block "macro"'}
    assert json.loads(row["endpoint__os"])["build"] == {"id": 19045, "channel": "GA"}
    assert row["policy__id"] == "p1"


def test_depth_two_keeps_the_third_object_level_as_json() -> None:
    columns = flatten_schema(SCHEMA, max_depth=2)
    assert "endpoint__os__build" in names(columns)
    assert "policy__rule__name" in names(columns)
    row = as_dict(flatten_record(RECORD, columns), columns)
    assert row["endpoint__os__build"] == '{"id":19045,"channel":"GA"}'


def test_separator() -> None:
    columns = flatten_schema(SCHEMA, separator=".")
    assert "policy.rule.name" in names(columns)
    assert not any("__" in n for n in names(columns))


def test_object_without_properties_is_one_json_cell() -> None:
    schema = {"properties": {"a": {"type": "object"}, "b": {"type": "object", "properties": {}}}}
    columns = flatten_schema(schema)
    assert names(columns) == ["a", "b"]
    row = flatten_record({"a": {"x": 1}, "b": {"y": [1, 2]}}, columns)
    assert row[:2] == ('{"x":1}', '{"y":[1,2]}')


def test_nullable_object_written_with_anyof_is_flattened() -> None:
    schema = {"properties": {"o": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"k": S}}]}}}
    assert names(flatten_schema(schema)) == ["o__k"]


def test_colliding_names_get_a_suffix_and_keep_their_values() -> None:
    schema = {"properties": {"a__b": S, "a": obj(b=S)}}
    columns = flatten_schema(schema)
    assert names(columns) == ["a__b", "a__b_2"]
    assert flatten_record({"a__b": "flat", "a": {"b": "nested"}}, columns)[:2] == ("flat", "nested")


def test_schema_property_named_extra_moves_the_extra_column() -> None:
    columns = flatten_schema({"properties": {"_extra": S}})
    assert header(columns) == ["_extra", "__extra"]


# --------------------------------------------------------------------------- cells and rows


def test_record_becomes_row_in_column_order() -> None:
    columns = flatten_schema(SCHEMA)
    row = as_dict(flatten_record(RECORD, columns), columns)
    assert row["policy__rule__name"] == 'Block "macro"'
    assert row["processFileHash__Sha256"] == "s256"
    assert row["tags"] == '["a","b,c"]'
    assert row["eventTime"] == 1727751845000  # csv writes ints with str()
    assert row["endpoint__os__build__id"] == 19045
    assert row["_extra"] is None


def test_null_nested_object_gives_empty_cells() -> None:
    columns = flatten_schema(SCHEMA)
    row = as_dict(flatten_record({**RECORD, "policy": None, "endpoint": {"os": None}}, columns), columns)
    for name in (
        "policy__id",
        "policy__name",
        "policy__rule__id",
        "policy__rule__name",
        "endpoint__os__name",
    ):
        assert row[name] is None
    assert row["_extra"] is None


def test_missing_fields_give_empty_cells() -> None:
    columns = flatten_schema(SCHEMA)
    row = flatten_record({"uuid": "only"}, columns)
    assert row[0] == "only"
    assert all(cell is None for cell in row[1:])


def test_booleans_none_numbers_and_dates() -> None:
    columns = [Column(n, (n,)) for n in "abcdefgh"]
    record = {
        "a": True,
        "b": False,
        "c": None,
        "d": Decimal("1.50"),
        "e": 2.5,
        "f": datetime.datetime(2024, 10, 1, 3, 4, 5, 123000, tzinfo=datetime.UTC),
        "g": datetime.date(2024, 10, 1),
        "h": "2024-10-01T03:04:05Z",
    }
    row = flatten_record(record, columns)
    assert row[:8] == (
        "true",
        "false",
        None,
        Decimal("1.50"),
        2.5,
        "2024-10-01T03:04:05.123000+00:00",
        "2024-10-01",
        "2024-10-01T03:04:05Z",
    )
    assert str(row[3]) == "1.50"


def test_unicode_is_kept_as_is() -> None:
    columns = flatten_schema(SCHEMA)
    record = {"uuid": "Zoë 田中", "tags": ["Réunion", "価格"], "policy": {"rule": {"name": "Détection"}}}
    row = as_dict(flatten_record(record, columns), columns)
    assert row["uuid"] == "Zoë 田中"
    assert row["tags"] == '["Réunion","価格"]'
    assert row["policy__rule__name"] == "Détection"


# --------------------------------------------------------------------------- lists


def test_json_list_format() -> None:
    fmt = list_formatter("json")
    assert fmt(["a", 'q"uote', "x,y", "line\nbreak"]) == '["a","q\\"uote","x,y","line\\nbreak"]'
    assert fmt([]) == "[]"
    assert fmt([1, None, True, {"k": "v"}, ["n"]]) == '[1,null,true,{"k":"v"},["n"]]'
    assert fmt([Decimal("1.50"), "é"]) == '[1.50,"é"]'


def test_comma_list_format() -> None:
    fmt = list_formatter("comma")
    assert fmt(["a", "b", "c"]) == "a,b,c"
    assert fmt([]) == ""
    assert fmt(["a", None, 1, True, {"k": 2}, ["x"]]) == 'a,,1,true,{"k":2},["x"]'
    assert fmt(["日本", "Zoë"]) == "日本,Zoë"


def test_list_format_in_rows() -> None:
    columns = flatten_schema(SCHEMA)
    comma = as_dict(flatten_record(RECORD, columns, list_format="comma"), columns)
    as_json = as_dict(flatten_record(RECORD, columns, list_format="json"), columns)
    assert comma["tags"] == "a,b,c"
    assert as_json["tags"] == '["a","b,c"]'


def test_unknown_list_format_is_refused() -> None:
    with pytest.raises(ValueError, match="list_format"):
        list_formatter("xml")


def test_json_helpers_agree_with_json_module() -> None:
    values = ["plain", 'q"', "\\", "\t\r\n", "é", "😀", "\u2028"]
    assert json_list_text(values) == json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    assert json_text({"a": [1, "b"]}) == '{"a":[1,"b"]}'
    assert comma_text(values) == ",".join(values)


def test_json_text_writes_nan_beside_a_decimal_as_it_does_alone() -> None:
    """A Decimal sends a value to simplejson, whose default refuses NaN: the cell failed the run."""
    assert json_text({"b": float("nan")}) == '{"b":NaN}'
    assert json_text({"a": decimal.Decimal("1.50"), "b": float("nan")}) == '{"a":1.50,"b":NaN}'


# --------------------------------------------------------------------------- undeclared fields


def test_undeclared_fields_go_to_extra_by_flattened_name() -> None:
    columns = flatten_schema(SCHEMA)
    record = {
        **RECORD,
        "newTop": "t",
        "newObj": {"k": [1]},
        "policy": {**RECORD["policy"], "newNested": 5},
        "ignoredNull": None,
    }
    row = as_dict(flatten_record(record, columns), columns)
    assert json.loads(row["_extra"]) == {"newTop": "t", "newObj": {"k": [1]}, "policy__newNested": 5}
    assert row["policy__id"] == "p1"


def test_non_object_where_object_declared_goes_to_extra() -> None:
    columns = flatten_schema(SCHEMA)
    record = {"uuid": "u", "policy": "not-an-object"}
    row = as_dict(flatten_record(record, columns), columns)
    assert row["policy__id"] is None
    assert json.loads(row["_extra"]) == {"policy": "not-an-object"}
    assert collect_extras(record, columns) == {"policy": "not-an-object"}


def test_compiled_builder_reports_extra_field_names() -> None:
    seen: list[list[str]] = []
    columns = flatten_schema(SCHEMA)
    build = compile_row_builder(columns, on_extras=seen.append)
    build(RECORD)
    assert seen == []
    build({**RECORD, "x": 1, "endpoint": {"os": {"y": 2}}})
    assert seen == [["endpoint__os__y", "x"]]  # record order


# --------------------------------------------------------------------------- compiled builder


def test_compiled_builder_writes_rows_in_a_given_header_order() -> None:
    columns = flatten_schema(SCHEMA)
    existing = ["_extra", "score", "unknown_column", "uuid", "policy__rule__name"]
    build = compile_row_builder(columns, existing)
    row = build(RECORD)
    assert row[1:] == (7, None, "u-1", 'Block "macro"')
    # columns the existing header lacks are kept in its _extra column
    extras = json.loads(row[0])
    assert extras["eventTime"] == 1727751845000
    assert extras["policy__id"] == "p1"
    assert extras["processFileHash"] == {"Md5": "m", "Sha1": "s1", "Sha256": "s256"}
    assert "policy__rule__name" not in extras


def _mutate(rng: random.Random, value: object, depth: int = 0) -> object:
    """A random variation: missing keys, nulls, wrong types, undeclared keys, odd strings."""
    choice = rng.random()
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            r = rng.random()
            if r < 0.1:
                continue
            out[k] = None if r < 0.2 else _mutate(rng, v, depth + 1)
        if rng.random() < 0.2:
            out[f"extra{rng.randrange(3)}"] = rng.choice([1, "x", None, {"n": [1]}, [True]])
        return out
    if choice < 0.05:
        return {"surprise": depth}
    if choice < 0.1:
        return rng.choice([True, False, None, 0, Decimal("0.10"), 1.5, [], ["a,b", None], "", "a\r\nb"])
    return value


@pytest.mark.parametrize("guard", [False, True])
def test_compiled_builder_matches_reference_on_random_records(guard: bool) -> None:
    rng = random.Random(42)
    for depth in (0, 1, 2, 3, 4):
        for list_format in ("json", "comma"):
            columns = flatten_schema(SCHEMA, max_depth=depth)
            build = compile_row_builder(columns, list_format=list_format, guard=guard)
            for _ in range(300):
                record = _mutate(rng, RECORD)
                expected = flatten_record(record, columns, list_format=list_format, guard=guard)
                assert build(record) == expected, record


def test_compiled_builder_fills_computed_columns_and_leaves_foreign_ones_empty() -> None:
    columns = flatten_schema(SCHEMA)
    calls: list[int] = []

    def stamp() -> str:
        calls.append(1)
        return "2025-06-08 09:07:21 JST"

    build = compile_row_builder(
        columns, ["local_timestamp", "uuid", None, "score"], computed={"local_timestamp": stamp}
    )
    assert build(RECORD) == ("2025-06-08 09:07:21 JST", "u-1", None, 7)
    assert len(calls) == 1


# --------------------------------------------------------------------------- growing headers


def test_union_header_keeps_old_columns_and_adds_new_ones_before_extra() -> None:
    old = ["uuid", "note", "_extra"]
    ours = ["uuid", "severity", "score", "_extra"]
    assert union_header(old, ours, "_extra") == ["uuid", "note", "severity", "score", "_extra"]
    assert union_header(old, ["note", "uuid", "_extra"], "_extra") == old  # fewer or reordered: unchanged
    assert union_header(["a", "_extra", "z"], ["b", "_extra"], "_extra") == ["a", "b", "_extra", "z"]
    assert union_header(["id", "name"], ["uuid", "_extra"], "_extra") == ["id", "name", "uuid", "_extra"]
    assert union_header([], ours, "_extra") == ours


def test_union_header_puts_a_new_local_timestamp_column_first() -> None:
    grown = union_header(
        ["uuid", "_extra"], ["local_timestamp", "uuid", "_extra"], "_extra", "local_timestamp"
    )
    assert grown == ["local_timestamp", "uuid", "_extra"]
    kept = union_header(
        ["uuid", "local_timestamp", "_extra"], ["local_timestamp", "uuid", "_extra"], "_extra"
    )
    assert kept == ["uuid", "local_timestamp", "_extra"]


def test_compiled_builder_is_safe_with_hostile_property_names() -> None:
    name = "x')); import os; os.exit(('"
    schema = {"properties": {name: S, "o": obj(**{name: S})}}
    columns = flatten_schema(schema)
    build = compile_row_builder(columns)
    assert build({name: "v", "o": {name: "w"}})[:2] == ("v", "w")

"""target-csv-flat end to end: Singer messages in, CSV files read back with the csv module."""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
import re
import shutil
import subprocess
import sys
import zoneinfo
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from singer_sdk.exceptions import InvalidInputLine, InvalidRecord
from singer_sdk.testing import get_target_test_class

from target_csv_flat.errors import SettingsError
from target_csv_flat.local_time import LocalClock
from target_csv_flat.target import TargetCsvFlat
from target_csv_flat.validation import FastValidator
from tests.in_process import run_main
from tests.schema_shorthand import DT, L, S, obj

SCRIPT = Path(sys.executable).parent / "target-csv-flat"

SCHEMA = {
    "type": "object",
    "properties": {
        "uuid": {"type": "string"},
        "eventTime": {"type": "integer"},
        "eventTimeDT": DT,
        "note": S,
        "tags": L,
        "isolated": {"type": ["boolean", "null"]},
        "policy": obj(id=S, rule=obj(id=S, name=S)),
        "endpoint": obj(name=S, os=obj(name=S, version=S), ips=L),
    },
}
HEADER = [
    "uuid",
    "eventTime",
    "eventTimeDT",
    "note",
    "tags",
    "isolated",
    "policy__id",
    "policy__rule__id",
    "policy__rule__name",
    "endpoint__name",
    "endpoint__os__name",
    "endpoint__os__version",
    "endpoint__ips",
    "_extra",
]


def detection(n: int, **fields: object) -> dict:
    record = {
        "uuid": f"u-{n}",
        "eventTime": 1727751845000 + n,
        "eventTimeDT": "2024-10-01T03:04:05Z",
        "note": f"plain {n}",
        "tags": ["a", "b"],
        "isolated": n % 2 == 0,
        "policy": {"id": "p1", "rule": {"id": "r1", "name": "Block macro"}},
        "endpoint": {"name": "host", "os": {"name": "Windows", "version": "10"}, "ips": ["10.0.0.1"]},
    }
    record.update(fields)
    return record


def messages(stream: str, records: Iterable[dict], schema: dict = SCHEMA, state: int = 1) -> list[dict]:
    out: list[dict] = [{"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["uuid"]}]
    out += [{"type": "RECORD", "stream": stream, "record": r} for r in records]
    out.append({"type": "STATE", "value": {"bookmarks": {stream: state}}})
    return out


def run(folder: Path, msgs: list[dict], **config: object) -> TargetCsvFlat:
    target = TargetCsvFlat(config={"output_path": str(folder), **config})
    target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in msgs)))
    return target


def read(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    with path.open(newline="", encoding=encoding) as f:
        return list(csv.reader(f))


def rows_as_dicts(path: Path) -> list[dict[str, str]]:
    head, *rows = read(path)
    return [dict(zip(head, row, strict=True)) for row in rows]


# --------------------------------------------------------------------------- files and headers


def test_one_file_per_stream_with_one_header(tmp_path: Path) -> None:
    run(
        tmp_path,
        messages("detections", [detection(i) for i in range(3)]) + messages("alerts", [detection(9)]),
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alerts.csv", "detections.csv"]
    rows = read(tmp_path / "detections.csv")
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == ["u-0", "u-1", "u-2"]
    assert read(tmp_path / "alerts.csv")[0] == HEADER
    assert len(read(tmp_path / "alerts.csv")) == 2


def test_nested_objects_become_columns(tmp_path: Path) -> None:
    run(tmp_path, messages("detections", [detection(1)]))
    (row,) = rows_as_dicts(tmp_path / "detections.csv")
    assert row["policy__rule__name"] == "Block macro"
    assert row["endpoint__os__version"] == "10"
    assert row["endpoint__ips"] == '["10.0.0.1"]'
    assert row["isolated"] == "false"
    assert row["eventTime"] == "1727751845001"


def test_null_and_missing_values_are_empty_cells(tmp_path: Path) -> None:
    record = detection(1, policy=None, note=None)
    del record["endpoint"]
    run(tmp_path, messages("detections", [record]))
    (row,) = rows_as_dicts(tmp_path / "detections.csv")
    for name in (
        "policy__id",
        "policy__rule__name",
        "note",
        "endpoint__name",
        "endpoint__os__name",
        "_extra",
    ):
        assert row[name] == "", name


def test_commas_quotes_newlines_and_unicode_round_trip(tmp_path: Path) -> None:
    hostile = ["a, b", 'say "hi"', "line one\nline two", "crlf\r\nend", "Zoë 田中 😀", " padded ", ""]
    run(tmp_path, messages("detections", [detection(i, note=v) for i, v in enumerate(hostile)]))
    rows = rows_as_dicts(tmp_path / "detections.csv")
    assert [r["note"] for r in rows] == hostile
    raw = (tmp_path / "detections.csv").read_bytes()
    assert raw.count(b"\r\n") >= len(hostile) + 1  # CRLF line ends (RFC 4180)
    assert b'"say ""hi"""' in raw


def test_list_formats(tmp_path: Path) -> None:
    tags = ["x,y", 'q"', "日本"]
    run(tmp_path / "json", messages("detections", [detection(1, tags=tags)]))
    run(tmp_path / "comma", messages("detections", [detection(1, tags=tags)]), list_format="comma")
    (as_json,) = rows_as_dicts(tmp_path / "json" / "detections.csv")
    (as_comma,) = rows_as_dicts(tmp_path / "comma" / "detections.csv")
    assert json.loads(as_json["tags"]) == tags
    assert as_json["tags"] == '["x,y","q\\"","日本"]'
    assert as_comma["tags"] == 'x,y,q",日本'


def test_timestamps_are_written_exactly_as_received(tmp_path: Path) -> None:
    stamps = ["2024-10-01T03:04:05Z", "2024-10-01T03:04:05.123+00:00", "2024-10-01T12:04:05.123456+09:00"]
    run(tmp_path, messages("detections", [detection(i, eventTimeDT=s) for i, s in enumerate(stamps)]))
    assert [r["eventTimeDT"] for r in rows_as_dicts(tmp_path / "detections.csv")] == stamps
    raw = (tmp_path / "detections.csv").read_text(encoding="utf-8")
    for stamp in stamps:
        assert f",{stamp}," in raw


def test_undeclared_fields_are_kept_in_extra_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = [
        detection(1, severity="high"),
        detection(2, severity="low", policy={"id": "p", "owner": "soc"}),
        detection(3),
    ]
    with caplog.at_level(logging.WARNING):
        run(tmp_path, messages("detections", records))
    rows = rows_as_dicts(tmp_path / "detections.csv")
    assert json.loads(rows[0]["_extra"]) == {"severity": "high"}
    assert json.loads(rows[1]["_extra"]) == {"severity": "low", "policy__owner": "soc"}
    assert rows[2]["_extra"] == ""
    warnings = [r.getMessage() for r in caplog.records if "not in the schema" in r.getMessage()]
    assert len(warnings) == 2
    assert "'severity'" in warnings[0]
    assert "'policy__owner'" in warnings[1]


def test_a_warning_names_at_most_ten_undeclared_fields_and_counts_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    extras = {f"extra{n:02d}": n for n in range(25)}
    with caplog.at_level(logging.DEBUG):
        run(tmp_path, messages("detections", [detection(1, **extras)]))
    assert json.loads(rows_as_dicts(tmp_path / "detections.csv")[0]["_extra"]) == extras
    (warning,) = [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "schema" in r.getMessage()
    ]
    assert "'extra00'" in warning and "'extra09'" in warning and "'extra10'" not in warning
    assert "and 15 more not in the schema" in warning
    assert any("extra24" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)


def test_state_is_emitted_after_rows_are_in_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run(tmp_path, messages("detections", [detection(1)], state=42))
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"bookmarks": {"detections": 42}}
    assert len(read(tmp_path / "detections.csv")) == 2


def test_batches_append_to_the_same_file(tmp_path: Path) -> None:
    run(tmp_path, messages("detections", [detection(i) for i in range(25)]), batch_size_rows=10)
    rows = read(tmp_path / "detections.csv")
    assert rows.count(HEADER) == 1
    assert [r[0] for r in rows[1:]] == [f"u-{i}" for i in range(25)]


# --------------------------------------------------------------------------- overwrite behaviour


def test_append_twice_keeps_one_header_and_doubles_rows(tmp_path: Path) -> None:
    batch = messages("detections", [detection(i) for i in range(3)])
    run(tmp_path, batch)
    run(tmp_path, batch, overwrite_behavior="append")
    rows = read(tmp_path / "detections.csv")
    assert rows.count(HEADER) == 1
    assert len(rows) == 1 + 6


def test_replace_rewrites_the_file(tmp_path: Path) -> None:
    run(tmp_path, messages("detections", [detection(i) for i in range(3)]))
    run(tmp_path, messages("detections", [detection(7)]), overwrite_behavior="replace")
    assert read(tmp_path / "detections.csv") == [HEADER, read(tmp_path / "detections.csv")[1]]
    assert read(tmp_path / "detections.csv")[1][0] == "u-7"


def test_replace_replaces_with_the_first_batch_and_appends_the_later_ones(tmp_path: Path) -> None:
    run(tmp_path, messages("detections", [detection(i) for i in range(3)]))
    run(
        tmp_path,
        messages("detections", [detection(i) for i in range(10, 15)]),
        overwrite_behavior="replace",
        batch_size_rows=2,
    )
    rows = read(tmp_path / "detections.csv")
    assert rows.count(HEADER) == 1
    assert [r[0] for r in rows[1:]] == [f"u-{i}" for i in range(10, 15)]


def test_replace_without_records_leaves_a_header_only_file(tmp_path: Path) -> None:
    run(tmp_path, messages("detections", [detection(1)]))
    run(tmp_path, messages("detections", []), overwrite_behavior="replace")
    assert read(tmp_path / "detections.csv") == [HEADER]


def test_a_run_leaves_no_temporary_files_and_removes_those_of_a_killed_run(tmp_path: Path) -> None:
    (tmp_path / "detections.csv").write_text(",".join(HEADER) + "\r\nu-0\r\n", encoding="utf-8")
    dead_pid = 2**22 + 17  # above Linux's pid_max default: no such process
    stale = tmp_path / f".detections.csv.tmp-{dead_pid}-1"
    stale.write_text("uuid\r\nhalf a ro", encoding="utf-8")
    other_stream = tmp_path / f".alerts.csv.tmp-{dead_pid}-1"
    other_stream.write_text("x", encoding="utf-8")
    run(tmp_path, messages("detections", [detection(i) for i in range(5)]), batch_size_rows=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [other_stream.name, "detections.csv"]
    assert [r[0] for r in read(tmp_path / "detections.csv")] == [
        "uuid",
        "u-0",
        "u-0",
        "u-1",
        "u-2",
        "u-3",
        "u-4",
    ]


def test_a_failing_run_discards_its_open_batch(tmp_path: Path) -> None:
    run(tmp_path, messages("detections", [detection(0)]))
    good = "".join(json.dumps(m) + "\n" for m in messages("detections", [detection(1)])[:-1])
    target = TargetCsvFlat(config={"output_path": str(tmp_path)})
    with pytest.raises(InvalidInputLine):
        target.listen(io.StringIO(good + "{not json\n"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["detections.csv"]
    assert [r[0] for r in read(tmp_path / "detections.csv")] == ["uuid", "u-0"]


def test_append_keeps_the_existing_column_order_and_adds_missing_columns_before_extra(
    tmp_path: Path,
) -> None:
    existing = ["eventTime", "uuid", "legacy", "_extra", "policy__rule__name"]
    (tmp_path / "detections.csv").write_text(",".join(existing) + "\r\n1,u-0,old,,rule\r\n", encoding="utf-8")
    run(tmp_path, messages("detections", [detection(1)]))
    rows = read(tmp_path / "detections.csv")
    added = [n for n in HEADER if n not in existing]
    assert rows[0] == ["eventTime", "uuid", "legacy", *added, "_extra", "policy__rule__name"]
    old, new = (dict(zip(rows[0], r, strict=True)) for r in rows[1:])
    assert (old["eventTime"], old["uuid"], old["legacy"], old["policy__rule__name"]) == (
        "1",
        "u-0",
        "old",
        "rule",
    )
    assert all(old[n] == "" for n in added)
    assert (new["eventTime"], new["uuid"], new["legacy"]) == ("1727751845001", "u-1", "")
    assert (new["tags"], new["endpoint__os__name"], new["_extra"]) == ('["a","b"]', "Windows", "")


def test_append_after_a_last_line_without_line_end(tmp_path: Path) -> None:
    (tmp_path / "detections.csv").write_text(",".join(HEADER) + "\r\nu-0", encoding="utf-8")
    run(tmp_path, messages("detections", [detection(1)]))
    assert [r[0] for r in read(tmp_path / "detections.csv")] == ["uuid", "u-0", "u-1"]


def test_append_to_a_header_without_extra_column_adds_it(tmp_path: Path) -> None:
    (tmp_path / "detections.csv").write_text(",".join(HEADER[:-1]) + "\r\nu-0\r\n", encoding="utf-8")
    run(tmp_path, messages("detections", [detection(1, severity="high")]))
    rows = read(tmp_path / "detections.csv")
    assert rows[0] == HEADER
    assert [len(r) for r in rows] == [len(HEADER)] * 3
    assert json.loads(rows[2][-1]) == {"severity": "high"}


def test_append_to_a_foreign_file_keeps_its_columns_and_rows(tmp_path: Path) -> None:
    (tmp_path / "detections.csv").write_text("id,name\r\n7,seven\r\n", encoding="utf-8")
    run(tmp_path, messages("detections", [detection(1)]))
    rows = read(tmp_path / "detections.csv")
    assert rows[0] == ["id", "name", *HEADER]
    assert rows[1] == ["7", "seven"] + [""] * len(HEADER)
    assert rows[2][:3] == ["", "", "u-1"]


def test_schema_that_gains_fields_mid_run_rewrites_the_file_with_the_union_header(tmp_path: Path) -> None:
    wider = {**SCHEMA, "properties": {**SCHEMA["properties"], "severity": S}}
    narrower = {**SCHEMA, "properties": {k: v for k, v in SCHEMA["properties"].items() if k != "note"}}
    msgs = (
        messages("detections", [detection(1)])
        + messages("detections", [detection(2, severity="high")], wider)
        + messages("detections", [detection(3, severity="low")], narrower)
    )
    run(tmp_path, msgs, overwrite_behavior="replace")
    head, *rows = read(tmp_path / "detections.csv")
    assert head == [*HEADER[:-1], "severity", "_extra"]
    assert all(len(r) == len(head) for r in rows)
    by_uuid = {r[0]: dict(zip(head, r, strict=True)) for r in rows}
    assert list(by_uuid) == ["u-1", "u-2", "u-3"]
    assert (by_uuid["u-1"]["severity"], by_uuid["u-2"]["severity"]) == ("", "high")
    assert by_uuid["u-2"]["note"] == "plain 2"
    # the narrower schema has no severity or note column of its own: its rows leave them empty and
    # keep undeclared fields in _extra, never shifted into another column
    assert (by_uuid["u-3"]["severity"], by_uuid["u-3"]["note"]) == ("", "")
    assert json.loads(by_uuid["u-3"]["_extra"]) == {"note": "plain 3", "severity": "low"}


def test_schema_change_inside_one_batch_realigns_the_rows_already_written(tmp_path: Path) -> None:
    wider = {**SCHEMA, "properties": {"severity": S, **SCHEMA["properties"]}}
    msgs = messages("detections", [detection(1), detection(2)]) + messages(
        "detections", [detection(3, severity="high")], wider
    )
    run(tmp_path, msgs, batch_size_rows=1000)
    rows = rows_as_dicts(tmp_path / "detections.csv")
    assert [(r["uuid"], r["severity"], r["policy__rule__name"]) for r in rows] == [
        ("u-1", "", "Block macro"),
        ("u-2", "", "Block macro"),
        ("u-3", "high", "Block macro"),
    ]


def test_utf8_sig_writes_one_bom_even_when_appending(tmp_path: Path) -> None:
    batch = messages("detections", [detection(1, note="Zoë")])
    run(tmp_path, batch, encoding="utf-8-sig")
    run(tmp_path, batch, encoding="utf-8-sig")
    raw = (tmp_path / "detections.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\xef\xbb\xbf") == 1
    assert [r[3] for r in read(tmp_path / "detections.csv", "utf-8-sig")[1:]] == ["Zoë", "Zoë"]


def test_file_naming_scheme_placeholders(tmp_path: Path) -> None:
    run(
        tmp_path,
        messages("detections", [detection(1)]),
        file_naming_scheme="{datestamp}/{stream_name}-{timestamp}.csv",
    )
    (folder,) = tmp_path.iterdir()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder.name)
    (file,) = folder.iterdir()
    assert re.fullmatch(r"detections-\d{8}T\d{6}\.csv", file.name)


def test_two_streams_cannot_share_one_file(tmp_path: Path) -> None:
    msgs = messages("a", [detection(1)]) + messages("b", [detection(2)])
    with pytest.raises(SettingsError, match=r"file_naming_scheme.*'a' and 'b'"):
        run(tmp_path, msgs, file_naming_scheme="all.csv")


def test_utf8_sig_keeps_one_bom_when_the_header_grows(tmp_path: Path) -> None:
    wider = {**SCHEMA, "properties": {**SCHEMA["properties"], "severity": S}}
    run(tmp_path, messages("detections", [detection(1, note="Zoë")]), encoding="utf-8-sig")
    run(tmp_path, messages("detections", [detection(2, severity="高")], wider), encoding="utf-8-sig")
    raw = (tmp_path / "detections.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\xef\xbb\xbf") == 1
    head, *rows = read(tmp_path / "detections.csv", "utf-8-sig")
    assert head[-2:] == ["severity", "_extra"]
    assert [(r[3], r[-2]) for r in rows] == [("Zoë", ""), ("plain 2", "高")]


# --------------------------------------------------------------------------- CSV injection guard


def test_formula_like_cells_and_headers_are_neutralised_numbers_are_not(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {**SCHEMA["properties"], "=cmd": S, "score": {"type": ["integer", "null"]}},
    }
    record = detection(
        1,
        note='=HYPERLINK("http://evil.example","x")',
        tags=["=1+1", "b"],
        policy={"id": "-5", "rule": {"id": "+3.25", "name": "@SUM(A1)"}},
        endpoint={"name": "\t=cmd", "os": {"name": "-1e5", "version": "-x"}, "ips": []},
        score=-5,
        **{"=cmd": "+1+1"},
    )
    run(tmp_path / "json", messages("detections", [record], schema))
    run(tmp_path / "comma", messages("detections", [record], schema), list_format="comma")
    (row,) = rows_as_dicts(tmp_path / "json" / "detections.csv")
    assert row["note"] == "'" + record["note"]
    assert row["tags"] == '["=1+1","b"]'  # JSON text starts with [
    assert (row["policy__id"], row["policy__rule__id"], row["policy__rule__name"]) == (
        "-5",
        "+3.25",
        "'@SUM(A1)",
    )
    assert (row["endpoint__name"], row["endpoint__os__name"]) == ("'\t=cmd", "-1e5")
    assert row["endpoint__os__version"] == "'-x"
    assert row["score"] == "-5"
    assert row["'=cmd"] == "'+1+1"  # the header name is guarded too
    (row,) = rows_as_dicts(tmp_path / "comma" / "detections.csv")
    assert row["tags"] == "'=1+1,b"


def test_guard_off_writes_cells_raw(tmp_path: Path) -> None:
    record = detection(1, note="=1+1", tags=["@x"])
    run(tmp_path, messages("detections", [record]), csv_injection_guard=False, list_format="comma")
    (row,) = rows_as_dicts(tmp_path / "detections.csv")
    assert (row["note"], row["tags"]) == ("=1+1", "@x")


def test_appending_finds_guarded_header_names_again(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"uuid": S, "=cmd": S}}
    run(tmp_path, messages("detections", [{"uuid": "u-1", "=cmd": "a"}], schema))
    run(tmp_path, messages("detections", [{"uuid": "u-2", "=cmd": "b"}], schema))
    assert read(tmp_path / "detections.csv") == [
        ["uuid", "'=cmd", "_extra"],
        ["u-1", "a", ""],
        ["u-2", "b", ""],
    ]


# --------------------------------------------------------------------------- seed features


def test_local_timestamp_column_comes_first_in_the_chosen_zone(tmp_path: Path) -> None:
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    run(
        tmp_path,
        messages("detections", [detection(i) for i in range(3)]),
        local_timestamp_column="local_timestamp",
        timezone="Asia/Tokyo",
    )
    after = datetime.datetime.now(datetime.UTC)
    head, *rows = read(tmp_path / "detections.csv")
    assert head == ["local_timestamp", *HEADER]
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST", row[0]), row[0]
        written = datetime.datetime.strptime(row[0][:-4], "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo")
        )
        assert before <= written <= after
    assert [r[1] for r in rows] == ["u-0", "u-1", "u-2"]


def test_local_clock_formats_like_seed_001() -> None:
    moment = datetime.datetime(2025, 6, 8, 0, 7, 21, 600000, tzinfo=datetime.UTC).timestamp()
    assert LocalClock(zoneinfo.ZoneInfo("Asia/Tokyo"), now=lambda: moment)() == "2025-06-08 09:07:21 JST"
    assert LocalClock(zoneinfo.ZoneInfo("UTC"), now=lambda: moment)() == "2025-06-08 00:07:21 UTC"


def test_local_timestamp_column_name_must_not_clash_with_a_field(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="local_timestamp_column 'note'"):
        run(tmp_path, messages("detections", [detection(1)]), local_timestamp_column="note")


def test_sort_by_orders_each_batch_with_missing_values_first(tmp_path: Path) -> None:
    times = [50, 10, None, 40, 30, 20, None]
    records = [detection(i, eventTime=t) for i, t in enumerate(times)]
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "eventTime": {"type": ["integer", "null"]}}}
    run(tmp_path, messages("detections", records, schema), sort_by="eventTime", batch_size_rows=4)
    rows = rows_as_dicts(tmp_path / "detections.csv")
    # batches of 4 arrive as [50, 10, None, 40] and [30, 20, None]; each is sorted on its own
    assert [r["eventTime"] for r in rows] == ["", "10", "40", "50", "", "20", "30"]
    assert [r["uuid"] for r in rows] == ["u-2", "u-1", "u-3", "u-0", "u-6", "u-5", "u-4"]


def test_sort_by_a_column_a_stream_lacks_keeps_arrival_order(tmp_path: Path) -> None:
    run(tmp_path, messages("detections", [detection(i) for i in (3, 1, 2)]), sort_by="nope")
    assert [r["uuid"] for r in rows_as_dicts(tmp_path / "detections.csv")] == ["u-3", "u-1", "u-2"]


# --------------------------------------------------------------------------- validation stays on


def test_invalid_records_still_fail_validation(tmp_path: Path) -> None:
    with pytest.raises(InvalidRecord, match="is not of type 'integer'"):
        run(tmp_path, messages("detections", [detection(1, eventTime="yesterday")]))


def test_sink_uses_the_compiled_validator(tmp_path: Path) -> None:
    target = run(tmp_path, messages("detections", [detection(1)]))
    sink = target.get_sink("detections")
    assert isinstance(sink._validator, FastValidator)
    assert sink._validator.check is not None


def test_sdk_flattening_setting_does_not_double_flatten(tmp_path: Path) -> None:
    run(tmp_path, messages("detections", [detection(1)]), flattening_enabled=True)
    assert read(tmp_path / "detections.csv")[0] == HEADER


# --------------------------------------------------------------------------- settings and the CLI


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"list_format": "xml"}, "list_format"),
        ({"overwrite_behavior": "merge"}, "overwrite_behavior"),
        ({"flattening_max_depth": -1}, "flattening_max_depth"),
        ({"file_naming_scheme": "{stream}.csv"}, "file_naming_scheme"),
        ({"encoding": "klingon"}, "encoding"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"on_invalid_record": "ignore"}, "on_invalid_record"),
        ({"csv_injection_guard": "maybe"}, "csv_injection_guard"),
        ({"batch_size_rows": 0}, "batch_size_rows"),
    ],
)
def test_bad_settings_raise_settings_error(tmp_path: Path, config: dict, names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        TargetCsvFlat(config={"output_path": str(tmp_path), **config})


# The console script's bytecode is cached for the whole session (tests/conftest.py), so each call
# starts in a fraction of a second.
def cli(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


# Bad settings on the console script (one line, exit 1, no traceback, nothing written): the table of
# tests/reliability/test_bad_input.py, for every tool.


def test_cli_reports_an_unusable_output_file_in_one_line(tmp_path: Path) -> None:
    """Through the console script's `main`, in this process (tests.in_process)."""
    (tmp_path / "out" / "detections.csv").mkdir(parents=True)  # a folder where the file should be
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps({"output_path": str(tmp_path / "out")}), encoding="utf-8")
    (tmp_path / "input.jsonl").write_text(
        "".join(json.dumps(m) + "\n" for m in messages("detections", [detection(1)]))
    )
    result = run_main(
        "target-csv-flat",
        ["--config", str(config_path), "--input", str(tmp_path / "input.jsonl")],
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("target-csv-flat: error: cannot write ")
    assert "detections.csv" in result.stderr.splitlines()[-1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["detections.csv"]  # no temp file


def test_cli_reads_input_file_and_writes_state(tmp_path: Path) -> None:
    msgs = tmp_path / "messages.jsonl"
    msgs.write_text("".join(json.dumps(m) + "\n" for m in messages("detections", [detection(1)], state=5)))
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps({"output_path": str(tmp_path / "out")}), encoding="utf-8")
    result = cli("--config", str(config_path), "--input", str(msgs))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"bookmarks": {"detections": 5}}
    assert len(read(tmp_path / "out" / "detections.csv")) == 2


def test_about_lists_every_setting_with_its_description_and_default() -> None:
    result = cli("--about", "--format=markdown")
    assert result.returncode == 0, result.stderr
    for name, spec in TargetCsvFlat.config_jsonschema["properties"].items():
        line = next((x for x in result.stdout.splitlines() if x.startswith(f"| {name} |")), None)
        assert line is not None, name
        assert spec["description"][:40] in line
        assert f"| {spec.get('default')} |" in line, line
    for name, default in {
        "output_path": "output",
        "file_naming_scheme": "{stream_name}.csv",
        "flattening_max_depth": "3",
        "flattening_separator": "__",
        "list_format": "json",
        "overwrite_behavior": "append",
        "encoding": "utf-8",
        "csv_injection_guard": "True",
        "local_timestamp_column": "None",
        "timezone": "UTC",
        "sort_by": "None",
        "on_invalid_record": "fail",
        "batch_size_rows": "100000",
    }.items():
        assert f"| {name} | False | {default} |" in result.stdout, name


# --------------------------------------------------------------------------- the SDK's standard tests

# The SDK builds its test class from this config at import; the module fixture below gives it an output
# folder of its own (the SDK's runner keeps this very dict), so importing the module, as every
# pytest-xdist worker does, creates nothing.
STANDARD_CONFIG = {"output_path": "standard-output-set-by-the-fixture"}


@pytest.fixture(scope="module", autouse=True)
def _standard_output(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("target-csv-flat-standard")
    STANDARD_CONFIG["output_path"] = str(folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


TestTargetCsvFlat = get_target_test_class(TargetCsvFlat, config=STANDARD_CONFIG)


def test_the_standard_tests_wrote_into_the_fixtures_folder(_standard_output: Path) -> None:
    """Runs after the class: its targets wrote their CSV files where the fixture said."""
    assert list(_standard_output.glob("*.csv"))
    assert not Path("standard-output-set-by-the-fixture").exists()

"""Record validation: the compiled check never accepts what the SDK's jsonschema validator rejects, and
`on_invalid_record` decides what happens to a record that breaks its schema."""

from __future__ import annotations

import json
import logging
import random
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from singer_sdk.exceptions import InvalidRecord, MissingKeyPropertiesError
from singer_sdk.sinks.core import JSONSchemaValidator

from target_csv_flat.errors import RecordError
from target_csv_flat.validation import FastValidator, compile_check
from tests.schema_shorthand import DT as NS
from tests.schema_shorthand import I, L, S
from tests.target_csv_flat.test_target_csv import SCHEMA, SCRIPT, detection, messages, read, run

DETECTION = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "uuid": {"type": "string"},
        "eventTime": {"type": "integer"},
        "eventTimeDT": NS,
        "score": I,
        "tags": L,
        "ratio": {"type": ["number", "null"]},
        "flag": {"type": ["boolean", "null"]},
        "mail": {"type": ["string", "null"], "format": "email"},
        "policy": {
            "type": ["object", "null"],
            "properties": {"id": S, "rule": {"type": ["object", "null"], "properties": {"name": S}}},
        },
    },
    "required": ["uuid"],
}

STRICT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "level"],
    "properties": {
        "id": {"type": "integer", "minimum": 1, "maximum": 1000},
        "level": {"enum": ["low", "high", None]},
        "code": {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^[A-Z]+$"},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "kind": {"const": "detection"},
        "either": {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 1}]},
        "both": {"allOf": [{"type": "string"}, {"minLength": 1}]},
        "ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
        "meta": {"type": "object", "additionalProperties": {"type": "string"}},
        "anything": {},
        "nothing": False,
    },
}

SCHEMAS = {"detection": DETECTION, "strict": STRICT}

SAMPLES = [
    None,
    True,
    False,
    0,
    1,
    7,
    1001,
    -3,
    1.0,
    0.5,
    Decimal("0.5"),
    Decimal("2"),
    "",
    "A",
    "AB",
    "ABCDE",
    "ab",
    "low",
    "detection",
    "2024-10-01T03:04:05Z",
    [],
    [1],
    [1, 2, 3],
    ["a", None],
    [True],
    {},
    {"x": "y"},
    {"x": 1},
    {"id": "p", "rule": {"name": 3}},
    {"id": "p", "rule": None},
]


def random_record(rng: random.Random, valid: dict) -> dict:
    """`valid` with some fields dropped or replaced by random samples, and maybe an undeclared one."""
    record = {}
    for key, value in valid.items():
        r = rng.random()
        if r < 0.1:
            continue
        record[key] = rng.choice(SAMPLES) if r < 0.25 else value
    if rng.random() < 0.2:
        record["undeclared"] = rng.choice(SAMPLES)
    return record


VALID = {
    "detection": {
        "uuid": "u",
        "eventTime": 1,
        "eventTimeDT": "2024-10-01T03:04:05Z",
        "score": None,
        "tags": ["a", None],
        "ratio": Decimal("0.25"),
        "flag": False,
        "policy": {"id": "p", "rule": {"name": "n"}},
        "newField": {"anything": 1},
    },
    "strict": {
        "id": 5,
        "level": None,
        "code": "AB",
        "ratio": 0.5,
        "kind": "detection",
        "either": "x",
        "both": "y",
        "ids": [1, 2],
        "meta": {"k": "v"},
        "anything": [object()],
    },
}


@pytest.mark.parametrize("name", ["detection", "strict"])
def test_compiled_check_accepts_ordinary_valid_records(name: str) -> None:
    schema, valid = SCHEMAS[name], VALID[name]
    check = compile_check(schema)
    assert check is not None
    assert JSONSchemaValidator(schema).validator.is_valid(valid)
    assert check(valid)


@pytest.mark.parametrize("name", ["detection", "strict"])
def test_compiled_check_is_never_looser_than_jsonschema(name: str) -> None:
    schema = SCHEMAS[name]
    check = compile_check(schema)
    assert check is not None
    reference = JSONSchemaValidator(schema).validator
    rng = random.Random(7)
    accepted = rejected = 0
    for _ in range(5000):
        record = random_record(rng, VALID[name])
        if check(record):
            accepted += 1
            assert reference.is_valid(record), record
        else:
            rejected += 1
    assert accepted > 500  # the fast path is taken
    assert rejected > 500  # and invalid records were tried


@pytest.mark.parametrize(
    "schema",
    [
        {"properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"type": "string"}}},
        {"properties": {"a": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}},
        {"properties": {"a": {"not": {"type": "string"}}}},
        {"patternProperties": {"^x": {"type": "string"}}},
        {"properties": {"a": {"enum": [[1], {"k": 1}]}}},
        {"properties": {"a": {"type": "any"}}},
    ],
)
def test_schemas_with_other_keywords_get_no_compiled_check(schema: dict) -> None:
    assert compile_check(schema) is None


def test_annotations_and_unknown_keywords_are_ignored_like_jsonschema_does() -> None:
    schema = {
        "title": "t",
        "description": "d",
        "x-sql-datatype": "varchar",
        "properties": {"a": {"type": "string", "default": "x", "examples": ["y"], "format": "email"}},
    }
    check = compile_check(schema)
    assert check is not None
    assert check({"a": "not an email"})


def test_fast_validator_fails_invalid_records_with_the_sdk_message() -> None:
    validator = FastValidator(DETECTION)
    with pytest.raises(InvalidRecord, match="is not of type 'integer'"):
        validator.validate({"uuid": "u", "eventTime": "yesterday"})
    with pytest.raises(InvalidRecord, match="'uuid' is a required property"):
        validator.validate({"eventTime": 1})


def test_fast_validator_lets_jsonschema_decide_when_the_check_is_too_strict() -> None:
    validator = FastValidator(DETECTION)
    record = {"uuid": "u", "eventTime": 1.0}  # Draft 2020-12: 1.0 is an integer
    assert validator.check is not None
    assert not validator.check(record)
    validator.validate(record)  # no error


def test_fast_validator_checks_formats_when_asked() -> None:
    validator = FastValidator(DETECTION, validate_formats=True)
    assert validator.check is None  # the SDK's format checker decides every record
    with pytest.raises(InvalidRecord):
        validator.validate({"uuid": "u", "eventTime": 1, "mail": "not an address"})
    FastValidator(DETECTION).validate({"uuid": "u", "eventTime": 1, "mail": "not an address"})


# --------------------------------------------------------------------------- on_invalid_record

BAD = detection(2, eventTime="yesterday")  # eventTime must be an integer


def stream_of(*records: dict) -> list[dict]:
    return messages("detections", list(records))


def test_fail_stops_with_one_line_naming_stream_key_and_field(tmp_path: Path) -> None:
    with pytest.raises(RecordError) as caught:
        run(tmp_path, stream_of(detection(1), BAD))
    message = str(caught.value)
    assert "\n" not in message
    assert "stream 'detections'" in message
    assert "uuid='u-2'" in message
    assert "field eventTime" in message
    assert "'yesterday' is not of type 'integer'" in message


def test_fail_names_nested_and_missing_fields(tmp_path: Path) -> None:
    schema = {**SCHEMA, "required": ["note"]}
    nested = detection(3, policy={"id": "p", "rule": {"id": 7, "name": "n"}})
    with pytest.raises(RecordError, match=r"record uuid='u-3': field policy\.rule\.id: 7 is not of type"):
        run(tmp_path / "a", stream_of(nested))
    missing = detection(4)
    del missing["note"]
    with pytest.raises(RecordError, match=r"field note: 'note' is a required property"):
        run(tmp_path / "b", messages("detections", [missing], schema))
    with pytest.raises(MissingKeyPropertiesError, match=r"record uuid=<missing>: field uuid: key property"):
        run(tmp_path / "c", stream_of({k: v for k, v in detection(5).items() if k != "uuid"}))


def test_fail_discards_the_open_batch_and_keeps_committed_ones(tmp_path: Path) -> None:
    records = [detection(i) for i in range(5)] + [BAD]
    with pytest.raises(RecordError):
        run(tmp_path, stream_of(*records), batch_size_rows=2)
    rows = read(tmp_path / "detections.csv")
    assert [r[0] for r in rows] == ["uuid", "u-0", "u-1", "u-2", "u-3"]  # u-4's batch was not committed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["detections.csv"]  # its temp file is gone


def test_fail_on_the_cli_exits_1_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"output_path": str(tmp_path / "out")}), encoding="utf-8")
    stdin = "".join(json.dumps(m) + "\n" for m in stream_of(detection(1), BAD, detection(3)))
    result = subprocess.run(
        [str(SCRIPT), "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(
        "target-csv-flat: error: invalid record: stream 'detections', record uuid='u-2'"
    )
    assert result.stdout == ""  # no STATE for rows that were not written
    assert list((tmp_path / "out").iterdir()) == []  # u-1's batch was discarded, temp file included


def test_skip_logs_one_warning_per_record_and_writes_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        run(tmp_path, stream_of(detection(1), BAD, detection(3), BAD), on_invalid_record="skip")
    assert [r[0] for r in read(tmp_path / "detections.csv")] == ["uuid", "u-1", "u-3"]
    warnings = [r.getMessage() for r in caplog.records if "Invalid record" in r.getMessage()]
    assert len(warnings) == 2
    assert "stream 'detections', record uuid='u-2': field eventTime:" in warnings[0]
    assert warnings[0].endswith("; skipped")
    assert not (tmp_path / "detections.rejected.jsonl").exists()


def test_quarantine_writes_each_bad_record_as_one_json_line(tmp_path: Path) -> None:
    odd = detection(4, eventTime=1.5, note="line\nbreak")
    run(tmp_path, stream_of(detection(1), BAD, odd, detection(3)), on_invalid_record="quarantine")
    assert [r[0] for r in read(tmp_path / "detections.csv")] == ["uuid", "u-1", "u-3"]
    lines = (tmp_path / "detections.rejected.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [BAD, {**odd, "eventTime": 1.5}]
    run(tmp_path, stream_of(BAD), on_invalid_record="quarantine")
    assert len((tmp_path / "detections.rejected.jsonl").read_text(encoding="utf-8").splitlines()) == 3


def test_validate_records_off_writes_whatever_arrives(tmp_path: Path) -> None:
    run(tmp_path, stream_of(BAD), validate_records=False)
    assert read(tmp_path / "detections.csv")[1][1] == "yesterday"


# --------------------------------------------------------------------------- the schema check

_MUTATIONS: list[tuple[str, object]] = [
    ("type", "strin"),
    ("type", 5),
    ("type", ["string", "string"]),
    ("type", ["string", "null"]),
    ("minimum", "x"),
    ("maxLength", -1),
    ("pattern", "("),
    ("pattern", "^a+$"),
    ("description", 5),
    ("description", "text"),
    ("title", None),
    ("required", "uuid"),
    ("required", ["a", "a"]),
    ("properties", []),
    ("properties", {"x": 5}),
    ("properties", {"x": {"type": "nope"}, "y": {"type": "string"}}),
    ("items", 3),
    ("enum", "x"),
    ("format", 1),
    ("additionalProperties", "no"),
    ("$comment", 1),
    ("examples", "x"),
]


def _nodes(schema: object) -> list[dict]:
    """Every dict inside `schema` (subschemas, and data such as `enum` values alike)."""
    found: list[dict] = []
    if isinstance(schema, dict):
        found.append(schema)
        for value in schema.values():
            found += _nodes(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _nodes(value)
    return found


def test_the_compact_schema_gets_the_metaschemas_verdict() -> None:
    """Checking `compact_schema(s)` against Draft 2020-12 says what checking `s` says, for valid
    schemas and for schemas broken anywhere (the validator relies on it to skip the full check)."""
    from jsonschema import Draft202012Validator, SchemaError

    from target_csv_flat.validation import compact_schema

    def verdict(schema: object) -> bool:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError:
            return False
        return True

    base = json.loads(json.dumps(DETECTION))
    for i, sub in enumerate(n for n in _nodes(base["properties"]) if "type" in n):
        sub["description"] = f"field {i}"  # distinct annotations, as a real tap sends them
    rng = random.Random(5)
    invalid = 0
    for _ in range(150):
        schema = json.loads(json.dumps(base))
        for _ in range(rng.randrange(1, 3)):
            key, value = rng.choice(_MUTATIONS)
            rng.choice(_nodes(schema))[key] = json.loads(json.dumps(value))
        expected = verdict(schema)
        invalid += not expected
        assert verdict(compact_schema(schema)) is expected, schema
    assert 30 < invalid < 140
    real = json.loads((Path(__file__).parents[2] / "tap_visionone/schemas/detections.json").read_text())
    compact = compact_schema(real)
    assert len(json.dumps(compact)) < len(json.dumps(real)) / 5
    assert verdict(compact)


def test_an_invalid_schema_fails_with_the_sdks_error_and_a_valid_one_builds_no_reference() -> None:
    from singer_sdk.exceptions import InvalidJSONSchema

    bad = {**DETECTION, "properties": {**DETECTION["properties"], "score": {"type": "whole number"}}}
    with pytest.raises(InvalidJSONSchema, match=r"Schema Validation Error: .*'whole number' is not valid"):
        FastValidator(bad)
    validator = FastValidator(DETECTION)
    validator.validate({"uuid": "u", "eventTime": 1})
    assert validator._reference is None  # the compiled check vouched: the SDK's validator not needed
    with pytest.raises(InvalidRecord):
        validator.validate({"uuid": "u", "eventTime": "x"})
    assert validator._reference is not None

"""The compiled record check never accepts what the SDK's jsonschema validator rejects."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks.core import JSONSchemaValidator

from target_csv_flat.validation import FastValidator, compile_check
from tests.schema_shorthand import DT as NS
from tests.schema_shorthand import I, L, S

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

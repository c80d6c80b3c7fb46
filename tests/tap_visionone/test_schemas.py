"""The stream schemas in tap_visionone/schemas: valid Draft 7, open to new fields, date-times marked, keys
required and non-null, and nothing that would carry a secret."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from tap_visionone import schemas
from tests.simulator.dictionary import SEARCH_STREAMS, fields

SCHEMA_DIR = Path(schemas.__file__).parent
SCHEMA_FILES = sorted(p.name for p in SCHEMA_DIR.glob("*.json"))

STREAMS = {
    "detections",
    "endpoint_activities",
    "email_activities",
    "network_activities",
    "cloud_activities",
    "mobile_activities",
    "identity_activities",
    "workbench_alerts",
    "oat_detections",
    "audit_logs",
    "response_tasks",
    "iam_accounts",
    "api_keys",
    "custom_scripts",
    "suspicious_objects",
    "exception_objects",
    "endpoints",
}

# Property names that would hold a credential (anywhere in a record).
SECRET_NAME = re.compile(r"password|passwd|secret|token|credential|private_?key", re.IGNORECASE)
# Top-level names that would hold the key itself on the API key stream.
API_KEY_SECRET_NAMES = {"value", "key", "apiKey", "apiKeyValue"}
# Every JSON type: fields whose shape depends on the product or data source that produced them.
ANY_TYPES = {"string", "number", "boolean", "object", "array", "null"}
# Date-time names whose real values are not all RFC 3339 (audit logs also show "2022-07-16 04:30:04").
NOT_RFC3339 = {("audit_logs.json", "$.loggedDateTime")}


def load(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


def types(schema: dict) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def subschemas(schema: dict, path: str = "$") -> Iterator[tuple[str, dict]]:
    """Every schema object inside `schema` (itself included), with a readable path."""
    yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from subschemas(sub, f"{path}.{name}")
    items = schema.get("items")
    if isinstance(items, dict):
        yield from subschemas(items, f"{path}[]")
    for keyword in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(keyword) or []):
            yield from subschemas(sub, f"{path}<{keyword}{i}>")


def named_properties(schema: dict, path: str = "$") -> Iterator[tuple[str, str, dict]]:
    """(path, property name, property schema) for every declared property, at any depth."""
    for where, sub in subschemas(schema, path):
        for name, prop in (sub.get("properties") or {}).items():
            yield f"{where}.{name}", name, prop


def test_every_stream_has_a_schema() -> None:
    assert {Path(n).stem for n in SCHEMA_FILES} >= STREAMS


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema(name: str) -> None:
    schema = load(name)
    jsonschema.Draft7Validator.check_schema(schema)

    assert schema["type"] == "object"
    assert schema.get("title") and schema.get("description")
    assert schema["additionalProperties"] is True

    for path, sub in subschemas(schema):
        assert sub.get("additionalProperties", True) is not False, f"{path} closes additionalProperties"
        if "object" in types(sub) and "properties" in sub:
            assert sub.get("additionalProperties") is True, f"{path}: nested objects must keep unknown fields"
        if sub.get("format") == "date-time":
            assert "string" in types(sub), f"{path} has format date-time but is not a string"

    for path, prop_name, prop in named_properties(schema):
        if (name, path) in NOT_RFC3339 or set(types(prop)) == ANY_TYPES:
            assert "format" not in prop, f"{path} takes values that are not RFC 3339: no format"
        elif prop_name.endswith("DateTime") or prop_name == "eventTimeDT":
            assert prop.get("format") == "date-time", f"{path} must have format date-time"
        assert "type" in prop or "anyOf" in prop or "oneOf" in prop, f"{path} has no type"
        if "array" in types(prop):
            assert isinstance(prop.get("items"), dict), f"{path} is an array without items"

    properties = schema["properties"]
    required = schema.get("required") or []
    assert required, "required names the primary key"
    for key in required:
        assert key in properties, f"required {key} is not declared"
        assert types(properties[key]), f"required {key} has no type"
        assert "null" not in types(properties[key]), f"required {key} must not be nullable"

    stream = Path(name).stem
    dictionary_names = {f.name for f in fields(stream)} if stream in SEARCH_STREAMS else set()
    for path, prop_name, _ in named_properties(schema):
        # Trend's own event fields (`clientCredentialType`, `eventDataElevatedToken`) describe events,
        # and their samples hold no secret; the check is for names the project declares itself.
        if prop_name not in dictionary_names:
            assert not SECRET_NAME.search(prop_name), f"{path} looks like a secret"
    if name == "api_keys.json":
        assert not API_KEY_SECRET_NAMES & set(properties), "api_keys must not declare the key itself"


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_file_is_formatted(name: str) -> None:
    text = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def closed(schema: object) -> object:
    """A copy of ``schema`` that refuses undeclared fields at every level (object or union with object)."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {key: closed(value) for key, value in schema.items()}
    if "properties" in copy:
        copy["additionalProperties"] = False
    return copy


@pytest.fixture(scope="module")
def simulated() -> object:
    from tests.simulator import Simulator

    return Simulator(seed=3, scale=40, start="2024-10-01", days=2)  # data only; no server started


@pytest.mark.parametrize("stream", sorted(STREAMS))
def test_schema_declares_every_field_the_simulator_serves(stream: str, simulated: object) -> None:
    """Two independent readings of the API docs agree: every served field is declared, typed right."""
    from tap_visionone.streams.audit import record_hash

    records = simulated.expected(stream, "2024-10-01", "2024-10-03")  # type: ignore[attr-defined]
    assert records, stream
    validator = jsonschema.Draft7Validator(closed(load(f"{stream}.json")))
    for record in records[:400]:
        record = dict(record)
        if stream == "audit_logs":
            record["recordHash"] = record_hash(record)
            record["details"] = {}  # free-form on purpose
        if stream in ("suspicious_objects", "exception_objects"):
            record["value"] = record[record["type"]]
        if stream == "oat_detections":
            record["detail"] = {}  # shaped by its data source: free-form on purpose
        if stream == "cloud_activities":
            record["requestParameters"] = record["responseElements"] = {}  # free-form on purpose
        errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
        assert not errors, f"{stream}: {errors[0].message} at {list(errors[0].absolute_path)}"

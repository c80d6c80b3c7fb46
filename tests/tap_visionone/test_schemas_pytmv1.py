"""The non-search stream schemas hold every field of Trend's own SDK models (pytmv1), typed to accept what
the SDK accepts.

pytmv1 parses these API answers with pydantic models whose aliases are the API's field names. A field the
SDK knows but our schema lacks would lose its stable CSV column; a type narrower than the SDK's would stop
a sync on a real tenant. So each model is walked field by field (through Optional, Union, List and nested
models) and held against the stream's schema. Fields a data source shapes (OAT ``detail``, workbench
``indicators[]`` and ``impactScope.entities[]``) must accept any JSON type, and still name their fields.
"""

from __future__ import annotations

import enum
import json
import types
import typing as t
from pathlib import Path

import pytest
from pydantic import BaseModel
from pytmv1.model import common, response

from tap_visionone import schemas

SCHEMA_DIR = Path(schemas.__file__).parent
ANY_TYPES = {"string", "number", "boolean", "object", "array", "null"}

# stream -> the pytmv1 models of its records (iam_accounts and audit_logs have none in pytmv1)
MODELS: dict[str, tuple[type[BaseModel], ...]] = {
    "workbench_alerts": (common.SaeAlert, common.TiAlert),
    "oat_detections": (common.OatEvent,),
    "response_tasks": (
        response.AccountTaskResp,
        response.BlockListTaskResp,
        response.CollectFileTaskResp,
        response.CustomScriptTaskResp,
        response.EmailMessageTaskResp,
        response.EndpointTaskResp,
        response.SandboxSubmitUrlTaskResp,
        response.TerminateProcessTaskResp,
    ),
    "api_keys": (common.ApiKey,),
    "custom_scripts": (common.Script,),
    "suspicious_objects": (common.SuspiciousObject,),
    "exception_objects": (common.ExceptionObject,),
    "endpoints": (common.EndpointSecurityEndpoint,),
}
# Fields of a model that are not fields of the API record, and why.
NOT_IN_RECORDS: dict[tuple[str, str], str] = {
    ("response_tasks", "$.type"): "pytmv1 derives it from the '<type>': value key of block tasks",
    ("response_tasks", "$.value"): "pytmv1 derives it from the '<type>': value key of block tasks",
    ("response_tasks", "$.password"): "the archive password: the tap drops it before emitting",
}
# Where the data source shapes the record: every declared field must take any JSON type.
SOURCE_SHAPED = {
    "oat_detections": ("$.detail.", "$.filters[].highlightedObjects[].value"),
    "workbench_alerts": ("$.indicators[].", "$.impactScope.entities[]."),
}


def load(stream: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{stream}.json").read_text(encoding="utf-8"))


def types_of(schema: dict) -> set[str]:
    """The JSON types a schema accepts (no ``type``: all of them)."""
    kind = schema.get("type")
    if kind is None:
        return set(ANY_TYPES)
    return {kind} if isinstance(kind, str) else set(kind)


def accepts(schema: dict, json_type: str) -> bool:
    kinds = types_of(schema)
    return json_type in kinds or (json_type == "integer" and "number" in kinds)


def _json_type(annotation: t.Any) -> str:
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "object"
        if issubclass(annotation, bool):
            return "boolean"
        if issubclass(annotation, enum.Enum):  # pytmv1's enums: str values, IntegrityLevel int values
            return "integer" if issubclass(annotation, int) else "string"
        if issubclass(annotation, int):
            return "integer"
        if issubclass(annotation, str):
            return "string"
    raise AssertionError(f"no JSON type for {annotation!r}: extend _json_type")


def problems(stream: str, annotation: t.Any, schema: dict, path: str, required: bool = False) -> list[str]:
    """What in ``schema`` (at ``path``) refuses a value pytmv1 accepts for ``annotation``."""
    origin = t.get_origin(annotation)
    if origin in (t.Union, types.UnionType):
        return [p for arg in t.get_args(annotation) for p in problems(stream, arg, schema, path, required)]
    if annotation is type(None) and required:
        return []  # keys stay non-null: a record without its key cannot be tracked
    if origin is list:
        found = [] if accepts(schema, "array") else [f"{path}: refuses a list"]
        items = schema.get("items")
        if isinstance(items, dict) and types_of(schema) != ANY_TYPES:
            (inner,) = t.get_args(annotation)
            found += problems(stream, inner, items, f"{path}[]")
        return found
    json_type = _json_type(annotation)
    found = [] if accepts(schema, json_type) else [f"{path}: refuses {json_type} ({annotation!r})"]
    if json_type == "object":
        found += fields_missing(stream, annotation, schema, path)
    return found


def fields_missing(stream: str, model: type[BaseModel], schema: dict, path: str) -> list[str]:
    """Fields of ``model`` that ``schema`` does not declare or types too narrowly."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or []) if path == "$" else set()
    found = []
    for name, info in model.model_fields.items():
        alias = info.alias or name
        where = f"{path}.{alias}"
        if (stream, where) in NOT_IN_RECORDS:
            continue
        if alias not in properties:
            found.append(f"{where}: not declared")
            continue
        found += problems(stream, info.annotation, properties[alias], where, alias in required)
    return found


@pytest.mark.parametrize("stream", sorted(MODELS))
def test_every_pytmv1_field_is_declared_and_typed_as_wide(stream: str) -> None:
    schema = load(stream)
    found = [p for model in MODELS[stream] for p in fields_missing(stream, model, schema, "$")]
    assert not found, f"{stream}: " + "; ".join(dict.fromkeys(found))


def declared(schema: dict, path: str = "$") -> t.Iterator[tuple[str, dict]]:
    for name, prop in (schema.get("properties") or {}).items():
        yield f"{path}.{name}", prop
        yield from declared(prop, f"{path}.{name}")
        if isinstance(prop.get("items"), dict):
            yield from declared(prop["items"], f"{path}.{name}[]")


@pytest.mark.parametrize("stream", sorted(SOURCE_SHAPED))
def test_source_shaped_fields_take_any_json_type(stream: str) -> None:
    prefixes = SOURCE_SHAPED[stream]
    shaped = [
        (path, prop)
        for path, prop in declared(load(stream))
        if any(path.startswith(p) or path == p for p in prefixes)
    ]
    assert len(shaped) >= len(prefixes)
    narrow = [path for path, prop in shaped if types_of(prop) != ANY_TYPES or "format" in prop]
    assert not narrow, (
        f"{stream}: these fields depend on the data source but refuse some JSON types: {narrow}"
    )


def test_oat_detail_names_the_fields_of_both_pytmv1_activity_shapes() -> None:
    detail = load("oat_detections")["properties"]["detail"]["properties"]
    for model in (common.EndpointActivity, common.EmailActivity):
        missing = [f.alias for f in model.model_fields.values() if f.alias not in detail]
        assert not missing, f"{model.__name__}: {missing}"


def test_audit_logged_time_is_not_declared_rfc3339() -> None:
    """Audit logs show ``2022-07-16 04:30:04`` as well as ``2022-02-24T07:29:48Z``."""
    logged = load("audit_logs")["properties"]["loggedDateTime"]
    assert "format" not in logged and logged["type"] == "string"

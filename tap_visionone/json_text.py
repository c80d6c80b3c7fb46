"""Fields whose JSON type varies, passed on as JSON text, for loaders that need one type per column.

Trend's field dictionary documents many search fields as text from one product and a list from another
(`src`, `act`, `objectCmd`, ...); the schemas say so with a union of types. target-postgres stores such a
field as jsonb, but loaders that type a column from the schema and write values as they come do not:
target-duckdb 0.8.0 makes the column JSON and then writes `Block` unquoted into it, failing the load.
These functions turn every union-typed top-level field into JSON text (`"Block"`, `["Block"]`) with a
text schema: one column type, nothing lost, and `json_extract` reads it back.
"""

from __future__ import annotations

import typing as t

import simplejson

_TEXT_NOTE = " Passed on as JSON text: its JSON type varies."


def union_fields(schema: dict[str, t.Any]) -> frozenset[str]:
    """Top-level properties typed with more than one JSON type besides null."""
    names = set()
    for name, prop in (schema.get("properties") or {}).items():
        kinds = prop.get("type") if isinstance(prop, dict) else None
        kinds = {kinds} if isinstance(kinds, str) else set(kinds or ())
        if len(kinds - {"null"}) > 1:
            names.add(name)
    return frozenset(names)


def text_schema(schema: dict[str, t.Any], names: frozenset[str]) -> dict[str, t.Any]:
    """A copy of `schema` in which the `names` properties are nullable text."""
    properties = dict(schema.get("properties") or {})
    for name in names:
        description = str(properties[name].get("description") or "")
        properties[name] = {"type": ["string", "null"], "description": description + _TEXT_NOTE}
    return {**schema, "properties": properties}


def encode(record: dict[str, t.Any], names: frozenset[str]) -> dict[str, t.Any]:
    """A copy of `record` with each of `names` as compact JSON text (absent and null stay so)."""
    out = dict(record)
    for name in names.intersection(record):
        value = record[name]
        if value is not None:
            # simplejson writes the Decimal a Singer reader makes of a JSON number as that number
            out[name] = simplejson.dumps(value, ensure_ascii=False, separators=(",", ":"), use_decimal=True)
    return out

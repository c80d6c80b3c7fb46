"""Write the tap's search-stream schemas from Trend's field dictionary.

``python -m tests.simulator.dictionary.schema`` rewrites ``tap_visionone/schemas/<stream>.json`` for
detections and the six activity searches: every dictionary field under the API's name, with a type that
accepts every shape its DL_Type and samples show (``dynamic``: any JSON type), then the few fields real
answers carry that the dictionary lacks (``EXTRA_API_FIELDS``). Titles and descriptions of the files are
kept. ``tests/tap_visionone/test_dictionary_contract.py`` fails when a committed schema drifts from the
dictionary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tests.simulator.dictionary import EXTRA_API_FIELDS, EXTRA_TYPES, SEARCH_STREAMS, Field, fields

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "tap_visionone" / "schemas"

# Every JSON type: what a field whose type varies by product may hold.
ANY_TYPE = ["string", "number", "boolean", "array", "object", "null"]

# The columns an analyst looks for first; the dictionary's order follows.
LEADING = ("uuid", "eventTime", "eventTimeDT", "productCode")


def event_time(stream: str) -> dict[str, Any]:
    """The replication key, typed as the dictionary has it for the stream (never null): epoch ms as a
    number, ISO text on CloudTrail records. Detections carry it as epoch ms (`EXTRA_API_FIELDS`)."""
    field = next((f for f in fields(stream) if f.name == "eventTime"), None)
    kinds = set(field.json_types) if field else {"integer"}
    if field and "integer" in kinds and field.dl_type != "long":
        kinds.discard("integer")  # epoch ms the dictionary types `real`, or that comes from another source
        kinds.add("number")
    shapes = {"integer": "epoch milliseconds", "number": "epoch milliseconds", "string": "ISO 8601 text"}
    order = [kind for kind in ("string", "integer", "number") if kind in kinds]
    described = " or ".join(shapes[kind] for kind in order)
    return {
        "type": order[0] if len(order) == 1 else order,
        "description": f"When the event happened ({described}); the replication key.",
    }


def field_types(field: Field) -> list[str]:
    """JSON Schema types for a field: its DL_Type's and every sample's, nullable; ``dynamic`` takes any."""
    if field.dynamic:
        return list(ANY_TYPE)
    kinds = set(field.json_types) | {"null"}
    if "number" in kinds:
        kinds.discard("integer")  # an integer is a number
    order = ("string", "integer", "number", "boolean", "array", "object", "null")
    return [kind for kind in order if kind in kinds]


def property_schema(field: Field) -> dict[str, Any]:
    products = ", ".join(field.products)
    text = field.description.rstrip(".")
    shape = "; its JSON type varies by product" if field.dynamic else ""
    schema: dict[str, Any] = {"type": field_types(field)}
    if "array" in schema["type"]:
        schema["items"] = {}  # elements vary as much as the field does
    schema["description"] = f"{text} ({field.dl_type}{shape}; products: {products})." if text else ""
    return schema


def build(stream: str, current: dict[str, Any]) -> dict[str, Any]:
    """The schema of one search stream; ``current`` gives the title and description to keep."""
    properties: dict[str, Any] = {
        "uuid": {"type": "string", "description": "Unique key of the log; the primary key."},
        "eventTime": event_time(stream),
    }
    dictionary = {field.name: field for field in fields(stream)}
    extras = EXTRA_API_FIELDS[stream]
    for name in LEADING:
        if name in properties:
            continue
        if name in dictionary:
            properties[name] = property_schema(dictionary[name])
        elif name in extras:
            properties[name] = extra_schema(name, extras[name])
    for name, field in dictionary.items():
        properties.setdefault(name, property_schema(field))
    for name, source in extras.items():
        properties.setdefault(name, extra_schema(name, source))
    return {
        "title": current.get("title", stream),
        "description": current.get("description", ""),
        "type": "object",
        "required": ["uuid", "eventTime"],
        "additionalProperties": True,
        "properties": properties,
    }


def extra_schema(name: str, source: str) -> dict[str, Any]:
    if name == "eventTimeDT":
        return {"type": ["string", "null"], "format": "date-time", "description": f"{source}."}
    return {"type": list(EXTRA_TYPES.get(name, ("string", "null"))), "description": f"{source}."}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed schema differs")
    args = parser.parse_args()
    stale = []
    for stream in SEARCH_STREAMS:
        path = SCHEMA_DIR / f"{stream}.json"
        current = json.loads(path.read_text(encoding="utf-8"))
        text = json.dumps(build(stream, current), indent=2, ensure_ascii=False) + "\n"
        if path.read_text(encoding="utf-8") != text:
            stale.append(stream)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    print(("stale: " if args.check else "rewritten: ") + (", ".join(stale) or "none"))
    raise SystemExit(1 if args.check and stale else 0)


if __name__ == "__main__":
    main()

"""Nullable JSON Schema fragments, so test and benchmark schemas read like the records they describe."""

from __future__ import annotations

S = {"type": ["string", "null"]}
I = {"type": ["integer", "null"]}  # noqa: E741
DT = {"type": ["string", "null"], "format": "date-time"}
L = {"type": ["array", "null"], "items": S}


def obj(**props: dict) -> dict:
    """A nullable object with the given properties."""
    return {"type": ["object", "null"], "properties": props}

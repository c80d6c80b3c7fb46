"""Shared fixtures (the in-process API simulator on 127.0.0.1) and the scope of the SDK's attribute tests."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest

from tap_visionone.json_text import union_fields
from tests.simulator.fixtures import visionone_sim  # noqa: F401  (pytest fixture)

SCHEMAS = Path(__file__).resolve().parents[1] / "tap_visionone" / "schemas"
_ATTRIBUTE_TEST = re.compile(r"::test_tap_stream_attribute_\w+\[(?P<stream>\w+)\.(?P<field>[^\]]+)\]$")


@functools.cache
def union_typed_fields(stream: str) -> frozenset[str]:
    """Top-level fields of a tap-visionone stream that take more than one JSON type (besides null)."""
    path = SCHEMAS / f"{stream}.json"
    return union_fields(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else frozenset()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the SDK's per-attribute checks on fields whose type is a union.

    The SDK's `is_integer`, `is_boolean`, `is_object`, ... tests pick a field when its type list
    *contains* that type, then require every value to have it: for `rt` (text or epoch ms in Trend's
    field dictionary) or `src` (text on some products, a list on others) they fail on data the schema
    rightly allows. Every other attribute test runs; union-typed fields are held to the dictionary by
    tests/tap_visionone/test_dictionary_contract.py instead.
    """
    kept, dropped = [], []
    for item in items:
        match = _ATTRIBUTE_TEST.search(item.nodeid)
        if match and "TapVisionOne" in item.nodeid and match["field"] in union_typed_fields(match["stream"]):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept

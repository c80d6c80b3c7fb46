"""Shared fixtures (the in-process API simulator on 127.0.0.1), the scope of the SDK's attribute tests,
and one bytecode cache for every console script the tests start."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from tap_visionone.json_text import union_fields
from tests.simulator.fixtures import visionone_sim  # noqa: F401  (pytest fixture)

SCHEMAS = Path(__file__).resolve().parents[1] / "tap_visionone" / "schemas"
_ATTRIBUTE_TEST = re.compile(r"::test_tap_stream_attribute_\w+\[(?P<stream>\w+)\.(?P<field>[^\]]+)\]$")


_PYCACHE_OWNER = "VISIONONE_TESTS_PYCACHE"


def pytest_configure(config: pytest.Config) -> None:
    """Let the console scripts the tests start share one bytecode cache, kept for this session only.

    With ``PYTHONDONTWRITEBYTECODE`` set (as on this machine) every subprocess compiled the Singer SDK,
    requests, jsonschema, ... from source again: about half of a tap's one-second start. The cache is a
    temporary folder (``PYTHONPYCACHEPREFIX``), so no source folder is written to; pytest-xdist workers
    inherit it from the controller, which removes it at the end. A prefix set by the caller is kept.
    """
    if os.environ.get("PYTHONPYCACHEPREFIX") or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    folder = tempfile.mkdtemp(prefix="visionone-tests-pycache-")
    os.environ["PYTHONPYCACHEPREFIX"] = folder
    os.environ[_PYCACHE_OWNER] = folder
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    folder = os.environ.pop(_PYCACHE_OWNER, None)
    if folder and os.environ.get("PYTHONPYCACHEPREFIX") == folder:
        del os.environ["PYTHONPYCACHEPREFIX"]
        shutil.rmtree(folder, ignore_errors=True)


@functools.cache
def union_typed_fields(stream: str) -> frozenset[str]:
    """Top-level fields of a tap-visionone stream that take more than one JSON type (besides null)."""
    path = SCHEMAS / f"{stream}.json"
    return union_fields(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else frozenset()


# The files that take longest, longest first: they run first, so that pytest-xdist's workers (`make
# test`, one file per worker at a time) end together instead of one running a long file alone at the
# end. Every other file keeps its place after them; a file missing here only runs later.
SLOW_FIRST = (
    "tests/reliability/test_faults.py",
    "tests/reliability/test_kill_resume.py",
    "tests/project/test_warehouses.py",
    "tests/tap_visionone/test_tap_visionone.py",
    "tests/reliability/test_secrets.py",
    "tests/target_csv_flat/test_target_crash.py",
    "tests/tap_visionone/test_tap_streams.py",
    "tests/project/test_meltano_project.py",
    "tests/project/test_readme_commands.py",
    "tests/orchestrate/test_dagster.py",
    "tests/orchestrate/test_backfill.py",
    "tests/orchestrate/test_warehouse.py",
    "tests/tap_workvivo/test_tap_workvivo.py",
    "tests/visionone_actions/test_actions_cli.py",
    "tests/tap_visionone/test_full_table_versions.py",
    "tests/tap_visionone/test_mapper.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the slow files first (`SLOW_FIRST`), and leave out the SDK's per-attribute checks on fields
    whose type is a union.

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
    rank = {path: index for index, path in enumerate(SLOW_FIRST)}
    items[:] = sorted(kept, key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))

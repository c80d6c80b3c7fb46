"""Shared by the reliability suite: a `figures` fixture that records what each proof measured.

Every test calls ``figures.record(promise, **numbers)`` (e.g. ``figures.record("kill-resume",
kills=20, records=12000, missing=0)``). The numbers go to ``$RELIABILITY_FIGURES`` (a JSON file,
default ``.reliability/figures.json`` under the repository), keyed by the test's node id, so
``make reliability`` can write them into RELIABILITY.md. Recording never affects a test's outcome.
Tests may run in several pytest-xdist workers at once: each update holds an exclusive lock on the file.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_LOCK = threading.Lock()


def figures_path() -> Path:
    return Path(os.environ.get("RELIABILITY_FIGURES") or ROOT / ".reliability" / "figures.json")


class Figures:
    """Numbers one test measured, for RELIABILITY.md."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id

    def record(self, promise: str, **numbers: object) -> None:
        path = figures_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        # the thread lock for threads of this process, the file lock for the other workers
        with _LOCK, open(path.with_name(path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = json.loads(path.read_text()) if path.exists() else {}
            entry = data.setdefault(self.node_id, {"promise": promise})
            entry["promise"] = promise
            entry.update(numbers)
            path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    return Figures(request.node.nodeid)

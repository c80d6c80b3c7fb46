"""pytest fixtures: a running simulator shared by the tests of one module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.simulator.server import Simulator


@pytest.fixture(scope="module")
def visionone_sim() -> Iterator[Simulator]:
    """Seed 1, 200 detections a day for 2024-10-01..03, key ``sim-key``; no latency, limits or faults."""
    with Simulator(seed=1, scale=200, start="2024-10-01", days=3, api_key="sim-key") as sim:
        yield sim

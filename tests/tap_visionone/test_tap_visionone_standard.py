"""The Singer SDK's own standard tap tests, run against the simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import get_tap_test_class

from tap_visionone.tap import TapVisionOne
from tests.simulator import Simulator

# The SDK builds its test class from this config at import, without a request: `api_url` points at a
# closed port until the fixture below starts the simulator and puts its address in (the SDK's runner
# keeps this very dict, and builds every tap it syncs from it).
CONFIG = {
    "api_key": "standard-key",
    "api_url": "http://127.0.0.1:9",
    "start_date": "2024-10-01",
    "end_date": "2024-10-03",
    "window_size": "6h",
    "page_size": 50,
    "max_workers": 3,
}


@pytest.fixture(scope="module", autouse=True)
def _simulator() -> Iterator[Simulator]:
    with Simulator(seed=7, scale=120, start="2024-10-01", days=2, api_key="standard-key") as sim:
        CONFIG["api_url"] = sim.base_url
        yield sim


TestTapVisionOneStandard = get_tap_test_class(TapVisionOne, config=CONFIG)


def test_the_standard_tests_read_from_the_simulator(_simulator: Simulator) -> None:
    """Runs after the class: its syncs went to the fixture's simulator, not to the closed port."""
    assert [r for r in _simulator.requests if r["status"] == 200]

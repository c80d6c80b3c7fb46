"""The Singer SDK's own standard tap tests for tap-workvivo, against the simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import get_tap_test_class

from tap_workvivo.tap import TapWorkvivo
from tests.simulator import Simulator

# The SDK builds its test class from this config at import, without a request: `api_url` points at a
# closed port until the fixture below starts the simulator and puts its address in (the SDK's runner
# keeps this very dict, and builds every tap it syncs from it).
CONFIG = {
    "workvivo_id": "std-org",
    "api_token": "std-token",
    "api_url": "http://127.0.0.1:9",
    "start_date": "2024-10-01",
    "end_date": "2024-10-01",
    "rate_limit_per_minute": 0,
}


@pytest.fixture(scope="module", autouse=True)
def _simulator() -> Iterator[Simulator]:
    with Simulator(
        seed=8, scale=200, start="2024-10-01", days=1, workvivo_id="std-org", workvivo_token="std-token"
    ) as sim:
        CONFIG["api_url"] = sim.base_url
        yield sim


TestTapWorkvivoStandard = get_tap_test_class(TapWorkvivo, config=CONFIG)


def test_the_standard_tests_read_from_the_simulator(_simulator: Simulator) -> None:
    """Runs after the class: its syncs went to the fixture's simulator, not to the closed port."""
    assert [r for r in _simulator.requests if r["status"] == 200]

"""The Singer SDK's own standard tap tests for tap-workvivo, against the simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import get_tap_test_class

from tap_workvivo.tap import TapWorkvivo
from tests.simulator import Simulator

# The SDK builds its test class from a fixed config, so the simulator must be up at import.
_SIM = Simulator(
    seed=8, scale=200, start="2024-10-01", days=1, workvivo_id="std-org", workvivo_token="std-token"
)
_SIM.start()

CONFIG = {
    "workvivo_id": "std-org",
    "api_token": "std-token",
    "api_url": _SIM.base_url,
    "start_date": "2024-10-01",
    "end_date": "2024-10-01",
    "rate_limit_per_minute": 0,
}


@pytest.fixture(scope="module", autouse=True)
def _stop_simulator() -> Iterator[None]:
    yield
    _SIM.stop()


TestTapWorkvivoStandard = get_tap_test_class(TapWorkvivo, config=CONFIG)

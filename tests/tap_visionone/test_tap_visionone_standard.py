"""The Singer SDK's own standard tap tests, run against the simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import get_tap_test_class

from tap_visionone.tap import TapVisionOne
from tests.simulator import Simulator

# The SDK builds its test class from a fixed config, so the simulator must be up at import.
_SIM = Simulator(seed=7, scale=120, start="2024-10-01", days=2, api_key="standard-key").start()

CONFIG = {
    "api_key": "standard-key",
    "api_url": _SIM.base_url,
    "start_date": "2024-10-01",
    "end_date": "2024-10-03",
    "window_size": "6h",
    "page_size": 50,
    "max_workers": 3,
}


@pytest.fixture(scope="module", autouse=True)
def _stop_simulator() -> Iterator[None]:
    yield
    _SIM.stop()


TestTapVisionOneStandard = get_tap_test_class(TapVisionOne, config=CONFIG)

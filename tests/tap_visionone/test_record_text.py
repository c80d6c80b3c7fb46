"""Records leave the tap as the API sent them: with nothing to change them on the way (every property
selected, no stream map), a search's records go out as the API's own JSON text (`RawRecord`)."""

from __future__ import annotations

from pathlib import Path

from tests.simulator import Simulator
from tests.tap_runner import run_tap


def test_every_record_reaches_the_output_as_the_api_answered_it(tmp_path: Path) -> None:
    start, end = "2024-10-01T00:00:00Z", "2024-10-03T00:00:00Z"
    with Simulator(seed=11, scale=150, start="2024-10-01", days=2, api_key="text-key") as sim:
        config = {
            "api_key": "text-key",
            "api_url": sim.base_url,
            "start_date": start,
            "end_date": end,
            "rate_limit_per_minute": 0,
            "page_size": 50,
        }
        run = run_tap(tmp_path, config)
        expected = {record["uuid"]: record for record in sim.records(start, end)}
    assert run.returncode == 0, run.stderr[-3000:]
    emitted = [m["record"] for m in run.records if m["stream"] == "detections"]
    assert len(emitted) == len(expected) > 100
    assert {record["uuid"]: record for record in emitted} == expected
    # Nested objects and lists, not just flat fields, came through whole.
    assert any(isinstance(value, list) for record in emitted for value in record.values())

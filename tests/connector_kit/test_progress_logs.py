"""Readable progress: a line per stream every 10 s at most, a line when the rate limit makes the tap wait
longer than 5 s, and no METRIC lines unless asked for."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector_kit.logs import METRICS_LOGGER, route_metrics
from connector_kit.progress import Progress, duration
from connector_kit.ratelimit import RateLimiter
from tests.simulator import Simulator


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_progress_says_windows_records_pace_and_time_left_at_most_every_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    progress = Progress(logging.getLogger("progress-test"), "detections", interval=10, clock=clock)
    with caplog.at_level(logging.INFO, logger="progress-test"):
        for _ in range(12):  # 12 windows of 500 records, 3 s each, 20 planned
            clock.now += 3
            progress.window_done(500, 20)
        progress.finish()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:-1] == [  # every 10 s (4 windows of 3 s); time left from the pace so far
        "detections: 4/20 windows, 2,000 records, 167 records/s, about 48s left",
        "detections: 8/20 windows, 4,000 records, 167 records/s, about 36s left",
        "detections: 12/20 windows, 6,000 records, 167 records/s, about 24s left",
    ]
    assert lines[-1] == "detections: done, 12 windows, 6,000 records in 36s (167 records/s)"


@pytest.mark.parametrize(("seconds", "text"), [(4.4, "4s"), (65, "1m05s"), (7322, "2h02m")])
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_a_long_wait_on_the_rate_limit_is_said_once_however_many_workers_wait() -> None:
    clock, said = Clock(), []
    limiter = RateLimiter(per_minute=2, clock=clock, on_wait=said.append)
    assert limiter.try_acquire() == 0 and limiter.try_acquire() == 0
    clock.now += 1
    assert limiter.try_acquire() == pytest.approx(59)
    assert limiter.try_acquire() == pytest.approx(59)  # a second worker: no second line
    assert said == [
        "waiting 59 s: the rate limit of 2 requests per minute is used up (rate_limit_per_minute)"
    ]
    clock.now += 59
    assert limiter.try_acquire() == 0


def test_a_short_wait_is_not_said() -> None:
    clock, said = Clock(), []
    limiter = RateLimiter(per_second=1, clock=clock, on_wait=said.append)
    limiter.try_acquire()
    assert 0 < limiter.try_acquire() <= 1
    assert said == []


def test_metric_lines_are_off_unless_asked_for(tmp_path: Path) -> None:
    logger = logging.getLogger(METRICS_LOGGER)
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    try:
        logger.setLevel(logging.INFO)
        route_metrics({})
        assert not logger.isEnabledFor(logging.INFO)
        logger.setLevel(logging.INFO)
        route_metrics({"CONNECTOR_LOG_METRICS": "true"})
        assert logger.isEnabledFor(logging.INFO)
        path = tmp_path / "metrics.jsonl"
        route_metrics({"CONNECTOR_LOG_METRICS": str(path)})
        route_metrics({"CONNECTOR_LOG_METRICS": str(path)})  # a second plugin: one handler
        logger.info("METRIC: %s", '{"type":"counter"}')
        assert path.read_text().splitlines() == ['METRIC: {"type":"counter"}']
    finally:
        for handler in logger.handlers[len(handlers) :]:
            handler.close()
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_a_tap_run_logs_progress_not_metrics(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    with Simulator(seed=1, scale=50, start="2024-10-01", days=1, api_key="k") as sim:
        config.write_text(
            json.dumps(
                {
                    "api_key": "k",
                    "api_url": sim.base_url,
                    "start_date": "2024-10-01",
                    "end_date": "2024-10-02",
                }
            )
        )
        tap = str(Path(sys.executable).parent / "tap-visionone")
        quiet = subprocess.run([tap, "--config", str(config)], capture_output=True, text=True, check=True)
        env = {**os.environ, "CONNECTOR_LOG_METRICS": "true"}
        loud = subprocess.run(
            [tap, "--config", str(config)], capture_output=True, text=True, check=True, env=env
        )
    assert "METRIC" not in quiet.stderr
    assert "detections: done, " in quiet.stderr
    assert "METRIC" in loud.stderr

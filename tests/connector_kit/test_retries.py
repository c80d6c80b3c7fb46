"""The retry policy: jittered exponential waits, exact server waits, and giving up by time or count."""

from __future__ import annotations

import requests
from singer_sdk.exceptions import RetriableAPIError

from connector_kit.error_text import GIVEN_UP, final_failure
from connector_kit.retries import RetryPolicy, retry_wait
from tap_visionone.client import VisionOneStream


def answer(status: int, retry_after: str | None = None) -> RetriableAPIError:
    """A retriable error as the stream raises it, carrying the server's answer."""
    response = requests.Response()
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return RetriableAPIError(f"HTTP {status}", response)


def test_retry_after_wins_over_every_other_wait() -> None:
    assert retry_wait(answer(429, "7"), attempt=0, rate_window=60.0) == 7.0
    assert retry_wait(answer(503, "2"), attempt=3, rate_window=60.0) == 2.0


def test_a_bare_429_waits_out_the_rate_window() -> None:
    assert retry_wait(answer(429), attempt=0, rate_window=60.0) == 60.0
    assert retry_wait(answer(429), attempt=3, rate_window=60.0) == 60.0
    assert VisionOneStream.rate_window_seconds == 60.0


def test_other_failures_back_off_exponentially_up_to_a_minute() -> None:
    waits = [retry_wait(answer(503), attempt=n, rate_window=60.0) for n in range(10)]
    assert waits[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(waits) == 60.0
    assert retry_wait(answer(429), attempt=1) == 1.0  # an API whose rate window is unknown
    assert retry_wait(ConnectionError("reset"), attempt=2, rate_window=60.0) == 2.0


def test_exponential_waits_are_jittered_between_half_and_all() -> None:
    policy = RetryPolicy(first_wait=1.0)
    assert [policy.jittered_wait(answer(503), n, draw=lambda: 0.0) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert [policy.jittered_wait(answer(503), n, draw=lambda: 1.0) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert policy.jittered_wait(answer(503), 20, draw=lambda: 1.0) == 60.0  # capped at max_wait


def test_waits_the_server_or_the_rate_window_names_are_not_jittered() -> None:
    policy = RetryPolicy()
    assert policy.jittered_wait(answer(429, "7"), 0, 60.0, draw=lambda: 0.0) == 7.0
    assert policy.jittered_wait(answer(503, "2"), 3, 60.0, draw=lambda: 0.0) == 2.0
    assert policy.jittered_wait(answer(429), 0, 60.0, draw=lambda: 0.0) == 60.0


def test_gives_up_by_time_by_default_and_by_count_when_set() -> None:
    default = RetryPolicy()
    assert default.max_tries == 0 and default.retry_for == 300.0
    assert not default.gives_up(attempts=50, failing_for=299.0)
    assert default.gives_up(attempts=3, failing_for=301.0)
    counted = RetryPolicy(max_tries=5)
    assert not counted.gives_up(attempts=4, failing_for=1.0)
    assert counted.gives_up(attempts=5, failing_for=1.0)
    assert counted.summary(5, 1.0) == "after 5 attempts"
    assert default.summary(12, 290.4) == "after 12 attempts over 290 s (retry_for: 300 s)"


def test_the_error_line_says_how_long_the_request_was_retried() -> None:
    failed = answer(503)
    setattr(failed, GIVEN_UP, "after 12 attempts over 290 s (retry_for: 300 s)")
    failure = final_failure(failed, timeout=90)
    assert failure is not None and failure.retried
    assert failure.after_failed == " after 12 attempts over 290 s (retry_for: 300 s): HTTP 503"

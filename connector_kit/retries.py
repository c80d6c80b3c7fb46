"""How long to wait before retrying a failed request, and when to stop retrying it.

A request is retried (429, 5xx, timeouts, resets, unreadable bodies) until it has been failing for
``retry_for`` seconds, or for ``max_tries`` attempts when that is set, so that an outage or a throttle
of a few minutes costs a slower run, not a failed one. Waits grow exponentially with jitter (so that
workers and other clients do not retry in step), up to ``max_wait``; a server's ``Retry-After`` is
waited exactly.
"""

from __future__ import annotations

import random
import typing as t
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from ``first_wait`` seconds, doubling up to ``max_wait``, for ``retry_for``
    seconds in all (and at most ``max_tries`` attempts when it is more than 0). Tests shorten the waits
    through the taps' ``retry_wait`` setting."""

    first_wait: float = 0.5
    max_wait: float = 60.0
    max_tries: int = 0  # 0: as many as `retry_for` allows
    retry_for: float = 300.0

    def wait(self, exception: BaseException | None, attempt: int, rate_window: float | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based) of a failed request, without jitter.

        The server's ``Retry-After`` wins. A 429 without one waits out the API's rate-limit counting
        window (``rate_window``): retrying sooner only spends the next window's requests on more 429s.
        Anything else backs off exponentially.
        """
        wait = retry_after_seconds(exception)
        if wait is not None:
            return wait
        response = getattr(exception, "response", None)
        if rate_window is not None and getattr(response, "status_code", None) == 429:
            return rate_window
        return min(self.first_wait * 2**attempt, self.max_wait)

    def jittered_wait(
        self,
        exception: BaseException | None,
        attempt: int,
        rate_window: float | None = None,
        draw: t.Callable[[], float] = random.random,
    ) -> float:
        """`wait` with "equal jitter" on the exponential waits (between half and all of it); a wait the
        server or the rate window names is kept as it is."""
        wait = self.wait(exception, attempt, rate_window)
        if retry_after_seconds(exception) is not None or wait == rate_window:
            return wait
        return wait / 2 + draw() * wait / 2

    def gives_up(self, attempts: int, failing_for: float) -> bool:
        """Whether a request that failed ``attempts`` times, and would have been failing for
        ``failing_for`` seconds at its next attempt, is given up."""
        return (self.max_tries > 0 and attempts >= self.max_tries) or failing_for > self.retry_for

    def summary(self, attempts: int, failing_for: float) -> str:
        """How long a given-up request was retried, for the error line."""
        if self.max_tries > 0 and attempts >= self.max_tries:
            return f"after {attempts} attempts"
        return f"after {attempts} attempts over {failing_for:.0f} s (retry_for: {self.retry_for:g} s)"


DEFAULT_RETRIES = RetryPolicy()


def retry_after_seconds(exception: BaseException | None) -> float | None:
    """The server's ``Retry-After`` (seconds form) on a retriable error, if it sent one."""
    response = getattr(exception, "response", None)
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def retry_wait(exception: BaseException | None, attempt: int, rate_window: float | None = None) -> float:
    """`RetryPolicy.wait` with the default policy."""
    return DEFAULT_RETRIES.wait(exception, attempt, rate_window)

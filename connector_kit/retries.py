"""How long to wait before retrying a failed request, and how many attempts a request gets."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from ``first_wait`` seconds, doubling up to ``max_wait``, ``max_tries``
    attempts in all. Tests shorten the waits through the taps' ``retry_wait`` setting."""

    first_wait: float = 0.5
    max_wait: float = 60.0
    max_tries: int = 5

    def wait(self, exception: BaseException | None, attempt: int, rate_window: float | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based) of a failed request.

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

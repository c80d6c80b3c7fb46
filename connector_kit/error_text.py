"""One short line for a failed request: an API's error answer, a timeout, a refused connection."""

from __future__ import annotations

import html
import re
import typing as t
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from connector_kit.errors import AuthError, SyncStopped

_TAGS = re.compile(r"<[^>]+>")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)|Error\(-?\d+, '([^']+)'\)")


def status_line(response: requests.Response, text: str, secret: str | None = None) -> str:
    """``HTTP <status> <text>`` for an error answer; without ``text``, the page's own words (a gateway's
    HTML), not repeating the status it usually starts with. A key the body echoes is masked."""
    if not text:
        raw = html.unescape(_TAGS.sub(" ", response.text or ""))
        text = " ".join(raw.split())[:200] or (response.reason or "")
        text = text.removeprefix(str(response.status_code)).strip()
    if secret:
        text = text.replace(secret, "***")
    return f"HTTP {response.status_code} {text}".strip()


def explain_exception(exception: BaseException | None, timeout: float) -> str:
    """A short reason for a failed attempt, for logs and the final error line."""
    if isinstance(exception, RetriableAPIError):
        return str(exception)
    if isinstance(exception, requests.exceptions.Timeout):
        return f"no answer within request_timeout={timeout:g} s"
    if isinstance(exception, requests.exceptions.ConnectionError):
        # urllib3 wraps the OS error twice; people need the host and the OS's reason, not the URL.
        inner = exception.args[0] if exception.args else exception
        text = str(getattr(inner, "reason", inner))
        errno = _ERRNO.search(text)
        detail = (errno.group(1) or errno.group(2)).strip() if errno else text[:120]
        request = getattr(exception, "request", None)
        host = urlsplit(request.url).netloc if request is not None and request.url else "the API"
        return f"connection to {host} failed ({detail})"
    return f"{type(exception).__name__}: {exception}"[:200]


class Failure(t.NamedTuple):
    """Why a read stopped for good: ``retried`` when every attempt failed, else the first answer was final."""

    reason: str
    retried: bool

    @property
    def after_failed(self) -> str:
        """What follows the word "failed" in a message: `` after 5 attempts: ...`` or ``: ...``."""
        return f" {self.reason}" if self.retried else f": {self.reason}"


GIVEN_UP = "connector_kit_given_up"  # set on a request's last error when its retries gave up: how long


def final_failure(exception: BaseException, *, timeout: float) -> Failure | None:
    """The reason a stream's read failed for good, or None for what must propagate as it is (a refused
    key, a stopped sync, a programming error).

    Retried failures (429/5xx, timeouts, resets, unreadable bodies) have used up their retries; a refused
    request (other 4xx), a looping next link or an unreadable record fail at once.
    """
    if isinstance(exception, AuthError | SyncStopped):
        return None
    if isinstance(exception, FatalAPIError):
        return Failure(str(exception), retried=False)
    if isinstance(exception, RetriableAPIError | requests.exceptions.RequestException | ConnectionError):
        retried = getattr(exception, GIVEN_UP, "after retrying")
        return Failure(f"{retried}: {explain_exception(exception, timeout)}", retried=True)
    if isinstance(exception, RuntimeError | ValueError):  # a looping next link; an unreadable page
        return Failure(str(exception), retried=False)
    return None

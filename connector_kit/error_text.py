"""One short line for a failed request: an API's error answer, a timeout, a refused connection."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import RetriableAPIError

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

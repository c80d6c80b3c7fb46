"""Vision One's error answers, read the same way by the tap and the command line."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    import requests


def error_envelope(response: requests.Response) -> tuple[t.Any, t.Any]:
    """``(code, message)`` of an error answer: Vision One's ``{"error": {"code", "message"}}``, or the
    flat ``{"code", "message"}`` a 401 has been seen with; ``(None, None)`` for anything else (a
    gateway's page)."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return error.get("code"), error.get("message")
    return None, None

"""What every endpoint shares: the error envelope, the API's time format, ``top`` sets and skipTokens.

Strict on purpose, so a client bug shows up here rather than against the real API: whole-second UTC
times only, ``top`` from a fixed set, and a ``skipToken`` signed and bound to the parameters and filter
it was issued for (a tampered or foreign token is a 400).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

_API_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class ApiError(Exception):
    """An answer in the API's error envelope: ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def format_api_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_api_time(name: str, value: str) -> datetime:
    """``yyyy-MM-ddThh:mm:ssZ`` and nothing else (no milliseconds, offsets or dates alone)."""
    if _API_TIME.fullmatch(value):
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            pass
    raise bad_request(f"Invalid value for {name}: '{value}'. Use ISO 8601 UTC yyyy-MM-ddThh:mm:ssZ.")


def to_datetime(value: str | date | datetime) -> datetime:
    """An aware UTC datetime from an ISO 8601 string (``Z``, offset or naive = UTC), a date or a datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(moment: datetime) -> str:
    """A record date-time: ``2024-10-01T12:34:56Z`` (these compare correctly as strings)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_top(params: dict[str, str], allowed: Iterable[int], default: int) -> int:
    tops = tuple(str(t) for t in allowed)
    text = params.get("top", str(default))
    if text not in tops:
        raise bad_request(f"Invalid value for top: '{text}'. Allowed values: {', '.join(tops)}.")
    return int(text)


def check_choice(params: dict[str, str], name: str, allowed: Iterable[str], default: str) -> str:
    choices = tuple(allowed)
    value = params.get(name, default)
    if value not in choices:
        raise bad_request(f"Invalid value for {name}: '{value}'. Allowed values: {', '.join(choices)}.")
    return value


def check_known(params: dict[str, str], allowed: Iterable[str]) -> None:
    """Reject parameters the endpoint does not document (``skipToken`` is always allowed)."""
    known = {*allowed, "skipToken"}
    for name in params:
        if name not in known:
            raise bad_request(f"Unknown parameter: '{name}'. Allowed parameters: {', '.join(sorted(known))}.")


def header_text(value: str | None) -> str | None:
    """http.server decodes header bytes as latin-1; clients that send UTF-8 mean UTF-8."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


@dataclass(frozen=True)
class Call:
    """One authorized request as an endpoint sees it: path, first value per parameter, headers, clock."""

    path: str
    params: dict[str, str]
    headers: Any  # case-insensitive ``get``
    now: datetime
    pager: Any  # tests.simulator.paging.Pager
    method: str = "GET"
    body: Any = None  # tests.simulator.bodies.parse: JSON value, {name: str | Part} for multipart, text
    args: tuple[str, ...] = ()  # the ``{...}`` segments of a route template, URL-decoded
    config: Any = None  # tests.simulator.server.SimulatorConfig

    def header(self, name: str) -> str | None:
        return header_text(self.headers.get(name))

    @property
    def base_url(self) -> str:
        return str(self.pager.base_url)


@dataclass(frozen=True)
class Answer:
    """A write endpoint's answer: JSON-able ``body`` (None: no body), or bytes/text with ``content_type``."""

    status: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str | None = None


@dataclass(frozen=True)
class PageToken:
    """What a ``skipToken`` carries: where the next page starts and a digest of what it was issued for."""

    offset: int
    binding: str


def binding_digest(link_params: dict[str, str], query_text: str | None) -> str:
    """A short digest of the parameters and filter (TMV1-Query / TMV1-Filter) a page sequence belongs to."""
    text = json.dumps([link_params, query_text], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class TokenCodec:
    """Opaque, signed ``skipToken`` values (url-safe base64 of ``offset.binding.signature``)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, raw: bytes) -> bytes:
        return hmac.new(self._secret, raw, hashlib.sha256).hexdigest()[:16].encode()

    def encode(self, token: PageToken) -> str:
        raw = f"{token.offset}.{token.binding}".encode()
        return base64.urlsafe_b64encode(raw + b"." + self._sign(raw)).rstrip(b"=").decode()

    def decode(self, text: str) -> PageToken:
        try:
            blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            raw, _, signature = blob.rpartition(b".")
            if not raw or not hmac.compare_digest(signature, self._sign(raw)):
                raise ValueError("bad signature")
            offset, _, binding = raw.decode().partition(".")
            return PageToken(int(offset), binding)
        except (ValueError, binascii.Error):
            raise bad_request("Invalid value for skipToken.") from None


def time_param(params: dict[str, str], name: str, default: datetime | None) -> datetime | None:
    """A date-time parameter in the API's format, or ``default`` when absent."""
    return parse_api_time(name, params[name]) if name in params else default


def check_range(start: datetime | None, end: datetime | None, start_name: str, end_name: str) -> None:
    if start is not None and end is not None and end < start:
        raise bad_request(f"Invalid value for {end_name}: it must not be earlier than {start_name}.")


def in_window(value: str | None, start: datetime | None, end: datetime | None) -> bool:
    """``start <= value < end`` for a record date-time string (missing bounds are open)."""
    if value is None:
        return False
    if start is not None and value < iso(start):
        return False
    return not (end is not None and value >= iso(end))


def link_params(params: dict[str, str]) -> dict[str, str]:
    """The parameters a ``nextLink`` repeats (and its token is bound to): all but the token itself."""
    return {k: v for k, v in params.items() if k != "skipToken"}

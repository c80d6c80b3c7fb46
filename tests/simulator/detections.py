"""``GET /v3.0/search/detections``: parameter checks, filtering, paging and ``skipToken`` as the API does.

Strict on purpose, so a client bug shows up here rather than against the real API: whole-second UTC
times only, ``top`` from its fixed set, ``TMV1-Query`` on every page, and a ``skipToken`` bound to the
parameters and query it was issued for (a tampered or foreign token is a 400).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from tests.simulator.data import Dataset, materialize, project
from tests.simulator.query import QueryError, parse

PATH = "/v3.0/search/detections"
TOPS = ("50", "100", "500", "1000", "5000")
DEFAULT_TOP = 500
MODES = ("default", "countOnly", "performance")
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


@dataclass(frozen=True)
class PageToken:
    """What a ``skipToken`` carries: where the next page starts and a digest of what it was issued for."""

    offset: int
    binding: str


def binding_digest(link_params: dict[str, str], query_text: str) -> str:
    """A short digest of the parameters and TMV1-Query a page sequence belongs to."""
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


def search_detections(
    dataset: Dataset,
    params: dict[str, str],
    query_header: str | None,
    base_url: str,
    codec: TokenCodec,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The JSON body of a successful answer, or :class:`ApiError`."""
    if query_header is None:
        raise bad_request("TMV1-Query header is required.")
    try:
        query = parse(query_header)
    except QueryError as exc:
        raise bad_request(f"Invalid TMV1-Query: {exc}.") from None

    top_text = params.get("top", str(DEFAULT_TOP))
    if top_text not in TOPS:
        raise bad_request(f"Invalid value for top: '{top_text}'. Allowed values: {', '.join(TOPS)}.")
    top = int(top_text)
    mode = params.get("mode", "default")
    if mode not in MODES:
        raise bad_request(f"Invalid value for mode: '{mode}'. Allowed values: {', '.join(MODES)}.")

    now = (now or datetime.now(UTC)).replace(microsecond=0)
    end = parse_api_time("endDateTime", params["endDateTime"]) if "endDateTime" in params else now
    start = (
        parse_api_time("startDateTime", params["startDateTime"])
        if "startDateTime" in params
        else end - timedelta(hours=24)
    )
    if end < start:
        raise bad_request("Invalid value for endDateTime: it must not be earlier than startDateTime.")
    select_text = params.get("select", "")
    fields = [f.strip() for f in select_text.split(",") if f.strip()] if select_text != "empty" else []

    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    rows = dataset.matching(query, start_ms, end_ms)
    if mode == "countOnly":
        return {"totalCount": len(rows)}

    link_params = {
        "startDateTime": format_api_time(start),
        "endDateTime": format_api_time(end),
        "top": top_text,
    }
    if "select" in params:
        link_params["select"] = select_text
    if "mode" in params:
        link_params["mode"] = mode
    binding = binding_digest(link_params, query_header)

    offset = 0
    if "skipToken" in params:
        token = codec.decode(params["skipToken"])
        if token.binding != binding:
            raise bad_request(
                "Invalid value for skipToken: it was issued for other parameters or TMV1-Query."
            )
        offset = token.offset

    page = rows[offset : offset + top]
    body: dict[str, Any] = {
        "items": [project(materialize(dataset.seed, row), fields) for row in page],
        "progressRate": 100,
    }
    if offset + top < len(rows):
        link_params["skipToken"] = codec.encode(PageToken(offset + top, binding))
        query_string = "&".join(f"{k}={quote(v, safe=':,')}" for k, v in link_params.items())
        body["nextLink"] = f"{base_url}{PATH}?{query_string}"
    return body

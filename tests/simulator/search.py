"""The ``/v3.0/search/*`` family: one implementation for detections and the six activity searches.

Each path differs only in its records and its ``TMV1-Query`` field table; the parameters (``startDateTime``,
``endDateTime`` on eventTime, ``top``, ``mode``, ``select``), newest-first order, ``progressRate: 100`` and
the bound ``skipToken`` are common, as the API documents them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from tests.simulator import wire
from tests.simulator.common import bad_request, check_top, format_api_time, parse_api_time
from tests.simulator.data import project
from tests.simulator.paging import Pager, page
from tests.simulator.query import Language, Query, QueryError, parse

TOPS = (50, 100, 500, 1000, 5000)
DEFAULT_TOP = 500
MODES = ("default", "countOnly", "performance")


class Source(Protocol):
    """Records of one search path: compact rows in a range, expanded on demand."""

    def matching(self, query: Query, start_ms: int | None = None, end_ms: int | None = None) -> Sequence[Any]:
        """Rows with start_ms <= eventTime < end_ms that match ``query``, newest first."""
        ...

    def expand(self, row: Any) -> dict[str, Any]: ...

    def to_json(self, row: Any) -> str:
        """``wire.encode(self.expand(row))``, possibly without building the record."""
        ...


def search(
    path: str,
    lang: Language,
    source: Source,
    params: dict[str, str],
    query_header: str | None,
    pager: Pager,
    now: datetime,
) -> dict[str, Any]:
    """The JSON body of a successful answer, or :class:`~tests.simulator.common.ApiError`."""
    if query_header is None:
        raise bad_request("TMV1-Query header is required.")
    try:
        query = parse(query_header, lang)
    except QueryError as exc:
        raise bad_request(f"Invalid TMV1-Query: {exc}.") from None

    top = check_top(params, TOPS, DEFAULT_TOP)
    mode = params.get("mode", "default")
    if mode not in MODES:
        raise bad_request(f"Invalid value for mode: '{mode}'. Allowed values: {', '.join(MODES)}.")

    now = now.replace(microsecond=0)
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
    rows = source.matching(query, start_ms, end_ms)
    if mode == "countOnly":
        return {"totalCount": len(rows)}

    link_params = {
        "startDateTime": format_api_time(start),
        "endDateTime": format_api_time(end),
        "top": str(top),
    }
    if "select" in params:
        link_params["select"] = select_text
    if "mode" in params:
        link_params["mode"] = mode
    chunk, next_link = page(pager, path, rows, top, params, link_params, query_header)
    items = (
        wire.Items(chunk, lambda row: project(source.expand(row), fields))
        if fields
        else wire.Items(chunk, source.expand, source.to_json)
    )
    body: dict[str, Any] = {"items": items, "progressRate": 100}
    if next_link is not None:
        body["nextLink"] = next_link
    return body

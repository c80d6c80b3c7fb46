"""``GET /v3.0/search/detections``: the detections search, one of the seven :mod:`search` paths.

Kept as its own module for the names other code imports (``PATH``, ``TOPS``, ``TokenCodec``, ...).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.simulator import search
from tests.simulator.common import (
    ApiError,
    PageToken,
    TokenCodec,
    bad_request,
    binding_digest,
    format_api_time,
    parse_api_time,
)
from tests.simulator.data import Dataset
from tests.simulator.paging import Pager
from tests.simulator.query import DETECTIONS

PATH = "/v3.0/search/detections"
TOPS = tuple(str(t) for t in search.TOPS)
DEFAULT_TOP = search.DEFAULT_TOP
MODES = search.MODES

__all__ = [
    "DEFAULT_TOP",
    "MODES",
    "PATH",
    "TOPS",
    "ApiError",
    "PageToken",
    "TokenCodec",
    "bad_request",
    "binding_digest",
    "format_api_time",
    "parse_api_time",
    "search_detections",
]


def search_detections(
    dataset: Dataset,
    params: dict[str, str],
    query_header: str | None,
    base_url: str,
    codec: TokenCodec,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The JSON body of a successful answer, or :class:`ApiError`."""
    pager = Pager(codec, base_url)
    return search.search(PATH, DETECTIONS, dataset, params, query_header, pager, now or datetime.now(UTC))

"""``{items, nextLink}`` paging shared by every list endpoint.

A page sequence is identified by the parameters that shaped it (echoed in ``nextLink``) and the filter
header or parameter; the ``skipToken`` carries a digest of both, so following a ``nextLink`` with another
filter, another ``top`` or a tampered token is a 400, as it is against the real API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from tests.simulator.common import PageToken, TokenCodec, bad_request, binding_digest

T = TypeVar("T")


@dataclass(frozen=True)
class Pager:
    """Where links point and how tokens are signed (one per simulator)."""

    codec: TokenCodec
    base_url: str


def page(
    pager: Pager,
    path: str,
    rows: Sequence[T],
    size: int,
    params: dict[str, str],
    link_params: dict[str, str],
    filter_text: str | None,
    filter_name: str = "TMV1-Query",
) -> tuple[Sequence[T], str | None]:
    """The rows of the page ``params['skipToken']`` points at (else the first) and the next page's link."""
    binding = binding_digest(link_params, filter_text)
    offset = 0
    if "skipToken" in params:
        token = pager.codec.decode(params["skipToken"])
        if token.binding != binding:
            raise bad_request(
                f"Invalid value for skipToken: it was issued for other parameters or {filter_name}."
            )
        offset = token.offset
    chunk = rows[offset : offset + size]
    if offset + size >= len(rows):
        return chunk, None
    link = dict(link_params)
    link["skipToken"] = pager.codec.encode(PageToken(offset + size, binding))
    query_string = "&".join(f"{k}={quote(v, safe=':,')}" for k, v in link.items())
    return chunk, f"{pager.base_url}{path}?{query_string}"


def listing(items: list[Any], next_link: str | None, **extra: Any) -> dict[str, Any]:
    """The response envelope: ``extra`` keys first (e.g. totalCount, count), then items, then nextLink."""
    body: dict[str, Any] = {**extra, "items": items}
    if next_link is not None:
        body["nextLink"] = next_link
    return body

"""A response's JSON object, parsed once: the validator, the paginator and the parser all need it."""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import RetriableAPIError

if t.TYPE_CHECKING:
    import requests

_CACHE = "_connector_kit_body"


def json_body(response: requests.Response) -> dict[str, t.Any]:
    """The body as a JSON object; a body that is not one is retried (`RetriableAPIError`), since gateways
    and cut transfers give exactly that and the next attempt usually reads fine."""
    cached = getattr(response, _CACHE, None)
    if cached is None:
        try:
            cached = response.json()
        except ValueError as exc:
            raise RetriableAPIError(
                f"HTTP {response.status_code} with a body that is not JSON ({exc})", response
            ) from exc
        if not isinstance(cached, dict):
            raise RetriableAPIError(
                f"HTTP {response.status_code} with a JSON body that is not an object", response
            )
        setattr(response, _CACHE, cached)
    return cached


def replace_body(response: requests.Response, body: dict[str, t.Any]) -> None:
    """Keep only ``body`` of the response (what the paginator still needs), letting the rest go."""
    setattr(response, _CACHE, body)

"""A response's JSON object, parsed once: the validator, the paginator and the parser all need it."""

from __future__ import annotations

import typing as t

import msgspec
from singer_sdk.exceptions import RetriableAPIError

if t.TYPE_CHECKING:
    import requests

_CACHE = "_connector_kit_body"
_FIELDS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_ANY = msgspec.json.Decoder()


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


def json_body_items(response: requests.Response, name: str = "items") -> list[msgspec.Raw] | None:
    """The body's ``name`` list as each item's own JSON text, unparsed; the rest of the body is parsed
    and kept for `json_body`.

    Parsing a page of records into dicts only for them to be encoded again while they wait was most of
    a worker's time. None when the body has no such list or msgspec cannot take it (not UTF-8, NaN, not
    an object): then `json_body` parses it the standard way, with its errors.
    """
    if getattr(response, _CACHE, None) is not None:
        return None
    content = response.content
    try:
        fields = _FIELDS.decode(content)
        _ = content.isascii() or content.decode()  # items are kept as text: it must be UTF-8 (unchecked)
    except (msgspec.DecodeError, UnicodeDecodeError, TypeError, AttributeError):
        fields = None
    if fields is None:  # outside the except: a failure here is json_body's own, with no msgspec context
        json_body(response)
        return None
    raw = fields.pop(name, None)
    items = None
    if raw is not None:
        try:
            items = _RAW_LIST.decode(raw)
        except msgspec.ValidationError:  # not a list: parsed like the rest
            fields[name] = raw
    setattr(response, _CACHE, {key: _ANY.decode(value) for key, value in fields.items()})
    return items


def replace_body(response: requests.Response, body: dict[str, t.Any]) -> None:
    """Keep only ``body`` of the response (what the paginator still needs), letting the rest go."""
    setattr(response, _CACHE, body)

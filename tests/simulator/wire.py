"""JSON on the wire: how every answer body is encoded.

One encoding for every answer (``json.dumps(body, ensure_ascii=False, separators=(",", ":"))`` in UTF-8),
with one shortcut: a search page's ``items`` may be an :class:`Items`, whose records are written straight
from their rows by the source's encoder, without building a dict per record and encoding it again (the
load benchmark serves millions of detections; this halves the simulator's CPU per record). The bytes are
the same either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from json.encoder import encode_basestring
from typing import Any, overload

encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` without building an encoder per call."""


def value_json(value: Any) -> str:
    """``encode(value)``; the common shapes (str, int, list of str) without the encoder's setup."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is int:
        return int.__repr__(value)
    if kind is list and all(type(v) is str for v in value):
        return "[" + ",".join(map(encode_basestring, value)) + "]"
    return encode(value)


class Items(Sequence[dict[str, Any]]):
    """A page's records as rows: a dict on demand (faults, tests), JSON made by ``to_json`` when sent."""

    def __init__(
        self,
        rows: Sequence[Any],
        expand: Callable[[Any], dict[str, Any]],
        to_json: Callable[[Any], str] | None = None,
    ) -> None:
        self._rows, self._expand = rows, expand
        self._to_json = to_json or (lambda row: encode(expand(row)))

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._expand(row) for row in self._rows[index]]
        return self._expand(self._rows[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self._expand, self._rows)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def write_json(self, out: bytearray) -> None:
        """Append the JSON array of the records, UTF-8, to ``out``."""
        to_json = self._to_json
        out += b"["
        for i, row in enumerate(self._rows):
            if i:
                out += b","
            out += to_json(row).encode()
        out += b"]"


def dumps(body: Any) -> bytes | bytearray:
    """``body`` as UTF-8 JSON; :class:`Items` values of a dict body are written from their rows, into
    one growing buffer (a 5,000-record page is 13 MB: no list of pieces beside it, no copy to bytes)."""
    if not (isinstance(body, dict) and any(isinstance(v, Items) for v in body.values())):
        return encode(body).encode()
    out = bytearray()
    for key, value in body.items():
        out += b"," if out else b"{"
        out += encode_basestring(key).encode() + b":"
        if isinstance(value, Items):
            value.write_json(out)
        else:
            out += encode(value).encode()
    out += b"}"
    return out

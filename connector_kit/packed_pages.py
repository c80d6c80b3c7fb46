"""Pages of records waiting for their window's turn, kept as compressed JSON lines to bound memory."""

from __future__ import annotations

import json
import threading
import typing as t
import zlib

_COMPACT = json.JSONEncoder(separators=(",", ":"))  # compact JSON has no raw newline: lines split it back
LOOSE_PAGE = 1000  # records packed together when a stream's pages do not arrive packed
PAGE_GATE = threading.Lock()  # one page of parsed records at a time, whichever worker: bounds memory


class PackedPage(t.NamedTuple):
    """A page of records waiting for its window's turn: zlib-compressed JSON lines.

    A detection takes ~6.6 KB as a dict, ~2 KB as JSON and ~0.3 KB compressed; a busy tenant's
    windows (thousands of records each, up to ``2 * max_workers`` of them waiting) stay small.
    """

    keys: list[tuple]  # each record's sort key, in page order
    briefs: list[dict]  # each record's primary keys and replication key, for checks and errors
    blob: bytes

    def lines(self) -> list[str]:
        return zlib.decompress(self.blob).decode().split("\n") if self.keys else []


class EncodedPage(t.NamedTuple):
    """A `PackedPage` before compression (JSON lines, so the dicts can go; zlib then runs without the GIL)."""

    keys: list[tuple]
    briefs: list[dict]
    text: bytes

    def compressed(self) -> PackedPage:
        return PackedPage(self.keys, self.briefs, zlib.compress(self.text, 1))


def encode_page(
    records: list[dict], sort_key: t.Callable[[dict], tuple], brief_names: t.Sequence[str]
) -> EncodedPage:
    """Records as JSON lines, with each one's sort key and the fields checks and errors name."""
    return EncodedPage(
        [sort_key(record) for record in records],
        [{name: record.get(name) for name in brief_names} for record in records],
        "\n".join(_COMPACT.encode(record) for record in records).encode(),
    )

"""Pages of records waiting for their window's turn, kept as each record's JSON text (compressed once
many wait).

A page's records are kept as one JSON text each, never as dicts: a detection takes ~6.6 KB as a dict
and ~2.7 KB as JSON. Pages parsed from an API answer keep each record's text exactly as the API sent it
(`encode_raw_page`): only the few fields the window needs are decoded, so a record is parsed into a
dict once, when its turn comes.
"""

from __future__ import annotations

import functools
import json
import threading
import typing as t
import zlib

import msgspec

_COMPACT = json.JSONEncoder(separators=(",", ":"))  # compact JSON has no raw newline: lines split it back
_ENCODE = msgspec.json.Encoder()
_DECODE = msgspec.json.Decoder()
LOOSE_PAGE = 1000  # records packed together when a stream's pages do not arrive packed
PAGE_GATE = threading.Lock()  # one page of parsed records at a time, whichever worker: bounds memory
# Bytes of JSON lines that may wait uncompressed, over every page of every stream: what the windows of
# max_workers 4 hold (about 8 windows of ~12 MB of detections waiting). zlib costs ~0.1 s per such
# page and decompressing a third of that, on the thread that emits; beyond this, pages are compressed
# (~0.3 of their size), so more workers or fuller windows still stay bounded.
UNCOMPRESSED_BUDGET = 100 * 2**20


class _Budget:
    """Bytes held uncompressed by live pages; re-entrant, since a page's release may run from a garbage
    collection inside `take`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._lock = threading.RLock()

    def take(self, size: int) -> bool:
        with self._lock:
            if self.held + size > self.limit:
                return False
            self.held += size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.held -= size


UNCOMPRESSED = _Budget(UNCOMPRESSED_BUDGET)


class PackedPage:
    """A page of records waiting for its window's turn: each record's JSON text, kept as a list while
    the page fits in `UNCOMPRESSED_BUDGET` (its share is given back when the page is dropped), else
    as JSON lines, zlib-compressed."""

    __slots__ = ("_held", "blob", "briefs", "keys")

    def __init__(self, keys: list[tuple], briefs: list[dict], blob: bytes | list, held: int = 0) -> None:
        self.keys = keys  # each record's sort key, in page order
        self.briefs = briefs  # each record's primary keys and replication key, for checks and errors
        # The records' texts if ``held`` (their size, taken from the budget), else compressed lines.
        self.blob = blob
        self._held = held

    def lines(self) -> list[bytes | msgspec.Raw]:
        """The records' JSON texts (bytes or `msgspec.Raw`: `decode_record` and ``msgspec.Raw`` read
        both; neither holds a raw newline)."""
        if not self.keys:
            return []
        if self._held:
            return self.blob  # type: ignore[return-value]
        return zlib.decompress(self.blob).split(b"\n")  # type: ignore[arg-type]

    def __del__(self) -> None:
        if self._held:
            UNCOMPRESSED.give(self._held)
            self._held = 0


class EncodedPage(t.NamedTuple):
    """A `PackedPage` before it waits: each record's JSON text, without a raw newline (so the dicts
    can go; zlib, if the budget is spent, then runs without the GIL)."""

    keys: list[tuple]
    briefs: list[dict]
    texts: list[bytes | msgspec.Raw]

    def compressed(self) -> PackedPage:
        """The page as it waits: as is while `UNCOMPRESSED_BUDGET` lasts, else compressed."""
        size = sum(map(len, map(memoryview, self.texts)))
        if size and UNCOMPRESSED.take(size):
            return PackedPage(self.keys, self.briefs, self.texts, size)
        return PackedPage(self.keys, self.briefs, zlib.compress(b"\n".join(self.texts), 1))


class RawRecord(dict):
    """A record that goes out as the JSON text it arrived in (`text`), never parsed into a dict.

    As a dict it holds only the record's brief (primary keys and replication key): all that is read
    of a record between its page and its RECORD message when nothing changes it on the way
    (`WindowedStreamHooks.passes_text` says when). Decoding each record and encoding it again was
    a quarter of the tap's time on detections.
    """

    __slots__ = ("text",)

    def __init__(self, brief: dict, text: bytes | msgspec.Raw) -> None:
        super().__init__(brief)
        self.text = text


def decode_record(line: str | bytes | msgspec.Raw) -> dict:
    """A line of `PackedPage.lines` back as a dict: msgspec, about twice as fast as ``json.loads``
    (which reads what msgspec refuses: a NaN the standard encoder wrote)."""
    try:
        return _DECODE.decode(line)
    except msgspec.DecodeError:
        return json.loads(line if isinstance(line, str | bytes) else bytes(line))


def _line(record: dict) -> bytes:
    """One record as one line of JSON: msgspec (several times faster), or the standard encoder for
    what msgspec refuses (integers beyond 64 bits, NaN kept as NaN)."""
    try:
        return _ENCODE.encode(record)
    except (TypeError, OverflowError, msgspec.EncodeError):
        return _COMPACT.encode(record).encode()


def encode_page(
    records: list[dict], sort_key: t.Callable[[dict], tuple], brief_names: t.Sequence[str]
) -> EncodedPage:
    """Records as JSON lines, with each one's sort key and the fields checks and errors name."""
    return EncodedPage(
        [sort_key(record) for record in records],
        [{name: record.get(name) for name in brief_names} for record in records],
        [_line(record) for record in records],
    )


@functools.lru_cache(maxsize=64)
def _brief_decoder(names: tuple[str, ...]) -> msgspec.json.Decoder:
    """Decodes only ``names`` of a JSON object (any other field is skipped, not built)."""
    fields = [(f"f{index}", t.Any, None) for index in range(len(names))]
    rename = {f"f{index}": name for index, name in enumerate(names)}
    return msgspec.json.Decoder(msgspec.defstruct("Brief", fields, rename=rename))


def encode_raw_page(
    items: t.Sequence[msgspec.Raw],
    sort_key: t.Callable[[dict], tuple],
    brief_names: t.Sequence[str],
    *,
    newlines: bool = True,
) -> EncodedPage:
    """A page's items as each one's JSON text straight from the API's (`json_body.json_body_items`).

    Only ``brief_names`` are decoded, for the sort key and the brief; ``sort_key`` must read nothing
    else. An item that is not an object is dropped, as dict pages drop it. ``newlines``: whether the
    body may hold a newline (False when the caller saw none); an item holding one is re-written
    without whitespace, since a record's text must fit on one line.
    """
    names = tuple(dict.fromkeys(brief_names))
    decoder = _brief_decoder(names)
    keys: list[tuple] = []
    briefs: list[dict] = []
    kept: list[msgspec.Raw] = []
    for item in items:
        try:
            values = msgspec.structs.astuple(decoder.decode(item))
        except msgspec.ValidationError:
            continue
        brief = dict(zip(names, values, strict=True))
        keys.append(sort_key(brief))
        briefs.append(brief)
        kept.append(item)
    return EncodedPage(keys, briefs, [_one_line(item) for item in kept] if newlines else kept)


def _one_line(item: msgspec.Raw) -> msgspec.Raw:
    """``item``, re-written without whitespace if it holds a newline."""
    text = bytes(item)
    return msgspec.Raw(msgspec.json.format(text, indent=0)) if b"\n" in text else item

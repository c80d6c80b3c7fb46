"""Fill search records from Trend's field dictionary, so that the simulator serves the API's names and shapes.

A record is a *core* built by its stream's generator (the coherent part the tests rely on: inventory hosts,
IAM people, times, hostile strings) plus *extras*: a subset of the other dictionary fields its
``productCode`` emits, with values from the fields' samples. :func:`finish` then keeps only the core
fields that product emits and gives each ``dynamic`` field its shape (about one in four an array).

Extras are precomputed once per (stream, product) as a small table of variants, so expanding a record
costs a dict merge, not a walk over the dictionary: the load benchmark expands millions of records.
:func:`finish_json` writes the same record as JSON text from precomputed pieces (each variant's extras
encoded once), for pages served without ``select``.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from tests.simulator import wire
from tests.simulator.dictionary import EXTRA_API_FIELDS, Field, fields

VARIANTS = 16  # extra-field subsets per product
SHAPES = 4  # per variant, one table per dynamic-field phase: a dynamic field is an array in 1 of 4
EXTRA_RANGE = (22, 46)  # extras per record, before the product's own limit
ARRAY_SHARE = 1 / SHAPES

Core = Callable[[int, tuple[int, str, int]], dict[str, Any]]

# Dynamic fields that real answers mostly send as lists: pytmv1 (Trend's SDK) models them as lists
# (EmailActivity, EndpointActivity), and the public collectors' Vision One samples show them as lists.
# They are lists three times in four; every other dynamic field once in four.
MOSTLY_LISTS = frozenset(
    {
        "mailFromAddresses", "mailToAddresses", "mailWholeHeader", "mailUrlsVisibleLink",
        "mailUrlsRealLink", "endpointIp", "logonUser", "objectIps", "objectSigner", "objectSignerValid",
        "tags", "src", "dst", "fileName", "objectCmd", "mitreMapping", "tacticId", "interestedIp",
        "peerIp", "mDevice",
    }
)  # fmt: skip


def is_array(name: str, draw: int) -> bool:
    """Whether a dynamic field is a list in this record, from two random bits (``draw`` 0..3)."""
    return draw != 0 if name in MOSTLY_LISTS else draw == 0


def _phase(name: str) -> int:
    """A stable per-field offset (Python's own str hash changes between processes)."""
    return zlib.crc32(name.encode())


@lru_cache(maxsize=16)
def dynamic_names(stream: str) -> dict[str, int]:
    """Dynamic field name -> its phase: the record bits that pick its shape."""
    return {f.name: _phase(f.name) % 61 for f in fields(stream) if f.dynamic}


@lru_cache(maxsize=128)
def product_names(stream: str, product: str) -> frozenset[str]:
    """Every name a record of ``product`` may carry: its fields, the ALL fields and the extra API fields."""
    own = {f.name for f in fields(stream) if product in f.products or "ALL" in f.products}
    return frozenset(own | set(EXTRA_API_FIELDS[stream]))


def _plain(value: Any) -> Any:
    """A sample's scalar form (an array sample gives its first element)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _invented(field: Field, rng: random.Random) -> Any:
    """A plausible value of the field's DL_Type, for fields the dictionary gives no sample of."""
    kind = field.dl_type
    if kind in ("int", "long"):
        return rng.randrange(0, 70_000) if kind == "int" else 1_656_324_260_000 + rng.randrange(10**9)
    if kind == "real":
        return round(rng.uniform(0, 100), 2)
    if kind == "bool":
        return rng.random() < 0.5
    return f"{field.name}-{rng.randrange(1, 40)}"


def scalar_values(field: Field) -> tuple[Any, ...]:
    """The scalar values a field takes: its non-null samples (array samples unwrapped)."""
    return tuple(v for v in (_plain(s) for s in field.samples) if v is not None)


def sample_value(field: Field, rng: random.Random, array: bool) -> Any:
    """One value of ``field``: a sample when there is one; for a dynamic field an array if ``array``."""
    values = scalar_values(field)
    if not field.dynamic:
        if field.samples and all(s is not None for s in field.samples):
            return rng.choice(field.samples)
        return rng.choice(values) if values else _invented(field, rng)
    pick = (lambda: rng.choice(values)) if values else (lambda: _invented(field, rng))
    if not array:
        return pick()
    out: list[Any] = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        value = pick()
        if value not in out:
            out.append(value)
    return out


@lru_cache(maxsize=128)
def extra_table(
    stream: str, product: str, owned: frozenset[str], keep: tuple[str, ...] = ()
) -> tuple[dict[str, Any], ...]:
    """``VARIANTS * SHAPES`` extra-field dicts for ``product``: subsets of its fields the core does not own.

    Variant ``v`` with shape ``s`` draws ``(phase + s) % SHAPES`` for a dynamic field (:func:`is_array`):
    each is an array in one of the four shapes of every variant that holds it (three for MOSTLY_LISTS).
    """
    pool = [
        f for f in fields(stream) if (product in f.products or "ALL" in f.products) and f.name not in owned
    ]
    phases = dynamic_names(stream)
    table: list[dict[str, Any]] = []
    for v in range(VARIANTS):
        rng = random.Random(f"visionone-extras:{stream}:{product}:{v}")
        count = min(len(pool), rng.randrange(*EXTRA_RANGE))
        chosen = sorted(rng.sample(range(len(pool)), count))
        state = rng.getstate()
        for s in range(SHAPES):
            rng.setstate(state)  # the same values in every shape, only the arrays differ
            table.append(
                {
                    pool[i].name: sample_value(
                        pool[i],
                        rng,
                        pool[i].name not in keep
                        and pool[i].dynamic
                        and is_array(pool[i].name, (phases.get(pool[i].name, 1) + s) % SHAPES),
                    )
                    for i in chosen
                }
            )
    return tuple(table)


def shaped(value: Any, array: bool) -> Any:
    """A dynamic core value in the chosen shape (a list's scalar form is its first element)."""
    if isinstance(value, list):
        if array:
            return value
        return value[0] if value else None
    return [value] if array else value


def finish(
    stream: str, product: str, core: dict[str, Any], bits: int, keep: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The served record: the core fields ``product`` emits (dynamic ones shaped), then its extras.

    ``keep`` names dynamic fields whose shape the source fixes (CloudTrail's JSON-text parts).
    ``bits`` (128 random bits, independent of the core's choices) pick the extras' variant and the
    dynamic fields' shapes.
    """
    allowed = product_names(stream, product)
    dynamic = dynamic_names(stream)
    record: dict[str, Any] = {}
    for name, value in core.items():
        if value is None or name not in allowed:
            continue
        phase = dynamic.get(name)
        if phase is not None and name not in keep:
            value = shaped(value, is_array(name, (bits >> phase) & 3))
            if value is None:
                continue
        record[name] = value
    table = extra_table(stream, product, _owned(stream, core), keep)
    if table:
        record.update(table[(bits >> 64) % len(table)])
    return record


_OWNED: dict[str, frozenset[str]] = {}


def _owned(stream: str, core: dict[str, Any]) -> frozenset[str]:
    owned = _OWNED.get(stream)
    if owned is None:  # a stream's core always has the same keys (None where a value is absent)
        owned = _OWNED[stream] = frozenset(core)
    return owned


# One core field in JSON: name, its '"name":' prefix, its phase (None unless its shape varies), whether it is
# in MOSTLY_LISTS, and its memo of encoded '"name":value' texts by value (str, or a list as a tuple)
_Slot = tuple[str, str, int | None, bool, dict[Any, str]]
_PLANS: dict[tuple[str, str, tuple[str, ...]], tuple[tuple[_Slot, ...], tuple[str, ...]]] = {}
_MEMO_SIZE = 512  # per field: the pools' values fit; unique values (ids, times) are encoded each time


def _all_str(values: list[Any]) -> bool:
    return all(type(v) is str for v in values)


def _json_plan(
    stream: str, product: str, core: dict[str, Any], keep: tuple[str, ...]
) -> tuple[tuple[_Slot, ...], tuple[str, ...]]:
    """The core fields ``product`` emits, in core order, and each extra variant as ``"name":value,...``."""
    allowed = product_names(stream, product)
    dynamic = dynamic_names(stream)
    slots = tuple(
        (
            name,
            wire.value_json(name) + ":",
            None if name in keep else dynamic.get(name),
            name in MOSTLY_LISTS,
            {},
        )
        for name in core
        if name in allowed
    )
    extras = tuple(wire.encode(x)[1:-1] for x in extra_table(stream, product, _owned(stream, core), keep))
    return slots, extras


def finish_json(
    stream: str, product: str, core: dict[str, Any], bits: int, keep: tuple[str, ...] = ()
) -> str:
    """``wire.encode(finish(stream, product, core, bits, keep))``, without building the record: each
    field's text comes from a memo of the values it took before, each extra variant's is encoded once.

    Relies on every core of a stream having the same keys in the same order (a dict literal), as
    :func:`finish` relies on the same keys.
    """
    plan = _PLANS.get((stream, product, keep))
    if plan is None:
        plan = _PLANS[(stream, product, keep)] = _json_plan(stream, product, core, keep)
    slots, extras = plan
    parts = []
    for name, head, phase, lists, memo in slots:
        value = core[name]
        if value is None:
            continue
        if phase is not None:
            draw = (bits >> phase) & 3
            value = shaped(value, draw != 0 if lists else draw == 0)
            if value is None:
                continue
        kind = type(value)
        if kind is int:
            parts.append(head + int.__repr__(value))
            continue
        # memo keys: a str, or a list of str as a tuple (never other lists: [1] and [True] are equal keys)
        key = value if kind is str else tuple(value) if kind is list else None
        try:
            text = memo.get(key) if key is not None else None
        except TypeError:  # a list holding unhashable values
            key = text = None
        if text is None:
            text = head + wire.value_json(value)
            if key is not None and len(memo) < _MEMO_SIZE and (kind is str or _all_str(value)):
                memo[key] = text
        parts.append(text)
    if extras:
        extra = extras[(bits >> 64) % len(extras)]
        if extra:
            parts.append(extra)
    return "{" + ",".join(parts) + "}"

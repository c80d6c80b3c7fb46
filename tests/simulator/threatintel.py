"""``GET /v3.0/threatintel/suspiciousObjects`` and ``.../suspiciousObjectExceptions``: the two lists.

Each item names its type and carries its value under a key named after the type (``{"type": "url",
"url": ...}``). A suspicious object whose value is also on the exception list has ``inExceptionList``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from tests.simulator import odata
from tests.simulator.common import (
    Answer,
    Call,
    bad_request,
    check_known,
    check_range,
    check_top,
    in_window,
    iso,
    link_params,
    time_param,
)
from tests.simulator.data import _hashes
from tests.simulator.iam import order_by, sort_records
from tests.simulator.live import ItemError, check_keys, item_error, item_ok, json_array, text_field
from tests.simulator.paging import listing, page

SUSPICIOUS_PATH = "/v3.0/threatintel/suspiciousObjects"
EXCEPTIONS_PATH = "/v3.0/threatintel/suspiciousObjectExceptions"
TOPS = (50, 100, 200)
TYPES = ("url", "domain", "ip", "senderMailAddress", "fileSha1", "fileSha256")
_VALUE_FIELDS = odata.fields("type", *TYPES)
SUSPICIOUS_FILTER = {**_VALUE_FIELDS, **odata.fields("scanAction", "riskLevel")}
EXCEPTION_FILTER = SUSPICIOUS_FILTER  # the reference lists the same fields (exceptions carry no scanAction)
FILTER_MAX_LENGTH = 4000
ORDER_MAX_LENGTH = 30
SUSPICIOUS_ORDER = ("lastModifiedDateTime", "riskLevel", "expiredDateTime")
EXCEPTION_ORDER = ("lastModifiedDateTime",)
RISK_RANK = {"low": 0, "medium": 1, "high": 2}
_DESCRIPTIONS = (
    'From threat feed, campaign "Lazarus"',
    "Seen in WB-9001 alert, blocked by SOC",
    '=IMPORTXML("http://evil.example")',
    "+added by API",
    "-manual entry-",
    "@intel team",
    "Phishing kit, multi-line\nnote",
    "脅威情報",
    "",
)


def _value(rng: random.Random, seed: int, kind: str, n: int) -> str:
    if kind == "url":
        return rng.choice(
            (
                f"https://evil{n}.example/login?next=a,b",
                f"http://203.0.113.{n % 250}/{n}.exe",
                f"https://例え{n}.テスト/パス",
                f'http://phish{n}.example/"q"',
            )
        )
    if kind == "domain":
        return rng.choice((f"evil{n}.example", f"micros0ft-{n}.example", f"例え{n}.テスト"))
    if kind == "ip":
        return f"{rng.choice((198, 203, 185))}.{rng.randrange(256)}.{rng.randrange(256)}.{n % 254 + 1}"
    if kind == "senderMailAddress":
        return rng.choice(
            (
                f"billing{n}@vendor-payments.example",
                f"françois{n}@exemple.fr",
                f"ceo.office{n}@contoso-mail.example",
            )
        )
    hashes = _hashes(seed, f"ti:{n}")
    return hashes["Sha1"] if kind == "fileSha1" else hashes["Sha256"]


@lru_cache(maxsize=16)
def lists(seed: int, now: datetime) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """(suspicious objects, exceptions); about 260 and 40, some values on both."""
    rng = random.Random(f"visionone-threatintel:{seed}")
    values = []
    for n in range(260):
        kind = TYPES[n % len(TYPES)]
        values.append((kind, _value(rng, seed, kind, n)))
    values = list(dict.fromkeys(values))
    shared = set(rng.sample(values, 10))
    exception_values = [*shared]
    n = 1000
    while len(exception_values) < 40:
        kind = TYPES[n % len(TYPES)]
        value = "https://*.corp.example/*" if kind == "url" and n == 1000 else _value(rng, seed, kind, n)
        if (kind, value) not in values and (kind, value) not in exception_values:
            exception_values.append((kind, value))
        n += 1
    suspicious = []
    for kind, value in values:
        modified = now - timedelta(seconds=rng.randrange(1, 400 * 86_400))
        suspicious.append(
            {
                "type": kind,
                kind: value,
                "description": rng.choice(_DESCRIPTIONS),
                "scanAction": rng.choice(("block", "block", "log")),
                "riskLevel": rng.choice(("high", "medium", "low")),
                "inExceptionList": (kind, value) in shared,
                "expiredDateTime": iso(modified + timedelta(days=rng.choice((30, 90, 365)))),
                "lastModifiedDateTime": iso(modified),
            }
        )
    exceptions = [
        {
            "type": kind,
            kind: value,
            "description": rng.choice(_DESCRIPTIONS),
            "lastModifiedDateTime": iso(now - timedelta(seconds=rng.randrange(1, 400 * 86_400))),
        }
        for kind, value in exception_values
    ]
    return tuple(suspicious), tuple(exceptions)


def _list(
    call: Call, records: tuple[dict[str, Any], ...], known: odata.Fields, fields: tuple[str, ...]
) -> dict:
    params = call.params
    check_known(params, ("top", "orderBy", "startDateTime", "endDateTime"))
    top = check_top(params, TOPS, 100)
    order_text = params.get("orderBy", "lastModifiedDateTime desc")
    if len(order_text) > ORDER_MAX_LENGTH:
        raise bad_request(f"Invalid value for orderBy: it is longer than {ORDER_MAX_LENGTH} characters.")
    order = order_by(order_text, fields)
    start = time_param(params, "startDateTime", None)
    end = time_param(params, "endDateTime", None)
    check_range(start, end, "startDateTime", "endDateTime")
    text = call.header("TMV1-Filter")
    try:
        parsed = odata.parse(text, known, "endpoint", FILTER_MAX_LENGTH)
    except odata.FilterError as exc:
        raise bad_request(f"Invalid TMV1-Filter: {exc}.") from None
    rows = [
        r
        for r in records
        if ((start is None and end is None) or in_window(r["lastModifiedDateTime"], start, end))
        and parsed.matches(r)
    ]
    rows.sort(key=lambda r: (r["type"], r[r["type"]]))
    sort_records(rows, order, lambda f, v: RISK_RANK[v] if f == "riskLevel" else v)
    chunk, link = page(call.pager, call.path, rows, top, params, link_params(params), text, "TMV1-Filter")
    return listing(list(chunk), link)


def list_suspicious(world: Any, call: Call) -> dict[str, Any]:
    return _list(call, world.suspicious_objects, SUSPICIOUS_FILTER, SUSPICIOUS_ORDER)


def list_exceptions(world: Any, call: Call) -> dict[str, Any]:
    return _list(call, world.exception_objects, EXCEPTION_FILTER, EXCEPTION_ORDER)


# -- writes ----------------------------------------------------------------------------------------------
# POST .../suspiciousObjects and .../suspiciousObjectExceptions take ``[{"<type>": value, ...}]`` and
# answer 207 with ``{"status": 201}`` per added item; the ``/delete`` paths answer ``{"status": 204}`` per
# removed item and 404 for an item not on the list. Lists change in place (newest lastModifiedDateTime
# from the simulator's write clock), and ``inExceptionList`` follows the exception list.

RISK_LEVELS = ("high", "medium", "low")
SCAN_ACTIONS = ("block", "log")


def _find(rows: list[dict[str, Any]], kind: str, value: str) -> int | None:
    for i, row in enumerate(rows):
        if row["type"] == kind and row.get(kind) == value:
            return i
    return None


def _sync_exception_flags(world: Any) -> None:
    excepted = {(r["type"], r[r["type"]]) for r in world.exception_objects}
    for row in world.suspicious_objects:
        row["inExceptionList"] = (row["type"], row[row["type"]]) in excepted


def upsert_suspicious(
    world: Any,
    kind: str,
    value: str,
    description: str | None,
    risk: str | None,
    scan: str | None,
    days: int | None,
) -> None:
    with world.live.lock:
        modified = world.live.tick()
        rows = world.suspicious_objects
        at = _find(rows, kind, value)
        old = rows.pop(at) if at is not None else {}
        row = {
            "type": kind,
            kind: value,
            "description": description if description is not None else old.get("description", ""),
            "scanAction": scan or old.get("scanAction", "block"),
            "riskLevel": risk or old.get("riskLevel", "medium"),
            "inExceptionList": False,
            "expiredDateTime": iso(modified + timedelta(days=days or 30)),
            "lastModifiedDateTime": iso(modified),
        }
        rows.append(row)
        _sync_exception_flags(world)


def remove(world: Any, which: str, kind: str, value: str) -> bool:
    with world.live.lock:
        rows = world.suspicious_objects if which == "suspicious" else world.exception_objects
        at = _find(rows, kind, value)
        if at is None:
            return False
        rows.pop(at)
        _sync_exception_flags(world)
        return True


def object_of(item: dict[str, Any], extra: tuple[str, ...] = ()) -> tuple[str, str]:
    """The one ``"<type>": value`` pair of a threat-intel / block-list item."""
    check_keys(item, (*TYPES, "description", *extra))
    kinds = [k for k in TYPES if k in item]
    if len(kinds) != 1:
        raise ItemError(400, f"Each item needs exactly one object field, one of: {', '.join(TYPES)}.")
    value = text_field(item, kinds[0], required=True)
    assert value is not None
    return kinds[0], value


def _batch(call: Call, make: Any) -> Answer:
    out = []
    for item in json_array(call):
        try:
            if not isinstance(item, dict):
                raise ItemError(400, "Each item must be a JSON object.")
            out.append(make(item))
        except ItemError as exc:
            out.append(item_error(exc.status, exc.message))
    return Answer(207, out)


def add_suspicious(world: Any, call: Call) -> Answer:
    def make(item: dict[str, Any]) -> dict[str, Any]:
        kind, value = object_of(item, ("riskLevel", "scanAction", "daysToExpiration"))
        risk = text_field(item, "riskLevel")
        if risk is not None and risk not in RISK_LEVELS:
            raise ItemError(400, f"Invalid value for riskLevel: '{risk}'. Allowed: {', '.join(RISK_LEVELS)}.")
        scan = text_field(item, "scanAction")
        if scan is not None and scan not in SCAN_ACTIONS:
            raise ItemError(400, f"Invalid value for scanAction: '{scan}'. Allowed: block, log.")
        days = item.get("daysToExpiration")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= 3650):
            raise ItemError(400, "Invalid value for daysToExpiration: an integer from 1 to 3650.")
        upsert_suspicious(world, kind, value, text_field(item, "description"), risk, scan, days)
        return item_ok(201)

    return _batch(call, make)


def add_exception(world: Any, call: Call) -> Answer:
    def make(item: dict[str, Any]) -> dict[str, Any]:
        kind, value = object_of(item)
        description = text_field(item, "description")
        with world.live.lock:
            modified = world.live.tick()
            rows = world.exception_objects
            at = _find(rows, kind, value)
            old = rows.pop(at) if at is not None else {}
            rows.append(
                {
                    "type": kind,
                    kind: value,
                    "description": description if description is not None else old.get("description", ""),
                    "lastModifiedDateTime": iso(modified),
                }
            )
            _sync_exception_flags(world)
        return item_ok(201)

    return _batch(call, make)


def _delete(which: str) -> Any:
    def handler(world: Any, call: Call) -> Answer:
        def make(item: dict[str, Any]) -> dict[str, Any]:
            kind, value = object_of(item)
            if not remove(world, which, kind, value):
                raise ItemError(404, f"{kind} '{value}' is not on the list.")
            return item_ok(204)

        return _batch(call, make)

    return handler


delete_suspicious = _delete("suspicious")
delete_exception = _delete("exception")

"""``GET /v3.0/oat/detections``: Observed Attack Techniques, detected in the data range, ingested later.

``ingestedDateTime`` is 1 minute to 6 hours after ``detectedDateTime`` (and before ``now``), so a record
detected in one window can be ingested in the next: a client windowing on the detected time misses it,
one windowing on ingestion does not. As the API does, a missing ``detectedStartDateTime`` means one hour
before now, a detected range over 365 days or any end after now is a 400, and results are newest first.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from tests.simulator import odata
from tests.simulator.activities import cloud_activity, endpoint_activity, identity_activity, network_activity
from tests.simulator.common import (
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
from tests.simulator.daily import day_start
from tests.simulator.data import Endpoint, _uuid, materialize, pools
from tests.simulator.paging import listing, page

PATH = "/v3.0/oat/detections"
TOPS = (50, 100, 200)
MAX_LAG = timedelta(hours=6)
MAX_DETECTED_RANGE = timedelta(days=365)
DEFAULT_DETECTED_RANGE = timedelta(hours=1)
# The reference's TMV1-Filter fields (source and entityType are not among them).
FILTER = {
    "uuid": odata.key("uuid"),
    "containerName": odata.key("detail", "containerName"),
    "riskLevel": lambda r: [f["riskLevel"] for f in r["filters"]],
    "endpointName": odata.key("endpoint", "endpointName"),
    "agentGuid": odata.key("endpoint", "agentGuid"),
    "endpointIp": odata.key("endpoint", "ips"),
    "productCode": odata.key("detail", "productCode"),
    "filterName": lambda r: [f["name"] for f in r["filters"]],
    "filterMitreTacticId": lambda r: [t for f in r["filters"] for t in f["mitreTacticIds"]],
    "filterMitreTechniqueId": lambda r: [t for f in r["filters"] for t in f["mitreTechniqueIds"]],
}

# id, name, description, tactics, techniques, risk, highlighted field, type
_FILTERS = (
    (
        "F2140",
        "Encoded PowerShell Command",
        "PowerShell ran a base64-encoded command, often used to hide intent.",
        ["TA0002"],
        ["T1059.001"],
        "high",
        "processCmd",
        "command_line",
    ),
    (
        "F3066",
        "LSASS Memory Access",
        'A process opened lsass.exe, "credential dumping".',
        ["TA0006"],
        ["T1003.001"],
        "critical",
        "processCmd",
        "command_line",
    ),
    (
        "F1034",
        "Office Macro Spawned a Shell",
        "=WINWORD.EXE started cmd.exe, a macro at work.",
        ["TA0001"],
        ["T1566.001"],
        "medium",
        "parentCmd",
        "command_line",
    ),
    (
        "F4412",
        "Run Key Persistence",
        "A program was added to HKCU\\...\\Run,\nso it starts at log on.",
        ["TA0003"],
        ["T1547.001"],
        "medium",
        "objectRegistryKeyHandle",
        "registry_key",
    ),
    (
        "F6312",
        "Suspicious Outbound Connection",
        "+Connection to a rare, external address.",
        ["TA0011"],
        ["T1071.001"],
        "low",
        "objectIp",
        "ip",
    ),
    (
        "F0001",
        "Discovery Commands",
        "-whoami, net user, ipconfig-",
        ["TA0007"],
        ["T1033"],
        "info",
        "processCmd",
        "command_line",
    ),
)


# source, the generator of its records (the same names and shapes as that search), weight: OAT is
# mostly endpoint telemetry, then detections; network, cloud and identity events now and then
_SOURCES: tuple[tuple[str, Any, int], ...] = (
    ("endpointActivityData", endpoint_activity, 60),
    ("detections", lambda seed, row: materialize(seed, (row[0], row[1], row[2] << 128 | row[2])), 24),
    ("networkActivityData", network_activity, 8),
    ("cloudActivityData", cloud_activity, 4),
    ("identityActivityData", identity_activity, 4),
)
_SOURCE_TABLE = tuple((name, build) for name, build, weight in _SOURCES for _ in range(weight))
_HOST_FIELDS = ("endpointGuid", "endpointGUID")
_FALLBACK_FIELDS = ("processCmd", "request", "eventName", "principalName")


@lru_cache(maxsize=16)
def _inventory(seed: int) -> dict[str, Endpoint]:
    return {ep.guid: ep for ep in pools(seed).endpoints}


def _entity(seed: int, detail: dict[str, Any], rng: random.Random) -> Endpoint:
    """The inventory endpoint the detail names, else one the event is attributed to."""
    by_guid = _inventory(seed)
    for name in _HOST_FIELDS:
        ep = by_guid.get(detail.get(name))  # type: ignore[arg-type]
        if ep is not None:
            return ep
    return rng.choice(pools(seed).endpoints)


def _highlight(detail: dict[str, Any]) -> tuple[str, str, Any]:
    """A field the event carries, to highlight when it lacks the filter's own object."""
    for name in _FALLBACK_FIELDS:
        if detail.get(name):
            return name, "command_line" if name == "processCmd" else "text", detail[name]
    return "uuid", "text", detail["uuid"]


def make_day(seed: int, day: date, per_day: int, now: datetime) -> list[dict[str, Any]]:
    """The OAT records detected on ``day``, oldest first."""
    rng = random.Random(f"visionone-oat:{seed}:{day.isoformat()}")
    base = day_start(day)
    detected_times = sorted(base + timedelta(seconds=rng.randrange(86_400)) for _ in range(per_day))
    out = []
    for detected in detected_times:
        uuid = _uuid(rng.getrandbits(128))
        source, build = rng.choice(_SOURCE_TABLE)
        detail = build(
            seed, (int(detected.timestamp()) * 1000, _uuid(rng.getrandbits(128)), rng.getrandbits(64))
        )
        ep = _entity(seed, detail, rng)
        ingested = detected + timedelta(seconds=rng.randrange(60, int(MAX_LAG.total_seconds())))
        if ingested >= now:
            ingested = max(detected, detected + (now - detected) * rng.random())
        chosen = rng.sample(_FILTERS, rng.randrange(1, 3))
        filters = []
        for fid, name, description, tactics, techniques, risk, field, kind in chosen:
            value = detail.get(field)
            if not value:  # the event does not carry this filter's object: highlight what it has
                field, kind, value = _highlight(detail)
            filters.append(
                {
                    "id": fid,
                    "name": name,
                    "description": description,
                    "mitreTacticIds": tactics,
                    "mitreTechniqueIds": techniques,
                    "highlightedObjects": [
                        {
                            "field": field,
                            "type": kind,
                            "value": str(value[0] if isinstance(value, list) else value),
                            "master": True,
                        },
                        {"field": "endpointHostName", "type": "host", "value": ep.name, "master": False},
                    ],
                    "riskLevel": risk,
                    "type": "preset",
                }
            )
        out.append(
            {
                "uuid": uuid,
                "source": source,
                "entityType": "endpoint",
                "entityName": f"{ep.name}({ep.ips[0]})",
                "detectedDateTime": iso(detected),
                "ingestedDateTime": iso(ingested),
                "endpoint": {"endpointName": ep.name, "agentGuid": ep.guid, "ips": ep.ips},
                "filters": filters,
                "detail": detail,
            }
        )
    return out


def select(
    world: Any,
    detected: tuple[datetime, datetime],
    ingested: tuple[datetime | None, datetime | None] = (None, None),
) -> list[dict[str, Any]]:
    """Records detected in ``[start, end)`` and ingested in the other range, newest detected first."""
    lo, hi = detected
    if ingested[0] is not None:
        lo = max(lo, ingested[0] - MAX_LAG)
    if ingested[1] is not None:
        hi = min(hi, ingested[1])
    rows = [
        r
        for r in world.oat.created_between(lo, hi)
        if in_window(r["detectedDateTime"], *detected) and in_window(r["ingestedDateTime"], *ingested)
    ]
    rows.sort(key=lambda r: (r["detectedDateTime"], r["uuid"]), reverse=True)
    return rows


def list_oat(world: Any, call: Call) -> dict[str, Any]:
    params, now = call.params, call.now
    check_known(
        params,
        (
            "detectedStartDateTime",
            "detectedEndDateTime",
            "ingestedStartDateTime",
            "ingestedEndDateTime",
            "top",
        ),
    )
    top = check_top(params, TOPS, 50)
    detected_end = time_param(params, "detectedEndDateTime", now)
    detected_start = time_param(params, "detectedStartDateTime", detected_end - DEFAULT_DETECTED_RANGE)
    ingested_start = time_param(params, "ingestedStartDateTime", None)
    ingested_end = time_param(params, "ingestedEndDateTime", None)
    assert detected_start is not None and detected_end is not None
    check_range(detected_start, detected_end, "detectedStartDateTime", "detectedEndDateTime")
    check_range(ingested_start, ingested_end, "ingestedStartDateTime", "ingestedEndDateTime")
    if detected_end - detected_start > MAX_DETECTED_RANGE:
        raise bad_request(
            "Invalid value for detectedStartDateTime: the detected range must not be longer than 365 days."
        )
    for name, value in (("detectedEndDateTime", detected_end), ("ingestedEndDateTime", ingested_end)):
        if value is not None and value > now:
            raise bad_request(f"Invalid value for {name}: it must not be later than the current time.")
    text = call.header("TMV1-Filter")
    try:
        parsed = odata.parse(text, FILTER, "endpoint", 4000)
    except odata.FilterError as exc:
        raise bad_request(f"Invalid TMV1-Filter: {exc}.") from None
    detected, ingested = (detected_start, detected_end), (ingested_start, ingested_end)
    rows = world.oat.queries.get(
        (text, detected, ingested),
        lambda: [r for r in select(world, detected, ingested) if parsed.matches(r)],
    )
    chunk, link = page(call.pager, call.path, rows, top, params, link_params(params), text, "TMV1-Filter")
    return listing(list(chunk), link, totalCount=len(rows), count=len(chunk))

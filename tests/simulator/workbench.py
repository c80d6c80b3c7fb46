"""``GET /v3.0/workbench/alerts``: SAE alerts created in the data range, updated later as they progress.

Each alert's ``updatedDateTime`` lies 0-72 h after ``createdDateTime`` (never at or after the simulator's
``now``), and its status follows: fresh alerts are Open, older ones In Progress, the oldest Closed. The
server pages at a fixed 50 and rejects ``top``, as the API documents no such parameter here.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from typing import Any

from tests.simulator import odata
from tests.simulator.common import (
    Answer,
    ApiError,
    Call,
    bad_request,
    check_choice,
    check_known,
    check_range,
    check_top,
    in_window,
    iso,
    link_params,
    time_param,
)
from tests.simulator.daily import _QueryCache, day_start
from tests.simulator.data import PROCESSES, _uuid, pools
from tests.simulator.iam import order_by, sort_records
from tests.simulator.live import check_if_match, etag, json_array, json_object
from tests.simulator.paging import listing, page

PATH = "/v3.0/workbench/alerts"
PAGE_SIZE = 50
MAX_LAG = timedelta(hours=72)
TARGETS = ("createdDateTime", "updatedDateTime", "firstInvestigatedDateTime")
ORDER_FIELDS = (
    "id",
    "caseId",
    "name",
    "investigationStatus",
    "status",
    "investigationResult",
    "modelId",
    "model",
    "score",
    "severity",
    "createdDateTime",
    "updatedDateTime",
    "firstInvestigatedDateTime",
)
ORDER_MAX_LENGTH = 200
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def _shown(value: Any) -> Any:
    """An entity or indicator value as a filter compares it: a host by its name."""
    return value.get("name") if isinstance(value, dict) else value


# The reference's TMV1-Filter fields (its ``contains`` operator is not simulated).
FILTER = {
    **odata.fields(
        "id",
        "status",
        "investigationStatus",
        "investigationResult",
        "alertProvider",
        "modelId",
        "model",
        "modelType",
        "severity",
        "incidentId",
    ),
    "impactScopeEntityValue": lambda r: [
        _shown(e.get("entityValue")) for e in (r.get("impactScope") or {}).get("entities") or []
    ],
    "indicatorValue": lambda r: [_shown(i.get("value")) for i in r.get("indicators") or []],
}

# model, severity, score range, technique, filter name, indicator field/type
_MODELS = (
    ("Possible Credential Dumping via LSASS", "critical", (80, 100), "T1003.001", "LSASS memory dump"),
    ("Suspicious PowerShell, encoded command", "high", (60, 85), "T1059.001", "Encoded PowerShell"),
    ('Ransomware "behaviour" detected', "critical", (90, 100), "T1486", "Mass file encryption"),
    ("Phishing email with =HYPERLINK macro", "medium", (40, 70), "T1566.001", "Macro document opened"),
    ("Scheduled task persistence", "medium", (30, 60), "T1053.005", "Schedtask creation"),
    ("Lateral movement – remote service", "high", (60, 80), "T1021.002", "PsExec-like service"),  # noqa: RUF001
    ("Unusual sign-in: 東京 then London", "low", (10, 40), "T1078", "Impossible travel"),
)
_DESCRIPTIONS = (
    "A process dumped LSASS memory, commonly used to steal credentials.",
    'PowerShell ran with "-enc", a base64 payload,\nand reached out to the internet.',
    "=cmd|' /C calc'!A0 was seen in a document's formula.",
    "+Several hosts, one user: check the account.",
    "-- see the matched events for details --",
    "@SOC: réponse requise",
)
_CLOSED = (
    ("True Positive", "True Positive"),
    ("False Positive", "False Positive"),
    ("Benign True Positive", "Benign True Positive"),
    ("Closed", "Other Findings"),
)


def make_day(
    seed: int, day: date, per_day: int, now: datetime, owner_ids: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The alerts created on ``day``, oldest first."""
    rng = random.Random(f"visionone-workbench:{seed}:{day.isoformat()}")
    base = day_start(day)
    created_times = sorted(base + timedelta(seconds=rng.randrange(86_400)) for _ in range(per_day))
    p = pools(seed)
    out = []
    for n, created in enumerate(created_times, 1):
        alert_id = f"WB-{9000 + seed % 1000}-{day.strftime('%Y%m%d')}-{n:05d}"
        lag = timedelta(seconds=rng.randrange(int(MAX_LAG.total_seconds())))
        updated = created + lag
        if updated >= now:
            updated = max(created, created + (now - created) * rng.random())
        lag = updated - created
        if lag < timedelta(hours=6):
            status, investigation, result = "Open", "New", "No Findings"
        elif lag < timedelta(hours=36):
            status, investigation = "In Progress", "In Progress"
            result = rng.choice(("No Findings", "Noteworthy"))
        else:
            status = "Closed"
            investigation, result = rng.choice(_CLOSED)
        first = None if status == "Open" else created + lag * rng.uniform(0.05, 0.9)
        model, severity, (lo, hi), technique, filter_name = _MODELS[rng.randrange(len(_MODELS))]
        model_id = _uuid(int.from_bytes(f"{seed}:{model}".encode()[:16].ljust(16, b"\0"), "big"))
        hosts = rng.sample(p.endpoints, rng.randrange(1, 4))
        accounts = rng.sample(
            ("CORP\\ana.silva", "CORP\\mark.jones", "büro\\jürgen", "CORP\\svc_backup"), rng.randrange(0, 3)
        )
        emails = rng.sample(
            ("ana.silva@corp.example", "finance@corp.example", "田中.太郎@corp.example"), rng.randrange(0, 2)
        )
        entities = [
            {
                "entityId": h.guid,
                "entityType": "host",
                "entityValue": {"name": h.name, "ips": h.ips, "guid": h.guid},
                "relatedEntities": list(accounts),
                "relatedIndicatorIds": [1],
                "provenance": ["Alert"],
            }
            for h in hosts
        ]
        entities += [
            {
                "entityId": a,
                "entityType": "account",
                "entityValue": a,
                "relatedEntities": [hosts[0].guid],
                "relatedIndicatorIds": [],
                "provenance": ["Alert"],
            }
            for a in accounts
        ]
        entities += [
            {
                "entityId": e,
                "entityType": "emailAddress",
                "entityValue": e,
                "relatedEntities": [],
                "relatedIndicatorIds": [],
                "provenance": ["Alert", "Sweeping"],
            }
            for e in emails
        ]
        filter_id = _uuid(rng.getrandbits(128))
        proc_cmd = PROCESSES[rng.randrange(len(PROCESSES))][1]
        matched_events = [
            {
                "uuid": _uuid(rng.getrandbits(128)),
                "matchedDateTime": iso(created - timedelta(seconds=rng.randrange(1, 900))),
                "type": rng.choice(("TELEMETRY_PROCESS", "TELEMETRY_FILE", "TELEMETRY_NETWORK")),
            }
            for _ in range(rng.randrange(1, 4))
        ]
        incident = f"IC-{seed}-{day.strftime('%Y%m%d')}-{n:05d}" if rng.random() < 0.3 else None
        out.append(
            {
                "id": alert_id,
                "schemaVersion": "1.12",
                "status": status,
                "investigationStatus": investigation,
                "investigationResult": result,
                "workbenchLink": f"https://portal.xdr.trendmicro.com/index.html#/workbench/alerts/{alert_id}",
                "alertProvider": "SAE",
                "model": model,
                "modelId": model_id,
                "modelType": "preset" if rng.random() < 0.8 else "custom",
                "score": rng.randrange(lo, hi + 1),
                "severity": severity,
                "createdDateTime": iso(created),
                "updatedDateTime": iso(updated),
                "firstInvestigatedDateTime": None if first is None else iso(first),
                "incidentId": incident,
                "caseId": f"CS-{rng.randrange(10_000):05d}" if incident and rng.random() < 0.5 else None,
                "ownerIds": rng.sample(owner_ids, rng.randrange(0, 3)) if status != "Open" else [],
                "description": rng.choice(_DESCRIPTIONS),
                "impactScope": {
                    "desktopCount": sum(1 for h in hosts if not h.name.startswith("srv-")),
                    "serverCount": sum(1 for h in hosts if h.name.startswith("srv-")),
                    "accountCount": len(accounts),
                    "emailAddressCount": len(emails),
                    "containerCount": 0,
                    "cloudIdentityCount": 0,
                    "entities": entities,
                },
                "matchedRules": [
                    {
                        "id": _uuid(rng.getrandbits(128)),
                        "name": model,
                        "matchedFilters": [
                            {
                                "id": filter_id,
                                "name": filter_name,
                                "matchedDateTime": matched_events[0]["matchedDateTime"],
                                "mitreTechniqueIds": [technique, f"V9.{technique}"],
                                "matchedEvents": matched_events,
                            }
                        ],
                    }
                ],
                "indicators": [
                    {
                        "id": 1,
                        "type": "command_line",
                        "field": "processCmd",
                        "value": proc_cmd,
                        "relatedEntities": [hosts[0].guid],
                        "filterIds": [filter_id],
                        "provenance": ["Alert"],
                    },
                    {
                        "id": 2,
                        "type": "host",
                        "field": "endpointHostName",
                        "value": hosts[0].name,
                        "relatedEntities": [hosts[0].guid],
                        "filterIds": [filter_id],
                        "provenance": ["Alert"],
                    },
                ],
            }
        )
    return out


def _rank(field: str, value: Any) -> Any:
    return SEVERITY_RANK[value] if field == "severity" else value


def select(world: Any, start: datetime | None, end: datetime | None, target: str) -> list[dict[str, Any]]:
    """Alerts whose ``target`` lies in ``[start, end)`` (unordered)."""
    lo = start if start is None or target == "createdDateTime" else start - MAX_LAG
    return [r for r in world.alerts.created_between(lo, end) if in_window(r[target], start, end)]


def list_alerts(world: Any, call: Call) -> dict[str, Any]:
    params = call.params
    if "top" in params:
        raise bad_request(
            "Invalid parameter: top. This API does not take top; it pages at a fixed size, follow nextLink."
        )
    check_known(params, ("startDateTime", "endDateTime", "dateTimeTarget", "orderBy"))
    start = time_param(params, "startDateTime", None)
    end = time_param(params, "endDateTime", call.now)
    check_range(start, end, "startDateTime", "endDateTime")
    target = check_choice(params, "dateTimeTarget", TARGETS, "createdDateTime")
    order_text = params.get("orderBy", "createdDateTime desc")
    if len(order_text) > ORDER_MAX_LENGTH:
        raise bad_request(f"Invalid value for orderBy: it is longer than {ORDER_MAX_LENGTH} characters.")
    order = order_by(order_text, ORDER_FIELDS)
    text = call.header("TMV1-Filter")
    try:
        parsed = odata.parse(text, FILTER, "endpoint")
    except odata.FilterError as exc:
        raise bad_request(f"Invalid TMV1-Filter: {exc}.") from None

    def compute() -> list[dict[str, Any]]:
        rows = [r for r in select(world, start, end, target) if parsed.matches(r)]
        rows.sort(key=lambda r: r["id"])
        sort_records(rows, order, _rank)
        return rows

    rows = world.alerts.queries.get((text, start, end, target, order_text), compute)
    chunk, link = page(
        call.pager, call.path, rows, PAGE_SIZE, params, link_params(params), text, "TMV1-Filter"
    )
    return listing(list(chunk), link, totalCount=len(rows), count=len(chunk))


# -- one alert, its status, its notes ---------------------------------------------------------------------
# GET /workbench/alerts/{id} -> the alert + ETag; PATCH (If-Match, quoted or not) -> 204 and a new ETag,
# 412 on a stale ETag, 428 without If-Match. Notes: POST .../notes ``{"content"}`` -> 201 + Location;
# GET .../notes (list), GET .../notes/{noteId} (+ ETag), PATCH .../notes/{noteId} (If-Match) -> 204,
# POST .../notes/delete ``[{"id"}]`` -> 204. Edits keep ``updatedDateTime`` (so a tap's windows are
# unchanged) but they do show in the alert list.

STATUSES = ("Open", "In Progress", "Closed")
RESULTS = (
    "No Findings",
    "Noteworthy",
    "True Positive",
    "False Positive",
    "Benign True Positive",
    "Other Findings",
)
INVESTIGATION_STATUSES = (
    "New",
    "In Progress",
    "True Positive",
    "False Positive",
    "Benign True Positive",
    "Closed",
)
_ID = re.compile(r"WB-\d+-(\d{8})-\d{5}")
NOTE_AUTHOR = ("SOAR service", "svc.soar@corp.example")


def apply_edits(records: list[dict[str, Any]], edits: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    for record in records:
        if record["id"] in edits:
            record.update(edits[record["id"]])
    return records


def find_alert(world: Any, alert_id: str) -> dict[str, Any]:
    match = _ID.fullmatch(alert_id)
    if match:
        try:
            day = datetime.strptime(match.group(1), "%Y%m%d").date()
        except ValueError:
            day = None
        store = world.alerts
        if day is not None and store.start_day <= day < store.start_day + timedelta(days=store.days):
            for record in store.day(day):
                if record["id"] == alert_id:
                    return record
    raise ApiError(404, "NotFound", f"Workbench alert {alert_id} does not exist.")


def alert_etag(world: Any, alert_id: str) -> str:
    return etag("alert", alert_id, world.live.alert_versions[alert_id])


def get_alert(world: Any, call: Call) -> Answer:
    with world.live.lock:
        record = find_alert(world, call.args[0])
        return Answer(200, dict(record), (("ETag", alert_etag(world, record["id"])),))


def update_alert(world: Any, call: Call) -> Answer:
    body = json_object(call)
    choices = {
        "status": STATUSES,
        "investigationResult": RESULTS,
        "investigationStatus": INVESTIGATION_STATUSES,
    }
    unknown = [k for k in body if k not in choices]
    if unknown:
        raise bad_request(f"Unknown field(s): {', '.join(unknown)}. Fields: {', '.join(choices)}.")
    if not body:
        raise bad_request("Nothing to update: give status, investigationResult or investigationStatus.")
    for name, value in body.items():
        if value not in choices[name]:
            raise bad_request(
                f"Invalid value for {name}: '{value}'. Allowed values: {', '.join(choices[name])}."
            )
    live = world.live
    with live.lock:
        record = find_alert(world, call.args[0])
        check_if_match(call, alert_etag(world, record["id"]))
        live.alert_edits.setdefault(record["id"], {}).update(body)
        record.update(body)
        live.alert_versions[record["id"]] += 1
        world.alerts.queries = _QueryCache()
    return Answer(204)


def _note(world: Any, alert_id: str, note_id: str) -> dict[str, Any]:
    for note in world.live.notes.get(alert_id, []):
        if str(note["id"]) == note_id:
            return note
    raise ApiError(404, "NotFound", f"Note {note_id} of alert {alert_id} does not exist.")


def _note_content(call: Call) -> str:
    body = json_object(call)
    unknown = [k for k in body if k != "content"]
    if unknown:
        raise bad_request(f"Unknown field(s): {', '.join(unknown)}. Fields: content.")
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        raise bad_request("Missing required field: content (a non-empty string).")
    if len(content) > 65_536:
        raise bad_request("Invalid value for content: longer than 65536 characters.")
    return content


def add_note(world: Any, call: Call) -> Answer:
    content = _note_content(call)
    live = world.live
    with live.lock:
        record = find_alert(world, call.args[0])
        note_id = live.next("note")
        note = {
            "id": note_id,
            "content": content,
            "creatorName": NOTE_AUTHOR[0],
            "creatorMailAddress": NOTE_AUTHOR[1],
            "createdDateTime": iso(live.tick()),
            "lastUpdatedBy": None,
            "lastUpdatedDateTime": None,
        }
        live.notes.setdefault(record["id"], []).append(note)
    location = f"{call.base_url}{PATH}/{record['id']}/notes/{note_id}"
    return Answer(201, None, (("Location", location),))


def list_notes(world: Any, call: Call) -> Answer:
    params = call.params
    check_known(params, ("startDateTime", "endDateTime", "orderBy", "top"))
    top = check_top(params, (50, 100, 200), 50)
    start = time_param(params, "startDateTime", None)
    end = time_param(params, "endDateTime", None)
    check_range(start, end, "startDateTime", "endDateTime")
    order = order_by(
        params.get("orderBy", "createdDateTime desc"), ("createdDateTime", "lastUpdatedDateTime", "id")
    )
    text = call.header("TMV1-Filter")
    try:
        parsed = odata.parse(text, odata.fields("id", "creatorName", "lastUpdatedBy"), "endpoint")
    except odata.FilterError as exc:
        raise bad_request(f"Invalid TMV1-Filter: {exc}.") from None
    with world.live.lock:
        record = find_alert(world, call.args[0])
        notes = [dict(n) for n in world.live.notes.get(record["id"], [])]
    rows = [
        n
        for n in notes
        if ((start is None and end is None) or in_window(n["createdDateTime"], start, end))
        and parsed.matches(n)
    ]
    sort_records(rows, order)
    chunk, link = page(call.pager, call.path, rows, top, params, link_params(params), text, "TMV1-Filter")
    return Answer(200, listing(list(chunk), link))


def note_etag(alert_id: str, note: dict[str, Any], world: Any) -> str:
    return etag("note", alert_id, note["id"], world.live.note_versions[f"{alert_id}/{note['id']}"])


def get_note(world: Any, call: Call) -> Answer:
    with world.live.lock:
        record = find_alert(world, call.args[0])
        note = _note(world, record["id"], call.args[1])
        return Answer(200, dict(note), (("ETag", note_etag(record["id"], note, world)),))


def update_note(world: Any, call: Call) -> Answer:
    content = _note_content(call)
    live = world.live
    with live.lock:
        record = find_alert(world, call.args[0])
        note = _note(world, record["id"], call.args[1])
        check_if_match(call, note_etag(record["id"], note, world))
        note.update(content=content, lastUpdatedBy=NOTE_AUTHOR[0], lastUpdatedDateTime=iso(live.tick()))
        live.note_versions[f"{record['id']}/{note['id']}"] += 1
    return Answer(204)


def delete_notes(world: Any, call: Call) -> Answer:
    items = json_array(call)
    with world.live.lock:
        record = find_alert(world, call.args[0])
        notes = world.live.notes.get(record["id"], [])
        ids = []
        for item in items:
            if not isinstance(item, dict) or set(item) != {"id"}:
                raise bad_request('Each item must be {"id": <note id>}.')
            ids.append(str(item["id"]))
        missing = [i for i in ids if not any(str(n["id"]) == i for n in notes)]
        if missing:
            raise ApiError(
                404, "NotFound", f"Note(s) {', '.join(missing)} of alert {record['id']} do not exist."
            )
        notes[:] = [n for n in notes if str(n["id"]) not in ids]
    return Answer(204)

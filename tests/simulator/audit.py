"""``GET /v3.0/audit/logs``: 170 days of console and API activity before the simulator's ``now``.

Log on / Log off records follow each IAM account's plan (:mod:`iam`): "recent" accounts log on all along
and within the last week, "stale" ones last logged on 91-170 days ago, "never" ones (invited accounts
among them) do not appear. Other categories (Response, Workbench, API Keys) come from enabled accounts at
the console and from API keys over the API. The API keeps 180 days: an older ``startDateTime`` is a 400.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.simulator import odata
from tests.simulator.common import (
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
from tests.simulator.data import pools
from tests.simulator.iam import Account
from tests.simulator.paging import page

PATH = "/v3.0/audit/logs"
TOPS = (50, 100, 200)
RETENTION = timedelta(days=180)
SPAN = timedelta(days=170)
TARGETS = ("loggedDateTime", "ingestedDateTime")
# the reference's orderBy fields, each ascending or descending
ORDER_FIELDS = ("loggedDateTime", "accessType", "ingestedDateTime")
ORDERS = tuple(f"{field} {way}" for field in ORDER_FIELDS for way in ("asc", "desc"))
LABELS = ("none", "matched", "all")
FILTER = odata.fields("loggedUser", "loggedRole", "accessType", "category", "activity", "result")
LOGON = "Logon and Logoff"
SPACED_SHARE = 0.2  # entries whose loggedDateTime is ``2022-07-16 04:30:04`` rather than ISO with ``Z``
DETAIL_LABELS = {
    "sourceIp": "Source IP",
    "userAgent": "User agent",
    "authType": "Authentication type",
    "reason": "Reason",
    "identifier": "Target",
    "endpointName": "Endpoint",
    "note": "Note",
}
_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15",
)
# category, activity, details maker (rng, endpoint) -> dict
_OTHER = (
    (
        "Response",
        "Isolate endpoint",
        lambda r, ep: {"identifier": {"id": ep.guid, "name": ep.name}, "endpointName": ep.name},
    ),
    (
        "Response",
        "Run custom script",
        lambda r, ep: {
            "identifier": {"id": ep.guid, "name": ep.name},
            "note": r.choice(("collect.ps1", '"triage, v2".sh')),
        },
    ),
    (
        "Response",
        "Add to block list",
        lambda r, ep: {
            "identifier": {"id": "url", "name": "http://evil.example/x"},
            "note": "=blocked by SOC",
        },
    ),
    (
        "Workbench",
        "Change alert status",
        lambda r, ep: {
            "identifier": {"id": f"WB-9001-{r.randrange(99999):05d}", "name": "Closed"},
            "note": "+FP, see ticket",
        },
    ),
    (
        "Workbench",
        "Add alert note",
        lambda r, ep: {
            "identifier": {"id": f"WB-9001-{r.randrange(99999):05d}", "name": "note"},
            "note": 'Checked with user;\n"expected" behaviour, closing.',
        },
    ),
    ("API Keys", "Add API key", lambda r, ep: {"identifier": {"id": "", "name": "SIEM export, prod"}}),
    (
        "API Keys",
        "Edit API key",
        lambda r, ep: {"identifier": {"id": "", "name": "@audit exporter"}, "note": "-status disabled"},
    ),
)


def generate(
    seed: int, now: datetime, accounts: tuple[Account, ...], keys: tuple[dict[str, Any], ...]
) -> list[dict[str, Any]]:
    """Every audit record in ``[now - 170 days, now)``, oldest logged first."""
    rng = random.Random(f"visionone-audit:{seed}")
    begin = now - SPAN
    ips = pools(seed).external_ips
    out: list[dict[str, Any]] = []

    def add(
        when: datetime,
        user: str,
        role: str,
        access: str,
        category: str,
        activity: str,
        result: str,
        details: dict[str, Any],
    ) -> None:
        if not begin <= when < now:
            return
        ingested = min(when + timedelta(seconds=rng.randrange(0, 120)), now - timedelta(seconds=1))
        out.append(
            {
                "loggedDateTime": logged_text(when, rng.random() < SPACED_SHARE),
                "ingestedDateTime": iso(max(ingested, when)),
                "loggedUser": user,
                "loggedRole": role,
                "accessType": access,
                "category": category,
                "activity": activity,
                "result": result,
                "details": details,
            }
        )

    for account in accounts:
        if account.plan == "never":
            continue
        if account.plan == "recent":
            last = now - timedelta(seconds=rng.randrange(3600, 6 * 86_400))
        else:
            last = now - timedelta(days=91, seconds=rng.randrange(0, 78 * 86_400))
        times = [last]
        moment = last
        while True:
            moment -= timedelta(days=rng.uniform(2, 10))
            if moment < begin:
                break
            times.append(moment)
        for logon in reversed(times):
            ip = rng.choice(ips)
            details = {
                "sourceIp": ip,
                "userAgent": rng.choice(_AGENTS),
                "authType": account.record["authType"],
            }
            if rng.random() < 0.12:
                failed = logon - timedelta(seconds=rng.randrange(30, 300))
                add(
                    failed,
                    account.email,
                    account.role,
                    "Console",
                    LOGON,
                    "Log on",
                    "Unsuccessful",
                    {**details, "reason": rng.choice(("Wrong password", 'MFA "denied", retry'))},
                )
            add(logon, account.email, account.role, "Console", LOGON, "Log on", "Successful", details)
            logoff = logon + timedelta(minutes=rng.randrange(10, 480))
            if logoff < now and (account.plan == "recent" or logoff < last + timedelta(hours=9)):
                add(
                    logoff,
                    account.email,
                    account.role,
                    "Console",
                    LOGON,
                    "Log off",
                    "Successful",
                    {"sourceIp": ip},
                )

    actors = [a for a in accounts if a.plan == "recent" and a.record["status"] == "enabled"]
    api_keys = [k for k in keys if k["status"] == "enabled"]
    endpoints = pools(seed).endpoints
    moment = begin
    while True:
        moment += timedelta(seconds=rng.randrange(600, 6 * 3600))
        if moment >= now:
            break
        category, activity, make = rng.choice(_OTHER)
        via_api = category != "API Keys" and rng.random() < 0.5
        if via_api:
            key = rng.choice(api_keys)
            user, role, access = key["name"], key["role"], "API"
        else:
            actor = rng.choice(actors)
            user, role, access = actor.email, actor.role, "Console"
        result = "Successful" if rng.random() < 0.93 else "Unsuccessful"
        add(moment, user, role, access, category, activity, result, make(rng, rng.choice(endpoints)))
    out.sort(key=lambda r: (logged_at(r), r["ingestedDateTime"], r["loggedUser"], r["activity"]))
    return out


def logged_text(moment: datetime, spaced: bool) -> str:
    """``loggedDateTime`` as the API writes it: ISO ``...T...Z``, or for some entries ``2022-07-16 04:30:04``
    (a space, no zone; UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if spaced else iso(moment)


def normalized(value: str) -> str:
    """Either form of an audit time as ``yyyy-MM-ddThh:mm:ssZ``, which compares correctly as text."""
    if len(value) == 19 and value[10] == " ":
        return f"{value[:10]}T{value[11:]}Z"
    return value


def logged_at(record: dict[str, Any]) -> str:
    """A record's ``loggedDateTime`` in one form, for ordering and windows."""
    return normalized(record["loggedDateTime"])


def last_logons(records: list[dict[str, Any]], accounts: tuple[Account, ...]) -> dict[str, str | None]:
    """Account email -> ISO time of its last successful log on (None: never)."""
    last: dict[str, str | None] = {a.email: None for a in accounts}
    for r in records:
        if r["category"] == LOGON and r["activity"] == "Log on" and r["result"] == "Successful":
            previous = last.get(r["loggedUser"])
            if previous is None or logged_at(r) > previous:
                last[r["loggedUser"]] = logged_at(r)
    return last


def _fields_used(node: odata.Node) -> set[str]:
    if isinstance(node, odata.Eq):
        return {node.field}
    if isinstance(node, odata.Not):
        return _fields_used(node.inner)
    if isinstance(node, odata.All | odata.Any_):
        return {f for part in node.parts for f in _fields_used(part)}
    return set()


def list_logs(world: Any, call: Call) -> dict[str, Any]:
    params, now = call.params, call.now
    check_known(params, ("startDateTime", "endDateTime", "dateTimeTarget", "orderBy", "top", "labels"))
    top = check_top(params, TOPS, 50)
    start = time_param(params, "startDateTime", now - RETENTION)
    end = time_param(params, "endDateTime", now)
    assert start is not None
    if start < now - RETENTION:
        raise bad_request(
            f"Invalid value for startDateTime: only the last 180 days are kept; use {iso(now - RETENTION)} "
            "or later."
        )
    check_range(start, end, "startDateTime", "endDateTime")
    target = check_choice(params, "dateTimeTarget", TARGETS, "loggedDateTime")
    order = check_choice(params, "orderBy", ORDERS, "loggedDateTime desc")
    labels = check_choice(params, "labels", LABELS, "matched")
    text = call.header("TMV1-Filter")
    try:
        parsed = odata.parse(text, FILTER, "endpoint", 1024)
    except odata.FilterError as exc:
        raise bad_request(f"Invalid TMV1-Filter: {exc}.") from None
    used = _fields_used(parsed.root)
    if "activity" in used and "category" not in used:
        raise bad_request("Invalid TMV1-Filter: 'activity' can only be used together with 'category'.")
    order_field, _, direction = order.partition(" ")

    def compute() -> list[dict[str, Any]]:
        rows = [r for r in world.audit if in_window(normalized(r[target]), start, end) and parsed.matches(r)]
        rows.sort(key=lambda r: (normalized(r[order_field]), logged_at(r)), reverse=direction == "desc")
        return rows

    rows = world.audit_queries.get((text, start, end, target, order), compute)
    chunk, link = page(call.pager, call.path, rows, top, params, link_params(params), text, "TMV1-Filter")
    if labels == "all":
        shown = dict(DETAIL_LABELS)
    elif labels == "matched":
        present = {k for r in chunk for k in r["details"]}
        shown = {k: v for k, v in DETAIL_LABELS.items() if k in present}
    else:
        shown = {}
    body: dict[str, Any] = {"items": list(chunk)}
    if link is not None:
        body["nextLink"] = link
    body["labels"] = shown
    return body

"""Every read endpoint of the simulator over real HTTP: paging, top, filters, windows, strict 400s, 401/403.

One module-scoped simulator (seed 1, 200 detections a day, 2024-10-01..03, now = 2024-10-04T00:00:00Z);
what the endpoints return is checked against ``Simulator.expected`` and independent Python filters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.simulator import PATHS, Simulator
from tests.simulator.audit import normalized

KEY = "sim-key"
START, END = "2024-10-01T00:00:00Z", "2024-10-04T00:00:00Z"
NOW = "2024-10-04T00:00:00Z"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed=1, scale=200, start="2024-10-01", days=3, api_key=KEY) as simulator:
        yield simulator


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Spec:
    """How a client reads one stream (what the tap sends)."""

    stream: str
    filter_in: str  # "query" (TMV1-Query), "header" (TMV1-Filter) or "param" (filter=)
    tops: tuple[int, ...]  # () = no top parameter
    window: Callable[[str, str], dict[str, str]] | None  # window params, None = full table
    key: Callable[[dict], Any]  # identity of a record
    narrow: tuple[str, Callable[[dict], bool]]  # a filter and the same in Python
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return PATHS[self.stream]


def _search_window(start: str, end: str) -> dict[str, str]:
    return {"startDateTime": start, "endDateTime": end}


def _oat_window(start: str, end: str) -> dict[str, str]:
    detected_start = datetime.fromisoformat(end) - timedelta(days=365)
    return {
        "detectedStartDateTime": iso(detected_start),
        "detectedEndDateTime": end,
        "ingestedStartDateTime": start,
        "ingestedEndDateTime": end,
    }


def _record_hash(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


SEARCH_TOPS = (50, 100, 500, 1000, 5000)
LIST_TOPS = (50, 100, 200)
SPECS = [
    Spec(
        "endpoint_activities",
        "query",
        SEARCH_TOPS,
        _search_window,
        lambda r: r["uuid"],
        (
            "eventId:3 or processCmd:-enc",
            lambda r: r.get("eventId") == 3 or "-enc" in r.get("processCmd", "").casefold(),
        ),
    ),
    Spec(
        "email_activities",
        "query",
        SEARCH_TOPS,
        _search_window,
        lambda r: r["uuid"],
        ("mailDirection:3", lambda r: r.get("mailDirection") == 3),
    ),
    Spec(
        "network_activities",
        "query",
        SEARCH_TOPS,
        _search_window,
        lambda r: r["uuid"],
        (
            "serverPort:443 and not app:HTTPS",
            lambda r: r.get("serverPort") == 443 and "https" not in str(r.get("app", "")).casefold(),
        ),
    ),
    Spec(
        "cloud_activities",
        "query",
        SEARCH_TOPS,
        _search_window,
        lambda r: r["uuid"],
        ('eventName:"CreateUser"', lambda r: "createuser" in r.get("eventName", "").casefold()),
    ),
    Spec(
        "mobile_activities",
        "query",
        SEARCH_TOPS,
        _search_window,
        lambda r: r["uuid"],
        ("appLabel:=Calc", lambda r: "=calc" in r["appLabel"].casefold()),
    ),
    Spec(
        "identity_activities",
        "query",
        SEARCH_TOPS,
        _search_window,
        lambda r: r["uuid"],
        ("status:50126", lambda r: "50126" in str(r.get("status", ""))),
    ),
    Spec(
        "workbench_alerts",
        "header",
        (),
        _search_window,
        lambda r: r["id"],
        (
            "status eq 'Closed' or severity eq 'critical'",
            lambda r: r["status"] == "Closed" or r["severity"] == "critical",
        ),
        {"dateTimeTarget": "updatedDateTime", "orderBy": "updatedDateTime asc"},
    ),
    Spec(
        "oat_detections",
        "header",
        LIST_TOPS,
        _oat_window,
        lambda r: r["uuid"],
        (
            "riskLevel eq 'high' or riskLevel eq 'critical'",
            lambda r: any(f["riskLevel"] in ("high", "critical") for f in r["filters"]),
        ),
    ),
    Spec(
        "audit_logs",
        "header",
        LIST_TOPS,
        _search_window,
        _record_hash,
        (
            "category eq 'Logon and Logoff' and not result eq 'Unsuccessful'",
            lambda r: r["category"] == "Logon and Logoff" and r["result"] != "Unsuccessful",
        ),
        {"dateTimeTarget": "loggedDateTime", "orderBy": "loggedDateTime asc", "labels": "all"},
    ),
    Spec(
        "response_tasks",
        "param",
        LIST_TOPS,
        _search_window,
        lambda r: r["id"],
        (
            "status eq 'succeeded' and not (action eq 'isolate' or action eq 'collectFile')",
            lambda r: r["status"] == "succeeded" and r["action"] not in ("isolate", "collectFile"),
        ),
        {"dateTimeTarget": "lastActionDateTime"},
    ),
    Spec(
        "iam_accounts",
        "header",
        LIST_TOPS,
        None,
        lambda r: r["id"],
        (
            "status eq 'enabled' and authType eq 'saml'",
            lambda r: r["status"] == "enabled" and r["authType"] == "saml",
        ),
    ),
    Spec(
        "api_keys",
        "header",
        LIST_TOPS,
        None,
        lambda r: r["id"],
        ("status eq 'disabled'", lambda r: r["status"] == "disabled"),
    ),
    Spec(
        "custom_scripts",
        "param",
        (),
        None,
        lambda r: r["id"],
        ("fileType eq 'bash'", lambda r: r["fileType"] == "bash"),
    ),
    Spec(
        "suspicious_objects",
        "header",
        LIST_TOPS,
        None,
        lambda r: (r["type"], r[r["type"]]),
        (
            "type eq 'url' and scanAction eq 'block'",
            lambda r: r["type"] == "url" and r["scanAction"] == "block",
        ),
    ),
    Spec(
        "exception_objects",
        "header",
        LIST_TOPS,
        None,
        lambda r: (r["type"], r[r["type"]]),
        ("type eq 'domain' or type eq 'ip'", lambda r: r["type"] in ("domain", "ip")),
    ),
    Spec(
        "endpoints",
        "header",
        (10, 50, 100, 200, 500, 1000),
        None,
        lambda r: r["agentGuid"],
        (
            "osPlatform eq 'windows' and type eq 'server'",
            lambda r: r["osPlatform"] == "windows" and r["type"] == "server",
        ),
    ),
]
BY_NAME = {s.stream: s for s in SPECS}
IDS = [s.stream for s in SPECS]


def call(
    sim: Simulator,
    spec: Spec,
    url: str | None = None,
    params: dict[str, Any] | None = None,
    flt: str | None = None,
    key: str = KEY,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"}
    params = dict(params or {})
    if spec.filter_in == "query":
        headers["TMV1-Query"] = "*" if flt is None else flt
    elif spec.filter_in == "header" and flt is not None:
        headers["TMV1-Filter"] = flt
    elif flt is not None and url is None:
        params["filter"] = flt
    return requests.get(url or sim.base_url + spec.path, params=params or None, headers=headers, timeout=10)


def base_params(spec: Spec, start: str = START, end: str = END, top: int | None = None) -> dict[str, Any]:
    params: dict[str, Any] = dict(spec.window(start, end)) if spec.window else {}
    params.update(spec.extra)
    if spec.stream == "audit_logs" and start < "2024-04-07":
        params["startDateTime"] = "2024-04-07T00:00:00Z"
    if top is not None:
        params["top"] = top
    elif spec.tops:
        params["top"] = min(spec.tops)
    return params


def fetch_all(sim: Simulator, spec: Spec, params: dict[str, Any], flt: str | None = None) -> tuple[list, int]:
    response = call(sim, spec, params=params, flt=flt)
    items, pages = [], 0
    while True:
        assert response.status_code == 200, response.text[:500]
        body = response.json()
        items.extend(body["items"])
        pages += 1
        if "nextLink" not in body:
            return items, pages
        response = call(sim, spec, url=body["nextLink"], flt=flt)


def error_of(response: requests.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text[:500]
    error = response.json()["error"]
    assert error["code"] == {400: "BadRequest", 401: "InvalidCredentials", 403: "AccessDenied"}[status]
    return error["message"]


def expected(sim: Simulator, spec: Spec, start: str = START, end: str = END) -> list[dict]:
    return sim.expected(spec.stream, start, end)


# -- paging and top ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_paging_follows_nextlink_to_exactly_the_expected_records(sim: Simulator, spec: Spec) -> None:
    items, pages = fetch_all(sim, spec, base_params(spec))
    want = expected(sim, spec)
    keys = [spec.key(i) for i in items]
    assert len(keys) == len(set(keys)) == len(want) == sim.expected_count(spec.stream, START, END) > 0
    assert set(keys) == {spec.key(r) for r in want}
    assert items == [next(r for r in want if spec.key(r) == k) for k in keys]  # identical records
    page_size = min(spec.tops) if spec.tops else {"workbench_alerts": 50, "custom_scripts": 5}[spec.stream]
    assert pages == max(1, -(-len(want) // page_size))


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_allowed_and_refused_tops(sim: Simulator, spec: Spec) -> None:
    total = len(expected(sim, spec))
    for top in spec.tops:
        body = call(sim, spec, params=base_params(spec, top=top)).json()
        assert len(body["items"]) == min(top, total)
    refused = ["7", "0", "abc", "-50", ""] + [str(t) for t in (10, 200, 500, 5000) if t not in spec.tops]
    for top in refused:
        message = error_of(call(sim, spec, params={**base_params(spec), "top": top}))
        if spec.tops:
            assert message.startswith(f"Invalid value for top: '{top}'. Allowed values: ")
        else:
            assert "top" in message


# -- filters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_filter_narrows_like_a_python_filter(sim: Simulator, spec: Spec) -> None:
    text, predicate = spec.narrow
    want = {spec.key(r) for r in expected(sim, spec) if predicate(r)}
    items, _ = fetch_all(sim, spec, base_params(spec), flt=text)
    got = [spec.key(i) for i in items]
    assert len(got) == len(set(got)) and set(got) == want
    assert 0 < len(want) < len(expected(sim, spec)), "the filter should select some but not all records"


@pytest.mark.parametrize("spec", [s for s in SPECS if s.filter_in != "query"], ids=lambda s: s.stream)
def test_unknown_filter_fields_and_bad_syntax_are_400_naming_them(sim: Simulator, spec: Spec) -> None:
    name = "filter" if spec.filter_in == "param" else "TMV1-Filter"
    for text, needle in [
        ("nosuch eq 'x'", "unknown field 'nosuch'"),
        ("(", "expected a field name"),
        (f"{spec.narrow[0]} and", "expected a field name"),
        (f"({spec.narrow[0]}", "expected ')'"),
        ("x eq 'open", "unterminated string"),
    ]:
        message = error_of(call(sim, spec, params=base_params(spec), flt=text))
        assert name in message and needle in message, (text, message)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.filter_in == "query"], ids=lambda s: s.stream)
def test_search_query_fields_are_per_endpoint(sim: Simulator, spec: Spec) -> None:
    assert "unknown field 'nosuch'" in error_of(call(sim, spec, params=base_params(spec), flt="nosuch:x"))
    assert "TMV1-Query header is required" in error_of(
        requests.get(
            sim.base_url + spec.path, params=base_params(spec), headers={"Authorization": f"Bearer {KEY}"}
        )
    )
    # detections' endpointGUID is endpointGuid here (or absent): not a field of the activity searches
    assert "unknown field 'endpointGUID'" in error_of(
        call(sim, spec, params=base_params(spec), flt="endpointGUID:x")
    )


def _multi_page(spec: Spec) -> bool:
    return spec.stream not in (
        "iam_accounts",
        "api_keys",
        "exception_objects",
        "response_tasks",
        "workbench_alerts",
    )


@pytest.mark.parametrize("spec", [s for s in SPECS if _multi_page(s)], ids=lambda s: s.stream)
def test_the_filter_must_come_again_with_every_nextlink(sim: Simulator, spec: Spec) -> None:
    field = spec.narrow[0].split()[0]
    text = "not uuid:zzzz" if spec.filter_in == "query" else f"not {field} eq 'none'"
    # audit logs are sparse: their whole retention makes sure of a second page
    params = base_params(spec, start="2024-01-01") if spec.stream == "audit_logs" else base_params(spec)
    first = call(sim, spec, params=params, flt=text).json()
    link = first["nextLink"]
    assert call(sim, spec, url=link, flt=text).status_code == 200
    other = "not uuid:yyyy" if spec.filter_in == "query" else f"not {field} eq 'nothing'"
    if spec.filter_in == "param":
        parts = urlsplit(link)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert query["filter"] == text  # the link repeats the filter parameter
        without = urlunsplit(
            parts._replace(query=urlencode({k: v for k, v in query.items() if k != "filter"}))
        )
        assert "skipToken" in error_of(call(sim, spec, url=without))
        changed = urlunsplit(parts._replace(query=urlencode({**query, "filter": other})))
        assert "skipToken" in error_of(call(sim, spec, url=changed))
    else:
        if spec.filter_in == "query":
            bare = requests.get(link, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
            assert error_of(bare) == "TMV1-Query header is required."
            assert "skipToken" in error_of(call(sim, spec, url=link, flt="*"))
        else:
            assert "skipToken" in error_of(call(sim, spec, url=link))  # no TMV1-Filter on the second page
        assert "skipToken" in error_of(call(sim, spec, url=link, flt=other))
    token = parse_qs(urlsplit(link).query)["skipToken"][0]
    tampered = link.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert error_of(call(sim, spec, url=tampered, flt=text))


# -- windows ---------------------------------------------------------------------------------------


WINDOWED = [s for s in SPECS if s.window is not None]


def _key_time(spec: Spec, record: dict) -> datetime:
    if spec.filter_in == "query":
        if isinstance(record["eventTime"], str):  # CloudTrail's ISO text
            return datetime.fromisoformat(record["eventTime"])
        return datetime.fromtimestamp(record["eventTime"] // 1000).astimezone()
    name = {
        "workbench_alerts": "updatedDateTime",
        "oat_detections": "ingestedDateTime",
        "audit_logs": "loggedDateTime",
        "response_tasks": "lastActionDateTime",
    }[spec.stream]
    return datetime.fromisoformat(record[name])


def _millis(record: dict) -> int:
    """eventTime in epoch ms (CloudTrail records carry it as whole-second ISO text)."""
    value = record["eventTime"]
    return int(datetime.fromisoformat(value).timestamp() * 1000) if isinstance(value, str) else value


@pytest.mark.parametrize("spec", WINDOWED, ids=lambda s: s.stream)
def test_window_start_is_inclusive_and_end_exclusive(sim: Simulator, spec: Spec) -> None:
    records = expected(sim, spec)
    if spec.filter_in == "query":
        records = [r for r in records if _millis(r) % 1000 == 0] or records
    record = records[len(records) // 2]
    moment = _key_time(spec, record).replace(microsecond=0)
    at, before, after = iso(moment), iso(moment - timedelta(seconds=1)), iso(moment + timedelta(seconds=1))
    if spec.filter_in == "query" and _millis(record) % 1000:
        at = after  # a record in the middle of a second: [second, second+1) holds it; start at the next
        before, after = iso(moment), iso(moment + timedelta(seconds=2))
        starting = {spec.key(i) for i in fetch_all(sim, spec, base_params(spec, before, at))[0]}
        assert spec.key(record) in starting
        return
    starting = {spec.key(i) for i in fetch_all(sim, spec, base_params(spec, at, after))[0]}
    ending = {spec.key(i) for i in fetch_all(sim, spec, base_params(spec, before, at))[0]}
    assert spec.key(record) in starting and spec.key(record) not in ending
    assert starting == {spec.key(r) for r in sim.expected(spec.stream, at, after)}
    assert ending == {spec.key(r) for r in sim.expected(spec.stream, before, at)}
    # touching day windows partition the range
    days = [
        ("2024-10-01T00:00:00Z", "2024-10-02T00:00:00Z"),
        ("2024-10-02T00:00:00Z", "2024-10-04T00:00:00Z"),
    ]
    parts = [{spec.key(i) for i in fetch_all(sim, spec, base_params(spec, a, b))[0]} for a, b in days]
    assert not parts[0] & parts[1] and parts[0] | parts[1] == {spec.key(r) for r in expected(sim, spec)}


@pytest.mark.parametrize("spec", WINDOWED, ids=lambda s: s.stream)
@pytest.mark.parametrize(
    "value",
    [
        "2024-10-01T00:00:00.000Z",
        "2024-10-01",
        "2024-10-01T00:00:00+00:00",
        "2024-10-01 00:00:00Z",
        "2024-13-01T00:00:00Z",
    ],
)
def test_times_must_be_whole_seconds_utc(sim: Simulator, spec: Spec, value: str) -> None:
    params = base_params(spec)
    name = next(k for k in params if k.endswith("StartDateTime") or k == "startDateTime")
    assert name in error_of(call(sim, spec, params={**params, name: value}))
    reversed_window = base_params(spec, "2024-10-03T00:00:00Z", "2024-10-02T00:00:00Z")
    assert "earlier than" in error_of(call(sim, spec, params=reversed_window))


def test_unknown_parameters_are_400(sim: Simulator) -> None:
    for spec in SPECS:
        if spec.filter_in == "query":
            continue
        message = error_of(call(sim, spec, params={**base_params(spec), "orderby": "x"}))
        assert "Unknown parameter: 'orderby'" in message


# -- per-endpoint rules ------------------------------------------------------------------------------


def test_workbench_rejects_top_and_honours_targets_and_order(sim: Simulator) -> None:
    spec = BY_NAME["workbench_alerts"]
    assert "top" in error_of(call(sim, spec, params={**base_params(spec), "top": 50}))
    assert "dateTimeTarget" in error_of(call(sim, spec, params={**base_params(spec), "dateTimeTarget": "x"}))
    assert "orderBy" in error_of(call(sim, spec, params={**base_params(spec), "orderBy": "name up"}))
    body = call(sim, spec, params=base_params(spec)).json()
    assert body["totalCount"] == len(expected(sim, spec)) and body["count"] == len(body["items"])
    updated = [i["updatedDateTime"] for i in fetch_all(sim, spec, base_params(spec))[0]]
    assert updated == sorted(updated)
    created, _ = fetch_all(sim, spec, {"startDateTime": "2024-10-02T00:00:00Z", "endDateTime": END})
    times = [i["createdDateTime"] for i in created]  # default: createdDateTime, newest first
    assert times == sorted(times, reverse=True) and min(times) >= "2024-10-02T00:00:00Z"
    by_score = fetch_all(sim, spec, {**base_params(spec), "orderBy": "severity desc,score asc"})[0]
    ranks = [
        ({"low": 0, "medium": 1, "high": 2, "critical": 3}[i["severity"]] * -1, i["score"]) for i in by_score
    ]
    assert ranks == sorted(ranks)
    assert all(i["updatedDateTime"] < NOW and i["createdDateTime"] <= i["updatedDateTime"] for i in created)


def test_oat_rules(sim: Simulator) -> None:
    spec = BY_NAME["oat_detections"]
    base = {"top": 50}
    too_long = {**base, "detectedStartDateTime": "2023-10-04T23:59:59Z", "detectedEndDateTime": NOW}
    assert "365 days" in error_of(call(sim, spec, params=too_long))  # 2024 is a leap year: 366 days - 1 s
    exactly = {**base, "detectedStartDateTime": "2023-10-05T00:00:00Z", "detectedEndDateTime": NOW}
    assert call(sim, spec, params=exactly).status_code == 200
    for name in ("detectedEndDateTime", "ingestedEndDateTime"):
        future = {**base, "detectedStartDateTime": "2024-10-01T00:00:00Z", name: "2024-10-04T00:00:01Z"}
        assert name in error_of(call(sim, spec, params=future))
    # without detectedStartDateTime only the last hour before now is searched: a client that forgets it
    # silently gets far less
    forgot, _ = fetch_all(sim, spec, {**base, "ingestedStartDateTime": START, "ingestedEndDateTime": END})
    last_hour = sim.expected(spec.stream, START, END, detected_start="2024-10-03T23:00:00Z")
    assert {i["uuid"] for i in forgot} == {r["uuid"] for r in last_hour}
    assert len(forgot) < len(expected(sim, spec)) / 10
    assert all(i["detectedDateTime"] >= "2024-10-03T23:00:00Z" for i in forgot)
    # some records are ingested in a later window than they were detected in
    records = expected(sim, spec)
    assert any(r["detectedDateTime"][:10] != r["ingestedDateTime"][:10] for r in records)
    assert all(r["detectedDateTime"] < r["ingestedDateTime"] < NOW for r in records)
    items, _ = fetch_all(sim, spec, base_params(spec))
    detected = [i["detectedDateTime"] for i in items]
    assert detected == sorted(detected, reverse=True)
    body = call(sim, spec, params=base_params(spec)).json()
    assert body["totalCount"] == len(records) and body["count"] == 50


def test_audit_rules(sim: Simulator) -> None:
    spec = BY_NAME["audit_logs"]
    oldest = "2024-04-07T00:00:00Z"  # now - 180 days
    assert call(sim, spec, params={"startDateTime": oldest}).status_code == 200
    assert "180 days" in error_of(call(sim, spec, params={"startDateTime": "2024-04-06T23:59:59Z"}))
    for name, value in (
        ("orderBy", "category asc"),  # the reference orders by loggedDateTime, accessType, ingestedDateTime
        ("labels", "some"),
        ("dateTimeTarget", "createdDateTime"),
    ):
        assert name in error_of(call(sim, spec, params={name: value}))
    assert "category" in error_of(call(sim, spec, params={}, flt="activity eq 'Log on'"))
    by_access = call(sim, spec, params={"startDateTime": oldest, "orderBy": "accessType asc", "top": 200})
    by_access = by_access.json()
    access = [i["accessType"] for i in by_access["items"]]
    assert access == sorted(access) and len(access) == 200
    body = call(sim, spec, params={"startDateTime": oldest, "labels": "all"}).json()
    assert body["labels"] and set(body) == {"items", "nextLink", "labels"}
    assert call(sim, spec, params={"labels": "none"}).json()["labels"] == {}
    # default: the whole retention period, newest first
    items, _ = fetch_all(sim, spec, {"top": 200})
    assert len(items) == sim.expected_count("audit_logs") and 300 < len(items) < 5000
    logged = [normalized(i["loggedDateTime"]) for i in items]  # both of the API's forms, one order
    assert logged == sorted(logged, reverse=True) and logged[-1] >= "2024-04-17T00:00:00Z"  # 170 days
    spaced = sum(" " in i["loggedDateTime"] for i in items)
    assert 0.1 < spaced / len(items) < 0.3


def test_tasks_take_filter_as_a_parameter_and_scripts_page_at_5(sim: Simulator) -> None:
    tasks = BY_NAME["response_tasks"]
    header_only = requests.get(
        sim.base_url + tasks.path,
        params=base_params(tasks),
        headers={"Authorization": f"Bearer {KEY}", "TMV1-Filter": "status eq 'nothing'"},
        timeout=10,
    ).json()
    assert len(header_only["items"]) == len(expected(sim, tasks))  # the header is not how tasks filter
    created, _ = fetch_all(sim, tasks, {"startDateTime": START, "endDateTime": END})
    times = [i["createdDateTime"] for i in created]
    assert times == sorted(times, reverse=True)
    last = [i["lastActionDateTime"] for i in fetch_all(sim, tasks, base_params(tasks))[0]]
    assert last == sorted(last, reverse=True) and all(t < NOW for t in last)
    scripts = BY_NAME["custom_scripts"]
    items, pages = fetch_all(sim, scripts, {})
    assert len(items) == 12 and pages == 3


def test_full_table_orders_and_windows(sim: Simulator) -> None:
    spec = BY_NAME["suspicious_objects"]
    items, _ = fetch_all(sim, spec, {"top": 200, "orderBy": "lastModifiedDateTime asc"})
    times = [i["lastModifiedDateTime"] for i in items]
    assert times == sorted(times)
    window = {"top": 200, "startDateTime": "2024-06-01T00:00:00Z", "endDateTime": "2024-09-01T00:00:00Z"}
    got = {spec.key(i) for i in fetch_all(sim, spec, window)[0]}
    assert got == {
        spec.key(r)
        for r in sim.expected(spec.stream)
        if "2024-06-01" <= r["lastModifiedDateTime"] < "2024-09-01"
    }
    assert "orderBy" in error_of(
        call(sim, BY_NAME["exception_objects"], params={"orderBy": "riskLevel desc"})
    )
    keys = fetch_all(sim, BY_NAME["api_keys"], {})[0]
    assert [k["createdDateTime"] for k in keys] == sorted((k["createdDateTime"] for k in keys), reverse=True)
    assert all("value" not in k and "key" not in k for k in keys)
    body = call(sim, BY_NAME["endpoints"], params={"top": 10, "select": "endpointName,osName"}).json()
    assert all(list(i) == ["agentGuid", "endpointName", "osName"] for i in body["items"])
    assert body["totalCount"] == len(sim.expected("endpoints")) and body["count"] == 10
    guids = [i["agentGuid"] for i in fetch_all(sim, BY_NAME["endpoints"], {"top": 50})[0]]
    assert guids == sorted(guids)


# -- auth, permissions, limits, faults ------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_bad_key_401_and_forbidden_path_403(sim: Simulator, spec: Spec) -> None:
    assert error_of(call(sim, spec, params=base_params(spec), key="wrong"), 401)
    sim.forbid(spec.path)
    try:
        message = error_of(call(sim, spec, params=base_params(spec)), 403)
        assert message == f"The API key's role lacks the permission for {spec.path}."
        other = SPECS[(SPECS.index(spec) + 1) % len(SPECS)]
        assert call(sim, other, params=base_params(other)).status_code == 200
    finally:
        sim.allow()
    assert call(sim, spec, params=base_params(spec)).status_code == 200


def test_rate_limit_is_per_path_and_fail_windows_matches_ingested_start() -> None:
    with Simulator(seed=2, scale=10, days=1, api_key=KEY, rate_limit_per_minute=2) as small:
        accounts, keys = BY_NAME["iam_accounts"], BY_NAME["api_keys"]
        assert [call(small, accounts).status_code for _ in range(3)] == [200, 200, 429]
        assert [call(small, keys).status_code for _ in range(2)] == [200, 200]
        small.config.rate_limit_per_minute = 0
        oat = BY_NAME["oat_detections"]
        params = _oat_window("2024-10-01T06:00:00Z", "2024-10-02T00:00:00Z")
        small.fail_windows("2024-10-01T06:00:00Z", 503)
        assert call(small, oat, params=params).status_code == 503
        small.clear_faults()
        assert call(small, oat, params=params).status_code == 200
        with pytest.raises(ValueError, match="not API paths"):
            small.forbid("/v3.0/nothing")


# -- data ------------------------------------------------------------------------------------------


def test_linkage_between_families(sim: Simulator) -> None:
    inventory = {e["agentGuid"]: e for e in sim.expected("endpoints")}
    emails = {a["email"] for a in sim.expected("iam_accounts")}
    for stream in ("endpoint_activities", "network_activities", "mobile_activities"):
        records = sim.expected(stream)
        assert any("endpointGuid" in r for r in records), stream
        for r in records:
            if "endpointGuid" in r:
                assert inventory[r["endpointGuid"]]["endpointName"] == r["endpointHostName"]
    for r in sim.expected("detections"):
        if "endpointGUID" in r:
            assert inventory[r["endpointGUID"]]["endpointName"] == r["endpointHostName"]
    for r in sim.expected("oat_detections"):
        assert inventory[r["endpoint"]["agentGuid"]]["endpointName"] == r["endpoint"]["endpointName"]
        guid = r["detail"].get("endpointGuid") or r["detail"].get("endpointGUID")
        assert guid is None or guid == r["endpoint"]["agentGuid"] or r["source"] != "endpointActivityData"
    for r in sim.expected("workbench_alerts"):
        hosts = [e for e in r["impactScope"]["entities"] if e["entityType"] == "host"]
        assert hosts and all(
            inventory[e["entityValue"]["guid"]]["endpointName"] == e["entityValue"]["name"] for e in hosts
        )
        ids = {a["id"] for a in sim.expected("iam_accounts")}
        assert set(r["ownerIds"]) <= ids
    for r in sim.expected("response_tasks"):
        assert r["account"] in emails
        if "agentGuid" in r:
            assert inventory[r["agentGuid"]]["endpointName"] == r["endpointName"]
    logons = [r for r in sim.expected("audit_logs") if r["category"] == "Logon and Logoff"]
    assert logons and {r["loggedUser"] for r in logons} <= emails
    assert all(r["accessType"] == "Console" and r["activity"] in ("Log on", "Log off") for r in logons)
    roles = {a["email"]: a["role"] for a in sim.expected("iam_accounts")}
    assert all(r["loggedRole"] == roles[r["loggedUser"]] for r in logons)
    suspicious = {(r["type"], r[r["type"]]): r for r in sim.expected("suspicious_objects")}
    shared = [
        k for k in ((e["type"], e[e["type"]]) for e in sim.expected("exception_objects")) if k in suspicious
    ]
    assert shared and all(suspicious[k]["inExceptionList"] for k in shared)
    assert sum(r["inExceptionList"] for r in suspicious.values()) == len(shared)


def test_last_logons_recent_stale_and_never(sim: Simulator) -> None:
    last = sim.last_logons()
    accounts = {a["email"]: a for a in sim.expected("iam_accounts")}
    assert set(last) == set(accounts) and len(accounts) >= 30
    now = sim.now
    ages = {email: None if t is None else now - datetime.fromisoformat(t) for email, t in last.items()}
    recent = [e for e, age in ages.items() if age is not None and age < timedelta(days=7)]
    stale = [
        e for e, age in ages.items() if age is not None and timedelta(days=90) < age <= timedelta(days=170)
    ]
    never = [e for e, age in ages.items() if age is None]
    assert len(recent) >= 10 and len(stale) >= 4 and len(never) >= 4
    assert len(recent) + len(stale) + len(never) == len(accounts)
    assert all(accounts[e]["status"] != "invited" for e in recent + stale)
    assert any(accounts[e]["status"] == "enabled" for e in never)
    assert {e for e, a in accounts.items() if a["status"] == "invited"} <= set(never)


CONTRACT_FIELDS = {
    "endpoint_activities": """
    uuid eventTime eventTimeDT productCode endpointGuid endpointHostName endpointIp eventId
    eventSubId processCmd processFileHashSha1 processFilePath parentCmd filterRiskLevel
    """,
    "email_activities": """
    uuid eventTime eventTimeDT productCode msgUuid mailMsgSubject mailMsgId mailSenderIp
    mailFromAddresses mailToAddresses mailDirection mailWholeHeader
    """,
    "network_activities": """
    uuid eventTime eventTimeDT productCode filterRiskLevel
    """,
    "cloud_activities": """
    uuid eventTime eventTimeDT productCode
    """,
    "mobile_activities": """
    uuid eventTime eventTimeDT productCode endpointGuid endpointHostName endpointIp endpointModel
    osName eventId eventSubId logonUser appLabel appPkgName appPublicKeySha1 objectFilePath
    objectFileHashSha256 filterRiskLevel
    """,
    "identity_activities": """
    uuid eventTime eventTimeDT productCode eventName eventId
    """,
    "workbench_alerts": """
    id schemaVersion status investigationStatus investigationResult workbenchLink alertProvider
    model modelId modelType score severity createdDateTime updatedDateTime firstInvestigatedDateTime
    incidentId caseId ownerIds description impactScope matchedRules indicators
    """,
    "oat_detections": """
    uuid source entityType entityName detectedDateTime ingestedDateTime endpoint filters detail
    """,
    "audit_logs": """
    loggedDateTime ingestedDateTime loggedUser loggedRole accessType category activity result
    details
    """,
    "response_tasks": """
    id status action description account createdDateTime lastActionDateTime error
    """,
    "iam_accounts": """
    id email role status authType description createdDateTime lastModifiedDateTime
    """,
    "api_keys": """
    id name status role description createdDateTime expiredDateTime lastUsedDateTime
    lastModifiedDateTime
    """,
    "custom_scripts": """
    id fileName fileType description
    """,
    "suspicious_objects": """
    type description scanAction riskLevel inExceptionList expiredDateTime lastModifiedDateTime
    """,
    "exception_objects": """
    type description lastModifiedDateTime
    """,
    "endpoints": """
    agentGuid endpointName displayName type osName osPlatform osVersion osKernelVersion
    osArchitecture cpuArchitecture lastUsedIp ipAddresses serialNumber lastLoggedOnUser
    isolationStatus serviceGatewayOrProxy securityPolicy securityPolicyOverriddenStatus
    creditAllocatedLicenses eppAgent edrSensor
    """,
}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# cloud activity holds two data sources (Trend's API reference): CloudTrail and VPC flow logs
SOURCE_FIELDS = {
    "cloud_activities": {
        "sct": "eventID eventName eventSource awsRegion sourceIPAddress userAgent userIdentity",
        "vpc": "src dst dpt packets bytes action vpcId flowDirection",
    }
}


@pytest.mark.parametrize("stream", list(CONTRACT_FIELDS))
def test_records_carry_the_contract_fields(sim: Simulator, stream: str) -> None:
    records = sim.expected(stream)
    fields = CONTRACT_FIELDS[stream].split()
    assert records and all(set(fields) <= set(r) for r in records), set(fields) - set(records[0])
    for product, names in SOURCE_FIELDS.get(stream, {}).items():  # a data source's own fields
        of_source = [r for r in records if r["productCode"] == product]
        assert of_source and all(set(names.split()) <= set(r) for r in of_source), product
    assert "value" not in records[0] and "recordHash" not in records[0]  # added by the tap, not the API
    for r in records:
        for name, v in r.items():
            if name.endswith("DateTime") and v is not None:
                assert (isinstance(v, str) and len(v) == 20 and v.endswith("Z")) or (
                    name == "loggedDateTime" and len(v) == 19 and v[10] == " "  # the API's other form
                ), (name, v)
        if "eventTime" in r:
            assert isinstance(r["eventTime"], int) or r["productCode"] == "sct", r["eventTime"]
            assert r["eventTimeDT"].endswith("+00:00")
        if stream in ("suspicious_objects", "exception_objects"):
            assert isinstance(r[r["type"]], str)
    strings = [s for r in records for s in _strings(r)]
    assert any(not s.isascii() for s in strings) or stream in ("custom_scripts",)


def test_hostile_strings_occur_in_the_new_families(sim: Simulator) -> None:
    streams = [s for s in CONTRACT_FIELDS if s not in ("audit_logs",)]
    strings = [s for stream in streams for r in sim.expected(stream) for s in _strings(r)]
    for prefix in "=+-@":
        assert any(s.startswith(prefix) for s in strings), prefix
    for needle in (",", '"', "\n", "'"):
        assert any(needle in s for s in strings), needle


def test_expected_rejects_unknown_streams_and_is_deterministic(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="endpoint_activities"):
        sim.expected("nosuch")
    again = Simulator(seed=1, scale=200, start="2024-10-01", days=3)
    for stream in PATHS:
        assert again.expected(stream, START, END) == sim.expected(stream, START, END), stream
    other = Simulator(seed=2, scale=200, start="2024-10-01", days=3)
    assert other.expected("oat_detections", START, END) != sim.expected("oat_detections", START, END)


def test_a_dense_range_generates_quickly() -> None:
    import time

    big = Simulator(seed=9, scale=2000, start="2024-10-01", days=14)
    for stream, count in (
        ("endpoint_activities", 14_000),
        ("oat_detections", 7_000),
        ("workbench_alerts", 1_400),
    ):
        began = time.process_time()  # CPU time: other tests running beside this one do not count
        assert big.expected_count(stream, "2024-10-01", "2024-10-15") == count
        assert time.process_time() - began < 4.0, stream


def test_cli_counts_any_stream_and_honours_now() -> None:
    import subprocess
    import sys

    data = ["--seed", "1", "--scale", "200", "--start", "2024-10-01", "--days", "3"]
    sim = Simulator(seed=1, scale=200, start="2024-10-01", days=3, now="2024-10-10T00:00:00Z")
    day = ("2024-10-02T00:00:00Z", "2024-10-03T00:00:00Z")
    cases = [
        (
            ["--stream", "oat_detections", "--from", day[0], "--to", day[1]],
            sim.expected_count("oat_detections", *day),
        ),
        (["--stream", "iam_accounts"], sim.expected_count("iam_accounts")),
        (
            ["--stream", "audit_logs", "--from", "2024-10-01T00:00:00Z"],
            sim.expected_count("audit_logs", "2024-10-01"),
        ),
    ]
    for extra, want in cases:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.simulator",
                "count",
                *data,
                "--now",
                "2024-10-10T00:00:00Z",
                *extra,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert out.stdout == f"{want}\n"

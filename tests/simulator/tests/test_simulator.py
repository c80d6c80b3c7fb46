"""The Vision One simulator over real HTTP: auth, validation, paging, filters, limits, faults, data, CLI."""

from __future__ import annotations

import http.client
import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.simulator import Dataset, Simulator, wire
from tests.simulator.data import FIELDS, _uuid, _uuid_text, _uuid_value, materialize, materialize_json

KEY = "sim-key"
SEARCH = "/v3.0/search/detections"
START, END = "2024-10-01T00:00:00Z", "2024-10-04T00:00:00Z"
RANGE = {"startDateTime": START, "endDateTime": END}


def get(
    sim: Simulator,
    path: str = SEARCH,
    *,
    params: dict[str, Any] | None = None,
    query: str | bytes | None = "*",
    key: str | None = KEY,
    timeout: float = 10,
) -> requests.Response:
    headers: dict[str, str | bytes] = {}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if query is not None:
        headers["TMV1-Query"] = query
    url = path if path.startswith("http") else sim.base_url + path
    return requests.get(url, params=params, headers=headers, timeout=timeout)


def fetch_all(sim: Simulator, params: dict[str, Any], query: str | bytes = "*") -> tuple[list[dict], int]:
    """Follow nextLink to the end, re-sending the query header; returns (items, pages)."""
    response = get(sim, params=params, query=query)
    items, pages = [], 0
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["progressRate"] == 100
        items.extend(body["items"])
        pages += 1
        if "nextLink" not in body:
            return items, pages
        response = get(sim, body["nextLink"], query=query)


def error_of(response: requests.Response) -> dict[str, str]:
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.json()["error"]


def all_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in all_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in all_strings(v)]
    return []


# -- auth and validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_bad_or_missing_key_is_401_with_the_error_envelope(visionone_sim: Simulator, key: str | None) -> None:
    response = get(visionone_sim, params=RANGE, key=key)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "InvalidCredentials", "message": "Invalid or expired API key."}
    }
    assert "wrong-key" not in response.text
    assert get(visionone_sim, "/v3.0/healthcheck/connectivity", key=key).status_code == 401


def test_healthcheck_unknown_path_and_other_methods(visionone_sim: Simulator) -> None:
    assert get(visionone_sim, "/v3.0/healthcheck/connectivity").json() == {"status": "available"}
    missing = get(visionone_sim, "/v3.0/nothing/here")
    assert missing.status_code == 404 and error_of(missing)["code"] == "NotFound"
    post = requests.post(
        visionone_sim.base_url + SEARCH, headers={"Authorization": f"Bearer {KEY}"}, json=[{}]
    )
    assert post.status_code == 405 and error_of(post)["code"] == "MethodNotAllowed"


@pytest.mark.parametrize("top", ["7", "200", "abc", "0", "-50", ""])
def test_top_outside_the_allowed_set_is_400(visionone_sim: Simulator, top: str) -> None:
    response = get(visionone_sim, params={**RANGE, "top": top})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "BadRequest" and error["message"].startswith("Invalid value for top: ")


@pytest.mark.parametrize("top", [50, 100, 500, 1000, 5000])
def test_allowed_tops_page_at_that_size(visionone_sim: Simulator, top: int) -> None:
    body = get(visionone_sim, params={**RANGE, "top": top}).json()
    assert len(body["items"]) == min(top, visionone_sim.count_detections(START, END))


def test_missing_or_bad_query_header_is_400_naming_the_problem(visionone_sim: Simulator) -> None:
    missing = get(visionone_sim, params=RANGE, query=None)
    assert missing.status_code == 400
    assert missing.json() == {"error": {"code": "BadRequest", "message": "TMV1-Query header is required."}}
    for query, needle in [
        ("nosuchfield:x", "unknown field 'nosuchfield'"),
        ("(act:Block", "expected ')'"),
        ('act:"Block', "unterminated"),
        ("act:Block productCode:sao", "expected 'and' or 'or'"),
        ("act:Block and", "expected field:value"),
        ("dpt:https", "integer"),
        ("", "empty"),
    ]:
        response = get(visionone_sim, params=RANGE, query=query)
        assert response.status_code == 400, query
        assert needle in error_of(response)["message"], (query, response.text)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"startDateTime": "2024-10-01T00:00:00.000Z"}, "startDateTime"),
        ({"startDateTime": "2024-10-01"}, "startDateTime"),
        ({"startDateTime": "2024-10-01T00:00:00+00:00"}, "startDateTime"),
        ({"endDateTime": "2024-10-02 00:00:00Z"}, "endDateTime"),
        ({"endDateTime": "2024-13-02T00:00:00Z"}, "endDateTime"),
        ({"startDateTime": "2024-10-02T00:00:00Z", "endDateTime": "2024-10-01T00:00:00Z"}, "endDateTime"),
        ({"mode": "fast"}, "mode"),
    ],
)
def test_bad_times_and_modes_are_400_naming_the_parameter(
    visionone_sim: Simulator, params: dict, name: str
) -> None:
    response = get(visionone_sim, params=params)
    assert response.status_code == 400
    assert name in error_of(response)["message"]


def test_default_range_is_the_last_24_hours(visionone_sim: Simulator) -> None:
    # the simulator's "now" is midnight after the last data day, so "now - 24 h .. now" is that last day
    assert visionone_sim.now.isoformat() == "2024-10-04T00:00:00+00:00"
    items, _ = fetch_all(visionone_sim, {"top": 50})
    assert {i["uuid"] for i in items} == visionone_sim.detection_ids("2024-10-03", "2024-10-04")
    assert len(items) == 200
    with Simulator(seed=1, scale=200, days=3, now="2025-01-01T00:00:00Z") as later:
        assert get(later).json() == {"items": [], "progressRate": 100}


# -- paging, ranges, filters --------------------------------------------------------------------------


def test_paging_via_nextlink_returns_every_detection_once_newest_first(visionone_sim: Simulator) -> None:
    first = get(visionone_sim, params={**RANGE, "top": 50}).json()
    link = urlsplit(first["nextLink"])
    assert f"{link.scheme}://{link.netloc}" == visionone_sim.base_url and link.path == SEARCH
    link_params = parse_qs(link.query)
    assert link_params["startDateTime"] == [START] and link_params["endDateTime"] == [END]
    assert link_params["top"] == ["50"] and link_params["skipToken"]

    items, pages = fetch_all(visionone_sim, {**RANGE, "top": 50})
    ids = [item["uuid"] for item in items]
    expected = visionone_sim.count_detections(START, END)
    assert expected == 600  # scale 200 x 3 days, all inside the range
    assert len(ids) == len(set(ids)) == expected
    assert set(ids) == visionone_sim.detection_ids(START, END)
    assert pages == 12
    keys = [(item["eventTime"], item["uuid"]) for item in items]
    assert keys == sorted(keys, reverse=True)


def test_nextlink_needs_the_same_query_and_an_untampered_token(visionone_sim: Simulator) -> None:
    next_link = get(visionone_sim, params={**RANGE, "top": 50}, query="act:Block").json()["nextLink"]
    assert get(visionone_sim, next_link, query="act:Block").status_code == 200
    assert get(visionone_sim, next_link, query=None).status_code == 400
    assert "skipToken" in error_of(get(visionone_sim, next_link, query="act:Log"))["message"]
    token = parse_qs(urlsplit(next_link).query)["skipToken"][0]
    tampered = next_link.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert get(visionone_sim, tampered, query="act:Block").status_code == 400
    other_top = next_link.replace("top=50", "top=100")
    assert get(visionone_sim, other_top, query="act:Block").status_code == 400


def test_start_is_inclusive_and_end_exclusive_at_a_record_boundary(visionone_sim: Simulator) -> None:
    on_second = [r for r in visionone_sim.records() if r["eventTime"] % 1000 == 0]
    assert on_second, "seed 1 has a detection at a whole second"
    record = on_second[0]
    moment = record["eventTimeDT"].replace("+00:00", "Z")
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record["eventTime"] // 1000 - 1))
    after = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record["eventTime"] // 1000 + 1))

    starting = {
        i["uuid"] for i in fetch_all(visionone_sim, {"startDateTime": moment, "endDateTime": after})[0]
    }
    ending = {
        i["uuid"] for i in fetch_all(visionone_sim, {"startDateTime": before, "endDateTime": moment})[0]
    }
    assert record["uuid"] in starting
    assert record["uuid"] not in ending
    assert visionone_sim.detection_ids(moment, after) == starting
    assert visionone_sim.detection_ids(before, moment) == ending

    # a day window matches a plain Python filter, and windows that touch never share a record
    day1 = {"startDateTime": "2024-10-01T00:00:00Z", "endDateTime": "2024-10-02T00:00:00Z"}
    day2 = {"startDateTime": "2024-10-02T00:00:00Z", "endDateTime": "2024-10-03T00:00:00Z"}
    got1 = {i["uuid"] for i in fetch_all(visionone_sim, day1)[0]}
    got2 = {i["uuid"] for i in fetch_all(visionone_sim, day2)[0]}
    lo, hi = 1727740800000, 1727827200000
    assert got1 == {r["uuid"] for r in visionone_sim.records() if lo <= r["eventTime"] < hi}
    assert len(got1) == len(got2) == 200 and not got1 & got2


def _has(value: Any, needle: str) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(v is not None and needle.casefold() in str(v).casefold() for v in values)


QUERIES: list[tuple[str, Callable[[dict], bool]]] = [
    ("*", lambda r: True),
    ("productCode:sao", lambda r: _has(r["productCode"], "sao")),
    (
        "(productCode:sao or productCode:xes) and act:Block",
        lambda r: (
            (_has(r["productCode"], "sao") or _has(r["productCode"], "xes")) and _has(r.get("act"), "block")
        ),
    ),
    (
        "productCode:sao OR productCode:xes AND act:Block",  # and binds tighter than or
        lambda r: (
            _has(r["productCode"], "sao") or (_has(r["productCode"], "xes") and _has(r.get("act"), "block"))
        ),
    ),
    ("not act:Block", lambda r: not _has(r.get("act"), "block")),
    ("productCode:SDS AND act:Block", lambda r: r["productCode"] == "sds" and _has(r.get("act"), "Block")),
    ('act:"Pass, logged"', lambda r: _has(r.get("act"), "Pass, logged")),
    (
        'mailMsgSubject:"invoice #4471, due \\"today\\""',
        lambda r: _has(r.get("mailMsgSubject"), 'invoice #4471, due "today"'),
    ),
    ("mailMsgSubject:*", lambda r: "mailMsgSubject" in r),
    (
        "not (mailMsgSubject:* or endpointGUID:*)",
        lambda r: "mailMsgSubject" not in r and "endpointGUID" not in r,
    ),
    ('processCmd:"-enc"', lambda r: _has(r.get("processCmd"), "-enc")),
    (
        "fileName:.exe and not filterRiskLevel:info",
        lambda r: _has(r.get("fileName"), ".exe") and r["filterRiskLevel"] != "info",
    ),
    ("dpt:443", lambda r: r.get("dpt") == 443),
    ("tags:MITREV9.T1059.001", lambda r: _has(r.get("tags"), "MITREV9.T1059.001")),
    ("duser:finance@corp.example", lambda r: _has(r.get("duser"), "finance@corp.example")),
]


@pytest.mark.parametrize(("query", "expected"), QUERIES, ids=[q for q, _ in QUERIES])
def test_queries_match_an_independent_python_filter(
    visionone_sim: Simulator, query: str, expected: Callable[[dict], bool]
) -> None:
    want = {r["uuid"] for r in visionone_sim.records(START, END) if expected(r)}
    items, _ = fetch_all(visionone_sim, {**RANGE, "top": 100}, query=query)
    got = [i["uuid"] for i in items]
    assert len(got) == len(set(got))
    assert set(got) == want
    assert visionone_sim.count_detections(START, END, query) == len(want)
    if query != "*":
        assert 0 < len(want) < 600, "the query should select some but not all records"


def test_unicode_queries_sent_as_utf8_and_exact_hash_fields(visionone_sim: Simulator) -> None:
    records = visionone_sim.records(START, END)
    items, _ = fetch_all(visionone_sim, RANGE, query="endpointHostName:東京".encode())
    assert (
        {i["uuid"] for i in items}
        == {r["uuid"] for r in records if _has(r.get("endpointHostName"), "東京")}
        != set()
    )

    sha256 = next(r["processFileHashSha256"] for r in records if "processFileHashSha256" in r)
    want = {r["uuid"] for r in records if r.get("processFileHashSha256") == sha256}
    items, _ = fetch_all(visionone_sim, RANGE, query=f"processFileHashSha256:{sha256.upper()}")
    assert {i["uuid"] for i in items} == want
    assert (
        get(visionone_sim, params=RANGE, query=f"processFileHashSha256:{sha256[:20]}").json()["items"] == []
    )


def test_count_only_and_select(visionone_sim: Simulator) -> None:
    body = get(visionone_sim, params={**RANGE, "mode": "countOnly"}, query="act:Block").json()
    assert body == {"totalCount": visionone_sim.count_detections(START, END, "act:Block")}
    page = get(visionone_sim, params={**RANGE, "top": 50, "select": "act,policyName,nosuch"}).json()
    assert all(
        list(item) == [k for k in ("uuid", "eventTime", "act", "policyName") if k in item]
        and set(item) >= {"uuid", "eventTime"}
        for item in page["items"]
    )
    assert any("policyName" in item for item in page["items"])
    assert "select=act,policyName,nosuch" in page["nextLink"]
    full = get(visionone_sim, params={**RANGE, "top": 50, "select": "empty", "mode": "performance"}).json()
    assert len(full["items"][0]) > 30 and set(full["items"][0]) <= set(FIELDS)


# -- limits and faults ---------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after() -> None:
    with Simulator(seed=2, scale=10, days=1, api_key=KEY, rate_limit_per_minute=3) as sim:
        assert get(sim, params=RANGE, key="bad").status_code == 401  # not counted
        assert [get(sim, params=RANGE).status_code for _ in range(3)] == [200, 200, 200]
        limited = get(sim, params=RANGE)
        assert limited.status_code == 429
        assert limited.json() == {"error": {"code": "TooManyRequests", "message": "Too many API requests"}}
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        sim.config.rate_limit_per_minute = 0  # runtime change
        assert get(sim, params=RANGE).status_code == 200
        assert [r["status"] for r in sim.requests] == [401, 200, 200, 200, 429, 200]


def test_fault_rate_one_gives_500_503_and_stalls() -> None:
    seen: dict[str, int] = {"500": 0, "503": 0, "stall": 0}
    with Simulator(seed=4, scale=10, days=1, api_key=KEY, fault_rate=1.0, fault_stall_seconds=1.0) as sim:
        for _ in range(15):
            try:
                response = get(sim, params=RANGE, timeout=0.3)
            except requests.exceptions.ReadTimeout:
                seen["stall"] += 1
                continue
            seen[str(response.status_code)] += 1
            if response.status_code == 500:
                assert error_of(response)["code"] == "InternalServerError"
            else:
                assert response.headers["Content-Type"].startswith("text/html")
                assert response.text == "<html><body><h1>503 Service Unavailable</h1></body></html>"
        assert all(seen.values()), seen
        sim.config.fault_rate = 0.0
        assert get(sim, params=RANGE).status_code == 200
    # a stall that the client waits out is answered normally, after the stall (the simulator's sleep,
    # recorded here instead of waited)
    with Simulator(seed=4, scale=10, days=1, api_key=KEY, fault_stall_seconds=0.3) as sim:
        slept: list[float] = []
        sim.sleep = lambda seconds: slept.append(seconds) or False  # type: ignore[method-assign]
        sim.fail_next(1, "timeout")
        assert get(sim, params=RANGE, timeout=5).status_code == 200
        assert slept == [0.3]
        assert get(sim, params=RANGE, timeout=5).status_code == 200
        assert slept == [0.3]  # no stall without the fault


def test_fail_next_and_fail_windows() -> None:
    with Simulator(seed=4, scale=10, days=3, api_key=KEY, fault_stall_seconds=2) as sim:
        sim.fail_next(2, status=503)
        assert [get(sim, params=RANGE).status_code for _ in range(3)] == [503, 503, 200]
        sim.fail_next(1, status=429)
        assert get(sim, params=RANGE).headers["Retry-After"] == "1"
        sim.config.fault_retry_after = 0  # for tests that are not about the wait
        sim.fail_next(1, status=429)
        assert get(sim, params=RANGE).headers["Retry-After"] == "0"
        sim.fail_next(1, status="reset")
        with pytest.raises(requests.exceptions.ConnectionError):
            get(sim, params=RANGE)
        sim.fail_next(1, status="timeout")
        with pytest.raises(requests.exceptions.ReadTimeout):
            get(sim, params=RANGE, timeout=0.2)
        assert get(sim, params=RANGE).status_code == 200

        day2 = {"startDateTime": "2024-10-02T00:00:00Z", "endDateTime": "2024-10-03T00:00:00Z"}
        sim.fail_windows("2024-10-02T00:00:00Z", status=500)
        assert [get(sim, params=day2).status_code for _ in range(3)] == [500, 500, 500]
        assert get(sim, params=RANGE).status_code == 200
        sim.clear_faults()
        assert get(sim, params=day2).status_code == 200
        with pytest.raises(ValueError):
            sim.fail_next(1, status="explode")  # type: ignore[arg-type]
        statuses = [r["status"] for r in sim.requests]
        assert statuses.count(0) == 1  # the reset


def test_requests_are_recorded_with_the_key_redacted(visionone_sim: Simulator) -> None:
    before = len(visionone_sim.requests)
    get(visionone_sim, params={**RANGE, "top": 50}, query="act:Block")
    entry = visionone_sim.requests[-1]
    assert len(visionone_sim.requests) == before + 1
    assert entry["method"] == "GET" and entry["path"] == SEARCH and entry["status"] == 200
    assert entry["query"] == {**RANGE, "top": "50"}
    assert entry["headers"]["Authorization"] == "REDACTED"
    assert entry["headers"].get("tmv1-query") == entry["headers"]["TMV1-Query"] == "act:Block"
    assert KEY not in json.dumps(visionone_sim.requests)
    stats = requests.get(visionone_sim.base_url + "/_simulator/stats", timeout=5).json()
    assert stats["requests"] == len(visionone_sim.requests)  # the stats call itself is not recorded
    assert sum(stats["by_status"].values()) == stats["requests"]


def test_keep_alive_serves_several_requests_on_one_connection(visionone_sim: Simulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", visionone_sim.port, timeout=5)
    headers = {"Authorization": f"Bearer {KEY}", "TMV1-Query": "*"}
    for _ in range(3):
        connection.request("GET", f"{SEARCH}?startDateTime={START}&endDateTime={END}&top=50", headers=headers)
        response = connection.getresponse()
        assert response.status == 200 and len(json.loads(response.read())["items"]) == 50
    connection.close()


# -- data --------------------------------------------------------------------------------------------


def test_data_is_deterministic_per_seed() -> None:
    one = Dataset(1, 200, "2024-10-01", 3).records()
    again = Dataset(1, 200, "2024-10-01", 3).records()
    other = Dataset(2, 200, "2024-10-01", 3).records()
    assert one == again
    assert {r["uuid"] for r in one}.isdisjoint({r["uuid"] for r in other})


def test_data_shape_types_and_hostile_strings(visionone_sim: Simulator) -> None:
    records = visionone_sim.records()
    assert all(set(r) <= set(FIELDS) and 40 <= len(r) <= 90 for r in records)
    types = {"uuid": str, "eventTime": int, "eventTimeDT": str, "rt": str, "spt": int, "fileSize": str}
    for record in records:
        for name, kind in types.items():
            assert name not in record or isinstance(record[name], kind), name
        assert record["rt"] == record["rt_utc"] and record["rt"].endswith("Z") and len(record["rt"]) == 24
        assert record["eventTimeDT"].endswith("+00:00") and len(record["eventTimeDT"]) == 25
        if record["productCode"] in ("sca", "sem"):
            assert record["mailMsgSubject"]
        assert "processFileHash" not in record and "policy" not in record  # flat, as the API names them

    strings = [s for r in records for s in all_strings(r)]
    for prefix in "=+-@":
        assert any(s.startswith(prefix) for s in strings), prefix
    for needle in (",", '"', "\n"):
        assert any(needle in s for s in strings), needle
    assert any(not s.isascii() for s in strings)
    for field in ("processCmd", "mailMsgSubject", "request"):
        values = [r[field] for r in records if r.get(field)]
        assert any(v[0] in "=+-@" for v in values), field
    # per day exactly `scale` detections
    assert visionone_sim.count_detections("2024-10-02T00:00:00Z", "2024-10-03T00:00:00Z") == 200


def test_28000_records_generate_quickly() -> None:
    began = time.process_time()  # CPU time: other tests running beside this one do not count
    records = Dataset(9, 2000, "2024-10-01", 14).records()
    assert len(records) == 28_000
    assert time.process_time() - began < 2.0


def test_row_views_count_and_slice_as_the_list_of_rows_does() -> None:
    dataset = Dataset(3, 300, "2024-10-01", 3)
    lo, hi = dataset.start_ms + 3_600_000, dataset.end_ms - 7_200_000  # parts of the first and last day
    view, rows = dataset.view(lo, hi), dataset.rows(lo, hi)
    assert len(view) == len(rows) and list(view) == rows and rows == sorted(rows, reverse=True)
    for start, stop in ((0, 50), (250, 350), (280, 900), (len(rows) - 7, len(rows) + 5), (40, 40), (9, 3)):
        assert view[start:stop] == rows[start:stop], (start, stop)
    assert view[0] == rows[0] and view[-1] == rows[-1] and view[::97] == rows[::97]
    assert len(dataset.view(hi, lo)) == 0 and len(dataset.view()) == len(dataset) == 900


def test_uuid_values_order_and_format_as_the_uuids() -> None:
    rng = random.Random(5)
    values = [rng.getrandbits(128) for _ in range(2000)]
    assert all(_uuid_text(_uuid_value(v)) == _uuid(v) for v in values)
    assert sorted(values, key=_uuid_value) == sorted(values, key=_uuid)


def test_pages_written_from_rows_are_the_json_of_their_records() -> None:
    dataset = Dataset(4, 400, "2024-10-01", 2)  # every product, event and shape
    rows = dataset.rows()
    assert all(materialize_json(4, row) == wire.encode(materialize(4, row)) for row in rows)
    body = {"items": wire.Items(rows[:300], dataset.expand, dataset.to_json), "progressRate": 100}
    plain = {"items": [dataset.expand(row) for row in rows[:300]], "progressRate": 100}
    assert wire.dumps(body) == json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode()
    assert body["items"] == plain["items"] and len(body["items"]) == 300


# -- command line --------------------------------------------------------------------------------------


def test_cli_count_prints_the_same_number(visionone_sim: Simulator) -> None:
    data = ["--seed", "1", "--scale", "200", "--start", "2024-10-01", "--days", "3"]
    cases = [
        ([], visionone_sim.count_detections()),
        (
            ["--from", "2024-10-02T06:00:00Z", "--to", "2024-10-03T00:00:00Z", "--query", "act:Block"],
            visionone_sim.count_detections("2024-10-02T06:00:00Z", "2024-10-03T00:00:00Z", "act:Block"),
        ),
    ]
    for extra, expected in cases:
        out = subprocess.run(
            [sys.executable, "-m", "tests.simulator", "count", *data, *extra],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert out.stdout == f"{expected}\n"


def test_cli_serves_then_exits_cleanly_on_sigterm() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.simulator",
            "--port",
            "0",
            "--scale",
            "10",
            "--days",
            "1",
            "--api-key",
            "k",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("simulator listening on http://127.0.0.1:")
        base = line.split()[-1]
        response = requests.get(
            f"{base}/v3.0/healthcheck/connectivity", headers={"Authorization": "Bearer k"}, timeout=5
        )
        assert response.json() == {"status": "available"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None and proc.stderr.read() == ""  # quiet: no per-request log lines
    finally:
        if proc.poll() is None:
            proc.kill()

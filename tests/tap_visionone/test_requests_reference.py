"""What the tap sends to the non-search Vision One endpoints stays inside Trend's API reference.

``REFERENCE`` is the reference's parameter table for each list endpoint (paths, query parameter names, the
allowed ``top`` values, where the filter goes: ``TMV1-Filter`` header or ``filter`` query parameter, and the
allowed values of ``dateTimeTarget``/``labels``). The tap is checked three ways against it: its stream
classes (no I/O), every request it actually sent to the simulator in one run, and the simulator itself,
which must refuse what the reference does not allow with the API's 400 error body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tap_visionone.streams import STREAMS
from tap_visionone.streams.search import SearchStream
from tests.simulator import PATHS, Simulator
from tests.tap_runner import run_tap

KEY = "reference-key"
START, END = "2024-10-01T00:00:00Z", "2024-10-03T00:00:00Z"
API_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
LIST_TOPS = (50, 100, 200)


@dataclass(frozen=True)
class Reference:
    """One endpoint's request parameters as Trend's API reference lists them."""

    query: frozenset[str]
    tops: tuple[int, ...]  # () = the endpoint takes no ``top``
    filter_in: str  # "TMV1-Filter" (header) or "filter" (query parameter)
    choices: dict[str, frozenset[str]] = field(default_factory=dict)
    times: frozenset[str] = frozenset({"startDateTime", "endDateTime"})


def _ref(query: str, tops: tuple[int, ...], filter_in: str, **choices: str) -> Reference:
    return Reference(
        frozenset(query.split()), tops, filter_in, {k: frozenset(v.split()) for k, v in choices.items()}
    )


REFERENCE: dict[str, Reference] = {
    "workbench_alerts": _ref(
        "startDateTime endDateTime dateTimeTarget orderBy",
        (),
        "TMV1-Filter",
        dateTimeTarget="createdDateTime updatedDateTime firstInvestigatedDateTime",
    ),
    "oat_detections": Reference(
        frozenset(
            {
                "detectedStartDateTime",
                "detectedEndDateTime",
                "ingestedStartDateTime",
                "ingestedEndDateTime",
                "top",
            }
        ),
        LIST_TOPS,
        "TMV1-Filter",
        times=frozenset(
            {"detectedStartDateTime", "detectedEndDateTime", "ingestedStartDateTime", "ingestedEndDateTime"}
        ),
    ),
    "audit_logs": _ref(
        "startDateTime endDateTime dateTimeTarget orderBy top labels",
        LIST_TOPS,
        "TMV1-Filter",
        dateTimeTarget="loggedDateTime ingestedDateTime",
        labels="none matched all",
    ),
    "response_tasks": _ref(
        "startDateTime endDateTime dateTimeTarget filter top",
        LIST_TOPS,
        "filter",
        dateTimeTarget="createdDateTime lastActionDateTime",
    ),
    "iam_accounts": _ref("top", LIST_TOPS, "TMV1-Filter"),
    "api_keys": _ref("orderBy top", LIST_TOPS, "TMV1-Filter"),
    "custom_scripts": _ref("filter", (), "filter"),
    "suspicious_objects": _ref("orderBy startDateTime endDateTime top", LIST_TOPS, "TMV1-Filter"),
    "exception_objects": _ref("orderBy startDateTime endDateTime top", LIST_TOPS, "TMV1-Filter"),
    "endpoints": _ref("orderBy top select", (10, 50, 100, 200, 500, 1000), "TMV1-Filter"),
}
NON_SEARCH = {s.name: s for s in STREAMS if not issubclass(s, SearchStream)}
# A filter per stream that the reference allows (and the simulator's records match).
OPTIONS: dict[str, dict[str, str]] = {
    "workbench_alerts": {"filter": "severity eq 'high' or severity eq 'critical'"},
    "oat_detections": {"filter": "riskLevel eq 'high' or riskLevel eq 'medium'"},
    "audit_logs": {"filter": "category eq 'Logon and Logoff'"},
    "response_tasks": {"filter": "status eq 'succeeded'"},
    "iam_accounts": {"filter": "status eq 'enabled'"},
    "api_keys": {"filter": "status eq 'enabled'"},
    "custom_scripts": {"filter": "fileType eq 'powershell'"},
    "suspicious_objects": {"filter": "type eq 'url' or type eq 'domain'"},
    "exception_objects": {"filter": "not (type eq 'ip')"},
    "endpoints": {"filter": "osPlatform eq 'windows'", "select": "endpointName,eppAgentStatus"},
}


def test_the_reference_table_covers_every_non_search_stream() -> None:
    assert set(REFERENCE) == set(NON_SEARCH) == set(OPTIONS)


@pytest.mark.parametrize("stream", sorted(REFERENCE))
def test_stream_classes_follow_the_reference(stream: str) -> None:
    cls, ref = NON_SEARCH[stream], REFERENCE[stream]
    assert set(cls.page_sizes) <= set(ref.tops), f"{stream}: page sizes outside the allowed top values"
    if not ref.tops:
        assert not cls.page_sizes, f"{stream}: the endpoint takes no top"
    if ref.filter_in == "filter":
        assert (cls.filter_param, cls.filter_header) == ("filter", None)
    else:
        assert (cls.filter_param, cls.filter_header) == (None, ref.filter_in)
    for name, value in cls.fixed_params.items():
        assert name in ref.query, f"{stream}: {name} is not a parameter of this endpoint"
        if name in ref.choices:
            assert value in ref.choices[name], f"{stream}: {name}={value} is not an allowed value"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed=11, scale=40, start="2024-10-01", days=2, api_key=KEY) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def sent(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    """Every request of one tap run over the ten non-search streams, by stream."""
    config = {
        "api_key": KEY,
        "api_url": sim.base_url,
        "start_date": START,
        "end_date": END,
        "window_size": "1d",
        "max_workers": 2,
        "rate_limit_per_minute": 0,
        "stream_options": OPTIONS,
    }
    sim.clear_requests()
    run = run_tap(Path(tmp_path_factory.mktemp("reference")), config, streams=sorted(REFERENCE))
    assert run.returncode == 0, run.stderr[-2000:]
    by_path = {PATHS[name]: name for name in REFERENCE}
    out: dict[str, list[dict]] = {name: [] for name in REFERENCE}
    for request in sim.requests:
        assert request["path"] in by_path, f"a request to {request['path']}"
        out[by_path[request["path"]]].append(request)
    return out


@pytest.mark.parametrize("stream", sorted(REFERENCE))
def test_every_request_the_tap_sent_is_in_the_reference(stream: str, sent: dict[str, list[dict]]) -> None:
    ref, requests_sent = REFERENCE[stream], sent[stream]
    assert requests_sent, f"{stream}: no request"
    text = OPTIONS[stream]["filter"]
    for request in requests_sent:
        query, headers = request["query"], request["headers"]
        assert request["status"] == 200, (stream, query)
        assert set(query) - {"skipToken"} <= ref.query, f"{stream}: {sorted(set(query) - ref.query)}"
        if ref.tops:
            assert int(query["top"]) in ref.tops, f"{stream}: top={query['top']}"
        assert "TMV1-Query" not in headers
        if ref.filter_in == "filter":
            assert query.get("filter") == text and "TMV1-Filter" not in headers
        else:
            assert headers.get("TMV1-Filter") == text and "filter" not in query
        for name, allowed in ref.choices.items():
            assert query.get(name, next(iter(allowed))) in allowed, f"{stream}: {name}={query.get(name)}"
        for name in ref.times & set(query):
            assert API_TIME.fullmatch(query[name]), f"{stream}: {name}={query[name]}"


def test_the_tap_sends_what_its_streams_need(sent: dict[str, list[dict]]) -> None:
    """The choices the tap makes inside the reference (the windows apply to the replication key)."""
    first = {name: [r["query"] for r in reqs if "skipToken" not in r["query"]] for name, reqs in sent.items()}
    assert {q["dateTimeTarget"] for q in first["workbench_alerts"]} == {"updatedDateTime"}
    assert {q["orderBy"] for q in first["workbench_alerts"]} == {"updatedDateTime asc"}
    assert {(q["dateTimeTarget"], q["labels"]) for q in first["audit_logs"]} == {("loggedDateTime", "all")}
    assert {q["dateTimeTarget"] for q in first["response_tasks"]} == {"lastActionDateTime"}
    assert all({"ingestedStartDateTime", "detectedStartDateTime"} <= set(q) for q in first["oat_detections"])
    assert {q["select"] for q in first["endpoints"]} == {"agentGuid,endpointName,eppAgentStatus"}


# -- the simulator refuses what the reference does not allow ------------------------------------------------


def get(
    sim: Simulator, stream: str, params: dict | None = None, headers: dict | None = None
) -> requests.Response:
    return requests.get(
        sim.base_url + PATHS[stream],
        params=params,
        headers={"Authorization": f"Bearer {KEY}", **(headers or {})},
        timeout=10,
    )


def refused(response: requests.Response, *words: str) -> str:
    """The message of a 400 in the API's error envelope (which must name ``words``)."""
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["code"] and all(w in error["message"] for w in words), error
    return error["message"]


def _window(stream: str) -> dict[str, str]:
    if stream == "oat_detections":
        return {"ingestedStartDateTime": START, "ingestedEndDateTime": END}
    if stream in ("workbench_alerts", "audit_logs", "response_tasks"):
        return {"startDateTime": START, "endDateTime": END}
    return {}


@pytest.mark.parametrize("stream", sorted(REFERENCE))
def test_the_simulator_refuses_a_top_outside_the_reference(sim: Simulator, stream: str) -> None:
    ref = REFERENCE[stream]
    for top in ref.tops:
        assert get(sim, stream, {**_window(stream), "top": top}).status_code == 200
    for top in {7, 20, 500, 1000, 5000} - set(ref.tops):
        refused(get(sim, stream, {**_window(stream), "top": top}), "top")


@pytest.mark.parametrize("stream", sorted(REFERENCE))
def test_the_simulator_takes_the_filter_only_where_the_reference_puts_it(sim: Simulator, stream: str) -> None:
    ref, text = REFERENCE[stream], OPTIONS[stream]["filter"]
    if ref.filter_in == "filter":
        assert get(sim, stream, {**_window(stream), "filter": text}).status_code == 200
        refused(get(sim, stream, {**_window(stream), "filter": "colour eq 'blue'"}), "colour")
    else:
        assert get(sim, stream, _window(stream), {"TMV1-Filter": text}).status_code == 200
        refused(get(sim, stream, {**_window(stream), "filter": text}), "filter")


@pytest.mark.parametrize(
    ("stream", "limit"),
    [
        ("workbench_alerts", 5000),
        ("oat_detections", 4000),
        ("audit_logs", 1024),
        ("response_tasks", 2048),
        ("iam_accounts", 256),
        ("api_keys", 1024),
        ("custom_scripts", 2048),
        ("suspicious_objects", 4000),
        ("exception_objects", 4000),
        ("endpoints", 1024),
    ],
)
def test_the_simulator_refuses_a_filter_longer_than_the_reference(
    sim: Simulator, stream: str, limit: int
) -> None:
    ref, text = REFERENCE[stream], OPTIONS[stream]["filter"]
    too_long = text + " " * (limit + 1 - len(text))
    if ref.filter_in == "filter":
        refused(get(sim, stream, {**_window(stream), "filter": too_long}), str(limit))
    else:
        refused(get(sim, stream, _window(stream), {"TMV1-Filter": too_long}), str(limit))


def test_the_simulator_checks_endpoint_select_and_reference_only_fields(sim: Simulator) -> None:
    body = get(sim, "endpoints", {"top": 10, "select": "osName,edrSensorConnectivity"}).json()
    assert all(set(i) == {"agentGuid", "osName", "edrSensor"} for i in body["items"])
    assert all(set(i["edrSensor"]) == {"connectivity"} for i in body["items"])
    refused(get(sim, "endpoints", {"select": "endpointName,favouriteColour"}), "favouriteColour")
    refused(get(sim, "endpoints", {"select": ",".join(["endpointName"] * 12)}), "128")
    # filter fields the reference lists and the simulator once lacked
    assert get(sim, "endpoints", {}, {"TMV1-Filter": "edrSensorConnectivity eq 'connected'"}).ok
    assert get(sim, "exception_objects", {}, {"TMV1-Filter": "riskLevel eq 'high'"}).ok
    assert get(
        sim, "workbench_alerts", _window("workbench_alerts"), {"TMV1-Filter": "indicatorValue eq 'x'"}
    ).ok
    assert get(sim, "workbench_alerts", {**_window("workbench_alerts"), "orderBy": "caseId asc,name"}).ok
    refused(
        get(sim, "oat_detections", _window("oat_detections"), {"TMV1-Filter": "source eq 'detections'"}),
        "source",
    )


def test_a_select_longer_than_the_reference_allows_is_a_settings_error() -> None:
    from connector_kit.errors import SettingsError

    endpoints = NON_SEARCH["endpoints"]
    endpoints.check_options({"select": "endpointName,osName,eppAgentStatus"})
    with pytest.raises(SettingsError, match="at most 128"):
        endpoints.check_options({"select": ",".join(f"eppAgentComponentVersion{i}" for i in range(6))})

"""The simulator's search records follow Trend's field dictionary: its names, and every shape it documents."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.simulator import Simulator
from tests.simulator.activities import JSON_TEXT_FIELDS
from tests.simulator.dictionary import EXTRA_API_FIELDS, SEARCH_STREAMS, field_map
from tests.simulator.samples import MOSTLY_LISTS

DAY = ("2024-10-01T00:00:00Z", "2024-10-02T00:00:00Z")


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(seed=5, scale=800, start="2024-10-01", days=1)  # data only; no server started


@pytest.mark.parametrize("stream", SEARCH_STREAMS)
def test_search_records_use_only_dictionary_names(sim: Simulator, stream: str) -> None:
    names = set(field_map(stream)) | set(EXTRA_API_FIELDS[stream])
    records = sim.expected(stream, *DAY)
    assert records
    unknown = Counter(k for r in records for k in r if k not in names)
    assert not unknown, unknown.most_common(5)
    sizes = [len(r) for r in records]
    assert min(sizes) >= 20 and max(sizes) <= 90, (min(sizes), max(sizes))


@pytest.mark.parametrize("stream", SEARCH_STREAMS)
def test_dynamic_fields_come_as_arrays_and_as_scalars(sim: Simulator, stream: str) -> None:
    """A dynamic field seen often shows both shapes: about a quarter of its values are arrays, three
    quarters for the fields real answers mostly send as lists (`samples.MOSTLY_LISTS`)."""
    dynamic = {f.name for f in field_map(stream).values() if f.dynamic} - set(JSON_TEXT_FIELDS)
    shapes: dict[str, Counter[bool]] = {}
    for r in sim.expected(stream, *DAY):
        for name, value in r.items():
            if name in dynamic:
                shapes.setdefault(name, Counter())[isinstance(value, list)] += 1
    assert shapes
    frequent = {n: c for n, c in shapes.items() if sum(c.values()) >= 40}
    assert frequent and all(c[True] and c[False] for c in frequent.values()), {
        n: dict(c) for n, c in frequent.items() if not (c[True] and c[False])
    }
    for mostly, (low, high) in ((False, (0.15, 0.35)), (True, (0.65, 0.85))):
        counts = [c for n, c in shapes.items() if (n in MOSTLY_LISTS) is mostly]
        if counts:
            arrays = sum(c[True] for c in counts) / sum(sum(c.values()) for c in counts)
            assert low < arrays < high, (mostly, arrays)


def test_declared_scalar_shapes_are_kept(sim: Simulator) -> None:
    emails = sim.expected("email_activities", *DAY)
    assert all(isinstance(r["mailDirection"], int) for r in emails)
    network = [r for r in sim.expected("network_activities", *DAY) if "respCode" in r]
    assert network and all(isinstance(r["respCode"], str) for r in network)
    detections = [r for r in sim.expected("detections", *DAY) if "fileSize" in r]
    assert detections and all(isinstance(r["fileSize"], str) and r["fileSize"].isdigit() for r in detections)


def test_cloudtrail_event_time_is_iso_text_at_the_records_instant(sim: Simulator) -> None:
    records = sim.expected("cloud_activities", *DAY)
    trail = [r for r in records if r["productCode"] == "sct"]
    flows = [r for r in records if r["productCode"] == "vpc"]  # the reference's other cloud data source
    assert trail and flows and len(trail) + len(flows) == len(records)
    for r in trail:
        assert isinstance(r["eventTime"], str) and r["eventTime"].endswith("Z") and len(r["eventTime"]) == 20
        moment = datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert moment == datetime.fromisoformat(r["eventTimeDT"])
        for name in JSON_TEXT_FIELDS:
            if name in r:
                assert isinstance(r[name], str) and isinstance(json.loads(r[name]), dict | list), name
    assert all(isinstance(r["eventTime"], int) for r in flows)  # epoch ms
    # the window reads the same instant: a day holds exactly the records whose time falls in it
    instants = [r["eventTime"] if isinstance(r["eventTime"], str) else r["eventTimeDT"] for r in records]
    assert all(DAY[0][:19] <= moment[:19] < DAY[1][:19] for moment in instants)


def test_audit_times_come_in_both_forms_and_order_by_instant(sim: Simulator) -> None:
    from tests.simulator.audit import logged_at, normalized

    records = sim.expected("audit_logs")
    spaced = [r for r in records if " " in r["loggedDateTime"]]
    assert 0.1 < len(spaced) / len(records) < 0.3
    assert all(len(r["loggedDateTime"]) == 19 and r["loggedDateTime"][10] == " " for r in spaced)
    keys = [logged_at(r) for r in records]
    assert keys == sorted(keys)  # oldest first, whichever form each record uses
    assert normalized("2022-07-16 04:30:04") == "2022-07-16T04:30:04Z"
    assert normalized("2022-02-24T07:29:48Z") == "2022-02-24T07:29:48Z"


def test_oat_details_come_from_several_sources(sim: Simulator) -> None:
    records = sim.expected("oat_detections", "2024-10-01T00:00:00Z", "2024-10-02T06:00:00Z")
    sources = Counter(r["source"] for r in records)
    assert len(sources) >= 3 and sources.most_common(1)[0][0] == "endpointActivityData", sources
    stream_of = {
        "endpointActivityData": "endpoint_activities",
        "detections": "detections",
        "networkActivityData": "network_activities",
        "cloudActivityData": "cloud_activities",
        "identityActivityData": "identity_activities",
    }
    for r in records:
        stream = stream_of[r["source"]]
        names = set(field_map(stream)) | set(EXTRA_API_FIELDS[stream])
        assert set(r["detail"]) <= names, (r["source"], set(r["detail"]) - names)

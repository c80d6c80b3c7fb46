"""The simulator's Workvivo SIEM API over real HTTP: headers and auth, ranges, paging, data, limits, faults.

One module-scoped simulator (seed 1, scale 10000 -> 2,500 events a day, 2024-10-01..02), dense enough
that each day's busy hour holds more than one page (250) of events.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from tests.simulator import Simulator
from tests.simulator.workvivo import FIELDS, HOSTILE_NOTES, MAX_RANGE_SECONDS, WORKVIVO_PAGE_SIZE

TOKEN, ORG = "wv-token", "org-42"
DAY1 = int(datetime(2024, 10, 1, tzinfo=UTC).timestamp())
HOUR = 3600
UNAUTHENTICATED = {"message": "Unauthenticated."}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(
        seed=1, scale=10000, start="2024-10-01", days=2, workvivo_id=ORG, workvivo_token=TOKEN
    ) as simulator:
        yield simulator


def siem(
    sim: Simulator,
    start: int | str,
    end: int | str,
    *,
    token: str | None = TOKEN,
    org: str | None = ORG,
    params: dict[str, Any] | None = None,
    method: str = "GET",
) -> requests.Response:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if org is not None:
        headers["Workvivo-Id"] = org
    return requests.request(
        method, f"{sim.base_url}/v1/siem/{start}/{end}", headers=headers, params=params, timeout=10
    )


def fetch_all(sim: Simulator, start: int, end: int) -> tuple[list[dict[str, Any]], int]:
    """Every event of ``[start, end)``, following ``links.next``; also the number of requests made."""
    first = siem(sim, start, end)
    assert first.status_code == 200, first.text
    body = first.json()
    events, requests_made = list(body["data"]), 1
    while body.get("links", {}).get("next"):
        response = requests.get(
            body["links"]["next"],
            headers={"Authorization": f"Bearer {TOKEN}", "Workvivo-Id": ORG},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        events.extend(body["data"])
        requests_made += 1
    return events, requests_made


def busiest_hour(sim: Simulator, day_start: int) -> tuple[int, int]:
    counts = {h: sim.workvivo_count(day_start + h * HOUR, day_start + (h + 1) * HOUR) for h in range(24)}
    hour = max(counts, key=lambda h: counts[h])
    return day_start + hour * HOUR, counts[hour]


# -- headers and auth --------------------------------------------------------------------------------


def test_token_and_organisation_checks(sim: Simulator) -> None:
    start, end = DAY1, DAY1 + HOUR
    for token in (None, "wrong", "sim-key"):  # sim-key: the Vision One key is not a Workvivo token
        response = siem(sim, start, end, token=token)
        assert response.status_code == 401
        assert response.json() == UNAUTHENTICATED
        assert response.headers["Content-Type"] == "application/json"
    response = requests.get(
        f"{sim.base_url}/v1/siem/{start}/{end}",
        headers={"Authorization": TOKEN, "Workvivo-Id": ORG},
        timeout=10,
    )
    assert response.status_code == 401  # no Bearer scheme
    # the token is checked before the organisation
    assert siem(sim, start, end, token="wrong", org=None).json() == UNAUTHENTICATED
    missing = siem(sim, start, end, org=None)
    assert (missing.status_code, missing.json()) == (400, {"message": "The Workvivo-Id header is required."})
    assert siem(sim, start, end, org="").json() == missing.json()
    other = siem(sim, start, end, org="sim-org")
    assert (other.status_code, other.json()) == (403, {"message": "This action is unauthorized."})
    for name in ("workvivo-id", "WORKVIVO-ID", "Workvivo-id"):
        response = requests.get(
            f"{sim.base_url}/v1/siem/{start}/{end}",
            headers={"authorization": f"bearer {TOKEN}", name: ORG},
            timeout=10,
        )
        assert response.status_code == 200, name
    assert siem(sim, start, end).json() == {"data": sim.workvivo_events(start, end)}


def test_unknown_routes_and_methods(sim: Simulator) -> None:
    for path in ("/v1/siem/", f"/v1/siem/{DAY1}", f"/v1/siem/{DAY1}/{DAY1 + HOUR}/extra"):
        response = requests.get(sim.base_url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert response.status_code == 404, path
        assert set(response.json()) == {"message"}
    post = siem(sim, DAY1, DAY1 + HOUR, method="POST")
    assert post.status_code == 405
    assert post.headers["Allow"] == "GET, HEAD"
    assert "POST" in post.json()["message"]
    head = siem(sim, DAY1, DAY1 + HOUR, method="HEAD")
    assert head.status_code == 200 and head.content == b""
    # a Vision One path still answers the Vision One way
    vision_one = requests.get(f"{sim.base_url}/v3.0/healthcheck/connectivity", timeout=10)
    assert vision_one.json()["error"]["code"] == "InvalidCredentials"


def test_bad_ranges_are_400_naming_the_problem(sim: Simulator) -> None:
    cases = {
        ("abc", DAY1): "from",
        (DAY1, "1.5"): "to",
        ("2024-10-01T00:00:00Z", DAY1 + HOUR): "from",
        (DAY1, f"{DAY1 + HOUR}ms"): "to",
        ("-5", DAY1): "negative",
        (DAY1, DAY1): "after",
        (DAY1 + HOUR, DAY1): "after",
        (DAY1, DAY1 + MAX_RANGE_SECONDS + 1): "at most",
    }
    for (start, end), word in cases.items():
        response = siem(sim, start, end)
        assert response.status_code == 400, (start, end)
        body = response.json()
        assert set(body) == {"message"} and word in body["message"], (start, end, body)
    for params in ({"page": "0"}, {"page": "x"}, {"start": DAY1}):
        assert siem(sim, DAY1, DAY1 + HOUR, params=params).status_code == 400, params
    full_day = siem(sim, DAY1, DAY1 + MAX_RANGE_SECONDS)
    assert full_day.status_code == 200
    assert full_day.json()["meta"]["total"] == sim.workvivo_count(DAY1, DAY1 + MAX_RANGE_SECONDS) == 2500
    assert siem(sim, 0, 1).json() == {"data": []}  # long before the data


# -- windows and paging --------------------------------------------------------------------------------


def test_every_hour_returns_exactly_the_expected_events(sim: Simulator) -> None:
    total = 0
    for hour in range(48):
        start = DAY1 + hour * HOUR
        events, _ = fetch_all(sim, start, start + HOUR)
        assert events == sim.workvivo_events(start, start + HOUR), hour
        assert len(events) == sim.workvivo_count(start, start + HOUR)
        assert all(start <= int(e["created_at_timestamp"]) < start + HOUR for e in events)
        total += len(events)
    assert total == sim.workvivo_count() == 5000
    assert sim.workvivo_count("2024-10-01", "2024-10-02") == 2500
    assert sim.workvivo_count("2024-10-01T23:00:00Z", datetime(2024, 10, 2, 1, tzinfo=UTC)) == (
        sim.workvivo_count(DAY1 + 23 * HOUR, DAY1 + 25 * HOUR)
    )
    assert sim.expected_count("siem_events", "2024-10-02T00:00:00Z") == 2500


def test_a_busy_hour_pages_by_links_next(sim: Simulator) -> None:
    start, count = busiest_hour(sim, DAY1)
    assert count > WORKVIVO_PAGE_SIZE
    first = siem(sim, start, start + HOUR).json()
    assert len(first["data"]) == WORKVIVO_PAGE_SIZE
    assert first["links"] == {"next": f"{sim.base_url}/v1/siem/{start}/{start + HOUR}?page=2"}
    assert first["meta"] == {"current_page": 1, "per_page": WORKVIVO_PAGE_SIZE, "total": count}
    last = siem(sim, start, start + HOUR, params={"page": 2}).json()
    assert last["links"] == {"next": None}
    assert last["meta"]["current_page"] == 2
    assert len(last["data"]) == count - WORKVIVO_PAGE_SIZE
    events, pages = fetch_all(sim, start, start + HOUR)
    assert pages == 2 and len(events) == count
    assert len({e["id"] for e in events}) == count
    assert events == sim.workvivo_events(start, start + HOUR)
    beyond = siem(sim, start, start + HOUR, params={"page": 3}).json()
    assert beyond["data"] == [] and beyond["links"] == {"next": None}
    # a quiet hour has no paging keys at all, like the public samples
    quiet = DAY1 if start != DAY1 else DAY1 + HOUR
    assert list(siem(sim, quiet, quiet + HOUR).json()) == ["data"]
    # the second day has its own busy hour
    assert busiest_hour(sim, DAY1 + 24 * HOUR)[1] > WORKVIVO_PAGE_SIZE


# -- data --------------------------------------------------------------------------------------------


def numbers(event: dict) -> tuple[int, int]:
    """(created_at_timestamp, id) as numbers, whichever shape the event gave them in."""
    return int(event["created_at_timestamp"]), int(event["id"])


def test_events_are_ordered_and_shaped_like_the_csv(sim: Simulator) -> None:
    events = sim.workvivo_events()
    assert [numbers(e) for e in events] == sorted(numbers(e) for e in events)
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] > 29790000
    for event in events:
        assert tuple(event) == FIELDS
        moment = datetime.fromtimestamp(int(event["created_at_timestamp"]), UTC)
        assert event["created_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        for name in ("id", "workvivo_id", "created_at_timestamp"):  # a number, or digits in a string
            assert isinstance(event[name], int) or event[name].isdigit(), (name, event[name])
        assert "created_at_local" not in event
    shapes = {type(e[name]) for e in events for name in ("id", "workvivo_id", "created_at_timestamp")}
    assert shapes == {int, str}  # both shapes the API gives, so the tap meets both
    kinds = {e["event"] for e in events}
    assert {"login", "loginMobile", "loginSaml", "loginSamlFailed", "logout", "logoutMobile"} <= kinds
    assert {"switch user", "switch user reverted", "mfaEnabled"} <= kinds
    users = {(e["user_email"], int(e["workvivo_id"])) for e in events}
    assert 30 <= len(users) <= 50
    assert len({email for email, _ in users}) == len(users)
    assert any(not email.isascii() for email, _ in users)
    switches = [e for e in events if e["event"] == "switch user" and e["note"] not in HOSTILE_NOTES]
    assert switches
    assert all(e["note"].startswith(f"switch user from {e['user_email']} to user ") for e in switches)
    # over HTTP, an hour that crosses nothing special is still ordered
    start, _ = busiest_hour(sim, DAY1)
    served, _ = fetch_all(sim, start, start + HOUR)
    assert [numbers(e) for e in served] == sorted(numbers(e) for e in served)


def test_csv_hostile_notes_are_served(sim: Simulator) -> None:
    response = siem(sim, DAY1, DAY1 + 24 * HOUR)
    raw = response.text
    assert "\\/" in raw and "\\u" in raw  # Laravel's default encoding: escaped slashes, ASCII only
    assert raw.isascii()
    notes = [e["note"] for e in json.loads(raw)["data"]]
    for page in range(2, 11):
        notes += [e["note"] for e in siem(sim, DAY1, DAY1 + 24 * HOUR, params={"page": page}).json()["data"]]
    assert len(notes) == 2500
    assert "" in notes
    assert any(n.startswith("=HYPERLINK(") for n in notes)
    assert any(n[:1] in "+-@" and n for n in notes)
    assert any("," in n and '"' in n for n in notes)
    assert any("\n" in n for n in notes) and any("\r\n" in n for n in notes)
    assert any("\t" in n for n in notes)
    assert any(not n.isascii() for n in notes)
    assert any(n != n.strip() for n in notes)


def test_two_simulators_with_the_same_seed_serve_the_same_events() -> None:
    kwargs: dict[str, Any] = {"scale": 400, "start": "2024-10-01", "days": 2}
    with (
        Simulator(seed=7, **kwargs) as one,
        Simulator(seed=7, **kwargs) as two,
        Simulator(seed=8, **kwargs) as other,
    ):
        assert one.workvivo_count() == 200  # max(24, scale // 4) a day
        headers = {"Authorization": "Bearer sim-workvivo-token", "Workvivo-Id": "sim-org"}
        for hour in (0, 13, 30):
            path = f"/v1/siem/{DAY1 + hour * HOUR}/{DAY1 + (hour + 1) * HOUR}"
            bodies = [
                requests.get(s.base_url + path, headers=headers, timeout=10).content for s in (one, two)
            ]
            assert bodies[0] == bodies[1]
        assert one.workvivo_events() == two.workvivo_events()
        assert one.workvivo_events() != other.workvivo_events()
    with Simulator(seed=7, scale=10, days=1) as tiny:
        assert tiny.workvivo_count() == 24


# -- the gate: rate limit, faults, recording -------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after() -> None:
    with Simulator(seed=2, scale=100, days=1, rate_limit_per_minute=2) as small:
        kw: dict[str, Any] = {"token": "sim-workvivo-token", "org": "sim-org"}
        assert siem(small, DAY1, DAY1 + HOUR, token="bad").status_code == 401  # not counted
        # the limit counts the route, not each concrete path
        statuses = [siem(small, DAY1 + h * HOUR, DAY1 + (h + 1) * HOUR, **kw).status_code for h in range(3)]
        assert statuses == [200, 200, 429]
        limited = siem(small, DAY1, DAY1 + HOUR, **kw)
        assert limited.status_code == 429
        assert limited.json() == {"message": "Too Many Attempts."}
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        # Vision One paths have their own budget
        health = requests.get(
            f"{small.base_url}/v3.0/healthcheck/connectivity",
            headers={"Authorization": "Bearer sim-key"},
            timeout=10,
        )
        assert health.status_code == 200
        small.config.rate_limit_per_minute = 0
        assert siem(small, DAY1, DAY1 + HOUR, **kw).status_code == 200
        statuses = [r["status"] for r in small.requests if r["path"].startswith("/v1/siem/")]
        assert statuses == [401, 200, 200, 429, 429, 200]


def test_fail_windows_matches_the_from_segment_and_fail_next_applies(sim: Simulator) -> None:
    five = DAY1 + 5 * HOUR
    try:
        sim.fail_windows("2024-10-01T05:00:00Z", 500)
        failed = siem(sim, five, five + HOUR)
        assert (failed.status_code, failed.json()) == (500, {"message": "Server Error"})
        assert siem(sim, five, five + 2 * HOUR).status_code == 500  # any window starting there
        assert siem(sim, five - HOUR, five + HOUR).status_code == 200  # one containing it is not
        sim.fail_windows(DAY1 + 7 * HOUR, 429)  # epoch seconds work too
        limited = siem(sim, DAY1 + 7 * HOUR, DAY1 + 8 * HOUR)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        sim.config.fault_retry_after = 0  # for tests that are not about the wait
        limited = siem(sim, DAY1 + 7 * HOUR, DAY1 + 8 * HOUR)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "0"
        sim.fail_windows("2024-10-01T09:00:00+00:00", 502)  # the instant, whatever the spelling
        gateway = siem(sim, DAY1 + 9 * HOUR, DAY1 + 10 * HOUR)
        assert gateway.status_code == 502 and gateway.headers["Content-Type"].startswith("text/html")
        sim.clear_faults()
        assert siem(sim, five, five + HOUR).status_code == 200
        sim.fail_next(1, 503)
        assert siem(sim, five, five + HOUR).status_code == 503
        assert siem(sim, five, five + HOUR).status_code == 200
        assert siem(sim, five, five + HOUR, token="bad").status_code == 401  # faults come after auth
    finally:
        sim.clear_faults()
        sim.config.fault_retry_after = 1


def test_requests_are_recorded_with_the_token_redacted(sim: Simulator) -> None:
    start, _ = busiest_hour(sim, DAY1)
    siem(sim, start, start + HOUR, params={"page": 2})
    entry = sim.requests[-1]
    assert entry["path"] == f"/v1/siem/{start}/{start + HOUR}"
    assert entry["query"] == {"page": "2"}
    assert entry["headers"]["authorization"] == "REDACTED"
    assert entry["headers"]["workvivo-id"] == ORG
    assert (entry["method"], entry["status"], entry["fault"]) == ("GET", 200, None)


def test_cli_counts_siem_events() -> None:
    args = ["--seed", "3", "--scale", "400", "--start", "2024-10-01", "--days", "2"]
    window = ["--from", "2024-10-01T06:00:00Z", "--to", "2024-10-01T18:00:00Z"]
    out = subprocess.run(
        [sys.executable, "-m", "tests.simulator", "count", *args, "--stream", "siem_events", *window],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    expected = Simulator(seed=3, scale=400, start="2024-10-01", days=2).workvivo_count(
        "2024-10-01T06:00:00Z", "2024-10-01T18:00:00Z"
    )
    assert int(out) == expected > 0

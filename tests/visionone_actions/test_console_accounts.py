"""The console-account (IAM) commands against the simulator over real HTTP, and the simulator's
``PATCH``/``DELETE /v3.0/iam/accounts/{id}`` they rely on.

The simulator is this module's own: these tests disable and delete its accounts.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from connector_kit.times import format_api_time
from tap_visionone.mapper import REPORT_SCHEMA
from tests.simulator import Simulator
from tests.tap_runner import run_pipeline
from tests.visionone_actions.test_actions_cli import Run, run_cli, run_main

KEY = "sim-console-key-5f0c1e2d3b4a"
ACCOUNTS = "/v3.0/iam/accounts"


@pytest.fixture(scope="module")
def sim() -> Simulator:
    with Simulator(seed=7, scale=50, start="2024-10-01", days=1, api_key=KEY) as server:
        server.config.fault_retry_after = 0
        yield server


def api(sim: Simulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {KEY}", **kwargs.pop("headers", {})}
    return requests.request(method, sim.base_url + path, headers=headers, timeout=10, **kwargs)


def listed(sim: Simulator) -> dict[str, dict[str, Any]]:
    """Every account the API lists now, by id."""
    response = api(sim, "GET", ACCOUNTS, params={"top": 200})
    assert response.status_code == 200 and "nextLink" not in response.json()
    return {item["id"]: item for item in response.json()["items"]}


def pick(sim: Simulator, count: int, status: str = "enabled") -> list[dict[str, Any]]:
    """``count`` accounts with ``status`` that no other test of this module picked."""
    picked = [a for a in listed(sim).values() if a["status"] == status and a["id"] not in _TAKEN]
    _TAKEN.update(a["id"] for a in picked[:count])
    return picked[:count]


_TAKEN: set[str] = set()


def report(path: Path, emails: list[str]) -> Path:
    """An ``account_cleanup.csv`` as target-csv-flat writes the mapper's report: its REPORT_SCHEMA columns
    plus ``_extra``, one row per e-mail."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*REPORT_SCHEMA["properties"], "_extra"], extrasaction="ignore")
    writer.writeheader()
    for email in emails:
        writer.writerow(
            {
                "UserId": email,
                "RoleName": "Analyst",
                "RequestType": "Remove",
                "LastLogon": "",
                "DaysInactive": "",
            }
        )
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def run(sim: Simulator | None, cwd: Path, *args: str, key: str | None = KEY) -> Run:
    return run_cli(sim, cwd, *args, key=key)


# -- dry runs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "method"), [("disable-console-account", "PATCH"), ("remove-console-account", "DELETE")]
)
def test_dry_run_on_the_mappers_report_sends_nothing(
    sim: Simulator, tmp_path: Path, command: str, method: str
) -> None:
    emails = ["ana.silva@corp.example", "zoë.o'brien@corp.example", "nobody@corp.example"]
    report(tmp_path / "account_cleanup.csv", emails)
    before = len(sim.requests)
    done = run(sim, tmp_path, command, "--from-file", "account_cleanup.csv", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert len(sim.requests) == before
    data = done.data
    assert data["dry_run"] is True and data["items"] == 3
    requests_ = data["requests"]
    assert [(r["method"], r["path"]) for r in requests_] == [
        pair for email in emails for pair in (("GET", ACCOUNTS), (method, f"{ACCOUNTS}/<id of {email}>"))
    ]
    lookups = requests_[::2]
    assert [r["headers"]["TMV1-Filter"] for r in lookups] == [
        "email eq 'ana.silva@corp.example'",
        "email eq 'zoë.o''brien@corp.example'",  # a quote is doubled
        "email eq 'nobody@corp.example'",
    ]
    for request in requests_:
        assert request["host"] == sim.base_url
        assert request["headers"]["Authorization"] == "Bearer ***"
    actions = requests_[1::2]
    if method == "PATCH":
        assert all(r["body"] == {"status": "disabled"} for r in actions)
    else:
        assert all("body" not in r for r in actions)
    assert (
        "ignoring column(s) that match no option: DaysInactive, LastLogon, RequestType, RoleName, _extra"
        in done.stderr
    )
    assert KEY not in done.stdout + done.stderr


def test_dry_run_by_id_needs_no_key_nor_api(tmp_path: Path) -> None:
    done = run_main(
        None, tmp_path, "remove-console-account", "--id", "a/b c", "--dry-run", "-o", "table", key=None
    )
    assert done.returncode == 0, done.stderr
    assert "remove-console-account: dry run, 1 item(s), nothing sent" in done.stdout
    assert "DELETE /v3.0/iam/accounts/a%2Fb%20c" in done.stdout
    assert "host: https://api.xdr.trendmicro.com" in done.stdout and "Bearer ***" in done.stdout


# -- real runs ---------------------------------------------------------------------------------------------


def test_disable_from_the_mappers_report(sim: Simulator, tmp_path: Path) -> None:
    accounts = pick(sim, 3)
    emails = [a["email"] for a in accounts] + ["left.company@corp.example"]
    report(tmp_path / "account_cleanup.csv", emails)
    before = len(sim.requests)
    done = run(sim, tmp_path, "disable-console-account", "--from-file", "account_cleanup.csv", "--yes")
    assert done.returncode == 1, done.stderr  # the unknown e-mail fails; the others are done
    results = done.results
    assert [r["ok"] for r in results] == [True, True, True, False]
    for account, result in zip(accounts, results, strict=False):
        assert result["status"] == 204 and result["input"] == {"email": account["email"]}
        assert result["response"]["id"] == account["id"] and result["response"]["status"] == "enabled"
    assert results[3]["error"]["code"] == "AccountNotFound"
    assert "left.company@corp.example" in results[3]["error"]["message"]
    assert done.data["succeeded"] == 3 and done.data["failed"] == 1
    sent = sim.requests[before:]
    now = listed(sim)
    assert [now[a["id"]]["status"] for a in accounts] == ["disabled"] * 3
    patches = [r for r in sent if r["method"] == "PATCH"]
    assert [r["path"] for r in patches] == [f"{ACCOUNTS}/{a['id']}" for a in accounts]
    assert all(r["body"] == {"status": "disabled"} for r in patches)
    lookups = [r for r in sent if r["method"] == "GET"]
    assert len(lookups) == 4 and all(r["path"] == ACCOUNTS for r in lookups)
    assert [r["headers"]["TMV1-Filter"] for r in lookups] == [f"email eq '{e}'" for e in emails]


def test_enable_by_id_with_a_description(sim: Simulator, tmp_path: Path) -> None:
    [account] = pick(sim, 1, status="disabled")
    done = run(
        sim, tmp_path, "enable-console-account", "--id", account["id"], "--description", "back from leave"
    )
    assert done.returncode == 0, done.stderr
    assert listed(sim)[account["id"]] | {"lastModifiedDateTime": None} == account | {
        "status": "enabled",
        "description": "back from leave",
        "lastModifiedDateTime": None,
    }


def test_remove_by_email_and_by_id(sim: Simulator, tmp_path: Path) -> None:
    first, second = pick(sim, 2)
    rows = [{"email": first["email"]}, {"id": second["id"]}, {"id": "no-such-account"}]
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    done = run(sim, tmp_path, "remove-console-account", "--from-file", "rows.jsonl", "--yes", "-o", "table")
    assert done.returncode == 1, done.stderr
    assert "remove-console-account: 2 succeeded, 1 failed" in done.stdout
    lines = done.stdout.splitlines()
    error = lines[0].index("error")  # the last column, wrapped to the width: its lines, joined
    assert "NotFound Account no-such-account does not exist." in " ".join(
        line[error:].strip() for line in lines
    )
    now = listed(sim)
    assert first["id"] not in now and second["id"] not in now
    assert api(sim, "GET", f"{ACCOUNTS}/{first['id']}").status_code == 404
    again = run(sim, tmp_path, "remove-console-account", "--id", second["id"], "--yes")
    assert again.returncode == 1
    [result] = again.results
    assert result["ok"] is False and result["status"] == 404 and result["error"]["code"] == "NotFound"


def test_unicode_and_quoted_emails_are_found(sim: Simulator, tmp_path: Path) -> None:
    accounts = [
        a
        for a in listed(sim).values()
        if a["email"] in ("田中.太郎@corp.example", "zoë.o'brien@corp.example")
    ]
    assert len(accounts) == 2
    _TAKEN.update(a["id"] for a in accounts)
    emails = [a["email"] for a in accounts]
    done = run(sim, tmp_path, "disable-console-account", "--email", emails[0], "--yes")
    assert done.returncode == 0, done.stderr
    done = run_main(sim, tmp_path, "disable-console-account", "--email", emails[1], "--yes", key=KEY)
    assert done.returncode == 0, done.stderr
    assert {listed(sim)[a["id"]]["status"] for a in accounts} == {"disabled"}


def test_destructive_ones_ask_first(sim: Simulator, tmp_path: Path) -> None:
    [account] = pick(sim, 1)
    before = len(sim.requests)
    for command in ("disable-console-account", "remove-console-account"):
        done = run(sim, tmp_path, command, "--id", account["id"])
        assert done.returncode == 1 and "not confirmed; nothing was sent" in done.stderr
    assert len(sim.requests) == before
    assert listed(sim)[account["id"]]["status"] == "enabled"


def test_retries_a_503_then_succeeds(sim: Simulator, tmp_path: Path) -> None:
    [account] = pick(sim, 1)
    sim.fail_next(1, 503)
    done = run(sim, tmp_path, "disable-console-account", "--id", account["id"], "--yes")
    assert done.returncode == 0, done.stderr
    [line] = done.stderr.splitlines()
    assert (
        line.startswith(f"visionone-actions: PATCH {ACCOUNTS}/{account['id']}: HTTP 503 ")
        and "; retry 1 in" in line
    )
    assert listed(sim)[account["id"]]["status"] == "disabled"


def test_a_delete_whose_answer_was_lost_counts_as_done(sim: Simulator, tmp_path: Path) -> None:
    [account] = pick(sim, 1)
    sim.fail_next(1, "reset")  # the simulator deletes, then drops the connection without answering
    done = run(sim, tmp_path, "remove-console-account", "--id", account["id"], "--yes")
    assert done.returncode == 0, done.stderr
    [result] = done.results
    assert result["ok"] is True and result["status"] == 404 and "already gone" in result["response"]["note"]
    assert "retry 1 in" in done.stderr and account["id"] not in listed(sim)


def test_refused_key_stops_with_one_line(sim: Simulator, tmp_path: Path) -> None:
    wrong = "wrong-console-key-0123456789"
    done = run(
        sim, tmp_path, "remove-console-account", "--email", "ana.silva@corp.example", "--yes", key=wrong
    )
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("visionone-actions: error: Vision One refused the API key (401")
    assert wrong not in done.stderr


def test_inputs_are_checked_before_sending(tmp_path: Path) -> None:
    done = run_main(None, tmp_path, "remove-console-account", "--dry-run", key=None)
    assert done.returncode == 2 and "give --email or --id" in done.stderr


def _help(cwd: Path, command: str) -> str:
    return " ".join(run_main(None, cwd, command, "--help", key=None).stdout.split())


def test_help_tells_console_and_directory_accounts_apart(tmp_path: Path) -> None:
    console = _help(tmp_path, "disable-console-account")
    assert "PATCH /v3.0/iam/accounts/{id}" in console and "Not the user's directory account" in console
    assert "disable-account" in console and "UserId" in console and "--yes" in console
    directory = _help(tmp_path, "disable-account")
    assert "not on the Vision One console account" in directory and "disable-console-account" in directory
    remove = _help(tmp_path, "remove-console-account")
    assert "DELETE /v3.0/iam/accounts/{id}" in remove and "Cannot be undone" in remove


def test_the_whole_path_from_the_real_report(tmp_path: Path) -> None:
    """tap-visionone | mapper-visionone-actions | target-csv-flat writes account_cleanup.csv; a dry run shows
    its plan, the real run disables exactly those console accounts, and the next report lists none of them."""
    with Simulator(seed=11, scale=20, start="2024-10-01", days=1, api_key=KEY) as fresh:
        tap = {
            "api_key": KEY,
            "api_url": fresh.base_url,
            "start_date": format_api_time(fresh.now - timedelta(days=179)),
            "end_date": format_api_time(fresh.now),
            "window_size": "30d",
            "rate_limit_per_minute": 0,
        }

        def cleanup_report(folder: Path) -> list[dict[str, str]]:
            folder.mkdir()
            target = {"output_path": str(folder / "cleanup"), "overwrite_behavior": "replace"}
            mapper = {"as_of": format_api_time(fresh.now)}
            piped = run_pipeline(
                folder,
                tap,
                "target-csv-flat",
                target,
                streams=["iam_accounts", "audit_logs"],
                mapper_config=mapper,
            )
            assert piped.tap_returncode == 0 and piped.target_returncode == 0, piped.target_stderr[-2000:]
            with (folder / "cleanup" / "account_cleanup.csv").open(newline="", encoding="utf-8") as handle:
                return list(csv.DictReader(handle))

        rows = cleanup_report(tmp_path / "first")
        assert len(rows) > 3
        csv_file = tmp_path / "first" / "cleanup" / "account_cleanup.csv"
        before = len(fresh.requests)
        plan = run(fresh, tmp_path, "disable-console-account", "--from-file", str(csv_file), "--dry-run")
        assert plan.returncode == 0 and len(fresh.requests) == before
        assert [r["method"] for r in plan.data["requests"]] == ["GET", "PATCH"] * len(rows)
        done = run(fresh, tmp_path, "disable-console-account", "--from-file", str(csv_file), "--yes")
        assert done.returncode == 0, done.stderr
        assert [r["input"]["email"] for r in done.results] == [r["UserId"] for r in rows]
        by_email = {a["email"]: a for a in listed(fresh).values()}
        assert {by_email[r["UserId"]]["status"] for r in rows} == {"disabled"}
        assert cleanup_report(tmp_path / "second") == []  # disabled accounts leave the report


# -- the simulator's account writes -----------------------------------------------------------------------


def test_simulator_patch_and_delete_errors(sim: Simulator) -> None:
    [account] = pick(sim, 1)
    path = f"{ACCOUNTS}/{account['id']}"
    for body, words in (
        ({"status": "gone"}, "Invalid value for status"),
        ({"email": "x@corp.example"}, "Unknown field(s): email"),
        ({}, "Nothing to update"),
        ({"description": 5}, "Invalid value for description"),
        ([{"status": "disabled"}], "must be a JSON object"),
    ):
        response = api(sim, "PATCH", path, json=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["code"] == "BadRequest" and words in error["message"]
    response = api(sim, "PATCH", path, data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    for method in ("PATCH", "DELETE", "GET"):
        response = api(
            sim, method, f"{ACCOUNTS}/nope", json={"status": "disabled"} if method == "PATCH" else None
        )
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "NotFound", "message": "Account nope does not exist."}}
    assert listed(sim)[account["id"]] == account  # nothing above changed it


def test_simulator_patch_changes_later_gets_and_checks_if_match(sim: Simulator) -> None:
    [account] = pick(sim, 1)
    path = f"{ACCOUNTS}/{account['id']}"
    got = api(sim, "GET", path)
    assert got.status_code == 200 and got.json() == account
    stale = got.headers["ETag"]
    response = api(
        sim, "PATCH", path, json={"role": "Auditor", "description": "moved"}, headers={"If-Match": stale}
    )
    assert response.status_code == 204 and response.content == b""
    assert (
        api(sim, "PATCH", path, json={"status": "disabled"}, headers={"If-Match": stale}).status_code == 412
    )
    now = api(sim, "GET", path).json()
    assert (now["role"], now["description"], now["status"]) == ("Auditor", "moved", "enabled")
    assert now["lastModifiedDateTime"] > account["lastModifiedDateTime"]
    filtered = api(sim, "GET", ACCOUNTS, headers={"TMV1-Filter": f"id eq '{account['id']}'"}).json()["items"]
    assert filtered == [now]
    assert api(sim, "DELETE", path).status_code == 204
    assert account["id"] not in listed(sim)
    assert api(sim, "DELETE", path).status_code == 404


def test_a_new_simulator_starts_from_the_seeded_accounts(sim: Simulator) -> None:
    [account] = pick(sim, 1)
    assert api(sim, "DELETE", f"{ACCOUNTS}/{account['id']}").status_code == 204
    with Simulator(seed=7, scale=50, start="2024-10-01", days=1, api_key=KEY) as fresh:
        assert account["id"] in listed(fresh)  # writes change one simulator, not the shared seed data

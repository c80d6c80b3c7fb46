"""The simulator's response-action endpoints over real HTTP: 207 batches, tasks, sandbox, scripts,
workbench ETags, API keys, threat-intel lists, eiqs endpoints; with ``requests`` and through pytmv1."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import pytmv1
import requests
from pytmv1.model.enum import AlertStatus, InvestigationResult, ObjectType, QueryOp, ScriptType, Status
from pytmv1.model.request import CollectFileRequest, CustomScriptRequest, EndpointRequest, ObjectRequest

from tests.simulator import Simulator

KEY = "sim-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A fresh simulator per test: the write endpoints change its state."""
    with Simulator(seed=1, scale=200, start="2024-10-01", days=3, api_key=KEY) as s:
        yield s


def call(sim: Simulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    url = path if path.startswith("http") else sim.base_url + path
    return requests.request(method, url, headers=headers, timeout=10, **kwargs)


def task_id(element: dict[str, Any]) -> str:
    (header,) = element["headers"]
    assert header["name"] == "Operation-Location"
    return header["value"].rsplit("/", 1)[1]


def endpoint(sim: Simulator, n: int = 0) -> dict[str, Any]:
    return sim.world.endpoints[n]


def first_alert_id(sim: Simulator) -> str:
    return sim.world.alerts.day(sim.world.alerts.start_day)[0]["id"]


# -- 207 batches and tasks --------------------------------------------------------------------------------


def test_isolate_answers_207_in_order_with_400_elements_for_invalid_items(sim: Simulator) -> None:
    a, b = endpoint(sim, 0), endpoint(sim, 1)
    items = [
        {"agentGuid": a["agentGuid"], "description": "contain"},
        {"agentGuid": "00000000-0000-4000-8000-000000000000"},
        {"description": "no target"},
        {"endpointName": b["endpointName"]},
        {"agent_guid": a["agentGuid"]},
        "not an object",
    ]
    response = call(sim, "POST", "/v3.0/response/endpoints/isolate", json=items)
    assert response.status_code == 207
    body = response.json()
    assert [e["status"] for e in body] == [202, 400, 400, 202, 400, 400]
    for element in (body[0], body[3]):
        location = element["headers"][0]["value"]
        assert location.startswith(f"{sim.base_url}/v3.0/response/tasks/")
    assert task_id(body[0]) != task_id(body[3])
    assert body[1]["body"]["error"]["code"] == "BadRequest"
    assert "agentGuid" in body[1]["body"]["error"]["message"]
    assert "agentGuid or endpointName" in body[2]["body"]["error"]["message"]
    assert "agent_guid" in body[4]["body"]["error"]["message"]
    task = call(sim, "GET", f"/v3.0/response/tasks/{task_id(body[3])}").json()
    assert (task["agentGuid"], task["endpointName"]) == (b["agentGuid"], b["endpointName"])
    assert task["action"] == "isolate"


def test_a_batch_that_is_not_an_array_is_a_400(sim: Simulator) -> None:
    for kwargs in (
        {"json": {"agentGuid": "x"}},
        {"json": []},
        {"data": b"[{", "headers": {"Content-Type": "application/json"}},
    ):
        response = call(sim, "POST", "/v3.0/response/endpoints/restore", **kwargs)
        assert response.status_code == 400, kwargs
        assert response.json()["error"]["code"] == "BadRequest"


def test_tasks_move_queued_running_succeeded_over_successive_gets(sim: Simulator) -> None:
    guid = endpoint(sim)["agentGuid"]
    element = call(
        sim,
        "POST",
        "/v3.0/response/endpoints/collectFile",
        json=[{"agentGuid": guid, "filePath": "C:\\x.txt"}],
    ).json()[0]
    path = f"/v3.0/response/tasks/{task_id(element)}"
    seen = [call(sim, "GET", path).json() for _ in range(4)]
    assert [t["status"] for t in seen] == ["queued", "running", "succeeded", "succeeded"]
    assert seen[0]["lastActionDateTime"] < seen[1]["lastActionDateTime"] < seen[2]["lastActionDateTime"]
    assert "resourceLocation" not in seen[0]
    done = seen[2]
    assert done["action"] == "collectFile" and done["filePath"] == "C:\\x.txt" and done["agentGuid"] == guid
    assert {"fileSha1", "fileSha256", "fileSize", "resourceLocation", "expiredDateTime", "password"} <= set(
        done
    )
    assert {"id", "createdDateTime", "account"} <= set(done)


def test_task_knobs_unknown_ids_and_seeded_tasks(sim: Simulator) -> None:
    sim.config.task_polls_to_finish = 0
    sim.config.task_final_status = "failed"
    element = call(
        sim, "POST", "/v3.0/response/domainAccounts/disable", json=[{"accountName": "a@corp.example"}]
    )
    created = task_id(element.json()[0])
    task = call(sim, "GET", f"/v3.0/response/tasks/{created}").json()
    assert task["status"] == "failed" and task["error"]["code"] == "TaskError"
    after_now = {"startDateTime": "2024-10-04T00:00:00Z", "endDateTime": "2024-10-05T00:00:00Z"}
    listed = call(sim, "GET", "/v3.0/response/tasks", params=after_now).json()["items"]
    assert [(t["id"], t["status"]) for t in listed] == [(created, "failed")]
    assert task["tasks"][0]["accountName"] == "a@corp.example" and task["tasks"][0]["status"] == "failed"
    missing = call(sim, "GET", "/v3.0/response/tasks/99999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    seeded = sim.expected("response_tasks")[0]
    assert call(sim, "GET", f"/v3.0/response/tasks/{seeded['id']}").json() == seeded


def test_block_list_takes_one_known_object_type_and_changes_the_suspicious_list(sim: Simulator) -> None:
    items = [
        {"domain": "blocked.example", "description": "C2"},
        {"hostname": "x"},
        {"ip": "1.1.1.1", "url": "u"},
    ]
    body = call(sim, "POST", "/v3.0/response/suspiciousObjects", json=items).json()
    assert [e["status"] for e in body] == [202, 400, 400]
    task = call(sim, "GET", f"/v3.0/response/tasks/{task_id(body[0])}").json()
    assert task["action"] == "block" and task["domain"] == "blocked.example"
    filtered = {"TMV1-Filter": "domain eq 'blocked.example'"}
    listed = call(sim, "GET", "/v3.0/threatintel/suspiciousObjects", headers=filtered).json()["items"]
    assert [(r["domain"], r["scanAction"]) for r in listed] == [("blocked.example", "block")]
    body = call(sim, "POST", "/v3.0/response/suspiciousObjects/delete", json=[{"domain": "blocked.example"}])
    assert (
        call(sim, "GET", f"/v3.0/response/tasks/{task_id(body.json()[0])}").json()["action"] == "restoreBlock"
    )
    assert call(sim, "GET", "/v3.0/threatintel/suspiciousObjects", headers=filtered).json()["items"] == []


def test_email_and_account_actions_validate_their_items(sim: Simulator) -> None:
    emails = [{"messageId": "<1@mail>", "mailBox": "a@corp.example"}, {"uniqueId": "u-1"}, {"mailBox": "x"}]
    body = call(sim, "POST", "/v3.0/response/emails/quarantine", json=emails).json()
    assert [e["status"] for e in body] == [202, 202, 400]
    task = call(sim, "GET", f"/v3.0/response/tasks/{task_id(body[0])}").json()
    assert task["action"] == "quarantineMessage" and task["tasks"][0]["messageId"] == "<1@mail>"
    body = call(
        sim, "POST", "/v3.0/response/domainAccounts/signOut", json=[{"accountName": "CORP\\ana"}, {}]
    ).json()
    assert [e["status"] for e in body] == [202, 400]


def test_run_script_needs_a_known_script(sim: Simulator) -> None:
    guid = endpoint(sim)["agentGuid"]
    known = sim.expected("custom_scripts")[0]["fileName"]
    items = [
        {"agentGuid": guid, "fileName": known, "parameter": "-v"},
        {"agentGuid": guid, "fileName": "nope.sh"},
    ]
    body = call(sim, "POST", "/v3.0/response/endpoints/runScript", json=items).json()
    assert [e["status"] for e in body] == [202, 400]
    task = call(sim, "GET", f"/v3.0/response/tasks/{task_id(body[0])}").json()
    assert (task["action"], task["fileName"], task["parameter"]) == ("runCustomScript", known, "-v")


# -- sandbox -------------------------------------------------------------------------------------------


def test_sandbox_file_submission_polls_to_a_result_report_and_package(sim: Simulator) -> None:
    files = {"file": ("sample.com", EICAR, "application/octet-stream")}
    submitted = call(
        sim, "POST", "/v3.0/sandbox/files/analyze", files=files, data={"documentPassword": "cHc="}
    )
    assert submitted.status_code == 202, submitted.text
    sid = submitted.json()["id"]
    assert submitted.json()["digest"]["sha1"] == "3395856ce81f2b7382dee72602f798b642f14140"
    assert submitted.headers["Operation-Location"] == f"{sim.base_url}/v3.0/sandbox/tasks/{sid}"
    result_path = f"/v3.0/sandbox/analysisResults/{sid}"
    assert call(sim, "GET", result_path).status_code == 404  # not finished
    statuses = [call(sim, "GET", f"/v3.0/sandbox/tasks/{sid}").json() for _ in range(3)]
    assert [s["status"] for s in statuses] == ["running", "running", "succeeded"]
    assert (
        statuses[2]["action"] == "analyzeFile"
        and statuses[2]["resourceLocation"] == sim.base_url + result_path
    )
    result = call(sim, "GET", result_path).json()
    assert result["riskLevel"] == "high" and result["type"] == "file" and result["detectionNames"]
    report = call(sim, "GET", result_path + "/report")
    assert report.headers["Content-Type"] == "application/pdf" and report.content.startswith(b"%PDF")
    package = call(sim, "GET", result_path + "/investigationPackage")
    assert package.headers["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(package.content)).namelist() == ["report.json"]
    suspicious = call(sim, "GET", result_path + "/suspiciousObjects").json()["items"]
    assert suspicious[0]["fileSha1"] == suspicious[0]["rootSha1"] == result["digest"]["sha1"]
    recorded = next(r for r in sim.requests if r["path"] == "/v3.0/sandbox/files/analyze")["body"]
    assert recorded == {
        "documentPassword": "REDACTED",
        "file": {"filename": "sample.com", "contentType": "application/octet-stream", "bytes": len(EICAR)},
    }
    assert call(sim, "GET", "/v3.0/sandbox/tasks/nope").status_code == 404
    assert call(sim, "POST", "/v3.0/sandbox/files/analyze", data={"x": "1"}).status_code == 400


def test_sandbox_url_submission_is_a_207_with_bodies(sim: Simulator) -> None:
    sim.config.sandbox_polls_to_finish = 0
    urls = [{"url": "http://evil.example/x"}, {"url": "not a url"}, {"url": "https://fine.example/"}]
    body = call(sim, "POST", "/v3.0/sandbox/urls/analyze", json=urls).json()
    assert [e["status"] for e in body] == [202, 400, 202]
    first = body[0]["body"]
    assert first["url"] == "http://evil.example/x" and set(first["digest"]) == {"md5", "sha1", "sha256"}
    assert task_id(body[0]) == first["id"]
    task = call(sim, "GET", f"/v3.0/response/tasks/{first['id']}").json()
    assert task["action"] == "submitSandbox" and task["sandboxTaskId"] == first["id"]
    assert call(sim, "GET", f"/v3.0/sandbox/tasks/{first['id']}").json()["status"] == "succeeded"
    suspicious = call(sim, "GET", f"/v3.0/sandbox/analysisResults/{first['id']}/suspiciousObjects").json()
    assert {r["type"] for r in suspicious["items"]} == {"url", "domain"}
    fine = call(sim, "GET", f"/v3.0/sandbox/analysisResults/{body[2]['body']['id']}").json()
    assert fine["riskLevel"] == "noRisk"


# -- workbench -----------------------------------------------------------------------------------------


def test_alert_patch_needs_the_current_etag(sim: Simulator) -> None:
    alert_id = first_alert_id(sim)
    path = f"/v3.0/workbench/alerts/{alert_id}"
    got = call(sim, "GET", path)
    assert got.status_code == 200 and got.json()["id"] == alert_id
    tag = got.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"')
    change = {"status": "Closed", "investigationResult": "True Positive"}
    assert call(sim, "PATCH", path, json=change, headers={"If-Match": tag}).status_code == 204
    stale = call(sim, "PATCH", path, json=change, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "PreconditionFailed"
    assert call(sim, "PATCH", path, json=change).status_code == 428
    again = call(sim, "GET", path)
    assert again.headers["ETag"] != tag and again.json()["status"] == "Closed"
    unquoted = again.headers["ETag"].strip('"')
    reopen = {"status": "In Progress"}
    assert call(sim, "PATCH", path, json=reopen, headers={"If-Match": unquoted}).status_code == 204
    assert call(sim, "PATCH", path, json={"status": "Done"}, headers={"If-Match": "*"}).status_code == 400
    listed = call(sim, "GET", "/v3.0/workbench/alerts", headers={"TMV1-Filter": f"id eq '{alert_id}'"}).json()
    assert listed["items"][0]["status"] == "In Progress"
    assert call(sim, "GET", "/v3.0/workbench/alerts/WB-1-20240101-00001").status_code == 404


def test_alert_notes(sim: Simulator) -> None:
    alert_id = first_alert_id(sim)
    notes = f"/v3.0/workbench/alerts/{alert_id}/notes"
    created = call(sim, "POST", notes, json={"content": "Suspected false positive"})
    assert created.status_code == 201 and created.content == b""
    location = created.headers["Location"]
    assert location.startswith(sim.base_url + notes + "/")
    note = call(sim, "GET", location)
    assert note.json()["content"] == "Suspected false positive" and note.headers["ETag"]
    patched = call(sim, "PATCH", location, json={"content": "TP"}, headers={"If-Match": note.headers["ETag"]})
    assert patched.status_code == 204
    assert [n["content"] for n in call(sim, "GET", notes).json()["items"]] == ["TP"]
    assert call(sim, "POST", notes, json={"text": "x"}).status_code == 400
    note_id = location.rsplit("/", 1)[1]
    assert call(sim, "POST", notes + "/delete", json=[{"id": note_id}]).status_code == 204
    assert call(sim, "GET", notes).json()["items"] == []


# -- custom scripts --------------------------------------------------------------------------------------


def test_script_upload_download_update_delete_round_trip(sim: Simulator) -> None:
    path = "/v3.0/response/customScripts"
    content = "#!/bin/bash\necho 'héllo'\n"
    files = {"file": ("triage.sh", content.encode(), "text/plain")}
    created = call(sim, "POST", path, files=files, data={"fileType": "bash", "description": "triage"})
    assert created.status_code == 201, created.text
    script_id = created.headers["Location"].rsplit("/", 1)[1]
    listed = call(sim, "GET", path, params={"filter": "fileName eq 'triage.sh'"}).json()["items"]
    assert listed == [{"id": script_id, "fileName": "triage.sh", "fileType": "bash", "description": "triage"}]
    download = call(sim, "GET", f"{path}/{script_id}")
    assert download.headers["Content-Type"].startswith("text/plain") and download.text == content
    again = call(sim, "POST", path, files=files, data={"fileType": "bash"})
    assert again.status_code == 409
    wrong = call(
        sim, "POST", path, files={"file": ("x.sh", b"x", "text/plain")}, data={"fileType": "powershell"}
    )
    assert wrong.status_code == 400
    new = {"file": ("triage.ps1", b"Write-Output 1", "text/plain")}
    updated = call(sim, "POST", f"{path}/{script_id}/update", files=new, data={"fileType": "powershell"})
    assert updated.status_code == 204
    assert call(sim, "GET", f"{path}/{script_id}").text == "Write-Output 1"
    assert call(sim, "DELETE", f"{path}/{script_id}").status_code == 204
    assert call(sim, "GET", f"{path}/{script_id}").status_code == 404
    assert call(sim, "DELETE", f"{path}/{script_id}").status_code == 404
    assert all(s["id"] != script_id for s in sim.expected("custom_scripts"))
    seeded = sim.expected("custom_scripts")[0]
    assert seeded["fileName"].split(".")[0] in call(sim, "GET", f"{path}/{seeded['id']}").text


# -- API keys and threat-intel lists ----------------------------------------------------------------------


def test_api_keys_create_get_update_delete_and_never_record_the_value(sim: Simulator) -> None:
    items = [{"name": "cli key", "role": "Analyst", "monthsToExpiration": 1}, {"name": "bad", "role": "Boss"}]
    body = call(sim, "POST", "/v3.0/iam/apiKeys", json=items).json()
    assert [e["status"] for e in body] == [201, 400]
    created = body[0]["body"]
    assert set(created) == {"id", "value", "expiredDateTime"} and created["value"]
    path = f"/v3.0/iam/apiKeys/{created['id']}"
    got = call(sim, "GET", path)
    assert got.json()["name"] == "cli key" and "value" not in got.json()
    tag = got.headers["ETag"].strip('"')
    assert call(sim, "PATCH", path, json={"status": "disabled"}, headers={"If-Match": tag}).status_code == 204
    assert call(sim, "PATCH", path, json={"status": "enabled"}, headers={"If-Match": tag}).status_code == 412
    listed = call(sim, "GET", "/v3.0/iam/apiKeys", headers={"TMV1-Filter": "name eq 'cli key'"}).json()
    assert [(k["id"], k["status"]) for k in listed["items"]] == [(created["id"], "disabled")]
    deleted = call(sim, "POST", "/v3.0/iam/apiKeys/delete", json=[{"id": created["id"]}, {"id": "nope"}])
    assert [e["status"] for e in deleted.json()] == [204, 404]
    assert call(sim, "GET", path).status_code == 404
    recorded = json.dumps([{k: v for k, v in r.items() if k != "headers"} for r in sim.requests])
    assert created["value"] not in recorded and KEY not in recorded
    assert all(r["headers"]["Authorization"] == "REDACTED" for r in sim.requests)


def test_suspicious_and_exception_objects_add_and_delete(sim: Simulator) -> None:
    add = [{"url": "https://bad.example/", "riskLevel": "high", "scanAction": "log", "daysToExpiration": 7}]
    add.append({"url": "u", "riskLevel": "extreme"})
    body = call(sim, "POST", "/v3.0/threatintel/suspiciousObjects", json=add).json()
    assert [e["status"] for e in body] == [201, 400]
    body = call(
        sim, "POST", "/v3.0/threatintel/suspiciousObjectExceptions", json=[{"url": "https://bad.example/"}]
    )
    assert body.json() == [{"status": 201}]
    filtered = {"TMV1-Filter": "url eq 'https://bad.example/'"}
    (row,) = call(sim, "GET", "/v3.0/threatintel/suspiciousObjects", headers=filtered).json()["items"]
    assert (row["riskLevel"], row["scanAction"], row["inExceptionList"]) == ("high", "log", True)
    removed = call(
        sim,
        "POST",
        "/v3.0/threatintel/suspiciousObjectExceptions/delete",
        json=[{"url": "https://bad.example/"}],
    )
    assert removed.json() == [{"status": 204}]
    assert (
        call(sim, "GET", "/v3.0/threatintel/suspiciousObjects", headers=filtered).json()["items"][0][
            "inExceptionList"
        ]
        is False
    )
    gone = call(
        sim,
        "POST",
        "/v3.0/threatintel/suspiciousObjects/delete",
        json=[{"url": "https://bad.example/"}, {"ip": "0.0.0.1"}],
    )
    assert [e["status"] for e in gone.json()] == [204, 404]


def test_eiqs_endpoints_need_an_eq_query(sim: Simulator) -> None:
    ep = endpoint(sim, 3)
    query = {"TMV1-Query": f"endpointName eq '{ep['endpointName']}' or ip eq '0.0.0.0'"}
    (item,) = call(sim, "GET", "/v3.0/eiqs/endpoints", headers=query).json()["items"]
    assert item["agentGuid"] == ep["agentGuid"] and item["endpointName"]["value"] == ep["endpointName"]
    assert call(sim, "GET", "/v3.0/eiqs/endpoints").status_code == 400
    assert call(sim, "GET", "/v3.0/eiqs/endpoints", headers={"TMV1-Query": "nope eq 'x'"}).status_code == 400


# -- the gate and recording ------------------------------------------------------------------------------


def test_gate_401_405_404_403_and_rate_limit_on_action_routes(sim: Simulator) -> None:
    guid = endpoint(sim)["agentGuid"]
    wrong = call(
        sim,
        "POST",
        "/v3.0/response/endpoints/isolate",
        json=[{"agentGuid": guid}],
        headers={"Authorization": "Bearer nope"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "InvalidCredentials"
    assert (
        call(sim, "GET", "/v3.0/response/tasks/1", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    method = call(sim, "GET", "/v3.0/response/endpoints/isolate")
    assert method.status_code == 405 and method.headers["Allow"] == "POST"
    assert call(sim, "PUT", "/v3.0/iam/apiKeys").headers["Allow"] == "GET, POST"
    assert call(sim, "POST", "/v3.0/response/endpoints/nothing", json=[]).status_code == 404
    sim.forbid("/v3.0/response/tasks/{id}")
    assert call(sim, "GET", "/v3.0/response/tasks/1").status_code == 403
    sim.allow()
    sim.config.rate_limit_per_minute = 2
    statuses = [call(sim, "GET", f"/v3.0/response/tasks/{n}").status_code for n in range(3)]
    assert statuses == [404, 404, 429]  # one API, whatever the id
    assert call(sim, "GET", "/v3.0/sandbox/tasks/x").status_code == 404  # another API
    sim.config.rate_limit_per_minute = 0


def test_requests_record_their_bodies(sim: Simulator) -> None:
    guid = endpoint(sim)["agentGuid"]
    call(sim, "POST", "/v3.0/response/endpoints/isolate", json=[{"agentGuid": guid, "description": "é"}])
    call(
        sim,
        "POST",
        "/v3.0/response/endpoints/isolate",
        data=b"[{",
        headers={"Content-Type": "application/json"},
    )
    call(sim, "GET", "/v3.0/healthcheck/connectivity")
    bodies = [r["body"] for r in sim.requests]
    assert bodies == [[{"agentGuid": guid, "description": "é"}], {"invalid": True}, None]


# -- through pytmv1 ------------------------------------------------------------------------------------


def test_pytmv1_isolate_collect_and_poll_task_results(sim: Simulator) -> None:
    client = pytmv1.init("sim-tests", KEY, sim.base_url)
    ep = endpoint(sim)
    sim.config.task_polls_to_finish = 1  # one queued answer: pytmv1 sleeps 2 s, then sees the end
    result = client.endpoint.isolate(EndpointRequest(agent_guid=ep["agentGuid"], description="contain"))
    assert result.result_code == "SUCCESS", result.errors
    (item,) = result.response.items
    task = client.task.get_result(item.task_id, poll=True, poll_time_sec=10)
    assert task.result_code == "SUCCESS", task.error
    assert task.response.status == Status.SUCCEEDED and task.response.endpoint_name == ep["endpointName"]
    sim.config.task_polls_to_finish = 0
    collected = client.endpoint.collect_file(
        CollectFileRequest(endpoint_name=ep["endpointName"], file_path="/etc/x")
    )
    done = client.task.get_result(collected.response.items[0].task_id)
    assert done.response.resource_location and done.response.file_sha1
    mixed = client.endpoint.restore(
        EndpointRequest(agent_guid=ep["agentGuid"]), EndpointRequest(endpoint_name="nope")
    )
    assert mixed.result_code == "ERROR"
    assert [e.status for e in mixed.errors] == [202, 400] and mixed.errors[1].code == "BadRequest"
    blocked = client.object.add_block(ObjectRequest(object_type=ObjectType.IP, object_value="203.0.113.99"))
    assert blocked.result_code == "SUCCESS"
    assert client.task.get_result(blocked.response.items[0].task_id).response.value == "203.0.113.99"


def test_pytmv1_scripts_sandbox_alerts_and_endpoint_data(sim: Simulator) -> None:
    client = pytmv1.init("sim-tests", KEY, sim.base_url)
    sim.config.sandbox_polls_to_finish = 0
    sim.config.task_polls_to_finish = 0
    created = client.script.create(ScriptType.BASH, "cli.sh", "echo cli\n", "from the CLI")
    assert created.result_code == "SUCCESS", created.error
    script_id = created.response.script_id
    assert client.script.download(script_id).response.text == "echo cli\n"
    assert [s.id for s in client.script.list(fileName="cli.sh").response.items] == [script_id]
    ep = endpoint(sim)
    ran = client.script.run(CustomScriptRequest(agent_guid=ep["agentGuid"], file_name="cli.sh"))
    assert client.task.get_result(ran.response.items[0].task_id).response.file_name == "cli.sh"
    assert client.script.delete(script_id).result_code == "SUCCESS"

    submitted = client.sandbox.submit_file(EICAR, "eicar.com", archive_password="infected")
    assert submitted.result_code == "SUCCESS", submitted.error
    analysis = client.sandbox.get_analysis_result(submitted.response.id, poll_time_sec=10)
    assert analysis.response.risk_level == "high"
    assert client.sandbox.download_analysis_result(submitted.response.id).response.content.startswith(b"%PDF")
    urls = client.sandbox.submit_url("https://phish.example/login")
    assert urls.response.items[0].url == "https://phish.example/login"

    alert_id = first_alert_id(sim)
    alert = client.alert.get(alert_id)
    assert alert.result_code == "SUCCESS", alert.error
    update = client.alert.update_status(
        alert_id, alert.response.etag, AlertStatus.CLOSED, InvestigationResult.FALSE_POSITIVE
    )
    assert update.result_code == "SUCCESS", update.error
    stale = client.alert.update_status(alert_id, alert.response.etag, AlertStatus.OPEN)
    assert stale.result_code == "ERROR" and stale.error.status == 412
    assert client.note.create(alert_id, "closed by CLI").response.note_id == "1"

    data = client.endpoint.list_data(QueryOp.OR, endpointName=ep["endpointName"], agentGuid="none")
    assert [e.agent_guid for e in data.response.items] == [ep["agentGuid"]]
    count = client.endpoint.get_activity_count(
        "2024-10-01T00:00:00Z", "2024-10-02T00:00:00Z", endpointHostName=ep["endpointName"]
    )
    assert count.result_code == "SUCCESS", count.error
    wrong = pytmv1.init("sim-tests", "wrong", sim.base_url).endpoint.isolate(EndpointRequest(agent_guid="x"))
    assert wrong.result_code == "ERROR" and wrong.errors[0].status == 401

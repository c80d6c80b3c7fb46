"""Response actions (``POST /v3.0/response/...``) and their tasks (``GET /v3.0/response/tasks/{id}``).

Every action takes a JSON array, one object per target, and answers 207 with one element per item in
order: ``{"status": 202, "headers": [{"name": "Operation-Location", "value": ".../response/tasks/<id>"}]}``
for an accepted item, ``{"status": 400, "body": {"error": {...}}}`` for an invalid one (unknown field,
missing required field, agentGuid / endpointName not in the inventory, unknown object type, script not in
the custom script list). Endpoints are resolved against ``GET /v3.0/endpointSecurity/endpoints``.

A task's status moves ``queued`` -> ``running`` -> final over successive GETs: the final status
(``config.task_final_status``, default ``succeeded``) comes after ``config.task_polls_to_finish`` GETs
(default 2: queued, running, succeeded), both read when the task is created. Seeded tasks (those of
``GET /v3.0/response/tasks``) can be read by id too; their status does not change.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from tests.simulator import threatintel
from tests.simulator.common import Answer, ApiError, Call, iso, to_datetime
from tests.simulator.live import (
    ItemError,
    check_keys,
    item_error,
    item_ok,
    json_array,
    progress,
    text_field,
)

TASKS_PATH = "/v3.0/response/tasks"
ACCOUNT = "svc.soar@corp.example"  # who the simulator's API key acts as
FINAL_STATUSES = ("succeeded", "failed", "rejected", "canceled", "pendingApproval")
_SHA1 = re.compile(r"[0-9a-fA-F]{40}")
_ENDPOINT_KEYS = ("agentGuid", "endpointName", "description")


# -- tasks ---------------------------------------------------------------------------------------------


def new_task(
    world: Any,
    call: Call,
    action: str,
    fields: dict[str, Any],
    done: dict[str, Any] | None = None,
    task_id: str | None = None,
) -> str:
    """Register a task (``queued``) and return its id; ``done`` fields are added once it succeeds."""
    live = world.live
    created = live.tick()
    if task_id is None:
        task_id = f"9{live.next('task'):07d}"
    config = call.config
    finish = max(0, int(getattr(config, "task_polls_to_finish", 2)))
    final = getattr(config, "task_final_status", "succeeded")
    record = {
        "id": task_id,
        "status": "queued",
        "createdDateTime": iso(created),
        "lastActionDateTime": iso(created),
        "action": action,
        "description": fields.pop("description", None),
        "account": ACCOUNT,
        **fields,
    }
    _sub_status(record, "queued")
    with live.lock:
        live.tasks[task_id] = {
            "record": record,
            "polls": 0,
            "finish": finish,
            "final": final,
            "done": done or {},
        }
    return task_id


def task_location(call: Call, task_id: str) -> str:
    return f"{call.base_url}{TASKS_PATH}/{task_id}"


def _sub_status(record: dict[str, Any], status: str) -> None:
    for sub in record.get("tasks") or []:
        sub["status"] = status
        sub["lastActionDateTime"] = record["lastActionDateTime"]


def get_task(world: Any, call: Call) -> Answer:
    task_id = call.args[0]
    live = world.live
    with live.lock:
        entry = live.tasks.get(task_id)
        if entry is not None:
            status, polls = progress(entry, "queued")
            record = entry["record"]
            created = record["createdDateTime"]
            record["status"] = status
            record["lastActionDateTime"] = _plus(created, polls)
            _sub_status(record, status)
            if status == "succeeded":
                record.update(entry["done"])
            elif status == "failed":
                record["error"] = {"code": "TaskError", "message": "Simulated task failure.", "number": 3001}
            return Answer(200, _copy(record))
    seeded = seeded_task(world, task_id)
    if seeded is None:
        raise ApiError(404, "NotFound", f"Task {task_id} does not exist.")
    return Answer(200, seeded)


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    if "tasks" in out:
        out["tasks"] = [dict(t) for t in out["tasks"]]
    return out


def _plus(created: str, seconds: int) -> str:
    return iso(to_datetime(created.replace("Z", "+00:00")) + timedelta(seconds=seconds))


def seeded_task(world: Any, task_id: str) -> dict[str, Any] | None:
    """A task of the generated list by id (ids are ``<days since 2000-01-01:05d><n:03d>``)."""
    if not re.fullmatch(r"\d{8}", task_id) or task_id.startswith("9"):
        return None
    day = date(2000, 1, 1) + timedelta(days=int(task_id[:5]))
    if not world.tasks.start_day <= day < world.tasks.start_day + timedelta(days=world.tasks.days):
        return None
    for record in world.tasks.day(day):
        if record["id"] == task_id:
            return dict(record)
    return None


def live_tasks(world: Any) -> list[dict[str, Any]]:
    """Tasks created through the API, as the task list shows them (their current state, not polled)."""
    with world.live.lock:
        return [_copy(e["record"]) for e in world.live.tasks.values()]


# -- targets -------------------------------------------------------------------------------------------


def resolve_endpoint(world: Any, item: dict[str, Any]) -> dict[str, str]:
    guid = text_field(item, "agentGuid")
    name = text_field(item, "endpointName")
    if guid is None and name is None:
        raise ItemError(400, "Missing required field: agentGuid or endpointName.")
    by_guid, by_name = world.endpoint_index
    record = None
    if guid is not None:
        record = by_guid.get(guid.lower())
        if record is None:
            raise ItemError(400, f"Invalid value for agentGuid: '{guid}' is not a managed endpoint.")
    if name is not None:
        named = by_name.get(name.lower())
        if named is None:
            raise ItemError(400, f"Invalid value for endpointName: '{name}' is not a managed endpoint.")
        if record is not None and named is not record:
            raise ItemError(400, "agentGuid and endpointName name different endpoints.")
        record = named
    assert record is not None
    return {"agentGuid": record["agentGuid"], "endpointName": record["endpointName"]}


def _batch(world: Any, call: Call, make: Any) -> Answer:
    """Apply ``make(item) -> task id`` to each item; 207 in order, 400 elements for invalid items."""
    out = []
    for item in json_array(call):
        try:
            if not isinstance(item, dict):
                raise ItemError(400, "Each item must be a JSON object.")
            out.append(item_ok(202, task_location(call, make(item))))
        except ItemError as exc:
            out.append(item_error(exc.status, exc.message))
    return Answer(207, out)


# -- endpoints -----------------------------------------------------------------------------------------


def _endpoint_action(action: str) -> Any:
    def handler(world: Any, call: Call) -> Answer:
        def make(item: dict[str, Any]) -> str:
            check_keys(item, _ENDPOINT_KEYS)
            target = resolve_endpoint(world, item)
            return new_task(world, call, action, {"description": text_field(item, "description"), **target})

        return _batch(world, call, make)

    return handler


isolate = _endpoint_action("isolate")
restore = _endpoint_action("restoreIsolate")


def collect_file(world: Any, call: Call) -> Answer:
    def make(item: dict[str, Any]) -> str:
        check_keys(item, (*_ENDPOINT_KEYS, "filePath"))
        target = resolve_endpoint(world, item)
        path = text_field(item, "filePath", required=True)
        n = world.live.next("collected")
        digest = world.live.digest("collect", target["agentGuid"], path)
        fields = {"description": text_field(item, "description"), **target, "filePath": path}
        done = {
            "fileSha1": digest[:40],
            "fileSha256": world.live.digest("collect256", target["agentGuid"], path)[:64],
            "fileSize": 1024 + int(digest[:6], 16) % 4_000_000,
            "resourceLocation": f"{call.base_url}/_simulator/collected/{n}.zip",
            "expiredDateTime": iso(world.now + timedelta(days=7)),
            "password": "virus",
        }
        return new_task(world, call, "collectFile", fields, done)

    return _batch(world, call, make)


def terminate_process(world: Any, call: Call) -> Answer:
    def make(item: dict[str, Any]) -> str:
        check_keys(item, (*_ENDPOINT_KEYS, "fileSha1", "fileName"))
        target = resolve_endpoint(world, item)
        sha1 = text_field(item, "fileSha1", required=True)
        if not _SHA1.fullmatch(sha1 or ""):
            raise ItemError(400, f"Invalid value for fileSha1: '{sha1}' is not a SHA-1 (40 hex digits).")
        fields = {"description": text_field(item, "description"), **target, "fileSha1": sha1}
        name = text_field(item, "fileName")
        if name is not None:
            fields["fileName"] = name
        return new_task(world, call, "terminateProcess", fields)

    return _batch(world, call, make)


def run_script(world: Any, call: Call) -> Answer:
    def make(item: dict[str, Any]) -> str:
        check_keys(item, (*_ENDPOINT_KEYS, "fileName", "parameter"))
        target = resolve_endpoint(world, item)
        name = text_field(item, "fileName", required=True)
        with world.live.lock:
            known = any(s["fileName"] == name for s in world.custom_scripts)
        if not known:
            raise ItemError(400, f"Invalid value for fileName: no custom script named '{name}'.")
        fields: dict[str, Any] = {"description": text_field(item, "description"), **target, "fileName": name}
        parameter = text_field(item, "parameter")
        if parameter is not None:
            fields["parameter"] = parameter
        n = world.live.next("script-result")
        done = {
            "resourceLocation": f"{call.base_url}/_simulator/scriptResults/{n}.zip",
            "expiredDateTime": iso(world.now + timedelta(days=7)),
            "password": "trend",
        }
        return new_task(world, call, "runCustomScript", fields, done)

    return _batch(world, call, make)


# -- block list ------------------------------------------------------------------------------------------


def _block_action(action: str) -> Any:
    def handler(world: Any, call: Call) -> Answer:
        def make(item: dict[str, Any]) -> str:
            kind, value = threatintel.object_of(item)
            description = text_field(item, "description")
            if action == "block":
                threatintel.upsert_suspicious(world, kind, value, description, "high", "block", 30)
            else:
                threatintel.remove(world, "suspicious", kind, value)
            return new_task(world, call, action, {"description": description, kind: value})

        return _batch(world, call, make)

    return handler


add_block = _block_action("block")
remove_block = _block_action("restoreBlock")


# -- email -----------------------------------------------------------------------------------------------


def _email_action(action: str) -> Any:
    def handler(world: Any, call: Call) -> Answer:
        def make(item: dict[str, Any]) -> str:
            check_keys(item, ("messageId", "mailBox", "uniqueId", "description"))
            message_id = text_field(item, "messageId")
            unique_id = text_field(item, "uniqueId")
            mailbox = text_field(item, "mailBox")
            if (message_id is None) == (unique_id is None):
                raise ItemError(400, "Each item needs either messageId (with optional mailBox) or uniqueId.")
            if unique_id is not None and mailbox is not None:
                raise ItemError(400, "mailBox goes with messageId, not with uniqueId.")
            sub: dict[str, Any] = {"status": "queued", "lastActionDateTime": None}
            if message_id is not None:
                sub["messageId"] = message_id
                sub["mailBox"] = mailbox or "ana.silva@corp.example"
            else:
                sub["uniqueId"] = unique_id
            sub["messageSubject"] = "Invoice #4471, please review"
            sub["organizationId"] = "org-" + world.live.digest("org")[:12]
            return new_task(
                world, call, action, {"description": text_field(item, "description"), "tasks": [sub]}
            )

        return _batch(world, call, make)

    return handler


quarantine_email = _email_action("quarantineMessage")
delete_email = _email_action("deleteMessage")
restore_email = _email_action("restoreMessage")


# -- domain accounts -------------------------------------------------------------------------------------


def _account_action(action: str) -> Any:
    def handler(world: Any, call: Call) -> Answer:
        def make(item: dict[str, Any]) -> str:
            check_keys(item, ("accountName", "description"))
            name = text_field(item, "accountName", required=True)
            assert name is not None
            sub = {
                "accountName": name,
                "iam": "AAD" if "@" in name else "OPAD",
                "lastActionDateTime": None,
                "status": "queued",
            }
            return new_task(
                world, call, action, {"description": text_field(item, "description"), "tasks": [sub]}
            )

        return _batch(world, call, make)

    return handler


disable_account = _account_action("disableAccount")
enable_account = _account_action("enableAccount")
sign_out_account = _account_action("forceSignOut")
reset_password = _account_action("resetPassword")

"""``GET /v3.0/response/tasks`` and ``GET /v3.0/response/customScripts``: response actions and scripts.

Both take their filter as a ``filter`` query parameter (not a header). Tasks are created in the data
range by IAM accounts against inventory endpoints, and their ``lastActionDateTime`` is minutes to hours
later (before ``now``). Custom scripts page at a fixed 5 and take no ``top``.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from tests.simulator import odata
from tests.simulator.actions import live_tasks
from tests.simulator.bodies import Part
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
from tests.simulator.daily import day_start
from tests.simulator.data import FILES, PROCESSES, RECIPIENTS, _hashes, _uuid, pools
from tests.simulator.live import form
from tests.simulator.paging import listing, page

TASKS_PATH = "/v3.0/response/tasks"
SCRIPTS_PATH = "/v3.0/response/customScripts"
TOPS = (50, 100, 200)
SCRIPTS_PAGE_SIZE = 5
MAX_LAG = timedelta(hours=10)
TARGETS = ("createdDateTime", "lastActionDateTime")
TASK_FILTER = odata.fields("id", "status", "action", "account")
SCRIPT_FILTER = odata.fields("fileName", "fileType")
FILTER_MAX_LENGTH = 2048  # the ``filter`` parameter of both endpoints
_STATUSES = ("succeeded",) * 6 + ("failed", "rejected", "canceled", "queued", "running", "pendingApproval")
_ENDPOINT_ACTIONS = ("isolate", "restoreIsolate", "collectFile", "terminateProcess", "runCustomScript")
_ACTIONS = (
    *_ENDPOINT_ACTIONS,
    "isolate",
    "block",
    "restoreBlock",
    "quarantineMessage",
    "deleteMessage",
    "disableAccount",
    "resetPassword",
    "forceSignOut",
    "submitSandbox",
)
_TASK_DESCRIPTIONS = (
    "Isolate after WB alert, ticket #4471",
    '"Contain" the host, then collect evidence',
    "=cmd|' /C calc'!A0",
    "+escalated by on-call",
    "-- automated by SOAR --",
    "@ana please review",
    "Réponse à l'incident\nphase 2",
    "",
)
_BLOCK_OBJECTS = (
    ("url", "http://evil.example/download.php?id=7,8"),
    ("domain", "micros0ft-support.example"),
    ("ip", "203.0.113.7"),
    ("fileSha1", "3395856ce81f2b7382dee72602f798b642f14140"),
    ("senderMailAddress", "billing@vendor-payments.example"),
)

_SCRIPTS = (
    ("collect_triage.ps1", "powershell", "Collects triage data: processes, services, autoruns"),
    ("kill, and clean.ps1", "powershell", 'Stops a process "by name", then removes its files'),
    ("=calc.ps1", "powershell", "Formula-looking name, harmless"),
    ("收集日志.sh", "bash", "收集系统日志"),
    ("netstat_dump.sh", "bash", "Dumps connections\nand listening ports"),
    ("reset-proxy.ps1", "powershell", "+Resets WinHTTP proxy settings"),
    ("@startup_check.sh", "bash", "Lists systemd units enabled at boot"),
    ("quarantine_file.ps1", "powershell", "-Moves a file to C:\\Quarantine"),
    ("list_users.sh", "bash", "Local users, groups, sudoers"),
    ("dns_flush.ps1", "powershell", "ipconfig /flushdns, then re-register"),
    ("yara_scan.sh", "bash", "Runs a YARA rule set over /home, /tmp"),
    ("Überprüfung.ps1", "powershell", "Prüft Defender-Status"),
)


@lru_cache(maxsize=16)
def custom_scripts(seed: int) -> tuple[dict[str, Any], ...]:
    rng = random.Random(f"visionone-scripts:{seed}")
    return tuple(
        {"id": _uuid(rng.getrandbits(128)), "fileName": name, "fileType": kind, "description": description}
        for name, kind, description in _SCRIPTS
    )


def make_day(
    seed: int, day: date, per_day: int, now: datetime, emails: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The tasks created on ``day``, oldest first."""
    rng = random.Random(f"visionone-tasks:{seed}:{day.isoformat()}")
    base = day_start(day)
    created_times = sorted(base + timedelta(seconds=rng.randrange(86_400)) for _ in range(per_day))
    p = pools(seed)
    scripts = custom_scripts(seed)
    ordinal = (day - date(2000, 1, 1)).days
    out = []
    for n, created in enumerate(created_times):
        last = created + timedelta(seconds=rng.randrange(60, int(MAX_LAG.total_seconds())))
        if last >= now:
            last = max(created, created + (now - created) * rng.random())
        action = rng.choice(_ACTIONS)
        status = rng.choice(_STATUSES)
        task: dict[str, Any] = {
            "id": f"{ordinal:05d}{n:03d}",
            "status": status,
            "action": action,
            "description": rng.choice(_TASK_DESCRIPTIONS),
            "account": rng.choice(emails),
            "createdDateTime": iso(created),
            "lastActionDateTime": iso(last),
        }
        if action in _ENDPOINT_ACTIONS:
            ep = rng.choice(p.endpoints)
            task["agentGuid"] = ep.guid
            task["endpointName"] = ep.name
        if action == "collectFile":
            names, path = FILES[rng.randrange(len(FILES))]
            hashes = _hashes(seed, f"file:{names[0]}")
            task.update(
                filePath=path + names[0],
                fileSha1=hashes["Sha1"],
                fileSha256=hashes["Sha256"],
                fileSize=rng.randrange(100, 5_000_000),
                resourceLocation=f"https://storage.example/collected/{task['id']}.zip?sig=a,b",
                expiredDateTime=iso(last + timedelta(days=7)),
            )
        elif action == "terminateProcess":
            proc = PROCESSES[rng.randrange(len(PROCESSES))]
            task.update(fileSha1=_hashes(seed, f"proc:{proc[0]}")["Sha1"], fileName=proc[0])
        elif action == "runCustomScript":
            task.update(
                fileName=rng.choice(scripts)["fileName"],
                resourceLocation=f"https://storage.example/results/{task['id']}.txt",
                expiredDateTime=iso(last + timedelta(days=7)),
            )
        elif action in ("block", "restoreBlock"):
            kind, value = rng.choice(_BLOCK_OBJECTS)
            task[kind] = value
        elif action in ("quarantineMessage", "deleteMessage"):
            task["tasks"] = [
                {
                    "lastActionDateTime": iso(last),
                    "status": status,
                    "messageId": f"<{rng.getrandbits(48):012x}@mail.example>",
                    "mailBox": rng.choice(RECIPIENTS),
                }
                for _ in range(rng.randrange(1, 3))
            ]
        elif action in ("disableAccount", "resetPassword", "forceSignOut"):
            task["tasks"] = [
                {
                    "lastActionDateTime": iso(last),
                    "status": status,
                    "accountName": rng.choice(emails),
                    "iam": rng.choice(("AAD", "OPAD")),
                }
            ]
        elif action == "submitSandbox":
            task.update(
                url=rng.choice(("http://evil.example/x.exe", "https://例え.テスト/a,b")),
                sandboxTaskId=_uuid(rng.getrandbits(128)),
            )
        task["error"] = (
            {
                "code": "TaskError",
                "message": rng.choice(('Endpoint offline, "retry later"', "Agent timeout")),
                "number": 3000 + rng.randrange(100),  # pytmv1's TaskError requires it
            }
            if status == "failed"
            else None
        )
        out.append(task)
    return out


def select(world: Any, start: datetime | None, end: datetime | None, target: str) -> list[dict[str, Any]]:
    """Tasks whose ``target`` lies in ``[start, end)``, newest first by it."""
    lo = start if start is None or target == "createdDateTime" else start - MAX_LAG
    rows = [r for r in world.tasks.created_between(lo, end) if in_window(r[target], start, end)]
    rows.sort(key=lambda r: (r[target], r["id"]), reverse=True)
    return rows


def _filter(call: Call, known: odata.Fields) -> tuple[odata.Filter, str | None]:
    text = call.params.get("filter")
    try:
        return odata.parse(text, known, "endpoint", FILTER_MAX_LENGTH), text
    except odata.FilterError as exc:
        raise bad_request(f"Invalid value for filter: {exc}.") from None


def list_tasks(world: Any, call: Call) -> dict[str, Any]:
    params = call.params
    check_known(params, ("startDateTime", "endDateTime", "dateTimeTarget", "filter", "top"))
    top = check_top(params, TOPS, 50)
    start = time_param(params, "startDateTime", None)
    end = time_param(params, "endDateTime", call.now)
    check_range(start, end, "startDateTime", "endDateTime")
    target = check_choice(params, "dateTimeTarget", TARGETS, "createdDateTime")
    parsed, text = _filter(call, TASK_FILTER)
    rows = world.tasks.queries.get(
        (text, start, end, target),
        lambda: [r for r in select(world, start, end, target) if parsed.matches(r)],
    )
    created = [r for r in live_tasks(world) if in_window(r[target], start, end) and parsed.matches(r)]
    if created:  # tasks created through the API (after ``now``: only in windows that reach past it)
        rows = sorted([*rows, *created], key=lambda r: (r[target], r["id"]), reverse=True)
    chunk, link = page(call.pager, call.path, rows, top, params, link_params(params), text, "filter")
    return listing(list(chunk), link)


def list_scripts(world: Any, call: Call) -> dict[str, Any]:
    params = call.params
    if "top" in params:
        raise bad_request("Invalid parameter: top. This API does not take top; it pages at a fixed size.")
    check_known(params, ("filter",))
    parsed, text = _filter(call, SCRIPT_FILTER)
    rows = [r for r in list(world.custom_scripts) if parsed.matches(r)]
    chunk, link = page(
        call.pager, call.path, rows, SCRIPTS_PAGE_SIZE, params, link_params(params), text, "filter"
    )
    return listing(list(chunk), link)


# -- custom script writes -------------------------------------------------------------------------------
# POST /customScripts (multipart: ``file`` + ``fileType`` [+ ``description``]) -> 201 + Location;
# GET /customScripts/{id} -> the script as text/plain; POST /customScripts/{id}/update (multipart as add)
# -> 204; DELETE /customScripts/{id} -> 204. The list (``list_scripts``) shows the changes at once.

SCRIPT_TYPES = {"powershell": ".ps1", "bash": ".sh"}
MAX_SCRIPT_BYTES = 1024 * 1024


def script_text(world: Any, record: dict[str, Any]) -> str:
    """A script's content (seeded scripts get a small, deterministic one)."""
    live = world.live
    with live.lock:
        if record["id"] not in live.script_text:
            if record["fileType"] == "powershell":
                body = f'# {record["fileName"]}\n# {record["description"]}\nWrite-Output "done"\n'
            else:
                body = f"#!/bin/bash\n# {record['fileName']}\n# {record['description']}\necho done\n"
            live.script_text[record["id"]] = body
        return live.script_text[record["id"]]


def _script_form(call: Call) -> tuple[str, str, str, str | None]:
    fields = form(call)
    unknown = [k for k in fields if k not in ("file", "fileType", "description")]
    if unknown:
        raise bad_request(
            f"Unknown form field(s): {', '.join(unknown)}. Fields: file, fileType, description."
        )
    part = fields.get("file")
    if not isinstance(part, Part) or not part.filename:
        raise bad_request("The form needs a 'file' part with a file name.")
    kind = fields.get("fileType")
    if kind not in SCRIPT_TYPES:
        raise bad_request(f"Invalid value for fileType: '{kind}'. Allowed values: powershell, bash.")
    if not part.filename.lower().endswith(SCRIPT_TYPES[kind]):
        raise bad_request(
            f"A {kind} script's file name must end with {SCRIPT_TYPES[kind]}: '{part.filename}'."
        )
    if len(part.data) > MAX_SCRIPT_BYTES:
        raise ApiError(413, "RequestEntityTooLarge", "A custom script is at most 1 MB.")
    try:
        text = part.data.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("Custom scripts must be UTF-8 text.") from None
    description = fields.get("description")
    return part.filename, kind, text, description if isinstance(description, str) else None


def _script(world: Any, script_id: str) -> dict[str, Any]:
    for record in world.custom_scripts:
        if record["id"] == script_id:
            return record
    raise ApiError(404, "NotFound", f"Custom script {script_id} does not exist.")


def add_script(world: Any, call: Call) -> Answer:
    name, kind, text, description = _script_form(call)
    live = world.live
    with live.lock:
        if any(r["fileName"] == name for r in world.custom_scripts):
            raise ApiError(409, "Conflict", f"A custom script named '{name}' already exists.")
        script_id = _uuid(int(live.digest("script", live.next("script"))[:32], 16))
        record: dict[str, Any] = {"id": script_id, "fileName": name, "fileType": kind}
        record["description"] = description if description is not None else ""
        world.custom_scripts.append(record)
        live.script_text[script_id] = text
    return Answer(201, None, (("Location", f"{call.base_url}{SCRIPTS_PATH}/{script_id}"),))


def download_script(world: Any, call: Call) -> Answer:
    with world.live.lock:
        record = _script(world, call.args[0])
        text = script_text(world, record)
    return Answer(200, text.encode("utf-8"), content_type="text/plain; charset=utf-8")


def update_script(world: Any, call: Call) -> Answer:
    name, kind, text, description = _script_form(call)
    with world.live.lock:
        record = _script(world, call.args[0])
        if any(r["fileName"] == name and r is not record for r in world.custom_scripts):
            raise ApiError(409, "Conflict", f"A custom script named '{name}' already exists.")
        record.update(fileName=name, fileType=kind)
        if description is not None:
            record["description"] = description
        world.live.script_text[record["id"]] = text
    return Answer(204)


def delete_script(world: Any, call: Call) -> Answer:
    with world.live.lock:
        record = _script(world, call.args[0])
        world.custom_scripts.remove(record)
        world.live.script_text.pop(record["id"], None)
    return Answer(204)

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
from tests.simulator.daily import day_start
from tests.simulator.data import FILES, PROCESSES, RECIPIENTS, _hashes, _uuid, pools
from tests.simulator.paging import listing, page

TASKS_PATH = "/v3.0/response/tasks"
SCRIPTS_PATH = "/v3.0/response/customScripts"
TOPS = (50, 100, 200)
SCRIPTS_PAGE_SIZE = 5
MAX_LAG = timedelta(hours=10)
TARGETS = ("createdDateTime", "lastActionDateTime")
TASK_FILTER = odata.fields("id", "status", "action", "account")
SCRIPT_FILTER = odata.fields("fileName", "fileType")
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
            {"code": "TaskError", "message": rng.choice(('Endpoint offline, "retry later"', "Agent timeout"))}
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
        return odata.parse(text, known, "endpoint"), text
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
    chunk, link = page(call.pager, call.path, rows, top, params, link_params(params), text, "filter")
    return listing(list(chunk), link)


def list_scripts(world: Any, call: Call) -> dict[str, Any]:
    params = call.params
    if "top" in params:
        raise bad_request("Invalid parameter: top. This API does not take top; it pages at a fixed size.")
    check_known(params, ("filter",))
    parsed, text = _filter(call, SCRIPT_FILTER)
    rows = [r for r in world.custom_scripts if parsed.matches(r)]
    chunk, link = page(
        call.pager, call.path, rows, SCRIPTS_PAGE_SIZE, params, link_params(params), text, "filter"
    )
    return listing(list(chunk), link)

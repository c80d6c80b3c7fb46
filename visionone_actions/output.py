"""What visionone-actions prints on stdout: JSON (default, for scripts) or plain-text tables (for people)."""

from __future__ import annotations

import json
from typing import Any

from visionone_actions.runner import DryRun, Outcome

MAX_CELL = 60


def as_json(action: str, result: list[Outcome] | DryRun, item_count: int) -> dict[str, Any]:
    if isinstance(result, DryRun):
        return {"action": action, "dry_run": True, "items": item_count, "requests": result.requests}
    failed = sum(1 for outcome in result if not outcome.ok)
    return {
        "action": action,
        "results": [outcome.to_json() for outcome in result],
        "succeeded": len(result) - failed,
        "failed": failed,
    }


def render(action: str, result: list[Outcome] | DryRun, item_count: int, fmt: str) -> str:
    data = as_json(action, result, item_count)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False)
    if isinstance(result, DryRun):
        parts = [f"{action}: dry run, {item_count} item(s), nothing sent"]
        for request in result.requests:
            parts.append(f"\n{request['method']} {request['path']}")
            if request.get("host"):
                parts.append(f"host: {request['host']}")
            for name in ("params", "headers", "form", "files"):
                if request.get(name):
                    parts.append(f"{name}: {json.dumps(request[name], ensure_ascii=False)}")
            if "body" in request:
                parts.append(json.dumps(request["body"], indent=2, ensure_ascii=False))
        return "\n".join(parts)
    return _outcome_tables(action, result, data)


def _outcome_tables(action: str, outcomes: list[Outcome], data: dict[str, Any]) -> str:
    parts = []
    simple = all(not isinstance(o.response, dict) or "items" not in o.response for o in outcomes) and (
        len(outcomes) > 1 or outcomes[0].task_id or outcomes[0].error or outcomes[0].response is None
    )
    if simple or len(outcomes) > 1:
        rows = []
        for number, o in enumerate(outcomes, 1):
            error = o.error or {}
            rows.append(
                {
                    "#": number,
                    "input": ", ".join(f"{k}={_cell(v)}" for k, v in o.input.items()),
                    "result": "ok" if o.ok else "FAILED",
                    "status": o.status,
                    "task_id": o.task_id,
                    "task_status": (o.task or {}).get("status"),
                    "file": o.file,
                    "error": " ".join(str(x) for x in (error.get("code"), error.get("message")) if x) or None,
                    "response": o.response if not isinstance(o.response, dict) or len(o.response) else None,
                }
            )
        parts.append(table(rows))
    else:
        response = outcomes[0].response
        if isinstance(response, dict) and isinstance(response.get("items"), list):
            parts.append(table(response["items"]) if response["items"] else "(no items)")
            parts.append(f"{response.get('count', len(response['items']))} item(s)")
        elif isinstance(response, dict):
            parts.append(table([{"field": k, "value": v} for k, v in response.items()]))
        else:
            parts.append(str(response))
    parts.append(f"{action}: {data['succeeded']} succeeded, {data['failed']} failed")
    return "\n".join(parts)


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def table(rows: list[dict[str, Any]]) -> str:
    """Rows as aligned columns (every key that has a value somewhere, in first-seen order)."""
    headers: list[str] = []
    for row in rows:
        for key, value in row.items():
            if key not in headers and value is not None:
                headers.append(key)
    cells = [[("" if row.get(h) is None else _cell(row.get(h))) for h in headers] for row in rows]
    widths = [max([len(h)] + [len(line[i]) for line in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    return "\n".join(lines)

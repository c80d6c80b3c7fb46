"""What visionone-actions prints on stdout: JSON (default, for scripts) or plain-text tables (for people)."""

from __future__ import annotations

import json
import shutil
import textwrap
from typing import Any

from visionone_actions.runner import DryRun, Outcome

DEFAULT_WIDTH = 100  # when stdout is not a terminal and COLUMNS is unset
MIN_COLUMN = 12  # a wrapped column is never narrower (nor narrower than its header)
GAP = "  "


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
            for name, label in (
                ("params", "query"),
                ("headers", "headers"),
                ("form", "form"),
                ("files", "files"),
            ):
                if request.get(name):
                    parts.append(f"{label}: {json.dumps(request[name], ensure_ascii=False)}")
            if "body" in request:
                parts.append(json.dumps(request["body"], indent=2, ensure_ascii=False))
            if request.get("note"):
                parts.append(f"note: {request['note']}")
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
    """A value as one line of text (whitespace collapsed), whole: the table wraps it, never cuts it."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return " ".join(text.split())


def terminal_width() -> int:
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def table(rows: list[dict[str, Any]], width: int | None = None) -> str:
    """Rows as aligned columns (every key that has a value somewhere, in first-seen order), fitted to
    ``width`` (default: the terminal's): long cells wrap at word boundaries, continuing on the next lines
    under the same column, so an error message is read whole."""
    headers: list[str] = []
    for row in rows:
        for key, value in row.items():
            if key not in headers and value is not None:
                headers.append(key)
    cells = [[("" if row.get(h) is None else _cell(row.get(h))) for h in headers] for row in rows]
    natural = [max([len(h)] + [len(line[i]) for line in cells]) for i, h in enumerate(headers)]
    words = [
        max([len(h)] + [len(w) for line in cells for w in line[i].split()]) for i, h in enumerate(headers)
    ]
    widths = _fit(headers, natural, words, terminal_width() if width is None else width)
    lines = [GAP.join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append(GAP.join("-" * w for w in widths))
    for line in cells:
        wrapped = [_wrap(text, w) for text, w in zip(line, widths, strict=True)]
        for n in range(max(len(parts) for parts in wrapped)):
            pieces = [
                (parts[n] if n < len(parts) else "").ljust(w)
                for parts, w in zip(wrapped, widths, strict=True)
            ]
            lines.append(GAP.join(pieces).rstrip())
    return "\n".join(lines)


def _fit(headers: list[str], natural: list[int], words: list[int], width: int) -> list[int]:
    """Column widths within ``width``: every column at least its header (and `MIN_COLUMN`, when it has
    that much), then, where they fit, wide enough for its longest word, so lines break between words;
    what is left goes to the narrowest columns first. A terminal too narrow for the floors is
    overflowed rather than every column shredded."""
    room = width - len(GAP) * (len(natural) - 1)
    if sum(natural) <= room:
        return natural
    floors = [min(n, max(len(h), MIN_COLUMN)) for n, h in zip(natural, headers, strict=True)]
    whole_words = [max(f, min(n, w)) for f, n, w in zip(floors, natural, words, strict=True)]
    if sum(whole_words) <= room:
        return _fill(whole_words, natural, room)
    return _fill(floors, whole_words, room)


def _fill(low: list[int], high: list[int], room: int) -> list[int]:
    """Widths from ``low`` towards ``high`` summing to at most ``room``, the narrowest grown first."""
    if sum(low) >= room:
        return low

    def total(level: int) -> int:
        return sum(min(h, max(lo, level)) for lo, h in zip(low, high, strict=True))

    bottom, top = 0, max(high)  # the highest level whose widths still fit
    while bottom < top:
        middle = (bottom + top + 1) // 2
        bottom, top = (middle, top) if total(middle) <= room else (bottom, middle - 1)
    widths = [min(h, max(lo, bottom)) for lo, h in zip(low, high, strict=True)]
    spare = room - sum(widths)
    for i, h in enumerate(high):
        if spare and widths[i] < h:
            widths[i] += 1
            spare -= 1
    return widths


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken between words; a word longer than a line (a URL, a
    hash) is split, not cut."""
    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]

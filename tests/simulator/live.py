"""The state that write endpoints change, one per simulator: tasks, sandbox submissions, scripts' text,
alert edits and notes, API keys' ETags; plus the pieces every write endpoint shares (the 207 body, ETags,
If-Match, deterministic ids and a clock).

Everything is deterministic: ids come from counters, and the clock starts at the simulator's ``now`` and
advances one second per write (so created objects sort after the seeded data and after each other).
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from tests.simulator.bodies import INVALID
from tests.simulator.common import ApiError, Call, bad_request, iso

STATUS_MESSAGES = {400: "BadRequest", 404: "NotFound", 409: "Conflict"}


class Live:
    """Mutable per-simulator state; hold :attr:`lock` while reading-then-writing it."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.seed = seed
        self.start = now
        self.lock = threading.RLock()
        self._counters: Counter[str] = Counter()
        self._ticks = 0
        self.tasks: dict[str, dict[str, Any]] = {}  # response task id -> Progress dict
        self.sandbox: dict[str, dict[str, Any]] = {}  # sandbox submission id -> Progress dict
        self.script_text: dict[str, str] = {}  # script id -> content (seeded ones on first use)
        self.alert_edits: dict[str, dict[str, Any]] = {}  # alert id -> changed fields
        self.alert_versions: Counter[str] = Counter()
        self.notes: dict[str, list[dict[str, Any]]] = {}  # alert id -> notes, oldest first
        self.note_versions: Counter[str] = Counter()
        self.key_versions: Counter[str] = Counter()

    def next(self, kind: str) -> int:
        """1, 2, 3, ... per kind."""
        with self.lock:
            self._counters[kind] += 1
            return self._counters[kind]

    def tick(self) -> datetime:
        """The write clock: ``now`` + 1 s per call."""
        with self.lock:
            self._ticks += 1
            return self.start + timedelta(seconds=self._ticks)

    def digest(self, *parts: object) -> str:
        return hashlib.sha256(":".join(str(p) for p in (self.seed, *parts)).encode()).hexdigest()


# -- shared by the write endpoints -----------------------------------------------------------------------


def etag(*parts: object) -> str:
    """A quoted strong ETag for a resource version."""
    return '"' + hashlib.sha1(":".join(str(p) for p in parts).encode()).hexdigest() + '"'


def check_if_match(call: Call, current: str) -> None:
    """``If-Match`` must name the current ETag (quoted or not, ``W/`` tolerated): else 428 or 412."""
    given = call.header("If-Match")
    if given is None or not given.strip():
        raise ApiError(
            428, "PreconditionRequired", "The If-Match header is required; GET the resource for its ETag."
        )
    wanted = current.strip('"')
    candidates = [g.strip() for g in given.split(",")]
    for candidate in candidates:
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == "*" or candidate.strip('"') == wanted:
            return
    raise ApiError(412, "PreconditionFailed", "The resource has changed: If-Match does not match its ETag.")


def json_object(call: Call) -> dict[str, Any]:
    if call.body is INVALID:
        raise bad_request("The request body is not valid JSON.")
    if not isinstance(call.body, dict):
        raise bad_request("The request body must be a JSON object.")
    return call.body


def json_array(call: Call, max_items: int = 100) -> list[Any]:
    if call.body is INVALID:
        raise bad_request("The request body is not valid JSON.")
    if not isinstance(call.body, list):
        raise bad_request("The request body must be a JSON array of objects.")
    if not call.body:
        raise bad_request("The request body must hold at least one item.")
    if len(call.body) > max_items:
        raise bad_request(f"Too many items: {len(call.body)} (at most {max_items}).")
    return call.body


def form(call: Call) -> dict[str, Any]:
    if not isinstance(call.body, dict) or call.body is INVALID:
        raise bad_request("The request body must be multipart/form-data.")
    return call.body


def item_error(status: int, message: str) -> dict[str, Any]:
    """A failed element of a 207 body."""
    return {
        "status": status,
        "body": {"error": {"code": STATUS_MESSAGES.get(status, "Error"), "message": message}},
    }


def item_ok(status: int, location: str | None = None, body: Any = None) -> dict[str, Any]:
    """A successful element of a 207 body (``Operation-Location`` when there is a task to follow)."""
    out: dict[str, Any] = {"status": status}
    if location is not None:
        out["headers"] = [{"name": "Operation-Location", "value": location}]
    if body is not None:
        out["body"] = body
    return out


class ItemError(Exception):
    """One element of a batch is invalid: it gets ``item_error(status, message)`` in the 207 body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def check_keys(item: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = [k for k in item if k not in allowed]
    if unknown:
        raise ItemError(400, f"Unknown field(s): {', '.join(unknown)}. Allowed fields: {', '.join(allowed)}.")


def text_field(item: dict[str, Any], name: str, required: bool = False, max_length: int = 1024) -> str | None:
    value = item.get(name)
    if value is None:
        if required:
            raise ItemError(400, f"Missing required field: {name}.")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise ItemError(400, f"Invalid value for {name}: a non-empty string is required.")
    if len(value) > max_length:
        raise ItemError(400, f"Invalid value for {name}: longer than {max_length} characters.")
    return value


# -- progress: queued/running -> final over successive GETs ----------------------------------------------


def progress(entry: dict[str, Any], first: str) -> tuple[str, int]:
    """Count one GET of a task and return (status, polls so far).

    ``entry`` holds ``polls``, ``finish`` (GETs before the final status) and ``final``. The first GET
    sees ``first`` (queued for tasks; running for sandbox), later ones ``running``, and the GET after
    ``finish`` GETs sees the final status (``finish`` 0: final at once).
    """
    entry["polls"] += 1
    polls = entry["polls"]
    if polls > entry["finish"]:
        return entry["final"], polls
    return (first if polls == 1 else "running"), polls


def api_time(moment: datetime) -> str:
    return iso(moment)

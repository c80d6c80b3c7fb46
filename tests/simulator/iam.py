"""``GET /v3.0/iam/accounts`` and ``GET /v3.0/iam/apiKeys``: the console's users and API keys.

Accounts are also who logs on in the audit logs and who acts in response tasks and alerts, so each
carries a logon plan (recent, stale or never) that :mod:`audit` follows; an inactive-account report
can then be checked against :meth:`Simulator.last_logons`. API keys never carry a key value.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from tests.simulator import odata
from tests.simulator.common import Call, bad_request, check_known, check_top, iso
from tests.simulator.data import _uuid
from tests.simulator.paging import listing, page

ACCOUNTS_PATH = "/v3.0/iam/accounts"
API_KEYS_PATH = "/v3.0/iam/apiKeys"
TOPS = (50, 100, 200)

# (email local part, role) — unicode, an apostrophe (quoting in filters) and plain names
_PEOPLE = (
    ("ana.silva", "Master Administrator"),
    ("mark.jones", "Senior Analyst"),
    ("田中.太郎", "Analyst"),
    ("françois.dupont", "Senior Analyst"),
    ("jürgen.müller", "Operator"),
    ("josé.garcía", "Analyst"),
    ("zoë.o'brien", "Auditor"),
    ("søren.nielsen", "Analyst"),
    ("priya.sharma", "Senior Analyst"),
    ("li.wei", "Analyst"),
    ("olga.ivanova", "Operator"),
    ("ahmed.hassan", "Analyst"),
    ("emma.brown", "Read Only"),
    ("lucas.martin", "Analyst"),
    ("sofia.rossi", "Senior Analyst"),
    ("noah.wilson", "Operator"),
    ("mia.schmidt", "Analyst"),
    ("kenji.sato", "Senior Analyst"),
    ("chloé.bernard", "Analyst"),
    ("ivan.petrov", "Auditor"),
    ("fatima.zahra", "Analyst"),
    ("lars.andersson", "Operator"),
    ("hana.kim", "Analyst"),
    ("diego.lópez", "Read Only"),
    ("anna.kowalska", "Analyst"),
    ("tom.baker", "Senior Analyst"),
    ("svc.soar", "Operator"),
    ("svc.backup", "Read Only"),
    ("helpdesk", "Operator"),
    ("finance", "Read Only"),
    ("grace.hopper", "Master Administrator"),
    ("alan.turing", "Analyst"),
    ("ada.lovelace", "Senior Analyst"),
    ("linus.t", "Analyst"),
    ("margaret.h", "Auditor"),
    ("secops-team", "Analyst"),
)
DOMAIN = "corp.example"
_DESCRIPTIONS = (
    "",
    "SOC lead, EU shift",
    '=Contractor "temp", until Q4',
    "+1 on-call rotation",
    "-- break-glass account --",
    "@channel escalation contact",
    "Line one\nline two",
    "Équipe réponse à incident",
    "監視チーム",
)
# status, authType, logon plan — in a fixed pattern so every kind occurs for any seed
_KINDS = (
    ("enabled", "local", "recent"),
    ("enabled", "saml", "recent"),
    ("enabled", "saml", "stale"),
    ("enabled", "local", "recent"),
    ("invited", "local", "never"),
    ("enabled", "saml", "recent"),
    ("disabled", "local", "stale"),
    ("enabled", "local", "never"),
    ("enabled", "saml", "recent"),
)
ROLES = ("Master Administrator", "Senior Analyst", "Analyst", "Operator", "Auditor", "Read Only")

ACCOUNT_FILTER = odata.fields("id", "email", "authType", "status")
API_KEY_FILTER = odata.fields("id", "name", "role", "status")


@dataclass(frozen=True)
class Account:
    record: dict[str, Any]
    plan: str  # "recent" (logs on within the last week), "stale" (last logon 91-170 days ago), "never"

    @property
    def email(self) -> str:
        return self.record["email"]

    @property
    def role(self) -> str:
        return self.record["role"]


@lru_cache(maxsize=16)
def accounts(seed: int, now: datetime) -> tuple[Account, ...]:
    """The tenant's ~36 accounts, oldest first."""
    rng = random.Random(f"visionone-iam:{seed}")
    out = []
    for i, (local, role) in enumerate(_PEOPLE):
        status, auth, plan = _KINDS[i % len(_KINDS)]
        if local == "secops-team":
            status, auth, plan = "enabled", "samlGroup", "never"
        if status == "invited":
            created = now - timedelta(days=rng.randrange(1, 30), seconds=rng.randrange(86_400))
        else:
            created = now - timedelta(days=rng.randrange(200, 900), seconds=rng.randrange(86_400))
        modified = created + (now - created) * rng.random()
        record = {
            "id": _uuid(rng.getrandbits(128)),
            "email": f"{local}@{DOMAIN}",
            "role": role,
            "status": status,
            "authType": auth,
            "description": rng.choice(_DESCRIPTIONS),
            "createdDateTime": iso(created),
            "lastModifiedDateTime": iso(modified),
        }
        out.append(Account(record, plan))
    out.sort(key=lambda a: (a.record["createdDateTime"], a.record["id"]))
    return tuple(out)


_KEY_NAMES = (
    "SIEM export, prod",
    "tap-visionone",
    "SOAR playbooks",
    '=cmd|" /C calc"!A0',
    "Vision One → Splunk",
    "backup-reader",
    "Ticketing (ServiceNow)",
    "old key – do not use",  # noqa: RUF001  (real names carry typographic dashes)
    "threat-intel sync",
    "@audit exporter",
    "Test\nkey",
    "報告ツール",
)


@lru_cache(maxsize=16)
def api_keys(seed: int, now: datetime) -> tuple[dict[str, Any], ...]:
    rng = random.Random(f"visionone-apikeys:{seed}")
    out = []
    for i, name in enumerate(_KEY_NAMES):
        created = now - timedelta(days=rng.randrange(20, 500), seconds=rng.randrange(86_400))
        used = None if i % 4 == 3 else created + (now - created) * rng.random()
        out.append(
            {
                "id": _uuid(rng.getrandbits(128)),
                "name": name,
                "status": "disabled" if i % 5 == 4 else "enabled",
                "role": rng.choice(ROLES[1:]),
                "description": rng.choice(_DESCRIPTIONS),
                "createdDateTime": iso(created),
                "expiredDateTime": iso(created + timedelta(days=365)),
                "lastUsedDateTime": None if used is None else iso(used),
                "lastModifiedDateTime": iso(created + (now - created) * rng.random() / 4),
            }
        )
    return tuple(out)


def _filtered(call: Call, rows: Any, known: odata.Fields) -> tuple[list[dict[str, Any]], str | None]:
    text = call.header("TMV1-Filter")
    try:
        parsed = odata.parse(text, known, "endpoint", 256 if call.path == ACCOUNTS_PATH else 5000)
    except odata.FilterError as exc:
        raise bad_request(f"Invalid TMV1-Filter: {exc}.") from None
    return [r for r in rows if parsed.matches(r)], text


def list_accounts(world: Any, call: Call) -> dict[str, Any]:
    check_known(call.params, ("top",))
    top = check_top(call.params, TOPS, 50)
    rows, text = _filtered(call, [a.record for a in world.accounts], ACCOUNT_FILTER)
    chunk, link = page(call.pager, call.path, rows, top, call.params, {"top": str(top)}, text, "TMV1-Filter")
    return listing(list(chunk), link)


API_KEY_ORDER_FIELDS = ("createdDateTime", "lastUsedDateTime", "expiredDateTime", "lastModifiedDateTime")


def order_by(text: str, fields: tuple[str, ...], default_direction: str = "desc") -> list[tuple[str, bool]]:
    """``"<field> [asc|desc], ..."`` as ``[(field, descending)]``; 400 naming what is wrong."""
    out = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or words[0] not in fields:
            raise bad_request(
                f"Invalid value for orderBy: '{text}'. Use '<field> asc|desc' with a field of: "
                f"{', '.join(fields)}."
            )
        direction = words[1].lower() if len(words) == 2 else default_direction
        if direction not in ("asc", "desc"):
            raise bad_request(f"Invalid value for orderBy: '{text}'. The direction is asc or desc.")
        out.append((words[0], direction == "desc"))
    return out


def sort_records(rows: list[dict[str, Any]], order: list[tuple[str, bool]], rank: Any = None) -> None:
    """Sort in place by several keys (nulls last), stable, applied from the last key to the first."""
    for field, descending in reversed(order):
        present = [r for r in rows if r.get(field) is not None]
        missing = [r for r in rows if r.get(field) is None]
        key = (lambda r, f=field: rank(f, r[f])) if rank else (lambda r, f=field: r[f])
        present.sort(key=key, reverse=descending)
        rows[:] = present + missing


def list_api_keys(world: Any, call: Call) -> dict[str, Any]:
    check_known(call.params, ("top", "orderBy"))
    top = check_top(call.params, TOPS, 50)
    order_text = call.params.get("orderBy", "createdDateTime desc")
    order = order_by(order_text, API_KEY_ORDER_FIELDS)
    rows, text = _filtered(call, list(world.api_keys), API_KEY_FILTER)
    sort_records(rows, order)
    link_params = {"top": str(top), "orderBy": order_text}
    chunk, link = page(call.pager, call.path, rows, top, call.params, link_params, text, "TMV1-Filter")
    return listing(list(chunk), link, totalCount=len(rows), count=len(chunk))

"""``/v3.0/iam/accounts`` and ``/v3.0/iam/apiKeys``: the console's users and API keys.

Accounts are also who logs on in the audit logs and who acts in response tasks and alerts, so each
carries a logon plan (recent, stale or never) that :mod:`audit` follows; an inactive-account report
can then be checked against :meth:`Simulator.last_logons`. API keys never carry a key value.
"""

from __future__ import annotations

import dataclasses
import random
import weakref
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from tests.simulator import odata
from tests.simulator.common import Answer, ApiError, Call, bad_request, check_known, check_top, iso
from tests.simulator.data import _uuid
from tests.simulator.live import (
    ItemError,
    Live,
    check_if_match,
    check_keys,
    etag,
    item_error,
    item_ok,
    json_array,
    json_object,
    text_field,
)
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
        # pytmv1's ApiKey model requires lastUsedDateTime as a string: a key never used since it was
        # created is assumed to report its creation time.
        used = created if i % 4 == 3 else created + (now - created) * rng.random()
        out.append(
            {
                "id": _uuid(rng.getrandbits(128)),
                "name": name,
                "status": "disabled" if i % 5 == 4 else "enabled",
                "role": rng.choice(ROLES[1:]),
                "description": rng.choice(_DESCRIPTIONS),
                "createdDateTime": iso(created),
                "expiredDateTime": iso(created + timedelta(days=365)),
                "lastUsedDateTime": iso(used),
                "lastModifiedDateTime": iso(created + (now - created) * rng.random() / 4),
            }
        )
    return tuple(out)


def _filtered(call: Call, rows: Any, known: odata.Fields) -> tuple[list[dict[str, Any]], str | None]:
    text = call.header("TMV1-Filter")
    try:
        parsed = odata.parse(text, known, "endpoint", 256 if call.path == ACCOUNTS_PATH else 1024)
    except odata.FilterError as exc:
        raise bad_request(f"Invalid TMV1-Filter: {exc}.") from None
    return [r for r in rows if parsed.matches(r)], text


def list_accounts(world: Any, call: Call) -> dict[str, Any]:
    check_known(call.params, ("top",))
    top = check_top(call.params, TOPS, 50)
    with world.live.lock:
        current = [dict(r) for r in live_accounts(world).records]
    rows, text = _filtered(call, current, ACCOUNT_FILTER)
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


# -- API key writes -------------------------------------------------------------------------------------
# POST /iam/apiKeys ``[{name, role, monthsToExpiration?, description?, status?}]`` -> 207 with
# ``{"status": 201, "body": {id, value, expiredDateTime}}`` per created key (the value is shown only here,
# never listed nor recorded); GET /iam/apiKeys/{id} -> the key + ETag; PATCH (If-Match) -> 204;
# POST /iam/apiKeys/delete ``[{id}]`` -> 207 with 204 per deleted key, 404 per unknown id.

MONTHS = (0, 1, 3, 6, 12)
NEVER_EXPIRES = "9999-12-31T23:59:59Z"
_KEY_FIELDS = ("name", "role", "monthsToExpiration", "description", "status")


def _by_id(records: list[dict[str, Any]], record_id: str, what: str) -> dict[str, Any]:
    """The record with ``id`` ``record_id``, or the API's 404 naming ``what`` it looked for."""
    for record in records:
        if record["id"] == record_id:
            return record
    raise ApiError(404, "NotFound", f"{what} {record_id} does not exist.")


def _key(world: Any, key_id: str) -> dict[str, Any]:
    return _by_id(world.api_keys, key_id, "API key")


def key_etag(world: Any, record: dict[str, Any]) -> str:
    return etag("apiKey", record["id"], world.live.key_versions[record["id"]])


def _check_key_fields(world: Any, item: dict[str, Any], record: dict[str, Any] | None) -> None:
    name = item.get("name")
    if name is not None:
        if not isinstance(name, str) or not name.strip() or len(name) > 128:
            raise ItemError(400, "Invalid value for name: a non-empty string of at most 128 characters.")
        if any(r["name"] == name and r is not record for r in world.api_keys):
            raise ItemError(400, f"Invalid value for name: an API key named '{name}' already exists.")
    role = item.get("role")
    if role is not None and role not in ROLES:
        raise ItemError(400, f"Invalid value for role: '{role}'. Roles: {', '.join(ROLES)}.")
    status = item.get("status")
    if status is not None and status not in ("enabled", "disabled"):
        raise ItemError(400, f"Invalid value for status: '{status}'. Allowed values: enabled, disabled.")
    description = item.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 256):
        raise ItemError(400, "Invalid value for description: a string of at most 256 characters.")


def create_api_keys(world: Any, call: Call) -> Answer:
    out = []
    for item in json_array(call):
        try:
            if not isinstance(item, dict):
                raise ItemError(400, "Each item must be a JSON object.")
            check_keys(item, _KEY_FIELDS)
            for required in ("name", "role"):
                if item.get(required) is None:
                    raise ItemError(400, f"Missing required field: {required}.")
            months = item.get("monthsToExpiration", 0)
            if isinstance(months, bool) or months not in MONTHS:
                raise ItemError(
                    400, f"Invalid value for monthsToExpiration: '{months}'. Allowed: 0, 1, 3, 6, 12."
                )
            live = world.live
            with live.lock:
                _check_key_fields(world, item, None)
                created = live.tick()
                n = live.next("apiKey")
                key_id = _uuid(int(live.digest("apiKey", n)[:32], 16))
                expires = NEVER_EXPIRES if months == 0 else iso(created + timedelta(days=30 * months))
                record = {
                    "id": key_id,
                    "name": item["name"],
                    "status": item.get("status", "enabled"),
                    "role": item["role"],
                    "description": item.get("description", ""),
                    "createdDateTime": iso(created),
                    "expiredDateTime": expires,
                    "lastUsedDateTime": iso(created),  # a string, as pytmv1's model requires
                    "lastModifiedDateTime": iso(created),
                }
                world.api_keys.append(record)
            value = "sim-generated-" + live.digest("apiKeyValue", n)[:48]
            out.append(item_ok(201, body={"id": key_id, "value": value, "expiredDateTime": expires}))
        except ItemError as exc:
            out.append(item_error(exc.status, exc.message))
    return Answer(207, out)


def get_api_key(world: Any, call: Call) -> Answer:
    with world.live.lock:
        record = _key(world, call.args[0])
        return Answer(200, dict(record), (("ETag", key_etag(world, record)),))


def update_api_key(world: Any, call: Call) -> Answer:
    body = json_object(call)
    with world.live.lock:
        record = _key(world, call.args[0])
        check_if_match(call, key_etag(world, record))
        unknown = [k for k in body if k not in ("name", "role", "status", "description")]
        if unknown:
            raise bad_request(
                f"Unknown field(s): {', '.join(unknown)}. Fields: name, role, status, description."
            )
        if not body:
            raise bad_request("Nothing to update: give at least one of name, role, status, description.")
        try:
            _check_key_fields(world, body, record)
        except ItemError as exc:
            raise bad_request(exc.message) from None
        record.update(body)
        record["lastModifiedDateTime"] = iso(world.live.tick())
        world.live.key_versions[record["id"]] += 1
    return Answer(204)


def delete_api_keys(world: Any, call: Call) -> Answer:
    out = []
    for item in json_array(call):
        try:
            if not isinstance(item, dict):
                raise ItemError(400, "Each item must be a JSON object.")
            check_keys(item, ("id",))
            key_id = text_field(item, "id", required=True)
            with world.live.lock:
                match = [r for r in world.api_keys if r["id"] == key_id]
                if not match:
                    raise ItemError(404, f"API key {key_id} does not exist.")
                world.api_keys.remove(match[0])
            out.append(item_ok(204))
        except ItemError as exc:
            out.append(item_error(exc.status, exc.message))
    return Answer(207, out)


# -- account writes ---------------------------------------------------------------------------------------
# GET /iam/accounts/{id} -> the account + ETag; PATCH ``{role?, status? (enabled|disabled), description?}``
# (If-Match optional: checked when sent) -> 204; DELETE -> 204. An unknown id is a 404 in the error
# envelope, a bad body a 400. Trend's vision-one-mcp-server (internal/v1client/iam.go) sends the PATCH
# as plain JSON without If-Match and the DELETE without a body.

ACCOUNT_UPDATE_FIELDS = ("role", "status", "description")


@dataclass
class AccountState:
    """One simulator's accounts as writes left them (the seeded tuple is shared and never changed)."""

    records: list[dict[str, Any]]
    versions: Counter[str] = dataclasses.field(default_factory=Counter)


# Per simulator, keyed by its Live (World, which would hold this, is not this module's to change).
_ACCOUNT_STATES: weakref.WeakKeyDictionary[Live, AccountState] = weakref.WeakKeyDictionary()


def live_accounts(world: Any) -> AccountState:
    """The accounts GET, PATCH and DELETE see; call with ``world.live.lock`` held."""
    state = _ACCOUNT_STATES.get(world.live)
    if state is None:
        state = AccountState([dict(a.record) for a in world.accounts])
        _ACCOUNT_STATES[world.live] = state
    return state


def _account(state: AccountState, account_id: str) -> dict[str, Any]:
    return _by_id(state.records, account_id, "Account")


def account_etag(state: AccountState, record: dict[str, Any]) -> str:
    return etag("account", record["id"], state.versions[record["id"]])


def get_account(world: Any, call: Call) -> Answer:
    with world.live.lock:
        state = live_accounts(world)
        record = _account(state, call.args[0])
        return Answer(200, dict(record), (("ETag", account_etag(state, record)),))


def _check_account_update(body: dict[str, Any]) -> None:
    unknown = [k for k in body if k not in ACCOUNT_UPDATE_FIELDS]
    if unknown:
        raise bad_request(f"Unknown field(s): {', '.join(unknown)}. Fields: role, status, description.")
    if not body:
        raise bad_request("Nothing to update: give at least one of role, status, description.")
    status = body.get("status")
    if "status" in body and status not in ("enabled", "disabled"):
        raise bad_request(f"Invalid value for status: '{status}'. Allowed values: enabled, disabled.")
    role = body.get("role")
    if "role" in body and (not isinstance(role, str) or not role.strip() or len(role) > 256):
        raise bad_request("Invalid value for role: a non-empty string of at most 256 characters.")
    description = body.get("description")
    if "description" in body and (not isinstance(description, str) or len(description) > 256):
        raise bad_request("Invalid value for description: a string of at most 256 characters.")


def update_account(world: Any, call: Call) -> Answer:
    body = json_object(call)
    with world.live.lock:
        state = live_accounts(world)
        record = _account(state, call.args[0])
        if call.header("If-Match"):
            check_if_match(call, account_etag(state, record))
        _check_account_update(body)
        record.update(body)
        record["lastModifiedDateTime"] = iso(world.live.tick())
        state.versions[record["id"]] += 1
    return Answer(204)


def delete_account(world: Any, call: Call) -> Answer:
    with world.live.lock:
        state = live_accounts(world)
        state.records.remove(_account(state, call.args[0]))
    return Answer(204)

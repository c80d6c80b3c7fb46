"""mapper-visionone-actions: every stream passes through; ``account_cleanup`` is added at the end.

``account_cleanup`` is the inactive-account report of the Vision One login audit report script (columns
``UserId``, ``RoleName``, ``RequestType`` = ``Remove``) plus ``LastLogon`` and ``DaysInactive``, computed
from the ``iam_accounts`` stream and the successful "Log on" records of ``audit_logs``. Only the accounts
and one last logon per user are held in memory; the report is written once the input has ended.

Which accounts are listed (tap_visionone/README.md, "Inactive-account clean-up report"):

- enabled and invited accounts with no successful logon in ``[as_of - inactive_days, as_of]``
  (a logon exactly at the threshold counts as recent); never seen logging on counts as inactive;
- disabled accounts only with ``include_disabled`` (they cannot log on, so they are already clean);
- never SAML-group accounts (``authType`` ``samlGroup``): members log on under their own e-mail,
  so the group never shows a logon and listing it would remove the whole group's access;
- never the roles of ``exclude_roles`` or the e-mails of ``exclude_accounts`` (both case-insensitive).
"""

from __future__ import annotations

import json
import time
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

import singer_sdk.singerlib as singer
from singer_sdk import InlineMapper
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import PluginCapabilities

from connector_kit import console
from connector_kit.errors import SettingsError
from connector_kit.quiet_metrics import QuietMetrics
from connector_kit.sdk_adapter import CheckedSettings
from connector_kit.settings import parse_datetime
from connector_kit.times import format_api_time, record_time_ms
from tap_visionone import json_text

ACCOUNTS_STREAM = "iam_accounts"
AUDIT_STREAM = "audit_logs"
REPORT_STREAM = "account_cleanup"
REQUEST_TYPE = "Remove"  # the RequestType of the login audit report script
RETENTION_DAYS = 180  # Vision One keeps 180 days of audit logs
LOGON = ("logon and logoff", "log on", "successful")  # category, activity, result (casefolded)

REPORT_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "properties": {
        "UserId": {"type": "string", "description": "The account's e-mail address."},
        "RoleName": {"type": ["string", "null"], "description": "The account's role."},
        "RequestType": {"type": "string", "description": "Always Remove, as in the login audit report."},
        "LastLogon": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "Last successful console logon in the input, as ISO 8601 UTC (the audit log "
            "writes `2022-02-24T07:29:48Z` or `2022-07-16 04:30:04`); null when none.",
        },
        "DaysInactive": {
            "type": ["integer", "null"],
            "description": "Whole days from LastLogon to as_of; null when LastLogon is null.",
        },
    },
    "required": ["UserId", "RequestType"],
}

NAME_LIST = th.CustomType(
    {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}, {"type": "null"}]}
)


# -- settings ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanupSettings:
    """The mapper's settings, checked and converted once."""

    inactive_days: int = 90
    as_of: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    exclude_roles: tuple[str, ...] = ()
    exclude_accounts: tuple[str, ...] = ()
    include_disabled: bool = False

    @property
    def threshold(self) -> datetime:
        """Logons at or after this moment make an account active."""
        return self.as_of - timedelta(days=self.inactive_days)


def _names(config: dict, name: str) -> tuple[str, ...]:
    """A list of names, a comma-separated string or a JSON array in a string; stripped, no blanks."""
    value = config.get(name)
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise SettingsError(
                    f"Invalid setting `{name}`: {text!r} is not a JSON array of names."
                ) from None
        else:
            value = text.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise SettingsError(
            f"Invalid setting `{name}`: {value!r} is not a list of names or a comma-separated string."
        )
    return tuple(item.strip() for item in value if item.strip())


def _whole_number(value: t.Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def read_settings(config: dict, now: datetime | None = None) -> CleanupSettings:
    """Every setting checked with one message naming it."""
    raw_days = config.get("inactive_days")
    days = 90 if raw_days is None else _whole_number(raw_days)
    if days is None:
        raise SettingsError(f"Invalid setting `inactive_days`: {raw_days!r} is not a whole number of days.")
    if not 1 <= days <= RETENTION_DAYS:
        raise SettingsError(
            f"Invalid setting `inactive_days`: {days} is not between 1 and {RETENTION_DAYS} "
            f"(Vision One keeps {RETENTION_DAYS} days of audit logs)."
        )
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    as_of = parse_datetime(config["as_of"], setting="as_of") if config.get("as_of") else now
    include_disabled = config.get("include_disabled")
    if include_disabled is None:
        include_disabled = False
    if not isinstance(include_disabled, bool):
        raise SettingsError(f"Invalid setting `include_disabled`: {include_disabled!r} is not true or false.")
    return CleanupSettings(
        inactive_days=days,
        as_of=as_of,
        exclude_roles=_names(config, "exclude_roles"),
        exclude_accounts=_names(config, "exclude_accounts"),
        include_disabled=include_disabled,
    )


# -- the report ----------------------------------------------------------------------------------------


def _time(value: t.Any) -> datetime | None:
    """An audit time in either of its forms as an aware UTC datetime (no zone: UTC); None when unreadable."""
    moment = record_time_ms(value, "iso")
    return None if moment is None else datetime.fromtimestamp(moment / 1000, UTC)


def _fold(value: t.Any) -> str:
    return value.strip().casefold() if isinstance(value, str) else ""


@dataclass
class Account:
    email: str
    role: str | None
    status: str  # casefolded: enabled, disabled, invited (or whatever the API adds)
    auth_type: str  # casefolded: local, saml, samlgroup


@dataclass
class Logon:
    when: datetime  # loggedDateTime, read as UTC whichever of its two forms the API wrote


class InactiveAccounts:
    """Accounts and each user's last successful logon, fed one record at a time; then the report."""

    def __init__(self, settings: CleanupSettings) -> None:
        self.settings = settings
        self.excluded_accounts = {_fold(e) for e in settings.exclude_accounts}
        self.excluded_roles = {_fold(r) for r in settings.exclude_roles}
        self.accounts: dict[str, Account] = {}  # casefolded e-mail -> account (the last record wins)
        self.last_logons: dict[str, Logon] = {}  # casefolded loggedUser -> last successful logon
        self.earliest_audit: datetime | None = None  # the oldest audit record of any kind seen
        self.audit_records = 0
        self.without_email = 0
        self.unreadable_times = 0
        self.after_as_of = 0

    def add_account(self, record: dict[str, t.Any]) -> None:
        email = record.get("email")
        if not isinstance(email, str) or not email.strip():
            self.without_email += 1
            return
        role = record.get("role")
        self.accounts[_fold(email)] = Account(
            email=email.strip(),
            role=role if isinstance(role, str) else None,
            status=_fold(record.get("status")),
            auth_type=_fold(record.get("authType")),
        )

    def add_audit(self, record: dict[str, t.Any]) -> None:
        self.audit_records += 1
        text = record.get("loggedDateTime")
        when = _time(text)
        if when is None:
            self.unreadable_times += 1
            return
        if self.earliest_audit is None or when < self.earliest_audit:
            self.earliest_audit = when
        kind = (_fold(record.get("category")), _fold(record.get("activity")), _fold(record.get("result")))
        if kind != LOGON:
            return
        user = _fold(record.get("loggedUser"))
        if not user:
            return
        if when > self.settings.as_of:  # the report is "as of": later logons are not known yet
            self.after_as_of += 1
            return
        previous = self.last_logons.get(user)
        if previous is None or when > previous.when:
            self.last_logons[user] = Logon(when)

    def skip_reason(self, key: str, account: Account) -> str | None:
        """Why an account is left out of the report whatever its logons, or None."""
        if key in self.excluded_accounts:
            return "exclude_accounts"
        if _fold(account.role) in self.excluded_roles:
            return "exclude_roles"
        if account.status == "disabled" and not self.settings.include_disabled:
            return "disabled"
        if account.auth_type == "samlgroup":
            return "SAML group"
        return None

    def rows(self) -> list[dict[str, t.Any]]:
        """One row per inactive account, sorted by UserId (ignoring case)."""
        as_of, threshold = self.settings.as_of, self.settings.threshold
        out = []
        for key, account in self.accounts.items():
            if self.skip_reason(key, account) is not None:
                continue
            last = self.last_logons.get(key)
            if last is not None and last.when >= threshold:
                continue
            out.append(
                {
                    "UserId": account.email,
                    "RoleName": account.role,
                    "RequestType": REQUEST_TYPE,
                    "LastLogon": None if last is None else format_api_time(last.when),
                    "DaysInactive": None if last is None else int((as_of - last.when) // timedelta(days=1)),
                }
            )
        out.sort(key=lambda row: (row["UserId"].casefold(), row["UserId"]))
        return out

    def skipped(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for key, account in self.accounts.items():
            reason = self.skip_reason(key, account)
            if reason is not None:
                counts[reason] = counts.get(reason, 0) + 1
        return counts

    def unmatched_exclusions(self) -> list[tuple[str, str]]:
        """(setting, value) of exclusions that match no account: likely typos."""
        emails = set(self.accounts)
        roles = {_fold(a.role) for a in self.accounts.values()}
        return [("exclude_accounts", e) for e in self.settings.exclude_accounts if _fold(e) not in emails] + [
            ("exclude_roles", r) for r in self.settings.exclude_roles if _fold(r) not in roles
        ]


# -- the Singer mapper -----------------------------------------------------------------------------------


@dataclass(slots=True)
class ReceivedMessage(singer.Message):
    """A message written back as it was read: no field is parsed, added or reformatted."""

    message: dict[str, t.Any]

    def __post_init__(self) -> None:
        self.type = singer.SingerMessageType(self.message["type"])

    def to_dict(self) -> dict[str, t.Any]:
        return self.message


class VisionOneActionsMapper(QuietMetrics, CheckedSettings, InlineMapper):
    """Passes a tap-visionone stream through (union-typed fields as JSON text if asked) and adds the
    ``account_cleanup`` report at its end."""

    name = "mapper-visionone-actions"
    package_name = "tap-visionone"
    # No stream maps or flattening of its own: the SDK would otherwise accept (and ignore) their settings.
    capabilities: t.ClassVar[list] = [PluginCapabilities.ABOUT, PluginCapabilities.STRUCTURED_LOGGING]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "inactive_days",
            th.IntegerType,
            default=90,
            description="An account with no successful logon in this many days before `as_of` is listed "
            "(1 to 180: Vision One keeps 180 days of audit logs). A logon exactly that long ago counts "
            "as recent.",
        ),
        th.Property(
            "as_of",
            th.StringType,
            description="Moment the report is made for, as a date (midnight UTC) or an ISO 8601 "
            "date-time. Default: now. Logons after it are ignored.",
        ),
        th.Property(
            "exclude_roles",
            NAME_LIST,
            description="Roles never listed (e.g. break-glass Master Administrator accounts): a list, or "
            "one comma-separated string. Case-insensitive.",
        ),
        th.Property(
            "exclude_accounts",
            NAME_LIST,
            description="E-mail addresses never listed (service accounts, break-glass accounts): a list, "
            "or one comma-separated string. Case-insensitive.",
        ),
        th.Property(
            "include_disabled",
            th.BooleanType,
            default=False,
            description="Also list inactive accounts that are already disabled (e.g. when the clean-up "
            "deletes accounts rather than disabling them). Default: leave them out.",
        ),
        th.Property(
            "union_fields_as_json_text",
            th.BooleanType,
            default=False,
            description="Pass every field whose JSON type varies by product (text on one, a list on "
            "another: `src`, `act`, ...) on as JSON text with a text schema, for loaders that need one "
            "type per column (target-duckdb). Default: pass records on as they are.",
        ),
    ).to_dict()

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.report = InactiveAccounts(self.cleanup_settings)
        self.streams_seen: set[str] = set()
        self.json_text_fields: dict[str, frozenset[str]] = {}  # stream -> fields passed on as JSON text

    def check_settings(self) -> None:
        """The mapper's own checks, before JSON Schema's (`CheckedSettings`)."""
        _ = self.cleanup_settings

    @cached_property
    def cleanup_settings(self) -> CleanupSettings:
        return read_settings(dict(self.config))

    # -- pass-through ------------------------------------------------------------------------------

    def map_schema_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        stream = message_dict["stream"]
        self.streams_seen.add(stream)
        if self.config.get("union_fields_as_json_text"):
            names = json_text.union_fields(message_dict.get("schema") or {})
            self.json_text_fields[stream] = names
            if names:
                schema = json_text.text_schema(message_dict["schema"], names)
                message_dict = {**message_dict, "schema": schema}
        yield ReceivedMessage(message_dict)

    def map_record_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        stream = message_dict["stream"]
        if stream == ACCOUNTS_STREAM:
            self.report.add_account(message_dict["record"])
        elif stream == AUDIT_STREAM:
            self.report.add_audit(message_dict["record"])
        self.streams_seen.add(stream)
        names = self.json_text_fields.get(stream)
        if names:
            message_dict = {**message_dict, "record": json_text.encode(message_dict["record"], names)}
        yield ReceivedMessage(message_dict)

    def map_state_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        yield ReceivedMessage(message_dict)

    def map_activate_version_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        yield ReceivedMessage(message_dict)

    def map_batch_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        if message_dict.get("stream") in (ACCOUNTS_STREAM, AUDIT_STREAM):
            raise SettingsError(
                f"{message_dict['stream']} arrived as a BATCH file, which the mapper cannot read: "
                "remove the tap's `batch_config`."
            )
        yield ReceivedMessage(message_dict)

    # -- the report --------------------------------------------------------------------------------

    def process_endofpipe(self) -> None:
        for message in self.report_messages():
            self.write_message(message)

    def report_messages(self) -> list[singer.Message]:
        """``account_cleanup``'s SCHEMA and RECORDs, or nothing (with a warning) when it cannot be made."""
        missing = [s for s in (ACCOUNTS_STREAM, AUDIT_STREAM) if s not in self.streams_seen]
        if missing:
            self.logger.warning(
                "%s not written: the input has no %s stream; select %s in the tap "
                "(audit_logs with a start_date up to %d days back).",
                REPORT_STREAM,
                " or ".join(missing),
                " and ".join((ACCOUNTS_STREAM, AUDIT_STREAM)),
                RETENTION_DAYS,
            )
            return []
        report, settings = self.report, self.cleanup_settings
        self._warn_about_input()
        rows = report.rows()
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(report.skipped().items())) or "none"
        self.logger.info(
            "%s: %d of %d accounts without a successful logon since %s (%d days before %s); left out: %s.",
            REPORT_STREAM,
            len(rows),
            len(report.accounts),
            format_api_time(settings.threshold),
            settings.inactive_days,
            format_api_time(settings.as_of),
            skipped,
        )
        # The report is made whole each run: a Singer table version, activated after its last row, so a
        # target replaces the previous report instead of adding another copy (as for full-table streams).
        version = time.time_ns() // 1_000_000
        schema = singer.SchemaMessage(REPORT_STREAM, REPORT_SCHEMA, key_properties=["UserId"])
        records = (singer.RecordMessage(REPORT_STREAM, row, version=version) for row in rows)
        return [schema, *records, singer.ActivateVersionMessage(REPORT_STREAM, version)]

    def _warn_about_input(self) -> None:
        report, settings = self.report, self.cleanup_settings
        if report.earliest_audit is None or report.earliest_audit > settings.threshold:
            if report.earliest_audit is None:
                since = "no audit record"
            else:
                since = f"audit records only from {format_api_time(report.earliest_audit)} on"
            self.logger.warning(
                "%s: the input has %s, so it does not cover the %d days before as_of (%s): accounts "
                "that logged on earlier are listed as inactive. Run the tap from a start_date at least "
                "that far back and without a saved bookmark (meltano run --full-refresh).",
                REPORT_STREAM,
                since,
                settings.inactive_days,
                format_api_time(settings.threshold),
            )
        for setting, value in report.unmatched_exclusions():
            self.logger.warning("%s: `%s` entry %r matches no account.", REPORT_STREAM, setting, value)
        if report.without_email:
            self.logger.warning(
                "%s: %d iam_accounts records without an e-mail are left out.",
                REPORT_STREAM,
                report.without_email,
            )
        if report.unreadable_times:
            self.logger.warning(
                "%s: %d audit_logs records without a readable loggedDateTime were ignored.",
                REPORT_STREAM,
                report.unreadable_times,
            )
        if report.after_as_of:
            self.logger.info(
                "%s: %d logons after as_of (%s) ignored.",
                REPORT_STREAM,
                report.after_as_of,
                format_api_time(settings.as_of),
            )


def main() -> None:
    """Console script: expected failures print one line and exit 1, without a traceback."""
    console.run("mapper-visionone-actions", VisionOneActionsMapper.cli)


if __name__ == "__main__":
    main()

"""The one table of visionone-actions: each subcommand, its options, the API role permissions it needs and
the pytmv1 call it makes.

Subcommands and options are the actions, triggers and inputs of the Vision One integration for SOAR
platforms that this CLI replaces, in kebab-case: ``Isolate Endpoint`` with input
``endpoint_identifiers[].agent_guid`` is ``isolate-endpoint --agent-guid``. An input that was an array of
objects becomes the options of one item (one item per command line, many with ``--from-file``), and the
array itself is still accepted as JSON (``--endpoint-identifiers '[{...}]'``). ``build`` turns one row of
option values into what the pytmv1 call takes: a request item for the multi-item calls, keyword arguments
for the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pytmv1 import (
    AccountRequest,
    AlertStatus,
    ApiExpInMonths,
    ApiKeyRequest,
    ApiStatus,
    CollectFileRequest,
    CustomScriptRequest,
    EmailMessageIdRequest,
    EndpointRequest,
    InvestigationResult,
    ObjectRequest,
    ObjectType,
    QueryOp,
    RiskLevel,
    ScanAction,
    ScriptType,
    SuspiciousObjectRequest,
    TerminateProcessRequest,
)


class Kind(StrEnum):
    MULTI = "multi"  # rows batched into one call(*items); the API answers 207, one status per item
    SINGLE = "single"  # one call(**kwargs) per row
    LIST = "list"  # one call(consumer, **kwargs) per row, following nextLink to the last page
    DOWNLOAD = "download"  # one call(**kwargs) per row; the bytes or text go to a file
    CONSOLE = "console"  # one HTTP request per row without pytmv1 (console accounts: console_accounts.py)


@dataclass(frozen=True)
class Option:
    """One input. ``type``: text, int, float, bool, json (an object), csv (a list in one value),
    choice, file (a path read by the CLI)."""

    name: str
    help: str
    type: str = "text"
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other --from-file column names for this option
    multiple: bool = False  # repeatable; every value is one row (one request item)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Action:
    name: str
    help: str
    permissions: str
    call: str  # pytmv1 client attribute path, e.g. "endpoint.isolate"; CONSOLE: "METHOD /v3.0/path"
    kind: Kind
    options: tuple[Option, ...]
    build: Callable[[dict[str, Any]], Any]
    items_input: str | None = None  # the replaced integration's array-of-objects input, accepted as JSON
    one_of: tuple[str, ...] = ()  # every row needs at least one of these
    destructive: bool = False  # asks for confirmation unless --yes
    wait: str | None = None  # "task" or "sandbox": --wait polls what the call started
    batch_size: int = 50  # most items per multi-item request
    etag_call: str | None = None  # pytmv1 call that fetches the ETag when --if-match is not given
    filename: Callable[[dict[str, Any]], str] | None = None  # DOWNLOAD: default output file name
    trigger: bool = False  # a trigger of the replaced integration, run once


# -- permissions (the replaced integration's "API key role permissions required") -----------------------

_TASKS = "Response Management: View, filter, and search (Task List tab)"
_SCRIPTS = f"{_TASKS}; View, filter and search (Custom Scripts tab)"
_ACCOUNTS = f"{_TASKS}; Enable/Disable user account, force sign out, force password reset"
# Trend's reference names no permission for /v3.0/iam/accounts; the console's User Accounts screen is
# where a role gets it (unverified against a live tenant).
_USER_ACCOUNTS = "User Accounts: View; Manage user accounts (Administration > User Accounts)"
_SOM = "Suspicious Object Management: View, filter, and search"
_SOM_MANAGE = f"{_SOM}; Manage lists and configure settings"
_SANDBOX = "Sandbox Analysis: View, filter, and search; Submit objects"
_WORKBENCH_VIEW = "Workbench: View, filter, and search"
_WORKBENCH_MODIFY = "Workbench: Modify alert details"
_KEYS_VIEW = "API Keys: View"
_KEYS_MANAGE = "API Keys: View; Configure Settings"
_SEARCH = "Search: View, filter, and search"
_OAT = "Observed Attack Techniques: View, filter, and search"

# -- options shared by several actions --------------------------------------------------------------------

_DESCRIPTION = Option("description", "Description of the response task (optional, for reference).")
_AGENT_GUID = Option(
    "agent_guid", "GUID of the agent installed on the endpoint (this or --endpoint-name).", aliases=("guid",)
)
_ENDPOINT_NAME = Option(
    "endpoint_name",
    "Hostname or MAC address of the endpoint (this or --agent-guid).",
    aliases=("endpoint", "hostname"),
)
_ACCOUNT_NAME = Option(
    "account_name",
    "The user account to act on (e.g. user@example.com). In --from-file, the stream-mapper's "
    "UserId column is accepted too.",
    required=True,
    aliases=("userid", "user_id", "account", "email"),
)
_CONSOLE_EMAIL = Option(
    "email",
    "E-mail of the Vision One console account (this or --id); looked up with GET /v3.0/iam/accounts. In "
    "--from-file, the account clean-up report's UserId column is accepted too.",
    aliases=("userid", "user_id", "account_name", "account", "mail"),
)
_CONSOLE_ID = Option(
    "id",
    "Id of the console account, as GET /v3.0/iam/accounts lists it (this or --email).",
    aliases=("account_id",),
)
_CONSOLE_DESCRIPTION = Option(
    "description", "Also set the account's description (it replaces the one shown under User Accounts)."
)
_CONSOLE_ONE_OF = ("email", "id")
_NOT_CONSOLE = (
    " This acts on the directory account (Active Directory, Microsoft Entra ID), not on the Vision One "
    "console account: for that, see {}."
)
_NOT_DIRECTORY = (
    " Not the user's directory account (Active Directory, Microsoft Entra ID): that is {}. pytmv1 does not "
    "wrap this request: it goes through the HTTP code the taps use."
)


def _console_status(status: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(row: dict[str, Any]) -> dict[str, Any]:
        body = {"status": status}
        if row.get("description") is not None:
            body["description"] = row["description"]
        return {"method": "PATCH", "body": body}

    return build


_MESSAGE_ID = Option(
    "message_id",
    "Unique string that identifies an email message (<mailMsgId> or msgUuid).",
    required=True,
    aliases=("mail_msg_id", "msg_uuid"),
)
_MAILBOX = Option("mailbox", "Email address of the mailbox.", aliases=("mail_box",))
_OBJECT_TYPE = Option(
    "object_type",
    "Object type.",
    type="choice",
    required=True,
    choices=tuple(t.value for t in ObjectType),
    aliases=("type",),
)
_OBJECT_VALUE = Option(
    "object_value",
    "The object value (full and partial matches supported).",
    required=True,
    aliases=("value",),
)
_OBJECT_DESCRIPTION = Option("description", "Optional description for reference.")
_QUERY_OP = Option(
    "query_op",
    "Logical operator between the --fields (and/or).",
    type="choice",
    default="or",
    choices=("or", "and"),
)
_POLL = Option(
    "poll",
    "Wait until the sandbox/task is finished before returning the result.",
    type="bool",
    default=True,
)
_POLL_TIME = Option(
    "poll_time_sec",
    "Maximum time to wait for the result to be available (seconds).",
    type="float",
    default=30.0,
)
_SUBMISSION_ID = Option(
    "id",
    "Unique alphanumeric string that identifies the analysis results of a submission.",
    required=True,
)
_SCRIPT_ID = Option(
    "script_id", "Unique alphanumeric string that identifies a script file.", required=True, aliases=("id",)
)
_FILE_TYPE = Option(
    "file_type",
    "File type of the custom script.",
    type="choice",
    default="bash",
    choices=tuple(t.value for t in ScriptType),
)
_SCRIPT_FILE = Option(
    "file",
    "Path of the custom script (.ps1 or .sh, UTF-8) to upload.",
    type="file",
    required=True,
)


def _fields(help_text: str, required: bool = True) -> Option:
    return Option("fields", help_text + ' JSON object, e.g. \'{"fileName": "a.ps1"}\'.', "json", required)


def _activity_options(example_fields: str) -> tuple[Option, ...]:
    return (
        Option(
            "end_date_time",
            "End of the data retrieval range (ISO 8601). Default: the time of the request.",
        ),
        _fields(f"Fields to query ({example_fields})."),
        _QUERY_OP,
        Option(
            "select",
            "Fields to include in the results (comma-separated). Default: all supported fields.",
            type="csv",
        ),
        Option(
            "start_date_time",
            "Start of the data retrieval range (ISO 8601). Default: 24 hours before the request.",
        ),
        Option(
            "top",
            "Number of records displayed on a page.",
            type="choice",
            default="500",
            choices=("50", "100", "500", "1000", "5000"),
        ),
    )


# -- builders: one row of option values -> pytmv1 arguments -------------------------------------------


def _op(row: dict[str, Any]) -> QueryOp:
    return QueryOp(row.get("query_op") or "or")


def _query(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """``op`` and the --fields as pytmv1's ``**fields`` (values as strings: pytmv1 quotes them)."""
    fields = {str(k): str(v) for k, v in (row.get("fields") or {}).items()}
    return {**extra, "op": _op(row), **fields}


def _endpoint(row: dict[str, Any]) -> EndpointRequest:
    return EndpointRequest(
        endpoint_name=row.get("endpoint_name"),
        agent_guid=row.get("agent_guid"),
        description=row.get("description"),
    )


def _account(row: dict[str, Any]) -> AccountRequest:
    return AccountRequest(account_name=row["account_name"], description=row.get("description"))


def _email(row: dict[str, Any]) -> EmailMessageIdRequest:
    return EmailMessageIdRequest(
        message_id=row["message_id"], mail_box=row.get("mailbox"), description=row.get("description")
    )


def _object(row: dict[str, Any]) -> ObjectRequest:
    return ObjectRequest(
        object_type=ObjectType(row["object_type"]),
        object_value=row["object_value"],
        description=row.get("description"),
    )


def _suspicious(row: dict[str, Any]) -> SuspiciousObjectRequest:
    return SuspiciousObjectRequest(
        object_type=ObjectType(row["object_type"]),
        object_value=row["object_value"],
        description=row.get("description"),
        scan_action=ScanAction(row["scan_action"]) if row.get("scan_action") else None,
        risk_level=RiskLevel(row["risk_level"]) if row.get("risk_level") else None,
        days_to_expiration=row.get("days_to_expiration"),
    )


def _script_file(row: dict[str, Any]) -> dict[str, Any]:
    """pytmv1's script upload arguments from --file (read by the CLI as {"name", "content"})."""
    file = row["file"]
    try:
        text = file["content"].decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"--file {file['name']}: custom scripts must be UTF-8 text") from None
    return {
        "script_type": ScriptType(row.get("file_type") or "bash"),
        "script_name": file["name"],
        "script_content": text,
        "description": row.get("description"),
    }


# "New"/"In Progress"/"True Positive"/"False Positive" are the replaced integration's values (the deprecated
# investigationStatus); they map onto today's status + investigationResult.
ALERT_STATUSES: dict[str, dict[str, Any]] = {
    "New": {"status": AlertStatus.OPEN},
    "Open": {"status": AlertStatus.OPEN},
    "In Progress": {"status": AlertStatus.IN_PROGRESS},
    "True Positive": {"status": AlertStatus.CLOSED, "inv_result": InvestigationResult.TRUE_POSITIVE},
    "False Positive": {"status": AlertStatus.CLOSED, "inv_result": InvestigationResult.FALSE_POSITIVE},
    "Benign True Positive": {
        "status": AlertStatus.CLOSED,
        "inv_result": InvestigationResult.BENIGN_TRUE_POSITIVE,
    },
    "Noteworthy": {"status": AlertStatus.CLOSED, "inv_result": InvestigationResult.NOTEWORTHY},
    "No Findings": {"status": AlertStatus.CLOSED, "inv_result": InvestigationResult.NO_FINDINGS},
}


def _sandbox_result(id_name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda row: {
        "submit_id": str(row[id_name]),
        "poll": bool(row.get("poll", True)),
        "poll_time_sec": float(row.get("poll_time_sec") or 30.0),
    }


def _multi(
    name: str,
    help_text: str,
    permissions: str,
    call: str,
    options: tuple[Option, ...],
    build: Callable[[dict[str, Any]], Any],
    items_input: str | None,
    **extra: Any,
) -> Action:
    return Action(name, help_text, permissions, call, Kind.MULTI, options, build, items_input, **extra)


_ENDPOINT_ITEM = (_AGENT_GUID, _ENDPOINT_NAME, _DESCRIPTION)
_ACCOUNT_ITEM = (_ACCOUNT_NAME, _DESCRIPTION)
_EMAIL_ITEM = (_MESSAGE_ID, _MAILBOX, _DESCRIPTION)
_OBJECT_ITEM = (_OBJECT_TYPE, _OBJECT_VALUE, _OBJECT_DESCRIPTION)
_ENDPOINT_ONE_OF = ("agent_guid", "endpoint_name")


ACTIONS: tuple[Action, ...] = (
    Action(
        "add-alert-note",
        "Attach a note to a Workbench alert.",
        _WORKBENCH_MODIFY,
        "note.create",
        Kind.SINGLE,
        (
            Option("alert_id", "ID of the Workbench alert (e.g. WB-14-20190709-00003).", required=True),
            Option("content", "Text of the note.", required=True),
        ),
        lambda row: {"alert_id": row["alert_id"], "note_content": row["content"]},
    ),
    Action(
        "add-custom-script",
        "Upload a custom script (.ps1 or .sh, UTF-8).",
        f"{_SCRIPTS}; Manage custom scripts",
        "script.create",
        Kind.SINGLE,
        (Option("description", "Description of the script."), _SCRIPT_FILE, _FILE_TYPE),
        _script_file,
    ),
    _multi(
        "add-to-block-list",
        "Add an email address, file SHA-1/SHA-256, domain, IP address or URL to the Suspicious Object "
        "List, which blocks the object on subsequent detections.",
        f"{_TASKS}; Add to block list. {_SOM_MANAGE}",
        "object.add_block",
        _OBJECT_ITEM,
        _object,
        "block_objects",
        destructive=True,
        wait="task",
    ),
    _multi(
        "add-to-exception-list",
        "Add domains, file SHA-1 values, IP addresses or URLs to the Exception List, which keeps them "
        "off the Suspicious Object List.",
        _SOM_MANAGE,
        "object.add_exception",
        _OBJECT_ITEM,
        _object,
        "block_objects",
    ),
    _multi(
        "add-to-suspicious-list",
        "Add domains, file SHA-1/SHA-256 values, IP addresses, sender addresses or URLs to the Suspicious "
        "Object List, with a scan action, risk level and expiry.",
        _SOM_MANAGE,
        "object.add_suspicious",
        (
            _OBJECT_TYPE,
            _OBJECT_VALUE,
            _OBJECT_DESCRIPTION,
            Option(
                "scan_action",
                "Action that connected products apply after detecting the object.",
                type="choice",
                choices=tuple(s.value for s in ScanAction),
            ),
            Option(
                "risk_level",
                "Risk level of the suspicious object.",
                type="choice",
                choices=tuple(r.value for r in RiskLevel),
            ),
            Option(
                "days_to_expiration",
                "Days before the object expires (-1: never).",
                type="int",
                aliases=("expiry_days",),
            ),
        ),
        _suspicious,
        "suspicious_block_objects",
        destructive=True,
    ),
    _multi(
        "collect-file",
        "Collect a file from one or more endpoints; Vision One keeps it in a password-protected archive.",
        f"{_TASKS}; Collect file",
        "endpoint.collect_file",
        (
            _AGENT_GUID,
            _ENDPOINT_NAME,
            Option("file_path", "Path of the file to collect (at most 1024 characters).", required=True),
            Option("description", "Description of the file."),
        ),
        lambda row: CollectFileRequest(
            **{k: row.get(k) for k in ("file_path", *_ENDPOINT_ONE_OF, "description")}
        ),
        "collect_files",
        one_of=_ENDPOINT_ONE_OF,
        wait="task",
    ),
    _multi(
        "create-api-keys",
        "Create API keys that let third-party applications use the Vision One APIs (the output holds "
        "each new key's value).",
        _KEYS_MANAGE,
        "api_key.create",
        (
            Option("name", "Unique name of the API key.", required=True),
            Option("role", "User role assigned to the API key.", required=True),
            Option(
                "months_to_expiration",
                "Validity in months (0: no expiration).",
                type="choice",
                choices=tuple(str(m.value) for m in ApiExpInMonths),
            ),
            Option("description", "A brief note about the API key."),
            Option(
                "status", "Status of the API key.", type="choice", choices=tuple(s.value for s in ApiStatus)
            ),
        ),
        lambda row: ApiKeyRequest(
            name=row["name"],
            role=row["role"],
            months_to_expiration=ApiExpInMonths(int(row.get("months_to_expiration") or 0)),
            description=row.get("description"),
            status=ApiStatus(row.get("status") or "enabled"),
        ),
        "api_keys_objects",
    ),
    _multi(
        "delete-api-keys",
        "Delete API keys.",
        _KEYS_MANAGE,
        "api_key.delete",
        (Option("id", "Identifier of an API key (repeat for several).", required=True, multiple=True),),
        lambda row: row["id"],
        None,
        destructive=True,
    ),
    Action(
        "delete-custom-script",
        "Delete a custom script.",
        f"{_SCRIPTS}; Manage custom scripts",
        "script.delete",
        Kind.SINGLE,
        (_SCRIPT_ID,),
        lambda row: {"script_id": row["script_id"]},
        destructive=True,
    ),
    _multi(
        "delete-email-message",
        "Delete a message from a mailbox.",
        f"{_TASKS}; Delete messages",
        "email.delete",
        _EMAIL_ITEM,
        _email,
        "email_identifiers",
        destructive=True,
        wait="task",
    ),
    _multi(
        "disable-account",
        "Sign the user out of all active sessions and prevent new sign-ins (Azure AD and on-premises "
        "Active Directory)." + _NOT_CONSOLE.format("disable-console-account"),
        _ACCOUNTS,
        "account.disable",
        _ACCOUNT_ITEM,
        _account,
        "account_identifiers",
        destructive=True,
        wait="task",
    ),
    Action(
        "disable-console-account",
        "Disable a Vision One console account (the user can no longer sign in to the console): "
        "PATCH /v3.0/iam/accounts/{id} with status disabled, after looking the e-mail up. Takes the "
        "account clean-up report (account_cleanup.csv, e-mail in UserId) as --from-file."
        + _NOT_DIRECTORY.format("disable-account"),
        _USER_ACCOUNTS,
        "PATCH /v3.0/iam/accounts/{id}",
        Kind.CONSOLE,
        (_CONSOLE_EMAIL, _CONSOLE_ID, _CONSOLE_DESCRIPTION),
        _console_status("disabled"),
        one_of=_CONSOLE_ONE_OF,
        destructive=True,
    ),
    Action(
        "download-custom-script",
        "Download a custom script to a file.",
        f"{_SCRIPTS}; Download custom scripts",
        "script.download",
        Kind.DOWNLOAD,
        (_SCRIPT_ID,),
        lambda row: {"script_id": row["script_id"]},
        filename=lambda row: f"custom-script-{row['script_id']}.txt",
    ),
    Action(
        "download-sandbox-analysis-result",
        "Download the analysis report (PDF) of an object submitted to the sandbox.",
        _SANDBOX,
        "sandbox.download_analysis_result",
        Kind.DOWNLOAD,
        (_SUBMISSION_ID, _POLL, _POLL_TIME),
        _sandbox_result("id"),
        filename=lambda row: f"sandbox-report-{row['id']}.pdf",
    ),
    Action(
        "download-sandbox-investigation-package",
        "Download the investigation package (ZIP) of a sandbox submission.",
        _SANDBOX,
        "sandbox.download_investigation_package",
        Kind.DOWNLOAD,
        (_SUBMISSION_ID, _POLL, _POLL_TIME),
        _sandbox_result("id"),
        filename=lambda row: f"sandbox-investigation-{row['id']}.zip",
    ),
    Action(
        "edit-alert-status",
        "Update the status of a Workbench alert (True/False Positive close it with that finding).",
        _WORKBENCH_MODIFY,
        "alert.update_status",
        Kind.SINGLE,
        (
            Option("id", "Workbench alert ID.", required=True, aliases=("alert_id",)),
            Option(
                "if_match",
                "ETag of the alert; the update only applies if the alert still matches it. "
                "Default: the alert's current ETag (fetched first).",
                aliases=("etag",),
            ),
            Option(
                "status",
                "New status of the alert.",
                type="choice",
                required=True,
                choices=tuple(ALERT_STATUSES),
            ),
        ),
        lambda row: {"alert_id": row["id"], "etag": row.get("if_match"), **ALERT_STATUSES[row["status"]]},
        etag_call="alert.get",
    ),
    _multi(
        "enable-account",
        "Allow the user to sign in to new sessions again (Azure AD and on-premises Active Directory)."
        + _NOT_CONSOLE.format("enable-console-account"),
        _ACCOUNTS,
        "account.enable",
        _ACCOUNT_ITEM,
        _account,
        "account_identifiers",
        wait="task",
    ),
    Action(
        "enable-console-account",
        "Enable a Vision One console account again (undoes disable-console-account): "
        "PATCH /v3.0/iam/accounts/{id} with status enabled, after looking the e-mail up."
        + _NOT_DIRECTORY.format("enable-account"),
        _USER_ACCOUNTS,
        "PATCH /v3.0/iam/accounts/{id}",
        Kind.CONSOLE,
        (_CONSOLE_EMAIL, _CONSOLE_ID, _CONSOLE_DESCRIPTION),
        _console_status("enabled"),
        one_of=_CONSOLE_ONE_OF,
    ),
    Action(
        "get-alert-details",
        "Show one Workbench alert and its ETag.",
        _WORKBENCH_VIEW,
        "alert.get",
        Kind.SINGLE,
        (Option("alert_id", "ID of the alert.", required=True, aliases=("id",)),),
        lambda row: {"alert_id": row["alert_id"]},
    ),
    Action(
        "get-alert-list",
        "List the Workbench alerts created in a time range (every page).",
        _WORKBENCH_VIEW,
        "alert.consume",
        Kind.LIST,
        (
            Option("end_date_time", "End of the range, ISO 8601 (yyyy-MM-ddThh:mm:ssZ).", required=True),
            Option(
                "start_date_time",
                "Start of the range, ISO 8601 (oldest: 1970-01-01T00:00:00Z).",
                required=True,
            ),
        ),
        lambda row: {"start_time": row["start_date_time"], "end_time": row["end_date_time"]},
    ),
    Action(
        "get-api-key",
        "Show one API key and its ETag.",
        _KEYS_VIEW,
        "api_key.get",
        Kind.SINGLE,
        (Option("id", "Identifier of the API key.", required=True),),
        lambda row: {"key_id": row["id"]},
    ),
    Action(
        "get-custom-script-list",
        "List the custom scripts matching --fields (fileName, fileType).",
        _SCRIPTS,
        "script.consume",
        Kind.LIST,
        (_fields("Fields to query by fileName or fileType."), _QUERY_OP),
        _query,
    ),
    Action(
        "get-email-activity-data",
        "Search the Email Activity Data source (one page of --top records).",
        _SEARCH,
        "email.list_activity",
        Kind.SINGLE,
        _activity_options('e.g. {"mailSenderIp": "192.169.1.1", "mailMsgSubject": "spam"}'),
        lambda row: _activity(row),
    ),
    Action(
        "get-email-activity-data-count",
        "Count the matches in the Email Activity Data source.",
        _SEARCH,
        "email.get_activity_count",
        Kind.SINGLE,
        _activity_options('e.g. {"mailSenderIp": "192.169.1.1"}'),
        lambda row: _activity(row),
    ),
    Action(
        "get-endpoint-activity-data",
        "Search the Endpoint Activity Data source (one page of --top records).",
        _SEARCH,
        "endpoint.list_activity",
        Kind.SINGLE,
        _activity_options('e.g. {"endpointHostName": "client1", "dpt": 443}'),
        lambda row: _activity(row),
    ),
    Action(
        "get-endpoint-activity-data-count",
        "Count the matches in the Endpoint Activity Data source.",
        _SEARCH,
        "endpoint.get_activity_count",
        Kind.SINGLE,
        _activity_options('e.g. {"endpointHostName": "client1"}'),
        lambda row: _activity(row),
    ),
    Action(
        "get-endpoint-data",
        "Show the endpoints matching --fields (hostname/endpointName, macAddress, agentGuid, ip).",
        "Endpoint Inventory: View",
        "endpoint.consume_data",
        Kind.LIST,
        (
            _fields('Endpoint identifiers, e.g. {"ip": "127.127.127.127", "endpointName": "client1"}.'),
            _QUERY_OP,
        ),
        _query,
    ),
    Action(
        "get-exception-list",
        "List the Exception List (domains, file SHA-1/SHA-256, IPs, sender addresses, URLs).",
        _SOM,
        "object.consume_exception",
        Kind.LIST,
        (),
        lambda row: {},
    ),
    Action(
        "get-oat-list",
        "List Observed Attack Techniques events in detection and ingestion time ranges.",
        _OAT,
        "oat.consume",
        Kind.LIST,
        (
            Option("detected_end_date_time", "End of the detection time range (ISO 8601).", required=True),
            Option(
                "detected_start_date_time", "Start of the detection time range (ISO 8601).", required=True
            ),
            _fields('OAT identifiers to query, e.g. {"endpointName": "client1"}.'),
            Option("ingested_end_date_time", "End of the ingestion time range (ISO 8601).", required=True),
            Option(
                "ingested_start_date_time", "Start of the ingestion time range (ISO 8601).", required=True
            ),
            _QUERY_OP,
        ),
        lambda row: _query(
            row,
            detected_start_date_time=row["detected_start_date_time"],
            detected_end_date_time=row["detected_end_date_time"],
            ingested_start_date_time=row["ingested_start_date_time"],
            ingested_end_date_time=row["ingested_end_date_time"],
        ),
    ),
    Action(
        "get-sandbox-analysis-result",
        "Show the sandbox analysis result of a submission.",
        _SANDBOX,
        "sandbox.get_analysis_result",
        Kind.SINGLE,
        (
            _POLL,
            _POLL_TIME,
            Option(
                "report_id",
                "ID of the submission's report (from get-sandbox-submission-status).",
                required=True,
                aliases=("id",),
            ),
        ),
        _sandbox_result("report_id"),
    ),
    Action(
        "get-sandbox-submission-status",
        "Show the status of a sandbox submission.",
        _SANDBOX,
        "sandbox.get_submission_status",
        Kind.SINGLE,
        (Option("task_id", "ID of the sandbox submission task.", required=True, aliases=("id",)),),
        lambda row: {"submit_id": row["task_id"]},
    ),
    Action(
        "get-sandbox-suspicious-list",
        "Show the suspicious objects found in a sandbox submission (only objects with a high risk level "
        "have them).",
        _SANDBOX,
        "sandbox.list_suspicious",
        Kind.SINGLE,
        (_SUBMISSION_ID, _POLL, _POLL_TIME),
        _sandbox_result("id"),
    ),
    Action(
        "get-suspicious-list",
        "List the Suspicious Object List.",
        _SOM,
        "object.consume_suspicious",
        Kind.LIST,
        (),
        lambda row: {},
    ),
    Action(
        "get-task-result",
        "Show the result of a response task.",
        f"{_TASKS}; Download task result",
        "task.get_result",
        Kind.SINGLE,
        (_POLL, _POLL_TIME, Option("task_id", "ID of the response task.", required=True, aliases=("id",))),
        lambda row: {
            "task_id": row["task_id"],
            "poll": bool(row.get("poll", True)),
            "poll_time_sec": float(row.get("poll_time_sec") or 30.0),
        },
    ),
    _multi(
        "isolate-endpoint",
        "Disconnect an endpoint from the network (it can still talk to its managing server).",
        f"{_TASKS}; Isolate endpoint",
        "endpoint.isolate",
        _ENDPOINT_ITEM,
        _endpoint,
        "endpoint_identifiers",
        one_of=_ENDPOINT_ONE_OF,
        destructive=True,
        wait="task",
    ),
    Action(
        "list-api-keys",
        "List the API keys matching --fields (every page).",
        _KEYS_VIEW,
        "api_key.consume",
        Kind.LIST,
        (
            _fields('Fields to query, e.g. {"role": "Master Administrator"}.'),
            _QUERY_OP,
            Option(
                "top",
                "Number of records per page.",
                type="choice",
                default="50",
                choices=("50", "100", "200"),
            ),
        ),
        lambda row: _query(row, top=int(row.get("top") or 50)),
    ),
    _multi(
        "quarantine-email-message",
        "Move a message from a mailbox to the quarantine folder.",
        f"{_TASKS}; Quarantine/Restore messages",
        "email.quarantine",
        _EMAIL_ITEM,
        _email,
        "email_identifiers",
        destructive=True,
        wait="task",
    ),
    Action(
        "remove-console-account",
        "Remove a Vision One console account (user, SAML group or invitation) for good: "
        "DELETE /v3.0/iam/accounts/{id}, after looking the e-mail up. Takes the account clean-up report "
        "(account_cleanup.csv, e-mail in UserId) as --from-file. Cannot be undone; "
        "disable-console-account can." + _NOT_DIRECTORY.format("disable-account"),
        _USER_ACCOUNTS,
        "DELETE /v3.0/iam/accounts/{id}",
        Kind.CONSOLE,
        (_CONSOLE_EMAIL, _CONSOLE_ID),
        lambda row: {"method": "DELETE"},
        one_of=_CONSOLE_ONE_OF,
        destructive=True,
    ),
    _multi(
        "remove-from-block-list",
        "Remove an email address, file SHA-1, domain, IP address or URL from the Suspicious Object List "
        "(the block list).",
        f"{_TASKS}; Add to block list. {_SOM_MANAGE}",
        "object.delete_block",
        _OBJECT_ITEM,
        _object,
        "block_objects",
        destructive=True,
        wait="task",
    ),
    _multi(
        "remove-from-exception-list",
        "Remove domains, file SHA-1 values, IP addresses or URLs from the Exception List.",
        _SOM_MANAGE,
        "object.delete_exception",
        _OBJECT_ITEM,
        _object,
        "block_objects",
        destructive=True,
    ),
    _multi(
        "remove-from-suspicious-list",
        "Remove domains, file SHA-1 values, IP addresses or URLs from the Suspicious Object List.",
        _SOM_MANAGE,
        "object.delete_suspicious",
        _OBJECT_ITEM,
        _object,
        "block_objects",
        destructive=True,
    ),
    _multi(
        "reset-password-account",
        "Sign the user out of all active sessions and force a password reset at the next sign-in.",
        _ACCOUNTS,
        "account.reset",
        _ACCOUNT_ITEM,
        _account,
        "account_identifiers",
        destructive=True,
        wait="task",
    ),
    _multi(
        "restore-email-message",
        "Restore a quarantined email message.",
        f"{_TASKS}; Quarantine/Restore messages",
        "email.restore",
        _EMAIL_ITEM,
        _email,
        "email_identifiers",
        wait="task",
    ),
    _multi(
        "restore-endpoint",
        "Restore network connectivity to an isolated endpoint.",
        f"{_TASKS}; Isolate endpoint",
        "endpoint.restore",
        _ENDPOINT_ITEM,
        _endpoint,
        "endpoint_identifiers",
        one_of=_ENDPOINT_ONE_OF,
        wait="task",
    ),
    _multi(
        "run-custom-script",
        "Run a custom script on an endpoint.",
        f"{_SCRIPTS}; Run custom scripts",
        "script.run",
        (
            _AGENT_GUID,
            Option("description", "Task description."),
            _ENDPOINT_NAME,
            Option("file_name", "File name of the custom script (e.g. test.ps1).", required=True),
            Option("parameter", "Options passed to the script (e.g. '-y --verbose')."),
        ),
        lambda row: CustomScriptRequest(
            **{k: row.get(k) for k in ("file_name", "parameter", *_ENDPOINT_ONE_OF, "description")}
        ),
        None,
        one_of=_ENDPOINT_ONE_OF,
        destructive=True,
        wait="task",
    ),
    _multi(
        "sign-out-account",
        "Sign the user out of all active application and browser sessions.",
        _ACCOUNTS,
        "account.sign_out",
        _ACCOUNT_ITEM,
        _account,
        "account_identifiers",
        destructive=True,
        wait="task",
    ),
    Action(
        "submit-file-to-sandbox",
        "Submit a file to the sandbox for analysis (submissions use credits where Sandbox Analysis is "
        "officially released).",
        _SANDBOX,
        "sandbox.submit_file",
        Kind.SINGLE,
        (
            Option(
                "archive_password", "Password of the submitted archive (plain text; sent base64-encoded)."
            ),
            Option(
                "arguments",
                "Command line arguments to run the submitted PE or script file with (plain text; sent "
                "base64-encoded; at most 1024 bytes).",
            ),
            Option(
                "document_password", "Password of the submitted document (plain text; sent base64-encoded)."
            ),
            Option("file", "Path of the file to submit.", type="file", required=True),
        ),
        lambda row: {
            "file": row["file"]["content"],
            "file_name": row["file"]["name"],
            "document_password": row.get("document_password"),
            "archive_password": row.get("archive_password"),
            "arguments": row.get("arguments"),
        },
        wait="sandbox",
    ),
    _multi(
        "submit-urls-to-sandbox",
        "Submit URLs to the sandbox for analysis (at most 10 per request; more are sent in several).",
        _SANDBOX,
        "sandbox.submit_url",
        (
            Option(
                "urls", "URL to submit (repeat for several).", required=True, multiple=True, aliases=("url",)
            ),
        ),
        lambda row: row["urls"],
        None,
        wait="sandbox",
        batch_size=10,
    ),
    _multi(
        "terminate-process",
        "Terminate a process running on an endpoint.",
        f"{_TASKS}; Terminate process",
        "endpoint.terminate_process",
        (
            _AGENT_GUID,
            Option("description", "Optional description."),
            _ENDPOINT_NAME,
            Option("file_sha1", "SHA-1 of the process's executable file.", required=True),
            Option("filename", "File name of the process (for the log).", aliases=("file_name",)),
        ),
        lambda row: TerminateProcessRequest(
            file_sha1=row["file_sha1"],
            file_name=row.get("filename"),
            endpoint_name=row.get("endpoint_name"),
            agent_guid=row.get("agent_guid"),
            description=row.get("description"),
        ),
        "process_identifiers",
        one_of=_ENDPOINT_ONE_OF,
        destructive=True,
        wait="task",
    ),
    Action(
        "update-api-key",
        "Update an API key's name, role, status and description.",
        _KEYS_MANAGE,
        "api_key.update",
        Kind.SINGLE,
        (
            Option("description", "A brief note about the API key."),
            Option("id", "Identifier of the API key.", required=True),
            Option(
                "if_match",
                "ETag of the key; the update only applies if the key still matches it. Default: the key's "
                "current ETag (fetched first).",
                aliases=("etag",),
            ),
            Option("name", "Unique name of the API key.", required=True),
            Option("role", "User role assigned to the API key.", required=True),
            Option(
                "status",
                "Status of the API key.",
                type="choice",
                required=True,
                choices=tuple(s.value for s in ApiStatus),
            ),
        ),
        lambda row: {
            "key_id": row["id"],
            "etag": row.get("if_match"),
            "role": row["role"],
            "name": row["name"],
            "status": ApiStatus(row["status"]),
            "description": row.get("description"),
        },
        etag_call="api_key.get",
    ),
    Action(
        "update-custom-script",
        "Replace a custom script's file (.ps1 or .sh, UTF-8), type and description.",
        f"{_SCRIPTS}; Manage custom scripts",
        "script.update",
        Kind.SINGLE,
        (Option("description", "Description of the script."), _SCRIPT_FILE, _FILE_TYPE, _SCRIPT_ID),
        lambda row: {"script_id": row["script_id"], **_script_file(row)},
    ),
    # -- the replaced integration's triggers, run once (what one poll would emit) --
    Action(
        "poll-alert-list",
        "Trigger, run once: the Workbench alerts created since --start-date-time, until now.",
        _WORKBENCH_VIEW,
        "alert.consume",
        Kind.LIST,
        (Option("start_date_time", "Start of the range, ISO 8601 (yyyy-MM-ddThh:mm:ssZ).", required=True),),
        lambda row: {"start_time": row["start_date_time"]},
        trigger=True,
    ),
    Action(
        "poll-oat-list",
        "Trigger, run once: the Observed Attack Techniques events detected and ingested since the given "
        "times.",
        _OAT,
        "oat.consume",
        Kind.LIST,
        (
            Option(
                "detected_start_date_time", "Start of the detection time range (ISO 8601).", required=True
            ),
            _fields('OAT identifiers to query, e.g. {"endpointName": "client1"}.'),
            Option(
                "ingested_start_date_time", "Start of the ingestion time range (ISO 8601).", required=True
            ),
            _QUERY_OP,
        ),
        lambda row: _query(
            row,
            detected_start_date_time=row["detected_start_date_time"],
            ingested_start_date_time=row["ingested_start_date_time"],
        ),
        trigger=True,
    ),
    Action(
        "poll-sandbox-suspicious-list",
        "Trigger, run once: the suspicious objects of a sandbox submission (high risk level only).",
        _SANDBOX,
        "sandbox.list_suspicious",
        Kind.SINGLE,
        (_SUBMISSION_ID, _POLL, _POLL_TIME),
        _sandbox_result("id"),
        trigger=True,
    ),
)


def _activity(row: dict[str, Any]) -> dict[str, Any]:
    return _query(
        row,
        start_time=row.get("start_date_time"),
        end_time=row.get("end_date_time"),
        select=row.get("select") or None,
        top=int(row.get("top") or 500),
    )


BY_NAME: dict[str, Action] = {action.name: action for action in ACTIONS}

"""Audit logs (``GET /v3.0/audit/logs``): who did what in the console and through the API.

Audit records have no id, so the tap adds ``recordHash`` (SHA-256 of the record as received) as
the primary key for de-duplication downstream. The API serves only the last 180 days and refuses
an older start, so the sync range is clipped to that with a warning.
"""

from __future__ import annotations

import hashlib
import json
import typing as t
from datetime import timedelta

from singer_sdk import SchemaDirectory, StreamSchema

from tap_visionone import schemas
from tap_visionone.client import WindowedStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

AUDIT_PAGE_SIZES = (50, 100, 200)


def record_hash(record: dict[str, t.Any]) -> str:
    """A stable id for a record that has none: the hash of its canonical JSON."""
    text = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AuditLogsStream(WindowedStream):
    """Console and API audit records, oldest first (``orderBy=loggedDateTime asc``)."""

    name = "audit_logs"
    path = "/v3.0/audit/logs"
    primary_keys = ("recordHash",)
    replication_key = "loggedDateTime"
    schema = StreamSchema(SchemaDirectory(schemas))
    filter_header = "TMV1-Filter"
    page_sizes = AUDIT_PAGE_SIZES
    retention = timedelta(days=180)
    options: t.ClassVar[dict[str, str]] = {
        "filter": "TMV1-Filter expression, e.g. `category eq 'Logon and Logoff'` or "
        "`result eq 'Unsuccessful'`.",
    }
    fixed_params: t.ClassVar[dict[str, str]] = {
        "dateTimeTarget": "loggedDateTime",
        "orderBy": "loggedDateTime asc",
        "labels": "all",
    }

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        row["recordHash"] = record_hash(row)
        return row

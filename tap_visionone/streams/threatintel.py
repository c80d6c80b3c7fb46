"""Threat intelligence lists: the suspicious object list and its exception list.

Each item names its object under a key named after its type (``{"type": "url", "url": ...}``);
the tap copies that value to ``value`` so ``(type, value)`` can be the primary key and one CSV
column holds every object.
"""

from __future__ import annotations

import typing as t

from singer_sdk import SchemaDirectory, StreamSchema

from tap_visionone import schemas
from tap_visionone.client import FullTableStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

OBJECT_PAGE_SIZES = (50, 100, 200)


class ThreatIntelListStream(FullTableStream):
    primary_keys = ("type", "value")
    schema = StreamSchema(SchemaDirectory(schemas))
    filter_header = "TMV1-Filter"
    page_sizes = OBJECT_PAGE_SIZES
    options: t.ClassVar[dict[str, str]] = {
        "filter": "TMV1-Filter expression, e.g. `type eq 'url'`.",
    }

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        row["value"] = row.get(str(row.get("type")))
        return row


class SuspiciousObjectsStream(ThreatIntelListStream):
    """Objects (URLs, domains, IPs, senders, file hashes) that Vision One blocks or logs."""

    name = "suspicious_objects"
    path = "/v3.0/threatintel/suspiciousObjects"


class ExceptionObjectsStream(ThreatIntelListStream):
    """Objects excluded from the suspicious object list."""

    name = "exception_objects"
    path = "/v3.0/threatintel/suspiciousObjectExceptions"

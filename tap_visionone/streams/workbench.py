"""Workbench alerts (``GET /v3.0/workbench/alerts``), windowed on ``updatedDateTime``.

Windowing on the update time (``dateTimeTarget=updatedDateTime``) means an alert whose status,
owner or investigation result changes comes again in a later run, as the analysts' export needs.
The endpoint takes no ``top``: the server chooses the page size.
"""

from __future__ import annotations

import typing as t

from singer_sdk import SchemaDirectory, StreamSchema

from tap_visionone import schemas
from tap_visionone.client import WindowedStream

FILTER_OPTION = {
    "filter": "TMV1-Filter expression, e.g. `severity eq 'high' and status eq 'Open'`.",
}


class WorkbenchAlertsStream(WindowedStream):
    """Full alert objects: impact scope, indicators and matched rules stay nested."""

    name = "workbench_alerts"
    path = "/v3.0/workbench/alerts"
    primary_keys = ("id",)
    replication_key = "updatedDateTime"
    schema = StreamSchema(SchemaDirectory(schemas))
    filter_header = "TMV1-Filter"
    options = FILTER_OPTION
    fixed_params: t.ClassVar[dict[str, str]] = {
        "dateTimeTarget": "updatedDateTime",
        "orderBy": "updatedDateTime asc",
    }

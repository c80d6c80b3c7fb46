"""Response management: the tasks that response actions created, and the custom scripts.

Both endpoints take their filter as the ``filter`` query parameter, not a header. Task records
lose their ``password`` (of a collected archive) before they leave the tap.
"""

from __future__ import annotations

import typing as t

from singer_sdk import SchemaDirectory, StreamSchema

from tap_visionone import schemas
from tap_visionone.client import FullTableStream, WindowedStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

TASK_PAGE_SIZES = (50, 100, 200)


class ResponseTasksStream(WindowedStream):
    """Response tasks (isolate, collect, block, ...), windowed on their last action."""

    name = "response_tasks"
    path = "/v3.0/response/tasks"
    primary_keys = ("id",)
    replication_key = "lastActionDateTime"
    schema = StreamSchema(SchemaDirectory(schemas))
    filter_param = "filter"
    page_sizes = TASK_PAGE_SIZES
    options: t.ClassVar[dict[str, str]] = {
        "filter": "filter expression, e.g. `status eq 'failed'` or `action eq 'isolate'`.",
    }
    fixed_params: t.ClassVar[dict[str, str]] = {"dateTimeTarget": "lastActionDateTime"}

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        # collectFile / runCustomScript tasks carry the password of the collected archive: a secret
        # that must not land in CSV files or warehouses (visionone-actions shows it on demand).
        row.pop("password", None)
        return row


class CustomScriptsStream(FullTableStream):
    """The custom scripts uploaded for Run Custom Script (metadata only, not their content)."""

    name = "custom_scripts"
    path = "/v3.0/response/customScripts"
    primary_keys = ("id",)
    schema = StreamSchema(SchemaDirectory(schemas))
    filter_param = "filter"
    options: t.ClassVar[dict[str, str]] = {
        "filter": "filter expression, e.g. `fileType eq 'powershell'`.",
    }

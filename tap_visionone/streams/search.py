"""The ``/v3.0/search`` family: detections and the six activity searches.

Search endpoints take the ``TMV1-Query`` header (required; ``*`` for everything), ``top`` from
a fixed set, an optional ``select`` field list, and answer newest first with ``eventTime`` in
epoch milliseconds.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

from singer_sdk import SchemaDirectory, StreamSchema

from connector_kit.errors import WindowFailedError
from connector_kit.json_body import json_body
from connector_kit.sdk_adapter import send_request
from connector_kit.window_plan import Window
from tap_visionone import schemas
from tap_visionone.client import WindowedStream

SEARCH_PAGE_SIZES = (50, 100, 500, 1000, 5000)


class SearchStream(WindowedStream):
    """One stream class for every search endpoint; subclasses name the path."""

    primary_keys = ("uuid",)
    replication_key = "eventTime"
    key_unit = "ms"
    schema = StreamSchema(SchemaDirectory(schemas))
    filter_header = "TMV1-Query"
    page_sizes = SEARCH_PAGE_SIZES
    options: t.ClassVar[dict[str, str]] = {
        "query": "TMV1-Query for this search, overriding the `query` setting "
        "(e.g. `productCode:sao and act:Block`).",
        "select": "Comma-separated fields to return (the API's `select`); uuid and eventTime are always "
        "added. Default: every field.",
    }

    @property
    def filter_value(self) -> str:
        return self.option("query") or self.settings.query

    @property
    def page_size(self) -> int:
        return self.settings.page_size

    def count_records(self, start: datetime, end: datetime) -> int | None:
        """The records of ``[start, end)`` for this stream's query, counted by the API (``mode=countOnly``)
        in one request, through the same limiter, retries and error map as every page."""
        window = Window(start, end)
        context = {**self.window_params(window), "mode": "countOnly"}
        try:
            response = send_request(self, context)
            count = json_body(response).get("totalCount")
        except Exception as exc:
            failure = self.final_failure(exc)
            if failure is None:
                raise
            stays = f"; the bookmark stays at {window.start_param}" if failure.retried else ""
            raise WindowFailedError(
                f"{self.name}: counting the records of {window} failed{failure.after_failed}{stays}."
            ) from None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            self.logger.warning(
                "%s: the count of %s was %r, not a number; fetching in windows of %s instead.",
                self.name,
                window,
                count,
                self.settings.window_size_text,
            )
            return None
        return count

    @property
    def settings_hint(self) -> str:
        options = f"`stream_options.{self.name}.query`/`select`"
        return f"`query`, `page_size`, {options}, `start_date` and `end_date`"


class DetectionsStream(SearchStream):
    """Detections (``GET /v3.0/search/detections``): every detection of the tenant's products."""

    name = "detections"
    path = "/v3.0/search/detections"


class EndpointActivitiesStream(SearchStream):
    """Endpoint activity data: processes, files, connections, registry, logons."""

    name = "endpoint_activities"
    path = "/v3.0/search/endpointActivities"


class EmailActivitiesStream(SearchStream):
    """E-mail activity data: senders, recipients, subjects, attachments, URLs."""

    name = "email_activities"
    path = "/v3.0/search/emailActivities"


class NetworkActivitiesStream(SearchStream):
    """Network (secure access) activity data: connections, HTTP requests, TLS fingerprints."""

    name = "network_activities"
    path = "/v3.0/search/networkActivities"


class CloudActivitiesStream(SearchStream):
    """Cloud activity data (AWS CloudTrail and VPC flow logs)."""

    name = "cloud_activities"
    path = "/v3.0/search/cloudActivities"


class MobileActivitiesStream(SearchStream):
    """Mobile activity data: devices, apps, files."""

    name = "mobile_activities"
    path = "/v3.0/search/mobileActivities"


class IdentityActivitiesStream(SearchStream):
    """Identity activity data (directory sign-ins)."""

    name = "identity_activities"
    path = "/v3.0/search/identityActivities"


SEARCH_STREAMS: tuple[type[SearchStream], ...] = (
    DetectionsStream,
    EndpointActivitiesStream,
    EmailActivitiesStream,
    NetworkActivitiesStream,
    CloudActivitiesStream,
    MobileActivitiesStream,
    IdentityActivitiesStream,
)

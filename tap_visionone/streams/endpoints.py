"""The endpoint inventory (``GET /v3.0/endpointSecurity/endpoints``): agents, OS, isolation, sensors."""

from __future__ import annotations

import typing as t

from singer_sdk import SchemaDirectory, StreamSchema

from tap_visionone import schemas
from tap_visionone.client import FullTableStream

ENDPOINT_PAGE_SIZES = (10, 50, 100, 200, 500, 1000)


class EndpointsStream(FullTableStream):
    """Every managed endpoint, one record per agent GUID."""

    name = "endpoints"
    path = "/v3.0/endpointSecurity/endpoints"
    primary_keys = ("agentGuid",)
    schema = StreamSchema(SchemaDirectory(schemas))
    filter_header = "TMV1-Filter"
    page_sizes = ENDPOINT_PAGE_SIZES
    options: t.ClassVar[dict[str, str]] = {
        "filter": "TMV1-Filter expression, e.g. `osPlatform eq 'windows' and isolationStatus eq 'on'`.",
        "select": "Comma-separated fields to return (agentGuid is always added). Default: every field.",
    }

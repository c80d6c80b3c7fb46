"""The endpoint inventory (``GET /v3.0/endpointSecurity/endpoints``): agents, OS, isolation, sensors.

Trend's reference allows ``top`` of 10, 50, 100, 200, 500 or 1000, the filter in the ``TMV1-Filter``
header, and a ``select`` of at most 128 characters whose names flatten the nested objects
(``eppAgentStatus`` for ``eppAgent.status``).
"""

from __future__ import annotations

import typing as t

from singer_sdk import SchemaDirectory, StreamSchema

from connector_kit.errors import SettingsError
from tap_visionone import schemas
from tap_visionone.client import FullTableStream

ENDPOINT_PAGE_SIZES = (10, 50, 100, 200, 500, 1000)
SELECT_MAX_LENGTH = 128


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
        "select": "Comma-separated fields to return, named as the API's `select` names them (e.g. "
        "`endpointName,osName,eppAgentStatus`); agentGuid is always added. Default: every field.",
    }

    @classmethod
    def check_options(cls, options: dict[str, t.Any]) -> None:
        """Refuse a ``select`` the API would refuse for its length, before any request."""
        select = str(options.get("select") or "").strip()
        names = [n.strip() for n in select.split(",") if n.strip()]
        sent = ",".join(dict.fromkeys([*cls.primary_keys, *names])) if names else ""
        if len(sent) > SELECT_MAX_LENGTH:
            raise SettingsError(
                f"Invalid setting `stream_options.{cls.name}.select`: with agentGuid it is {len(sent)} "
                f"characters; the API takes at most {SELECT_MAX_LENGTH}."
            )

"""tap-workvivo's one stream: the Workvivo SIEM events, hour by hour."""

from __future__ import annotations

from singer_sdk import SchemaDirectory, StreamSchema

from tap_workvivo import schemas
from tap_workvivo.client import WorkvivoStream


class SiemEventsStream(WorkvivoStream):
    """SIEM events (``GET /v1/siem/{from}/{to}``), bookmarked on ``created_at_timestamp``."""

    name = "siem_events"
    path = "/v1/siem/{from}/{to}"
    primary_keys = ("id",)
    replication_key = "created_at_timestamp"
    schema = StreamSchema(SchemaDirectory(schemas))


STREAMS = (SiemEventsStream,)

"""The ``/v3.0/search`` family: detections (and, later, the activity searches).

Search endpoints take the ``TMV1-Query`` header (required; ``*`` for everything), ``top`` from
a fixed set, and answer newest first with ``eventTime`` in epoch milliseconds.
"""

from __future__ import annotations

import typing as t

from singer_sdk import SchemaDirectory, StreamSchema

from tap_visionone import schemas
from tap_visionone.client import WindowedStream

SEARCH_PAGE_SIZES = (50, 100, 500, 1000, 5000)


class SearchStream(WindowedStream):
    """One stream class for every search endpoint; subclasses name the path."""

    primary_keys = ("uuid",)
    replication_key = "eventTime"
    schema = StreamSchema(SchemaDirectory(schemas))

    @property
    def http_headers(self) -> dict[str, str]:
        # The filter header must be sent again with every nextLink page.
        return {**super().http_headers, "TMV1-Query": self.settings.query}


class DetectionsStream(SearchStream):
    """Detections (``GET /v3.0/search/detections``): what seed 000 exported to CSV."""

    name = "detections"
    path = "/v3.0/search/detections"


STREAMS: tuple[type[SearchStream], ...] = (DetectionsStream,)

__all__: t.Sequence[str] = ("SEARCH_PAGE_SIZES", "STREAMS", "DetectionsStream", "SearchStream")

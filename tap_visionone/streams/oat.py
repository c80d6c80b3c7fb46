"""Observed Attack Techniques (``GET /v3.0/oat/detections``), windowed on ingestion time.

OATs arrive late: a technique detected at 10:00 may be ingested at 14:00. Windowing on
``ingestedDateTime`` therefore misses nothing that a detected-time window would skip once its
bookmark passed. The API also needs a detected-time range (default: only the last hour!) of at
most 365 days, so every request sends one: the user's, or the 365 days before the window's end.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta

from singer_sdk import SchemaDirectory, StreamSchema

from connector_kit.errors import SettingsError
from connector_kit.settings import parse_datetime
from connector_kit.times import format_api_time
from connector_kit.window_plan import Window
from tap_visionone import schemas
from tap_visionone.client import WindowedStream

OAT_PAGE_SIZES = (50, 100, 200)
MAX_DETECTED_RANGE = timedelta(days=365)


class OatDetectionsStream(WindowedStream):
    """One record per observed technique, with its filters and the activity that matched."""

    name = "oat_detections"
    path = "/v3.0/oat/detections"
    primary_keys = ("uuid",)
    replication_key = "ingestedDateTime"
    schema = StreamSchema(SchemaDirectory(schemas))
    filter_header = "TMV1-Filter"
    page_sizes = OAT_PAGE_SIZES
    options: t.ClassVar[dict[str, str]] = {
        "filter": "TMV1-Filter expression, e.g. `riskLevel eq 'high'`.",
        "detected_start_date": "Only OATs detected at or after this date/date-time (default: 365 days "
        "before each window's end, the API's maximum range).",
        "detected_end_date": "Only OATs detected before this date/date-time (default: each window's end).",
    }

    @classmethod
    def check_options(cls, options: dict[str, t.Any]) -> None:
        start, end = cls._detected_range(options)
        if start and end:
            if end <= start:
                raise SettingsError(
                    f"Invalid setting `stream_options.{cls.name}.detected_end_date`: it is not after "
                    "detected_start_date."
                )
            if end - start > MAX_DETECTED_RANGE:
                raise SettingsError(
                    f"Invalid setting `stream_options.{cls.name}.detected_start_date`: the API allows "
                    "a detected range of at most 365 days."
                )

    @classmethod
    def _detected_range(cls, options: dict[str, t.Any]) -> tuple[datetime | None, datetime | None]:
        def read(name: str) -> datetime | None:
            value = options.get(name)
            if value in (None, ""):
                return None
            return parse_datetime(str(value), setting=f"stream_options.{cls.name}.{name}")

        return read("detected_start_date"), read("detected_end_date")

    def window_params(self, window: Window) -> dict[str, t.Any]:
        start, end = self._detected_range(self.settings.stream_options.get(self.name, {}))
        detected_end = min(end, window.end) if end else window.end
        detected_start = max(start or detected_end - MAX_DETECTED_RANGE, detected_end - MAX_DETECTED_RANGE)
        return {
            "detectedStartDateTime": format_api_time(min(detected_start, detected_end)),
            "detectedEndDateTime": format_api_time(detected_end),
            "ingestedStartDateTime": window.start_param,
            "ingestedEndDateTime": window.end_param,
        }

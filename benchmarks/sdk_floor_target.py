"""The least a target built on the Singer SDK does per record: a target whose sink throws every record away.

It reads with the SDK's own msgspec reader, goes through the SDK's per-record path (stream maps, the
sink's counters, batch draining) and validates nothing: no schema check, no flattening, no CSV, no disk.
`target_throughput.py` runs it on the same input as target-csv-flat, so that the rate after start-up
has a floor measured in the same run, as the tap's has (`tap_replay.py`).
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target


class DiscardSink(BatchSink):
    """Keeps nothing and checks nothing."""

    validate_schema = False

    def process_record(self, record: dict, context: dict) -> None:
        """Drop the record."""

    def process_batch(self, context: dict) -> None:
        """Nothing was kept."""


class SdkFloorTarget(Target):
    """A Singer SDK target that reads every message and keeps none of the records."""

    name = "sdk-floor-target"
    config_jsonschema: t.ClassVar[dict] = th.PropertiesList().to_dict()
    default_sink_class = DiscardSink
    message_reader_class = MsgSpecReader


if __name__ == "__main__":
    SdkFloorTarget.cli()

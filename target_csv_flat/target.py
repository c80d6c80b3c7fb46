"""target-csv-flat: Singer messages in, one flattened CSV file per stream out.

Settings are declared once, below. Bad settings stop the target before it reads any message, with
one line on stderr that names the setting and exit code 1 (`main`), as do output files that cannot be
written and invalid records under `on_invalid_record: fail`. The SDK's own record flattening
(`flattening_enabled`) is not offered and is switched off: this target flattens itself
(`flatten.py`), by `flattening_max_depth` and `flattening_separator`, which keep the SDK's names and
meaning. If the run fails, the batches being written are discarded (`MessageReader`), so the files
keep only complete, committed batches. Singer table versions (`ACTIVATE_VERSION`, sent by taps for
full-table streams) replace a stream's file with the activated version's rows (`versions`).
"""

from __future__ import annotations

import codecs
import decimal
import gc
import json
import sys
import tempfile
import typing as t
from collections import Counter, defaultdict
from pathlib import Path

import msgspec
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TargetCapabilities
from singer_sdk.io_base import SingerMessageType, SingerReader
from singer_sdk.mapper import PluginMapper
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target

from connector_kit import console
from connector_kit.quiet_metrics import QuietMetrics
from connector_kit.sdk_adapter import BatchAgeHook, IdentityMapRecords
from target_csv_flat.errors import SettingsError
from target_csv_flat.flatten import LIST_FORMATS
from target_csv_flat.local_time import load_zone
from target_csv_flat.naming import PLACEHOLDERS, check_naming_scheme
from target_csv_flat.rejects import INVALID_RECORD_ACTIONS
from target_csv_flat.sink import BATCH_SIZE, CsvSink, OutputRun

if t.TYPE_CHECKING:
    from collections.abc import Callable

OVERWRITE_BEHAVIORS = ("append", "replace")
STDIN_BUFFER = 1 << 20
GC_THRESHOLD = 10_000
"""New container objects between two runs of the cyclic garbage collector (Python's default: 700)."""


class MessageReader(SingerReader):
    """The SDK's reader, reading stdin as bytes and decoding with msgspec (the SDK's optional decoder).

    Why: `json` decoding of a text line was a fifth of the time per record; msgspec on the raw
    bytes is about 2.5x faster. Same result as the SDK's `deserialize_json` (floats become
    `Decimal`); a line msgspec refuses (`NaN`, a lone surrogate, bad JSON) goes through `json` as
    before, so what `json` accepted is still accepted and bad JSON fails with the SDK's error.
    `on_failure` lets the target drop its open batches when any message makes the run fail.
    `output_run` receives each RECORD's table `version` (the SDK hands sinks the record alone), and
    `on_activate_version` handles ACTIVATE_VERSION instead of the SDK's handler. Both go through
    the callbacks this reader is given, so no private member of the SDK is involved.
    """

    _decode = json.JSONDecoder(parse_float=decimal.Decimal).decode
    _fast_decode = msgspec.json.Decoder(float_hook=decimal.Decimal).decode
    on_failure: Callable[[], None] | None = None
    """Called when processing stops on an exception (the target discards open batches)."""
    output_run: OutputRun | None = None
    on_activate_version: Callable[[dict], None] | None = None

    def process_lines(self, file_input: t.IO[str] | None, callbacks: dict) -> t.Counter[str]:
        """The SDK's loop; on any exception, `on_failure` runs before the exception goes on."""
        callbacks = dict(callbacks)
        if self.on_activate_version is not None:
            callbacks[SingerMessageType.ACTIVATE_VERSION] = self.on_activate_version
        if file_input is None:  # bytes: no text decoding before msgspec's own; 1 MiB reads, not 8 KiB
            file_input = open(sys.stdin.fileno(), "rb", buffering=STDIN_BUFFER, closefd=False)  # noqa: SIM115
        try:
            return self._read(file_input, callbacks)  # type: ignore[arg-type]
        except BaseException:
            if self.on_failure is not None:
                self.on_failure()
            raise

    def _read(self, lines: t.Iterable[str | bytes], callbacks: dict) -> t.Counter[str]:
        """The SDK's `process_lines` loop (same checks, same errors), with RECORD handled first and
        its `version` noted for the sinks: the loop runs once per record, so every step counts."""
        stats: dict[str, int] = defaultdict(int)
        decode = self.deserialize_json
        run, process_record = self.output_run, callbacks.get(SingerMessageType.RECORD)
        records = 0
        for line in lines:
            message = decode(line)
            if message.__class__ is not dict or "type" not in message:
                self.assert_line_requires(message, requires={"type"})  # raises the SDK's error
            kind = message["type"]
            if kind == "RECORD" and process_record is not None:
                if run is not None:
                    run.record_version = message.get("version")
                process_record(message)
                records += 1
                continue
            callback = callbacks.get(kind)
            if callback is None:
                msg = f"Unknown message type '{kind}' in message."  # the SDK's error
                raise ValueError(msg)
            callback(message)
            stats[kind] += 1
        if records:
            stats["RECORD"] += records
        return Counter(**stats)

    def deserialize_json(self, line: str | bytes) -> dict:
        """Decode one message line (bytes from stdin, text from `--input` or a test)."""
        try:
            return self._fast_decode(line)  # type: ignore[no-any-return]
        except msgspec.DecodeError:
            pass
        if line.__class__ is not str:
            line = line.decode(sys.stdin.encoding or "utf-8", sys.stdin.errors or "strict")  # type: ignore[union-attr]
        try:
            return self._decode(line)  # type: ignore[no-any-return]
        except json.JSONDecodeError:
            return super().deserialize_json(line)  # logs and raises the SDK's InvalidInputLine


class TargetCsvFlat(QuietMetrics, IdentityMapRecords, BatchAgeHook, Target):
    """Singer target writing one flattened CSV file per stream (nested objects become columns)."""

    name = "target-csv-flat"
    package_name = "target-csv-flat"
    default_sink_class = CsvSink
    message_reader_class = MessageReader
    _full_batch_committed = False

    def drain_one(self, sink: Sink) -> None:
        """Note when a full batch was committed, so the other sinks follow and STATE can be emitted."""
        full = sink.current_size > 0 and sink.is_full
        super().drain_one(sink)
        if full:
            self._full_batch_committed = True

    def drain_all(self, *, is_endofpipe: bool = False) -> None:
        """Every sink writes its held records first, here on the main thread, then the SDK drains.

        A chunk's records are checked as the chunk is written (`CsvSink.write_held`): an invalid
        one must stop the run before any sink commits, not in one of the SDK's drain threads.
        """
        for write_held in list(self.output_run.write_held.values()):
            write_held()
        super().drain_all(is_endofpipe=is_endofpipe)

    def activate_version(self, message: dict) -> None:
        """ACTIVATE_VERSION: the stream's file becomes exactly that version's rows (`versions`).

        Every sink is drained first, so the version's rows held for `sort_by`, or by a sink that a
        schema change replaced, are staged before the version is settled. Unlike the SDK's handler,
        no warning about `_sdc_*` metadata columns: this target does not need them.
        """
        self.message_reader.assert_line_requires(message, requires={"stream", "version"})
        stream, version = message["stream"], message["version"]
        stream_maps = self.mapper.stream_maps.get(stream)
        if not stream_maps:
            self.logger.warning("ACTIVATE_VERSION for stream '%s' before its SCHEMA: ignored", stream)
            return
        self.drain_all()
        for stream_map in stream_maps:
            sink = self.get_sink(stream_map.stream_alias)
            if sink.process_activate_version_messages is False:
                self.logger.info(
                    "ACTIVATE_VERSION for '%s' ignored (process_activate_version_messages is false)",
                    stream_map.stream_alias,
                )
                continue
            sink.activate_version(version)

    def process_endofpipe(self) -> None:
        """The whole input was read: versions announced before their rows may now be committed."""
        self.output_run.end_of_input = True
        super().process_endofpipe()

    def after_record(self) -> None:
        """After a full batch, commit every sink and emit STATE (``drain_all``).

        The SDK emits STATE only at the end of the input or every `_MAX_RECORD_AGE_IN_MINUTES`: a
        target killed mid-run then left no bookmark at all, and the rerun read everything again. Now
        a kill costs at most the rows since the last full batch.
        """
        if self._full_batch_committed:
            self._full_batch_committed = False
            self.drain_all()
            self._full_batch_committed = False

    capabilities: t.ClassVar[list] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.ACTIVATE_VERSION,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.STRUCTURED_LOGGING,
        TargetCapabilities.VALIDATE_RECORDS,
    ]

    config_jsonschema: t.ClassVar[dict] = th.PropertiesList(
        th.Property(
            "output_path",
            th.StringType,
            default="output",
            description="Folder the CSV files are written to; created if missing.",
        ),
        th.Property(
            "file_naming_scheme",
            th.StringType,
            default="{stream_name}.csv",
            description=(
                "File name (may include sub-folders) per stream, relative to output_path. "
                f"Placeholders: {', '.join('{' + p + '}' for p in PLACEHOLDERS)} "
                "(the run's start in UTC: YYYY-MM-DD and YYYYMMDDThhmmss)."
            ),
        ),
        th.Property(
            "flattening_max_depth",
            th.IntegerType(minimum=0),
            default=3,
            description=(
                "Nested objects become parent__child columns down to this many levels "
                "(0: no flattening); deeper objects are written as one JSON cell."
            ),
        ),
        th.Property(
            "flattening_separator",
            th.StringType(min_length=1),
            default="__",
            description="Text between parent and child names in flattened column names.",
        ),
        th.Property(
            "list_format",
            th.StringType,
            default="json",
            allowed_values=list(LIST_FORMATS),
            description=(
                "How a list is written into its one cell: `json` (compact JSON text) or `comma` "
                "(elements joined with commas, as the old detections export wrote lists; ambiguous if "
                "elements contain commas)."
            ),
        ),
        th.Property(
            "overwrite_behavior",
            th.StringType,
            default="append",
            allowed_values=list(OVERWRITE_BEHAVIORS),
            description=(
                "`append`: rows are added to an existing file in its column order, its header is "
                "never repeated (columns it lacks are added by rewriting it, old rows get empty "
                "cells); `replace`: the run's first batch replaces the file, later batches of the "
                "same run append. Either way, a stream sent as Singer table versions (full-table "
                "streams: records with a `version`, then ACTIVATE_VERSION) is replaced whole by each "
                "activated version, so the file holds one copy of the table, not one per run."
            ),
        ),
        th.Property(
            "process_activate_version_messages",
            th.BooleanType,
            default=True,
            description=(
                "Honour Singer table versions: rows of a version are staged beside the file, which "
                "an ACTIVATE_VERSION sent after them replaces atomically (sent before them, as "
                "Singer SDK taps do: at the end of the input); a version never activated is dropped "
                "with a warning and the file keeps its previous rows. false: every record is "
                "appended, versions are ignored."
            ),
        ),
        th.Property(
            "encoding",
            th.StringType,
            default="utf-8",
            description=(
                "File encoding (a Python codec name); `utf-8-sig` helps Excel recognise UTF-8. "
                "Characters the encoding cannot represent are written as backslash escapes."
            ),
        ),
        th.Property(
            "csv_injection_guard",
            th.BooleanType,
            default=True,
            description=(
                "Text cells and header names starting with = + - @ tab or carriage return get a "
                "leading ' so spreadsheets show them instead of running them as formulas (OWASP); "
                "numbers, and text that is just a number such as -5, are left alone. false: "
                "write them raw."
            ),
        ),
        th.Property(
            "local_timestamp_column",
            th.StringType,
            description=(
                "Name of an extra first column holding the time each row was written, in "
                "`timezone`, as `2025-06-08 09:07:21 JST` (the old Workvivo CSV's local_timestamp). Not set "
                "(default): no such column."
            ),
        ),
        th.Property(
            "timezone",
            th.StringType,
            default="UTC",
            description="IANA time zone of local_timestamp_column, e.g. Asia/Tokyo or Europe/London.",
        ),
        th.Property(
            "sort_by",
            th.StringType,
            description=(
                "Column (flattened name, e.g. eventTime) to order each batch's rows by, empty "
                "values first; streams without it keep arrival order. The batch is then held in "
                "memory until it is written. Not set (default): rows are written in arrival order, "
                "straight to disk."
            ),
        ),
        th.Property(
            "on_invalid_record",
            th.StringType,
            default="fail",
            allowed_values=list(INVALID_RECORD_ACTIONS),
            description=(
                "A record that breaks its schema: `fail` stops the run with one line naming the "
                "stream, key and field, discarding the batch being written (exit code 1); `skip` "
                "logs that line as a warning and drops the record; `quarantine` also appends the "
                "record as JSON to `<output_path>/<stream>.rejected.jsonl`."
            ),
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType(minimum=1),
            default=BATCH_SIZE,
            description=(
                "Rows per batch. A batch's rows are appended to the file; at the batch's end the "
                "file is fsynced and its committed length recorded (crash safety), then STATE "
                "follows. Rows are streamed to disk, not held in memory (unless sort_by is set)."
            ),
        ),
    ).to_dict()

    def __init__(self, **kwargs: t.Any) -> None:
        """Create the target; invalid settings raise `SettingsError` with a one-line message."""
        self.output_run = OutputRun()
        try:
            super().__init__(**kwargs)
        except ConfigValidationError as exc:
            raise SettingsError(f"invalid settings: {'; '.join(exc.errors or [str(exc)])}") from None
        if kwargs.get("validate_config", True):
            self._check_settings()
        if isinstance(self.message_reader, MessageReader):
            self.message_reader.on_failure = self.output_run.discard_all
            self.message_reader.output_run = self.output_run
            self.message_reader.on_activate_version = self.activate_version

    def setup_mapper(self) -> None:
        """Stream maps work as usual; the SDK's record flattening stays off (we flatten ourselves)."""
        self.mapper = PluginMapper(
            plugin_config={**self.config, "flattening_enabled": False},
            logger=self.logger,
        )

    def _check_settings(self) -> None:
        config = self.config
        check_naming_scheme(config.get("file_naming_scheme", "{stream_name}.csv"))
        encoding = config.get("encoding", "utf-8")
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise SettingsError(f"encoding {encoding!r} is not a known Python codec") from None
        load_zone(config.get("timezone") or "UTC")
        output_path = Path(config.get("output_path") or "output")
        try:
            output_path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=output_path):
                pass
        except OSError as exc:
            msg = f"output_path {str(output_path)!r} is not a writable folder: {exc.strerror or exc}"
            raise SettingsError(msg) from None


def main() -> None:
    """Console script: expected failures print one line and exit 1, without a traceback.

    The cyclic garbage collector first leaves the objects made so far (modules, the SDK) alone and
    runs every 10,000 new objects instead of 700: it took a tenth of the run scanning the same
    long-lived objects again and again, while records and rows, which form no cycles, are freed by
    reference counting anyway.
    """
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    console.run("target-csv-flat", TargetCsvFlat.cli)


if __name__ == "__main__":
    main()

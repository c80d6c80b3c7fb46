"""target-csv-flat: Singer messages in, one flattened CSV file per stream out.

Settings are declared once, below. Bad settings stop the target before it reads any message, with
one line on stderr that names the setting and exit code 1 (`main`), as do output files that cannot be
written. The SDK's own record flattening (`flattening_enabled`) is not offered and is switched off:
this target flattens itself (`flatten.py`), by `flattening_max_depth` and `flattening_separator`,
which keep the SDK's names and meaning.
"""

from __future__ import annotations

import codecs
import decimal
import json
import sys
import tempfile
import typing as t
from pathlib import Path

import click
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TargetCapabilities
from singer_sdk.io_base import SingerReader
from singer_sdk.mapper import PluginMapper
from singer_sdk.target_base import Target

from target_csv_flat.errors import SettingsError, TargetCsvFlatError
from target_csv_flat.flatten import LIST_FORMATS
from target_csv_flat.sink import PLACEHOLDERS, CsvSink, OutputRun, check_naming_scheme

OVERWRITE_BEHAVIORS = ("append", "replace")


class MessageReader(SingerReader):
    """The SDK's reader, decoding with one prepared JSONDecoder instead of a new one per line.

    Same result as the SDK's `deserialize_json` (floats become `Decimal`), same error on bad JSON.
    """

    _decode = json.JSONDecoder(parse_float=decimal.Decimal).decode

    def deserialize_json(self, line: str) -> dict:
        """Decode one message line."""
        try:
            return self._decode(line)  # type: ignore[no-any-return]
        except json.JSONDecodeError:
            return super().deserialize_json(line)  # logs and raises the SDK's InvalidInputLine


class TargetCsvFlat(Target):
    """Singer target writing one flattened CSV file per stream (nested objects become columns)."""

    name = "target-csv-flat"
    package_name = "visionone-connectors"
    default_sink_class = CsvSink
    message_reader_class = MessageReader

    capabilities: t.ClassVar[list] = [
        PluginCapabilities.ABOUT,
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
                "(elements joined with commas, as the seed script did; ambiguous if elements contain "
                "commas)."
            ),
        ),
        th.Property(
            "overwrite_behavior",
            th.StringType,
            default="append",
            allowed_values=list(OVERWRITE_BEHAVIORS),
            description=(
                "`append`: an existing file keeps its header and rows are appended in its column "
                "order (the header is never repeated); `replace`: the file is rewritten."
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
        output_path = Path(config.get("output_path") or "output")
        try:
            output_path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=output_path):
                pass
        except OSError as exc:
            msg = f"output_path {str(output_path)!r} is not a writable folder: {exc.strerror or exc}"
            raise SettingsError(msg) from None


def main() -> None:
    """Console script: expected failures print one line and exit 1, without a traceback."""
    try:
        TargetCsvFlat.cli()
    except TargetCsvFlatError as exc:
        click.echo(f"target-csv-flat: error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

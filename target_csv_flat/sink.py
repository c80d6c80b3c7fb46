"""The CSV sink: one file per stream, one flattened row per record.

- `setup()` (main thread, once per SCHEMA) picks the file, writes or reads its header and compiles
  the row builder for that header (see `flatten.compile_row_builder`).
- `process_record()` (main thread) turns the record into a row tuple right away and keeps only the
  tuple; `process_batch()` (one of the SDK's drain threads) appends the batch's rows to the file with
  `csv.writer`, then closes it, so every row of a batch is in the file before the SDK emits the
  STATE message that covers it. Nothing else touches the file: each sink writes only its own file,
  and a stream's old and new sinks (schema change) are drained one after the other by the SDK.
- Files: RFC 4180 CSV (`csv` module, excel dialect: `"` quoting when needed, `\\r\\n` line ends;
  Excel and every CSV reader accept them, and `\\n` inside a value stays inside its quoted cell).
  Characters the chosen `encoding` cannot represent are written as backslash escapes.
- `overwrite_behavior`: `replace` truncates the file the first time this run opens it; `append`
  (and any later sink of the same file in this run) keeps the existing header and appends rows in
  that header's column order. Columns of the schema missing from an existing header go to its
  `_extra` column, with a warning; an existing header without `_extra` that lacks some of them is
  an error (rows would not fit), never a misaligned row.
- Timestamps are written exactly as received: this sink switches off the SDK's parsing of
  `date-time` strings into `datetime` objects (`_parse_timestamps_in_record`).
- Fields the schema does not declare go to the `_extra` JSON column; the first time a field name
  is seen in a stream, a warning names it.
"""

from __future__ import annotations

import csv
import datetime
import re
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from singer_sdk.sinks import BatchSink

from target_csv_flat.errors import OutputError, SettingsError
from target_csv_flat.flatten import (
    Column,
    compile_row_builder,
    extra_column_name,
    flatten_schema,
    header,
)
from target_csv_flat.validation import FastValidator

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk import Target
    from singer_sdk.helpers.conform import DatetimeErrorTreatmentEnum
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

PLACEHOLDERS = ("stream_name", "datestamp", "timestamp")
LINE_TERMINATOR = "\r\n"
WRITE_BUFFER = 1 << 20


@dataclass
class OutputRun:
    """What the sinks of one target run share: the start time and the files opened so far."""

    started_at: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    files: dict[Path, str] = field(default_factory=dict)  # file -> stream that writes it


def check_naming_scheme(scheme: str) -> None:
    """Raise SettingsError unless `scheme` only uses the known placeholders."""
    unknown = [p for p in re.findall(r"\{([^{}]*)\}", scheme) if p not in PLACEHOLDERS]
    if unknown or not scheme.strip() or scheme.endswith(("/", "\\")):
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        what = f"unknown placeholder {{{unknown[0]}}}" if unknown else "no file name"
        msg = f"file_naming_scheme {scheme!r}: {what}; use a file name with {known}"
        raise SettingsError(msg)


def file_name(scheme: str, stream_name: str, started_at: datetime.datetime) -> str:
    """`scheme` with its placeholders filled; path separators in stream names become `_`."""
    safe_stream = re.sub(r"[\\/]", "_", stream_name)
    if safe_stream in {"", ".", ".."}:
        safe_stream = "_" * max(1, len(safe_stream))
    values = {
        "stream_name": safe_stream,
        "datestamp": started_at.strftime("%Y-%m-%d"),
        "timestamp": started_at.strftime("%Y%m%dT%H%M%S"),
    }
    return re.sub(r"\{(" + "|".join(PLACEHOLDERS) + r")\}", lambda m: values[m.group(1)], scheme)


class CsvSink(BatchSink):
    """Writes one stream to one flattened CSV file."""

    MAX_SIZE_DEFAULT = 10_000

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
    ) -> None:
        """Initialize the sink; `target` may carry an `output_run` shared by its sinks."""
        self.output_run: OutputRun = getattr(target, "output_run", None) or OutputRun()
        super().__init__(target, stream_name, schema, key_properties)
        settings = self.config
        self.output_path = Path(settings.get("output_path") or "output")
        self.encoding: str = settings.get("encoding") or "utf-8"
        self.separator: str = settings.get("flattening_separator") or "__"
        self.max_depth: int = settings.get("flattening_max_depth", 3)
        self.list_format: str = settings.get("list_format") or "json"
        self.overwrite_behavior: str = settings.get("overwrite_behavior") or "append"
        self.columns: list[Column] = flatten_schema(self.schema, self.max_depth, self.separator)
        self.file = self.output_path / file_name(
            settings.get("file_naming_scheme") or "{stream_name}.csv",
            stream_name,
            self.output_run.started_at,
        )
        self.file_header: list[str] = []
        self.extra_name = extra_column_name(c.name for c in self.columns)
        self._build_row: Callable[[dict], tuple] | None = None
        self._warned_extras: set[str] = set()

    # -- SDK hooks -----------------------------------------------------------------------------

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """The SDK's JSON Schema validation, with a compiled fast path (see `validation`)."""
        if not self.validate_schema:
            return None
        return FastValidator(self.schema, validate_formats=self.validate_field_string_format)

    def _parse_timestamps_in_record(
        self,
        record: dict,
        schema: dict,
        treatment: DatetimeErrorTreatmentEnum,
    ) -> None:
        """Keep `date-time` strings exactly as received (the SDK would parse them to datetime)."""

    def setup(self) -> None:
        """Claim the file, write or read its header, and compile the row builder for it."""
        super().setup()
        claim = self.file.resolve()
        claimed_by = self.output_run.files.get(claim)
        if claimed_by is not None and claimed_by != self.stream_name:
            msg = (
                f"file_naming_scheme gives streams {claimed_by!r} and {self.stream_name!r} the same file "
                f"{self.file}; include {{stream_name}} in it"
            )
            raise SettingsError(msg)
        ours = header(self.columns)
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            existing = None
            if claimed_by is not None or self.overwrite_behavior == "append":
                existing = self._read_header()
            if existing is not None:
                self.file_header = existing
            else:
                self.file_header = ours
                with self._open("w") as out:
                    self._writer(out).writerow(ours)
        except OSError as exc:
            raise OutputError(f"cannot write {self.file}: {exc.strerror or exc}") from exc
        self.output_run.files[claim] = self.stream_name
        if self.file_header != ours:
            self._reconcile_header(ours)
        self._build_row = compile_row_builder(
            self.columns,
            self.file_header,
            list_format=self.list_format,
            separator=self.separator,
            on_extras=self._warn_extras,
        )
        self.logger.info("Writing stream '%s' to %s", self.stream_name, self.file)

    def start_batch(self, context: dict) -> None:
        """Rows of this batch, built as records arrive (the records themselves are not kept)."""
        context["rows"] = []

    def process_record(self, record: dict, context: dict) -> None:
        """Flatten the record into its row."""
        context["rows"].append(self._build_row(record))  # type: ignore[misc]

    def process_batch(self, context: dict) -> None:
        """Append the batch's rows to the file (also rows of BATCH-message records)."""
        rows: list[tuple] = context.get("rows", [])
        records = context.get("records")
        if records:  # BATCH messages: the SDK passes raw records
            build = self._build_row
            rows = rows + [build(r) for r in records]  # type: ignore[misc]
        if not rows:
            return
        try:
            with self._open("a") as out:
                self._writer(out).writerows(rows)
        except OSError as exc:
            raise OutputError(f"cannot write {self.file}: {exc.strerror or exc}") from exc
        self.logger.debug("Appended %d rows to %s", len(rows), self.file)

    # -- helpers -------------------------------------------------------------------------------

    def _open(self, mode: str) -> t.TextIO:
        return self.file.open(
            mode,
            encoding=self.encoding,
            errors="backslashreplace",
            newline="",
            buffering=WRITE_BUFFER,
        )

    @staticmethod
    def _writer(out: t.TextIO) -> t.Any:
        return csv.writer(out, lineterminator=LINE_TERMINATOR)

    def _read_header(self) -> list[str] | None:
        """The existing file's header (None if there is no file or it is empty).

        A file whose last line has no line end gets one, so the first appended row starts a line.
        """
        if not self.file.is_file() or self.file.stat().st_size == 0:
            return None
        with self.file.open("rb") as raw:
            raw.seek(-1, 2)
            ends_with_newline = raw.read(1) in b"\r\n"
        if not ends_with_newline:
            with self._open("a") as out:
                out.write(LINE_TERMINATOR)
        with self.file.open(encoding=self.encoding, errors="replace", newline="") as existing:
            return next(csv.reader(existing), [])

    def _reconcile_header(self, ours: list[str]) -> None:
        present = set(self.file_header)
        missing = [c.name for c in self.columns if c.name not in present]
        extra_target = self.extra_name if self.extra_name in present else None
        if missing and extra_target is None:
            msg = (
                f"{self.file} already has a header without columns {', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''} of stream {self.stream_name!r} and no "
                f"{self.extra_name} column; set overwrite_behavior to replace or use another "
                "file_naming_scheme"
            )
            raise OutputError(msg)
        if missing:
            # Their values land in _extra as undeclared fields would; the warning below says why.
            sep = self.separator
            for column in self.columns:
                if column.name in missing:
                    self._warned_extras.update(
                        sep.join(column.path[:i]) for i in range(1, len(column.path) + 1)
                    )
            self.logger.warning(
                "%s has no columns %s: their values go to its %s column as JSON",
                self.file,
                ", ".join(missing),
                extra_target,
            )
        unknown = [n for n in self.file_header if n not in set(ours) and n != extra_target]
        self.logger.info(
            "Appending to %s in its existing column order%s",
            self.file,
            f" (columns {', '.join(unknown)} stay empty)" if unknown else "",
        )

    def _warn_extras(self, names: list[str]) -> None:
        new = [n for n in names if n not in self._warned_extras]
        if new:
            self._warned_extras.update(new)
            where = (
                f"kept as JSON in the {self.extra_name} column"
                if self.extra_name in self.file_header
                else f"NOT WRITTEN: {self.file} has no {self.extra_name} column"
            )
            self.logger.warning(
                "Stream '%s': field%s %s not in the schema; %s",
                self.stream_name,
                "s" if len(new) > 1 else "",
                ", ".join(repr(n) for n in new),
                where,
            )

"""The CSV sink: one file per stream, one flattened row per record, each batch committed whole.

- `setup()` (main thread, once per SCHEMA) claims the stream's file (a `StreamFile` that the
  stream's sinks share for the whole run), grows its header to the union with this schema's columns
  and compiles the row builder for that header (`flatten.compile_row_builder`).
- `process_record()` (main thread) builds the record's row and appends it at once to the batch's
  file (the real file, or a temporary one when the file is replaced whole), so no batch is held in
  memory. With `sort_by` set, rows are kept until the batch ends, sorted, then written: that batch
  is then in memory.
- `process_batch()` (one of the SDK's drain threads) commits: fsync the file and record its
  committed length (`atomic_csv`). The SDK emits STATE only after every sink has drained, so a
  bookmark never covers rows that are not durably in the real file. Opening a file first cuts an
  uncommitted tail that a killed run left (`atomic_csv.recover`). A stream's old and new sinks
  (schema change) are drained one after the other by the SDK; different streams write different
  files.
- Files: RFC 4180 CSV (`csv` module, excel dialect: `"` quoting when needed, `\\r\\n` line ends).
  Characters the chosen `encoding` cannot represent are written as backslash escapes. Text cells
  and header names pass the CSV injection guard (`safety`) unless `csv_injection_guard` is false.
- `overwrite_behavior`: `append` keeps an existing file's header and column order; `replace` starts
  the file afresh with the run's first batch (later batches of the run append). A header that lacks
  columns of the schema (an older file, or a schema that gained fields mid-run) is rewritten as the
  union: old columns in place, new ones before `_extra`, old rows with empty cells for them.
- Timestamps are written exactly as received: this sink switches off the SDK's parsing of
  `date-time` strings into `datetime` objects (`_parse_timestamps_in_record`).
- Fields the schema does not declare go to the `_extra` JSON column; the first time a field name
  is seen in a stream, a warning names it.
- Records that break the schema: `on_invalid_record` (see `rejects`).
- Records with a Singer table `version` (full-table streams) are staged and replace the file when
  their version is activated (`ACTIVATE_VERSION`, see `versions`); records without one are appended.
"""

from __future__ import annotations

import datetime
import decimal
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks import BatchSink

from connector_kit.sdk_adapter import RecordChecks
from target_csv_flat.atomic_csv import read_header, recover, remove_stale_temps
from target_csv_flat.errors import MissingKeyError, OutputError, RecordError, SettingsError
from target_csv_flat.flatten import Column, compile_row_builder, flatten_schema, header, union_header
from target_csv_flat.local_time import LocalClock, load_zone
from target_csv_flat.naming import file_name, safe_stream_name
from target_csv_flat.rejects import Quarantine, describe, invalid_field, record_key
from target_csv_flat.safety import guard_header
from target_csv_flat.validation import FastValidator
from target_csv_flat.versions import StreamFile

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk import Target
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

BATCH_SIZE = 100_000
_NUMBERS = frozenset({int, float, decimal.Decimal})


@dataclass
class OutputRun:
    """What the sinks of one target run share: the start time, the files opened so far, the input."""

    started_at: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    files: dict[Path, StreamFile] = field(default_factory=dict)
    owners: dict[Path, str] = field(default_factory=dict)  # file -> stream that writes it
    record_version: int | None = None  # `version` of the RECORD message being processed
    end_of_input: bool = False  # the whole input was read (not: a signal stopped the target)

    def discard_all(self) -> None:
        """Drop every open batch (the run is failing): the real files keep their committed rows."""
        for output in self.files.values():
            output.discard()


def sort_key(value: object) -> tuple[int, object]:
    """Order of cells for `sort_by`: empty first, then numbers, then text."""
    if value is None or value == "":
        return (0, 0)
    if value.__class__ in _NUMBERS:
        return (1, value)
    return (2, str(value))


class CsvSink(RecordChecks, BatchSink):
    """Writes one stream to one flattened CSV file."""

    MAX_SIZE_DEFAULT = BATCH_SIZE

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
        self.guard: bool = settings.get("csv_injection_guard", True) is not False
        self.local_column: str | None = settings.get("local_timestamp_column") or None
        self.timezone: str = settings.get("timezone") or "UTC"
        self.sort_by: str | None = settings.get("sort_by") or None
        self.on_invalid: str = settings.get("on_invalid_record") or "fail"
        self.columns: list[Column] = flatten_schema(self.schema, self.max_depth, self.separator)
        self.file = self.output_path / file_name(
            settings.get("file_naming_scheme") or "{stream_name}.csv",
            stream_name,
            self.output_run.started_at,
        )
        self.quarantine = Quarantine(self.output_path, safe_stream_name(stream_name))
        self.output: StreamFile | None = None
        self.versions: bool = self.process_activate_version_messages is not False
        self.layout: list[str] = []  # the header this sink's rows are built for
        self.extra_name = header(self.columns)[-1]
        self._build_row: Callable[[dict], tuple] | None = None
        self._sort_index: int | None = None
        self._rejected = False
        self._warned_extras: set[str] = set()

    # -- SDK hooks: validation -----------------------------------------------------------------

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """The SDK's JSON Schema validation, with a compiled fast path (see `validation`)."""
        if not self.validate_schema:
            return None
        return FastValidator(self.schema, validate_formats=self.validate_field_string_format)

    parse_timestamps = False  # `date-time` text is written exactly as received

    def check_record(self, record: dict) -> None:
        """Validate; an invalid record is handled by `on_invalid_record` instead of a traceback."""
        self._rejected = False
        validator = self.validator
        if validator is not None:
            try:
                validator.validate(record)
            except InvalidRecord as exc:
                self._reject(record, invalid_field(exc.__cause__), exc.error_message)

    def check_key_properties(self, record: dict) -> None:
        """A record without its key properties is an invalid record too."""
        if self._rejected:
            return
        for key in self.required_keys:
            if key not in record:
                self._reject(record, key, f"key property {key!r} is missing", MissingKeyError)
                return

    def _reject(
        self,
        record: dict,
        field_name: str,
        reason: str,
        error: type[RecordError] = RecordError,
    ) -> None:
        key = record_key(record, self.required_keys, self.records_read + 1)
        message = describe(self.stream_name, key, field_name, reason)
        if self.on_invalid == "fail":
            self.output_run.discard_all()
            raise error(f"invalid record: {message} (on_invalid_record: fail)", record)
        self._rejected = True
        if self.on_invalid == "quarantine":
            try:
                self.quarantine.add(record)
            except OSError as exc:
                raise OutputError(f"cannot write {self.quarantine.path}: {exc.strerror or exc}") from exc
            self.logger.warning("Invalid record: %s; written to %s", message, self.quarantine.path)
        else:
            self.logger.warning("Invalid record: %s; skipped", message)

    # -- SDK hooks: files ----------------------------------------------------------------------

    def setup(self) -> None:
        """Claim the file, grow its header to fit this schema, and compile the row builder for it."""
        super().setup()
        claim = self.file.resolve()
        owner = self.output_run.owners.get(claim)
        if owner is not None and owner != self.stream_name:
            msg = (
                f"file_naming_scheme gives streams {owner!r} and {self.stream_name!r} the same file "
                f"{self.file}; include {{stream_name}} in it"
            )
            raise SettingsError(msg)
        names = header(self.columns)
        if self.local_column is not None:
            if self.local_column in names:
                msg = (
                    f"local_timestamp_column {self.local_column!r} is also a column of stream "
                    f"{self.stream_name!r}; choose another name"
                )
                raise SettingsError(msg)
            names.insert(0, self.local_column)
        written = guard_header(names) if self.guard else list(names)
        try:
            output = self.output_run.files.get(claim) or self._open_output(claim)
            grown = union_header(
                output.header,
                written,
                extra=written[-1],
                first=written[0] if self.local_column is not None else None,
            )
            if grown != output.header:
                if output.header:
                    added = [n for n in grown if n not in set(output.header)]
                    self.logger.info(
                        "%s gains columns %s: its rows are rewritten with empty cells for them",
                        self.file,
                        ", ".join(added),
                    )
                output.set_header(grown)
        except OSError as exc:
            raise self._write_failed(exc) from exc
        self.output = output
        self.layout = output.header
        ours = dict(zip(written, names, strict=True))
        computed = {}
        if self.local_column is not None:
            computed[self.local_column] = LocalClock(load_zone(self.timezone))
        self._build_row = compile_row_builder(
            self.columns,
            [ours.get(h) for h in self.layout],  # None: a column of the file, not of this schema
            list_format=self.list_format,
            separator=self.separator,
            on_extras=self._warn_extras,
            guard=self.guard,
            computed=computed,
        )
        if self.sort_by is not None:
            self._set_sort_index(names, written)
        self.logger.info("Writing stream '%s' to %s", self.stream_name, self.file)

    def _open_output(self, claim: Path) -> StreamFile:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        removed = remove_stale_temps(self.file)
        if removed:
            self.logger.warning(
                "Removed %d temporary file%s left by an interrupted run: %s",
                len(removed),
                "s" if len(removed) > 1 else "",
                ", ".join(p.name for p in removed),
            )
        cut = recover(self.file)
        if cut:
            self.logger.warning(
                "Removed the last %d bytes of %s: a batch that an interrupted run did not commit",
                cut,
                self.file,
            )
        existing = read_header(self.file, self.encoding) if self.overwrite_behavior == "append" else None
        output = StreamFile(
            self.file,
            self.encoding,
            existing,
            replace=self.overwrite_behavior == "replace",
            log=self.logger,
        )
        self.output_run.files[claim] = output
        self.output_run.owners[claim] = self.stream_name
        if existing:
            self.logger.info("Appending to %s in its existing column order", self.file)
        return output

    def _set_sort_index(self, names: list[str], written: list[str]) -> None:
        if self.sort_by in names:
            self._sort_index = self.layout.index(written[names.index(self.sort_by)])
        else:
            self.logger.info(
                "Stream '%s' has no column %r (sort_by): its rows keep their arrival order",
                self.stream_name,
                self.sort_by,
            )

    def process_record(self, record: dict, context: dict) -> None:
        """Write the record's row to the batch's temporary file (or keep it, to sort the batch)."""
        if self._rejected:
            self._rejected = False
            return
        row = self._build_row(record)  # type: ignore[misc]
        version = self.output_run.record_version if self.versions else None
        if self._sort_index is not None:
            context.setdefault("rows", {}).setdefault(version, []).append(row)
            return
        try:
            self.output.write_row(row, self.layout, version)  # type: ignore[union-attr]
        except OSError as exc:
            raise self._write_failed(exc) from exc

    def process_batch(self, context: dict) -> None:
        """Write held rows (sorted) and BATCH-message records, then move the batch into the real file.

        Held rows are grouped by table version; rows of a version not yet activated stay staged.
        """
        held: dict[int | None, list[tuple]] = context.get("rows") or {}
        records = context.get("records")
        if records:  # BATCH messages: the SDK passes raw records (they carry no version)
            build = self._build_row
            held.setdefault(None, []).extend(build(r) for r in records)  # type: ignore[misc]
        output = self.output
        assert output is not None
        try:
            for version, rows in held.items():
                if self._sort_index is not None:
                    index = self._sort_index
                    rows.sort(key=lambda row: sort_key(row[index]))
                output.write_rows(rows, self.layout, version)
            pending = output.rows_pending
            output.commit()
        except OSError as exc:
            raise self._write_failed(exc) from exc
        if pending:
            self.logger.debug("Committed %d rows to %s", pending, self.file)

    def clean_up(self) -> None:
        """End of the stream: commit what is open; a stream without rows still gets its header."""
        if self.output is not None:
            try:
                self.output.finish(end_of_input=self.output_run.end_of_input)
            except OSError as exc:
                raise self._write_failed(exc) from exc
        super().clean_up()

    def activate_version(self, new_version: int) -> None:
        """`ACTIVATE_VERSION`: the file becomes exactly the rows of `new_version` (see `versions`).

        The target has drained every sink first, so rows held for `sort_by` are staged already.
        """
        if self.output is None:
            return
        try:
            self.output.activate(new_version)
        except OSError as exc:
            raise self._write_failed(exc) from exc

    # -- helpers -------------------------------------------------------------------------------

    def _write_failed(self, exc: OSError) -> OutputError:
        """The one-line error for a file this sink could not write (disk full, permissions, ...)."""
        return OutputError(f"cannot write {self.file}: {exc.strerror or exc}")

    def _warn_extras(self, names: list[str]) -> None:
        new = [n for n in names if n not in self._warned_extras]
        if new:
            self._warned_extras.update(new)
            self.logger.warning(
                "Stream '%s': field%s %s not in the schema; kept as JSON in the %s column",
                self.stream_name,
                "s" if len(new) > 1 else "",
                ", ".join(repr(n) for n in new),
                self.extra_name,
            )

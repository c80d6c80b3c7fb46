"""The CSV sink: one file per stream, one flattened row per record, each batch committed whole.

- `setup()` (main thread, once per SCHEMA) claims the stream's file (a `StreamFile` that the
  stream's sinks share for the whole run), grows its header to the union with this schema's columns
  and compiles the row builder for that header (`flatten.compile_row_builder`).
- `process_record()` (main thread) collects records in chunks of `CHUNK_ROWS`; each chunk becomes
  CSV text column by column (`columnar`: the same bytes as the row builder and `csv.writer`, in
  less time) and is appended to the batch's file (the real file, or a temporary one when the file
  is replaced whole), so memory stays flat: no batch is held, only one chunk. With `sort_by` set,
  rows are kept until the batch ends, sorted, then written: that batch is then in memory.
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
- Records that break the schema: `on_invalid_record` (see `rejects`). When the schema's checks are
  all types (`validation.column_rules`), a chunk is checked column by column as it becomes text,
  and only a chunk the columns cannot vouch for is checked record by record (same verdicts, same
  one-line errors, same record numbers). Chunks are written on the main thread before any drain
  (`TargetCsvFlat.drain_all`), so an invalid record stops the run before a batch is committed.
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
from target_csv_flat.columnar import ChunkEncoder
from target_csv_flat.errors import MissingKeyError, OutputError, RecordError, SettingsError
from target_csv_flat.flatten import Column, compile_row_builder, flatten_schema, header, union_header
from target_csv_flat.local_time import LocalClock, load_zone
from target_csv_flat.naming import file_name, safe_stream_name
from target_csv_flat.rejects import Quarantine, describe, invalid_field, record_key
from target_csv_flat.safety import guard_header
from target_csv_flat.validation import FastValidator, column_rules
from target_csv_flat.versions import StreamFile

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk import Target
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

BATCH_SIZE = 100_000
CHUNK_ROWS = 512
NAMED_EXTRAS = 10
"""Undeclared fields a warning names; the rest are counted (all are in the debug log)."""
"""Records turned into CSV text at once: enough to spread the per-column work, small in memory."""
_NUMBERS = frozenset({int, float, decimal.Decimal})


@dataclass
class OutputRun:
    """What the sinks of one target run share: the start time, the files opened so far, the input."""

    started_at: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    files: dict[Path, StreamFile] = field(default_factory=dict)
    owners: dict[Path, str] = field(default_factory=dict)  # file -> stream that writes it
    record_version: int | None = None  # `version` of the RECORD message being processed
    end_of_input: bool = False  # the whole input was read (not: a signal stopped the target)
    # file -> the latest sink's "write your held records", called before another sink writes it
    write_held: dict[Path, Callable[[], None]] = field(default_factory=dict)

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
        self._encode: Callable[[list[dict]], str] | None = None
        self._held: list[dict] = []  # records not yet written (less than one chunk)
        self._held_version: int | None = None
        self._sort_index: int | None = None
        self._rejected = False
        self._warned_extras: set[str] = set()
        validator = self.validator
        # The compiled "certainly valid" test, called directly: most records need nothing else.
        self._certainly_valid = validator.check if isinstance(validator, FastValidator) else None
        # The schema's checks as classes per column: a chunk of records is then checked as it is
        # turned into CSV text, column by column (`columnar`), and only a chunk that the columns
        # cannot vouch for is checked record by record. Not with sort_by (rows are built one by one).
        rules = column_rules(self.schema, self.max_depth) if self._certainly_valid is not None else None
        if rules is not None and self.required_keys:
            rules.required[()] = rules.required.get((), frozenset()) | frozenset(self.required_keys)
        self._rules = rules if self.sort_by is None else None
        self._by_chunk = False  # set by setup() once the chunk encoder can check
        self._held_first = 0  # number (records_read) of the first held record

    # -- SDK hooks: validation -----------------------------------------------------------------

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """The SDK's JSON Schema validation, with a compiled fast path (see `validation`)."""
        if not self.validate_schema:
            return None
        return FastValidator(self.schema, validate_formats=self.validate_field_string_format)

    parse_timestamps = False  # `date-time` text is written exactly as received

    def check_record(self, record: dict, number: int | None = None) -> None:
        """Validate; an invalid record is handled by `on_invalid_record` instead of a traceback.

        With checks by chunk (`_by_chunk`), records are checked when their chunk is written
        (`write_held`, always before the batch is committed), not here.
        """
        self._rejected = False
        if self._by_chunk and number is None:
            return
        certainly_valid = self._certainly_valid
        if certainly_valid is not None and certainly_valid(record):
            return
        validator = self.validator
        if validator is not None:
            try:
                validator.validate(record)
            except InvalidRecord as exc:
                self._reject(record, invalid_field(exc.__cause__), exc.error_message, number=number)

    def check_key_properties(self, record: dict, number: int | None = None) -> None:
        """A record without its key properties is an invalid record too."""
        if self._rejected or (self._by_chunk and number is None):
            return
        for key in self.required_keys:
            if key not in record:
                self._reject(record, key, f"key property {key!r} is missing", MissingKeyError, number=number)
                return

    def _valid_only(self, records: list[dict], first: int) -> list[dict]:
        """The records (numbered from `first`) that pass both checks; the others are rejected."""
        valid = []
        for number, record in enumerate(records, first):
            self.check_record(record, number)
            self.check_key_properties(record, number)
            if not self._rejected:
                valid.append(record)
        self._rejected = False
        return valid

    def _reject(
        self,
        record: dict,
        field_name: str,
        reason: str,
        error: type[RecordError] = RecordError,
        *,
        number: int | None = None,
    ) -> None:
        key = record_key(record, self.required_keys, number or self.records_read + 1)
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
        write_held = self.output_run.write_held.get(claim)
        if write_held is not None:  # the stream's previous sink: its rows come first
            write_held()
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
        layout = [ours.get(h) for h in self.layout]  # None: a column of the file, not of this schema
        self._build_row = compile_row_builder(
            self.columns,
            layout,
            list_format=self.list_format,
            separator=self.separator,
            on_extras=self._warn_extras,
            guard=self.guard,
            computed=computed,
        )
        encoder = ChunkEncoder(
            self.columns,
            layout,
            self._build_row,
            list_format=self.list_format,
            guard=self.guard,
            computed=computed,
            rules=self._rules,
        )
        self._encode, self._encode_checked = encoder.encode, encoder.encode_checked
        self._by_chunk = encoder.checkable
        self.output_run.write_held[claim] = self.write_held
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
        """Add the record to the chunk being collected (or keep its row, to sort the batch)."""
        if self._rejected:
            self._rejected = False
            return
        version = self.output_run.record_version if self.versions else None
        if self._sort_index is not None:
            context.setdefault("rows", {}).setdefault(version, []).append(self._build_row(record))  # type: ignore[misc]
            return
        held = self._held
        starts_version = False
        if version != self._held_version:
            if held:
                self.write_held()
                held = self._held
            self._held_version = version
            starts_version = version is not None
        if not held:
            self._held_first = self.records_read
        held.append(record)
        # A new table version's first row is written at once: its staging file exists from then on,
        # as before rows were gathered in chunks (a killed run leaves it for the next run to remove).
        if len(held) >= CHUNK_ROWS or starts_version:
            self.write_held()

    def write_held(self) -> None:
        """Write the records collected so far to the batch's file (one chunk of CSV text)."""
        records = self._held
        if not records:
            return
        self._held = []
        output, version = self.output, self._held_version
        assert output is not None
        same_layout = self.layout is output.header or self.layout == output.header
        if self._by_chunk:
            text = self._encode_checked(records) if same_layout else None
            if text is not None:
                self._write_text(output, text, len(records), version)
                return
            records = self._valid_only(records, self._held_first)
        try:
            if same_layout:
                output.write_text(self._encode(records), len(records), version)  # type: ignore[misc]
            else:  # another sink of the stream grew the file's header since: re-laid out by name
                build = self._build_row
                output.write_rows([build(r) for r in records], self.layout, version)  # type: ignore[misc]
        except OSError as exc:
            raise self._write_failed(exc) from exc

    def _write_text(self, output: StreamFile, text: str, rows: int, version: int | None) -> None:
        try:
            output.write_text(text, rows, version)
        except OSError as exc:
            raise self._write_failed(exc) from exc

    def process_batch(self, context: dict) -> None:
        """Write held rows (sorted) and BATCH-message records, then move the batch into the real file.

        Held rows are grouped by table version; rows of a version not yet activated stay staged.
        """
        self.write_held()
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
            self.write_held()
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
        """One warning per new set of undeclared fields, naming at most `NAMED_EXTRAS` of them (a
        source with dozens of extra fields would otherwise print lines thousands of characters long);
        the whole list goes to the debug log."""
        new = [n for n in names if n not in self._warned_extras]
        if new:
            self._warned_extras.update(new)
            shown = ", ".join(repr(n) for n in new[:NAMED_EXTRAS])
            more = f" and {len(new) - NAMED_EXTRAS} more" if len(new) > NAMED_EXTRAS else ""
            self.logger.warning(
                "Stream '%s': field%s %s%s not in the schema; kept as JSON in the %s column",
                self.stream_name,
                "s" if len(new) > 1 else "",
                shown,
                more,
                self.extra_name,
            )
            if more:
                self.logger.debug("Stream '%s': every such field: %s", self.stream_name, ", ".join(new))

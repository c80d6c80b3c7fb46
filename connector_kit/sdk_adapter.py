"""The one module that touches private members of the Singer SDK, each for a reason the SDK has no hook for.

Every plugin reaches the SDK's internals through the mixins and functions here, never directly, and
`PRIVATE_MEMBERS` lists what they rely on; `tests/connector_kit/test_sdk_adapter.py` fails when the
pinned SDK no longer has one of them with the parameters used here. Why each one:

- ``Stream._tap``: the plugin object a stream belongs to, where the run's settings and its one rate
  limiter live (the SDK passes it to the stream's constructor and keeps it only privately).
- ``Stream._increment_stream_state``: windowed streams move the bookmark per completed window, not per
  record (some APIs answer newest first, so a record's time says nothing about what is complete).
- ``Stream._write_state_message`` and ``state_manager.is_flushed``: write STATE right after a window's
  last record, not only every ``STATE_MSG_FREQUENCY`` records.
- ``RESTStream._request``: one extra request outside the stream's page loop (a search's count), sent
  the way the SDK sends a page (authenticator, timeout, ``validate_response``) and retried by its
  ``request_decorator``, so it passes the same limiter, retries and error map.
- ``RESTStream._prepare_request`` (with ``_request``): `request_pages`, the SDK's page loop
  (``request_records``) a page at a time, so that a windowed stream can stop after a window's first
  page and split the window instead of following its next link.
- ``Stream._process_record``: the last step before a RECORD is written, after ``post_process`` (which
  may derive the primary key): a record without its key must stop the window, not reach the target.
- ``Stream._generate_record_messages`` (with the SDK's ``conform_record_data_types`` and ``utc_now``,
  from its private helper modules): when no property is deselected, skip the SDK's walk over every
  property of every record that drops deselected ones (a third of the emitting thread's time on
  detections); otherwise the SDK's own method runs.
- ``Stream._sync_records`` (pinned by its hash, `SDK_SYNC_RECORDS_SHA256`): when nothing between page
  and message changes a record (`WindowedStreamHooks.passes_text`), a windowed stream yields each
  record as the API's JSON text with only its keys parsed (`RawRecord`), and the message carries that
  text as ``msgspec.Raw``: no decode and re-encode per record.
- ``Stream._stream_version`` and ``Stream._write_activate_version_message``: full-table streams send
  ``ACTIVATE_VERSION`` after their last record (the SDK only sends it before the first, which makes a
  target drop the old rows before the new ones have arrived).
- ``PluginBase._env_var_config`` (and ``_env_var_prefix``), with ``--config ENV``: a whole-number
  setting whose environment variable holds something else (``TAP_VISIONONE_MAX_WORKERS=two``) is one
  line naming the variable, where the SDK's ``int()`` raised a traceback.
- ``PluginBase._validate_config`` (and ``_config``): a plugin's own setting checks run before JSON
  Schema's, so a bad setting is one line naming it instead of the SDK's schema dump, and before any
  request; a number given as text (an environment variable) is then stored as the number it is.
- ``Sink._validate_and_parse``, ``Sink._singer_validate_message``, ``Sink._validator``,
  ``Sink._key_properties``, ``Sink._total_records_read``: target-csv-flat handles an invalid record
  by its ``on_invalid_record`` setting (fail with one line, skip, quarantine) instead of a traceback.
- ``Sink._parse_timestamps_in_record``: keep ``date-time`` text exactly as received.
- ``Target._handle_max_record_age``: the SDK emits STATE only at the end of the input or every 5
  minutes; target-csv-flat commits and emits STATE after each full batch, so a kill costs little.
- ``Target._process_record_message`` (with ``Sink._get_context``, ``_add_sdc_metadata_to_record``,
  ``_remove_sdc_metadata_from_record``, ``_after_process_record``): for a stream whose only stream
  map is the identity (no ``stream_maps`` configured, no SDK flattening), `IdentityMapRecords` runs
  the SDK's per-record steps without copying each record for the map and calling the map on it (6% of
  target-csv-flat's time on detections). The SDK's source of that method is pinned by its hash
  (`SDK_RECORD_PATH_SHA256`), so that a new SDK that changes the steps fails a test, not silently.
"""

from __future__ import annotations

import inspect
import os
import time
import typing as t

import msgspec
from singer_sdk import RESTStream, Stream
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.pagination import SinglePagePaginator
from singer_sdk.plugin_base import PluginBase
from singer_sdk.singerlib import RecordMessage
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target

from connector_kit.errors import SettingsError
from connector_kit.packed_pages import RawRecord

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

# (SDK class, member, the parameters this module relies on; None for an attribute set in __init__).
PRIVATE_MEMBERS: tuple[tuple[type, str, tuple[str, ...] | None], ...] = (
    (Stream, "_tap", None),
    (Stream, "_increment_stream_state", ("self", "latest_record", "context")),
    (Stream, "_write_state_message", ("self",)),
    (Stream, "_process_record", ("self", "record", "child_context", "partition_context")),
    (RESTStream, "_request", ("self", "prepared_request", "context")),
    (RESTStream, "_prepare_request", ("self", "context", "page")),
    (Stream, "_stream_version", None),
    (Stream, "_generate_record_messages", ("self", "record")),
    (Stream, "_write_activate_version_message", ("self", "full_table_version")),
    (PluginBase, "_validate_config", ("self", "raise_errors")),
    (PluginBase, "_config", None),
    (PluginBase, "_env_var_config", ("cls",)),
    (PluginBase, "_env_var_prefix", ("cls",)),
    (Sink, "_validate_and_parse", ("self", "record")),
    (Sink, "_singer_validate_message", ("self", "record")),
    (Sink, "_parse_timestamps_in_record", ("self", "record", "schema", "treatment")),
    (Sink, "_validator", None),
    (Sink, "_key_properties", None),
    (Sink, "_total_records_read", None),
    (Target, "_handle_max_record_age", ("self",)),
    (Target, "_process_record_message", ("self", "message_dict")),
    (Sink, "_get_context", ("self", "record")),
    (Sink, "_add_sdc_metadata_to_record", ("self", "record", "message", "context")),
    (Sink, "_remove_sdc_metadata_from_record", ("self", "record")),
    (Sink, "_after_process_record", ("self", "context")),
)
SDK_SYNC_RECORDS_SHA256 = "8928dc7f50e9bf57cc98734b30e3953b0e19007f85fe020a0c80ccdbcf5d329f"
"""SHA-256 of the pinned SDK's ``Stream._sync_records`` source: the loop that carries a `RawRecord`
from ``get_records`` to its message reads nothing of a record but what its brief holds."""
SDK_RECORD_PATH_SHA256 = "08aaf4096e2d39e7c3826848feebbaac40fb7b3e67fe863576cde90e4e425dfc"
"""SHA-256 of the pinned SDK's ``Target._process_record_message`` source, which `IdentityMapRecords`
follows step by step."""


# -- streams -----------------------------------------------------------------------------------


def plugin_of(stream: Stream) -> t.Any:
    """The tap (or mapper) a stream belongs to."""
    return stream._tap


def send_request(stream: RESTStream, context: dict[str, t.Any]) -> t.Any:
    """One request for ``context`` (query parameters) as the stream sends its pages, with retries."""
    prepared = stream.prepare_request(context, next_page_token=None)
    return stream.request_decorator(stream._request)(prepared, context)


class Page(t.NamedTuple):
    """One page of `request_pages`: its parsed items, whether another page follows, and the response."""

    items: list[t.Any]
    more: bool
    response: t.Any


def request_pages(stream: RESTStream, context: dict[str, t.Any]) -> t.Iterator[Page]:
    """``RESTStream.request_records`` a page at a time. The caller may stop after any page; the next one
    is only requested when asked for."""
    paginator = stream.get_new_paginator() or SinglePagePaginator()
    decorated_request = stream.request_decorator(stream._request)
    with stream.get_http_request_counter() as request_counter:
        request_counter.with_context(context)
        while not paginator.finished:
            prepared_request = stream._prepare_request(context=context, page=paginator)
            response = decorated_request(prepared_request, context)
            request_counter.increment()
            stream.update_sync_costs(prepared_request, response, context)
            items = list(stream.parse_response(response))
            if not items:
                if paginator.continue_if_empty(response):
                    paginator.advance(response)
                    continue
                yield Page(items, False, response)  # the SDK too stops at an empty page
                return
            paginator.advance(response)
            yield Page(items, not paginator.finished, response)


def write_state(stream: Stream) -> None:
    """Write the stream's STATE now, even if nothing moved since the last one."""
    stream.state_manager.is_flushed = False
    stream._write_state_message()


class WindowedStreamHooks(Stream):
    """A stream whose bookmark moves by completed windows and whose records are checked before output.

    Subclasses implement `check_record` (raise to stop before a record is written).
    """

    def check_record(self, record: dict) -> None:
        """Raise if ``record`` must not be written (called after ``post_process``)."""

    def passes_text(self) -> bool:
        """Whether this sync's records may go out as the JSON text they arrived in (`RawRecord`).

        True when nothing between page and message would change a record: every property selected,
        no type conformance, ``post_process`` not overridden, one stream map and that the identity, no
        partitions, no child streams, no BATCH files (which take the records yielded, not the
        messages) and a msgspec writer (which writes `msgspec.Raw` as it is). The SDK's record loop
        that carries the records there is pinned by its hash (`SDK_SYNC_RECORDS_SHA256`).
        """
        maps = self.stream_maps
        return bool(
            type(self).post_process is Stream.post_process
            and self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE
            and self._all_selected()
            and len(maps) == 1
            and _is_identity(maps[0], maps[0].stream_alias)
            and not self.partitions
            and not self.child_streams
            and not self.get_batch_config(self.config)
            and isinstance(getattr(self._tap, "message_writer", None), MsgSpecWriter)
        )

    def _all_selected(self) -> bool:
        """Whether no property is deselected (decided once: the selection is fixed for a sync)."""
        everything = getattr(self, "_everything_selected", None)
        if everything is None:
            everything = self._everything_selected = all(self.mask.values())
        return everything

    def _generate_record_messages(self, record: dict) -> t.Iterator[t.Any]:
        """The SDK's, without its walk over every property of every record to drop deselected ones when
        no property is deselected (a third of the emitting thread's time on wide records); a
        `RawRecord` (see `passes_text`) goes out as its text."""
        if record.__class__ is RawRecord:
            yield RecordMessage(
                stream=self.stream_maps[0].stream_alias,
                record=msgspec.Raw(record.text),  # type: ignore[arg-type]
                version=self._stream_version,
                time_extracted=utc_now(),
            )
            return
        if not self._all_selected():
            yield from super()._generate_record_messages(record)
            return
        record = conform_record_data_types(
            stream_name=self.name,
            record=record,
            schema=self.effective_schema,
            level=self.TYPE_CONFORMANCE_LEVEL,
            logger=self.logger,
        )
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    def _increment_stream_state(self, latest_record: t.Any, *, context: Context | None = None) -> None:
        """Bookmarks move per window (`write_state`), not per record."""

    def _process_record(
        self,
        record: dict,
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        self.check_record(record)
        super()._process_record(record, child_context=child_context, partition_context=partition_context)


def begin_version(stream: Stream) -> int:
    """Tag the stream's RECORD messages from now on with a new table version, and return it.

    The version is the time in epoch milliseconds (Singer's convention: later runs, higher versions).
    If the SDK's own ``emit_activate_version_messages`` is on, the SDK has already announced a version
    for this sync; that one is kept, so the records match it.
    """
    if stream.emit_activate_version_messages and stream._stream_version is not None:
        return stream._stream_version
    version = time.time_ns() // 1_000_000
    stream._stream_version = version
    return version


def activate_version(stream: Stream, version: int) -> None:
    """Write ``ACTIVATE_VERSION`` for ``version`` (one per stream-map alias): all its records are out."""
    stream._write_activate_version_message(version)


# -- taps, mappers, targets: settings ------------------------------------------------------------


_SDK_ENV_VAR_CONFIG = inspect.getattr_static(PluginBase, "_env_var_config")


def _numbers_from_text(config: dict[str, t.Any], schema: dict[str, t.Any]) -> None:
    """A numeric setting given as text (an environment variable, Meltano's ``kind: string``) becomes its
    number, as `check_settings` already read it, so JSON Schema does not refuse ``'300'``."""
    for name, declared in (schema.get("properties") or {}).items():
        value = config.get(name)
        types = declared.get("type") if isinstance(declared, dict) else None
        types = [types] if isinstance(types, str) else types or []
        if not isinstance(value, str) or "string" in types or not {"integer", "number"} & set(types):
            continue
        try:
            number = float(value.strip())
        except ValueError:
            continue  # JSON Schema names it
        config[name] = int(number) if "integer" in types and number.is_integer() else number


class CheckedSettings(PluginBase):
    """A plugin whose `check_settings` runs before the SDK's JSON Schema validation.

    `check_settings` raises `SettingsError` naming the setting; whatever JSON Schema still finds is
    reported as one `SettingsError` line too, instead of the SDK's ``ConfigValidationError`` dump.
    """

    @classproperty
    def _env_var_config(cls) -> dict[str, t.Any]:
        """The SDK's settings from the environment; a whole number that is none is a `SettingsError`."""
        try:
            return _SDK_ENV_VAR_CONFIG.fget(cls)  # type: ignore[misc]
        except ValueError:  # the SDK's int() of an integer setting (after it loaded any .env file)
            prefix = cls._env_var_prefix
            for name, declared in (cls.config_jsonschema.get("properties") or {}).items():
                variable = prefix + name.upper().replace("-", "_")
                value = os.environ.get(variable)
                if value is None or "integer" not in str(declared.get("type")):
                    continue
                try:
                    int(value)
                except ValueError:
                    msg = f"Invalid setting `{name}`: {variable}={value!r} is not a whole number."
                    raise SettingsError(msg) from None
            raise

    def check_settings(self) -> None:
        """Raise `SettingsError` for a setting the plugin cannot run with."""

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        self.check_settings()
        _numbers_from_text(self._config, self.config_jsonschema)
        errors = super()._validate_config(raise_errors=False)
        if errors and raise_errors:
            raise SettingsError(f"Invalid settings: {errors[0]}")
        return errors


# -- targets -------------------------------------------------------------------------------------


class RecordChecks(Sink):
    """A sink that decides itself what an invalid record or a missing key property leads to.

    Subclasses implement `check_record` (schema validation) and `check_key_properties`, and say with
    `parse_timestamps` whether ``date-time`` text is parsed (the SDK's default) or kept as received.
    """

    parse_timestamps: t.ClassVar[bool] = True

    @property
    def validator(self) -> BaseJSONSchemaValidator | None:
        """The validator the SDK built from `get_validator` (None when validation is off)."""
        return self._validator

    @property
    def records_read(self) -> int:
        """Records this sink has been given so far (the SDK's count)."""
        return self._total_records_read

    @property
    def required_keys(self) -> t.Sequence[str]:
        return self._key_properties

    def check_record(self, record: dict) -> None:
        """Validate ``record`` against the schema; handle what is wrong."""

    def check_key_properties(self, record: dict) -> None:
        """Handle a record that lacks one of its key properties."""

    def _validate_and_parse(self, record: dict) -> dict:
        self.check_record(record)
        if self.parse_timestamps:
            super()._parse_timestamps_in_record(
                record=record, schema=self.schema, treatment=self.datetime_error_treatment
            )
        return record

    def _singer_validate_message(self, record: dict) -> None:
        self.check_key_properties(record)

    def _parse_timestamps_in_record(self, record: dict, schema: dict, treatment: t.Any) -> None:
        if self.parse_timestamps:
            super()._parse_timestamps_in_record(record=record, schema=schema, treatment=treatment)


class BatchAgeHook(Target):
    """A target told after each record whether to drain (`after_record`), where the SDK only checks the
    age of the oldest record held."""

    def after_record(self) -> None:
        """Called after each record's batch-age check."""

    def _handle_max_record_age(self) -> None:
        super()._handle_max_record_age()
        self.after_record()


class IdentityMapRecords(Target):
    """The SDK's RECORD handling, minus the map step for streams whose one map is the identity.

    The SDK copies every record and passes the copy through each of the stream's maps, because maps
    may change or filter it. With no ``stream_maps`` configured and the SDK's flattening off, a
    stream has one map that returns the record as it is: the copy and the call do nothing but cost.
    Every other step is the SDK's, in its order; any other stream (or message) goes the SDK's way.
    """

    def _process_record_message(self, message_dict: dict) -> None:
        stream_name = message_dict.get("stream")
        record = message_dict.get("record")
        maps = self.mapper.stream_maps.get(stream_name) if stream_name is not None else None
        if record is None or not maps or len(maps) != 1 or not _is_identity(maps[0], stream_name):
            super()._process_record_message(message_dict)  # the SDK's checks, errors and maps
            return
        sink = self.get_sink(stream_name, record=record)
        context = sink._get_context(record)
        if sink.include_sdc_metadata_properties:
            sink._add_sdc_metadata_to_record(record, message_dict, context)
        else:
            sink._remove_sdc_metadata_from_record(record)
        sink._validate_and_parse(record)
        record = sink.preprocess_record(record, context)
        sink._singer_validate_message(record)
        sink.tally_record_read()
        sink.process_record(record, context)
        sink.record_counter_metric.increment()
        sink._after_process_record(context)
        if sink.is_full:
            self.logger.info(
                "Target sink for '%s' is full. Current size is '%s'. Draining...",
                sink.stream_name,
                sink.current_size,
            )
            self.drain_one(sink)
        self._handle_max_record_age()


def _is_identity(stream_map: t.Any, stream_name: str) -> bool:
    """Whether ``stream_map`` hands a record on unchanged, under its own stream name."""
    return (
        type(stream_map) is SameRecordTransform
        and stream_map.stream_alias == stream_name
        and not (stream_map.flattening_options and stream_map.flattening_enabled)
    )

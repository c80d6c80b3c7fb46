"""Errors the target reports as one line, without a traceback (see `target.main`).

Each message names what the person running the target has to change: a setting, a file, or a record.
"""

from __future__ import annotations

from singer_sdk.exceptions import InvalidRecord, MissingKeyPropertiesError

from connector_kit import errors as kit


class TargetCsvFlatError(kit.ConnectorError):
    """An expected failure with a message written for the person running the target."""


class SettingsError(TargetCsvFlatError, kit.SettingsError, ValueError):
    """A setting is invalid; raised before any message is read."""


class OutputError(TargetCsvFlatError, OSError):
    """An output file cannot be written, or cannot take this stream's rows."""


class RecordError(TargetCsvFlatError, InvalidRecord):
    """A record breaks its schema and `on_invalid_record` is `fail` (an SDK `InvalidRecord` too)."""

    def __init__(self, message: str, record: dict) -> None:
        """`message`: one line naming the stream, the record's key and the field."""
        Exception.__init__(self, message)
        self.error_message = message
        self.record = record


class MissingKeyError(RecordError, MissingKeyPropertiesError):
    """A record lacks a key property and `on_invalid_record` is `fail` (the SDK's error type too)."""

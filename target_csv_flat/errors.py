"""Errors the target reports as one line, without a traceback (see `target.main`).

Each message names what the person running the target has to change: a setting, or a file.
"""

from __future__ import annotations


class TargetCsvFlatError(Exception):
    """An expected failure with a message written for the person running the target."""


class SettingsError(TargetCsvFlatError, ValueError):
    """A setting is invalid; raised before any message is read."""


class OutputError(TargetCsvFlatError, OSError):
    """An output file cannot be written, or cannot take this stream's rows."""

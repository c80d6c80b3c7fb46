"""Output file names: `file_naming_scheme` with its placeholders filled in, per stream."""

from __future__ import annotations

import datetime
import re

from target_csv_flat.errors import SettingsError

PLACEHOLDERS = ("stream_name", "datestamp", "timestamp")


def check_naming_scheme(scheme: str) -> None:
    """Raise SettingsError unless `scheme` only uses the known placeholders."""
    unknown = [p for p in re.findall(r"\{([^{}]*)\}", scheme) if p not in PLACEHOLDERS]
    if unknown or not scheme.strip() or scheme.endswith(("/", "\\")):
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        what = f"unknown placeholder {{{unknown[0]}}}" if unknown else "no file name"
        msg = f"file_naming_scheme {scheme!r}: {what}; use a file name with {known}"
        raise SettingsError(msg)


def safe_stream_name(stream_name: str) -> str:
    """`stream_name` usable as (part of) a file name: path separators become `_`."""
    safe = re.sub(r"[\\/]", "_", stream_name)
    if safe in {"", ".", ".."}:
        safe = "_" * max(1, len(safe))
    return safe


def file_name(scheme: str, stream_name: str, started_at: datetime.datetime) -> str:
    """`scheme` with its placeholders filled; path separators in stream names become `_`."""
    values = {
        "stream_name": safe_stream_name(stream_name),
        "datestamp": started_at.strftime("%Y-%m-%d"),
        "timestamp": started_at.strftime("%Y%m%dT%H%M%S"),
    }
    return re.sub(r"\{(" + "|".join(PLACEHOLDERS) + r")\}", lambda m: values[m.group(1)], scheme)

"""Records that break their schema: one line that says which record and which field, and where it went.

`on_invalid_record` decides what happens (the sink applies it):
- `fail` (default): the run stops with that one line and exit code 1; the batch being written is
  discarded, so the file keeps only complete earlier batches and no STATE covers the bad record.
- `skip`: one warning line per record; the record is not written.
- `quarantine`: the record is appended as one JSON line to `<output_path>/<stream>.rejected.jsonl`
  (flushed at once, so a crash loses at most that line), with one warning line.
"""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import jsonschema

from target_csv_flat.flatten import json_text

if t.TYPE_CHECKING:
    from collections.abc import Sequence

INVALID_RECORD_ACTIONS = ("fail", "skip", "quarantine")
MAX_REASON = 300


def record_key(record: dict, key_properties: Sequence[str], number: int) -> str:
    """`uuid='u-1'` (all key properties), or `record #n` when the stream has none."""
    if not key_properties:
        return f"record #{number}"
    parts = [f"{k}={record[k]!r}" if k in record else f"{k}=<missing>" for k in key_properties]
    return ", ".join(parts)


def _path_text(path: Sequence[object]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def invalid_field(error: BaseException | None) -> str:
    """The field a jsonschema error is about (`policy.rule.name`, `tags[2]`), or `(record)`."""
    if not isinstance(error, jsonschema.ValidationError):
        return "(record)"
    path = list(error.absolute_path)
    instance, value = error.instance, error.validator_value
    if error.validator == "required" and isinstance(instance, dict) and isinstance(value, list):
        missing = [k for k in value if k not in instance]
        path += missing[:1]
    elif error.validator == "additionalProperties" and isinstance(instance, dict):
        declared = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        path += [k for k in instance if k not in declared][:1]
    return _path_text(path) or "(record)"


def describe(stream: str, key: str, field: str, reason: str) -> str:
    """One line: stream, record key, field and jsonschema's reason (shortened, no line breaks)."""
    reason = re.sub(r"\s+", " ", reason).strip()
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 3] + "..."
    return f"stream {stream!r}, record {key}: field {field}: {reason}"


class Quarantine:
    """Appends rejected records of one stream to `<folder>/<stream>.rejected.jsonl`."""

    def __init__(self, folder: Path, stream_file_name: str) -> None:
        """`stream_file_name`: the stream name made safe for a file name."""
        self.path = folder / f"{stream_file_name}.rejected.jsonl"

    def add(self, record: dict) -> None:
        """Append `record` as one JSON line, flushed before returning."""
        line = json_text(record) + "\n"
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line)
            out.flush()

"""The ``--config``/``--state``/``--catalog`` files, checked before the Singer SDK reads them."""

from __future__ import annotations

import json
import typing as t
from collections.abc import Sequence
from pathlib import Path

from connector_kit.errors import InputFileError

_FILE_OPTIONS = ("--config", "--state", "--catalog")


def _option_files(argv: Sequence[str]) -> list[tuple[str, str]]:
    """``(option, path)`` for every file option on a command line (``--opt PATH`` or ``--opt=PATH``)."""
    found = []
    for index, arg in enumerate(argv):
        option, equals, value = arg.partition("=")
        if option not in _FILE_OPTIONS:
            continue
        if not equals:
            if index + 1 >= len(argv):
                continue  # click reports the missing value itself
            value = argv[index + 1]
        if option == "--config" and value == "ENV":
            continue
        found.append((option, value))
    return found


def check_input_files(argv: Sequence[str]) -> None:
    """Read each ``--config``/``--state``/``--catalog`` file once before the Singer SDK does.

    The SDK lets a missing file, broken JSON or a state that is not an object escape as a traceback;
    this raises `InputFileError` with one line naming the option and the file instead.
    """
    for option, path in _option_files(argv):
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputFileError(f"{option} {path}: no such file.") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise InputFileError(f"{option} {path} cannot be read: {reason}.") from None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFileError(
                f"{option} {path} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None
        if not isinstance(value, dict):
            raise InputFileError(f"{option} {path} must hold a JSON object, not {type(value).__name__}.")
        if option == "--state":
            bookmarks = value.get("bookmarks", {})
            if not isinstance(bookmarks, dict) or not all(isinstance(b, dict) for b in bookmarks.values()):
                raise InputFileError(
                    f"{option} {path}: `bookmarks` must be an object of one object per stream; "
                    "fix or clear the state."
                )
        if option == "--catalog" and not isinstance(value.get("streams"), list):
            raise InputFileError(f"{option} {path} has no `streams` list; use the tap's --discover output.")


def check_catalog_streams(catalog: t.Any, known: Sequence[str], tap_name: str) -> None:
    """Fail when the input catalog selects a stream the tap does not have (the SDK would skip it silently)."""
    if catalog is None:
        return
    unknown = [
        entry.tap_stream_id
        for entry in catalog.streams
        if entry.tap_stream_id not in known
        and (entry.metadata.root.selected or entry.metadata.root.selected_by_default)
    ]
    if unknown:
        raise InputFileError(
            f"--catalog names stream {unknown[0]!r}, which {tap_name} does not have "
            f"(streams: {', '.join(known)}); run --discover again."
        )

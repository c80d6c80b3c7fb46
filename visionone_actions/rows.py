"""Inputs of one run as rows of option values: from the command line, from ``--from-file`` (CSV or JSONL,
one row per line) and from the replaced integration's array inputs given as JSON.

Columns match options case-insensitively and ignoring ``_``/``-`` (``Account_Name``, ``account-name`` and
``accountName`` are all ``--account-name``), plus each option's aliases (the stream-mapper's ``UserId`` is
``account_name``). Options given on the command line fill what a row leaves empty; then defaults.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from visionone_actions.table import Action, Option


class InputError(Exception):
    """The inputs cannot make a request; nothing was sent."""


def normalize(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def columns(action: Action) -> dict[str, Option]:
    """Normalized column name -> option (option names first, so an alias never shadows a name)."""
    found: dict[str, Option] = {}
    for option in action.options:
        found.setdefault(normalize(option.name), option)
    for option in action.options:
        for alias in option.aliases:
            found.setdefault(normalize(alias), option)
    return found


def read_file_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``.csv`` (header line) or ``.jsonl``/``.ndjson`` (one JSON object per line) file."""
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read --from-file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"--from-file {path} is not UTF-8 text") from None
    if suffix in (".jsonl", ".ndjson", ".json"):
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"--from-file {path} line {number} is not JSON") from None
            if not isinstance(row, dict):
                raise InputError(f"--from-file {path} line {number} is not a JSON object")
            rows.append(row)
        return rows
    if suffix in (".csv", ".txt", ""):
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            raise InputError(f"--from-file {path} has no header line")
        return [dict(row) for row in reader]
    raise InputError(f"--from-file {path}: use a .csv or .jsonl file")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def convert(option: Option, value: Any, where: str) -> Any:
    """One value for ``option`` (a string from the command line or CSV, or a JSON value)."""
    if _blank(value):
        return None
    kind, flag = option.type, option.flag
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if number != int(number):
                raise ValueError
            return int(number)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "y", "on"):
                return True
            if text in ("0", "false", "no", "n", "off"):
                return False
            raise ValueError
        if kind == "json":
            parsed = json.loads(value) if isinstance(value, str) else value
            if not isinstance(parsed, dict):
                raise InputError(f'{where}{flag} must be a JSON object, e.g. \'{{"name": "value"}}\'')
            return parsed
        if kind == "csv":
            items = value if isinstance(value, list) else str(value).split(",")
            return [str(item).strip() for item in items if str(item).strip()]
        if kind == "choice":
            text = str(value).strip()
            for choice in option.choices:
                if choice.lower() == text.lower():
                    return choice
            raise InputError(f"{where}{flag} {text!r} is not one of: {', '.join(option.choices)}")
        if kind == "file":
            path = Path(str(value)).expanduser()
            try:
                return {"name": path.name, "path": str(path), "content": path.read_bytes()}
            except OSError as exc:
                raise InputError(f"{where}{flag} {path}: {exc.strerror}") from None
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InputError(f"{where}{flag} {value!r} is not a valid {kind}") from None
    return value if isinstance(value, str) else str(value)


def _mapped(action: Action, row: dict[str, Any], where: str, ignored: set[str]) -> dict[str, Any]:
    by_column = columns(action)
    values: dict[str, Any] = {}
    for column, value in row.items():
        option = by_column.get(normalize(str(column)))
        if option is None:
            ignored.add(str(column))
            continue
        if option.name in values and not _blank(value) and values[option.name] is not None:
            continue  # the option's own column wins over an alias
        if option.multiple and isinstance(value, list):
            values[option.name] = [convert(option, v, where) for v in value]
        else:
            values[option.name] = convert(option, value, where)
    return {k: v for k, v in values.items() if v is not None and v != []}


def build_rows(
    action: Action,
    given: dict[str, Any],
    from_file: Path | None = None,
    items_json: str | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows to run, checked; and the ``--from-file`` columns that matched no option."""
    options = {option.name: option for option in action.options}
    base: dict[str, Any] = {}
    repeated: list[tuple[str, Any]] = []
    for name, value in given.items():
        option = options[name]
        if option.multiple:
            repeated += [(name, convert(option, v, "")) for v in value or ()]
        elif (converted := convert(option, value, "")) is not None:
            base[name] = converted
    ignored: set[str] = set()
    sources: list[tuple[str, dict[str, Any]]] = []
    if from_file is not None:
        sources += [
            (f"{from_file.name} row {n}: ", _mapped(action, row, f"{from_file.name} row {n}: ", ignored))
            for n, row in enumerate(read_file_rows(from_file), 1)
        ]
    if items_json is not None:
        flag = "--" + (action.items_input or "").replace("_", "-")
        try:
            items = json.loads(items_json)
        except json.JSONDecodeError:
            raise InputError(f"{flag} is not JSON") from None
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise InputError(f"{flag} must be a JSON array of objects")
        sources += [
            (f"{flag} item {n}: ", _mapped(action, item, f"{flag} item {n}: ", ignored))
            for n, item in enumerate(items, 1)
        ]
    sources += [(f"{options[name].flag} {value}: ", {name: value}) for name, value in repeated]
    if not sources:
        sources = [("", {})]
    rows: list[dict[str, Any]] = []
    for where, row in sources:
        for expanded in _expand(action, row):
            merged = {**_defaults(action), **base, **expanded}
            _check(action, merged, where)
            rows.append(merged)
    if not rows:
        raise InputError(f"--from-file {from_file} has no rows")
    return rows, sorted(ignored)


def _expand(action: Action, row: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """A row whose repeatable option holds a list (a JSONL array) is one row per element."""
    for option in action.options:
        value = row.get(option.name)
        if option.multiple and isinstance(value, list):
            return [{**row, option.name: element} for element in value]
    return [row]


def _defaults(action: Action) -> dict[str, Any]:
    return {option.name: option.default for option in action.options if option.default is not None}


def _check(action: Action, row: dict[str, Any], where: str) -> None:
    missing = [
        option.flag for option in action.options if option.required and _blank_value(row.get(option.name))
    ]
    if missing:
        source = "a column or " if where and not where.startswith("--") else ""
        raise InputError(f"{where}missing {', '.join(missing)} ({source}the option is required)")
    if action.one_of and all(_blank_value(row.get(name)) for name in action.one_of):
        flags = " or ".join("--" + name.replace("_", "-") for name in action.one_of)
        raise InputError(f"{where}give {flags}")


def _blank_value(value: Any) -> bool:
    return _blank(value) or value == []

"""CSV injection guard: cells that a spreadsheet would run as a formula are written as text.

Attackers control much of this data (command lines, URLs, e-mail subjects), and Excel, LibreOffice
and Google Sheets evaluate a cell that starts with `=`, `+`, `-` or `@` (tab and carriage return
can smuggle those in). OWASP's advice is followed: such a cell gets a leading `'`, which the
spreadsheet shows as text and hides. Only text is touched: numeric JSON values never are, and a
string that is entirely a plain number (`-5`, `+3.25`, `-1e5`) stays as it is, so negative numbers
still sort and sum. Pure functions; the row builder inlines the same test (`flatten`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DANGEROUS_FIRST = frozenset("=+-@\t\r")
"""First characters that make a spreadsheet read a cell as a formula."""

GUARD_PREFIX = "'"

_plain_number = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?").fullmatch


def is_plain_number(text: str) -> bool:
    """True if `text` is one decimal number and nothing else (`-5`, `+3.25`, `-1e5`)."""
    return _plain_number(text) is not None


def needs_guard(text: str) -> bool:
    """True if a spreadsheet could read `text` as a formula."""
    first = text[:1]
    if first not in DANGEROUS_FIRST:
        return False
    return not (first in "+-" and is_plain_number(text))


def guard_text(text: str) -> str:
    """`text`, with a leading `'` if a spreadsheet could read it as a formula."""
    return GUARD_PREFIX + text if needs_guard(text) else text


def guard_cell(value: object) -> object:
    """A cell value made safe: strings are guarded, anything else (numbers, None) is left alone."""
    return guard_text(value) if value.__class__ is str else value  # type: ignore[arg-type]


def guard_header(names: Iterable[str]) -> list[str]:
    """Header names as written to the file (column names can come from data via `_extra` keys)."""
    return [guard_text(name) for name in names]

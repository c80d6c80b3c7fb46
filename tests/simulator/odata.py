"""The OData-like filter of ``TMV1-Filter`` headers and ``filter`` parameters: parse, then match records.

Grammar (the operators the API documents for these endpoints)::

    filter  := or
    or      := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" or ")" | field "eq" literal
    literal := 'text' (a doubled '' is a quote) | number | true | false | null

Keywords are case-insensitive; ``and`` binds tighter than ``or``. ``eq`` is an exact, case-sensitive
comparison of the value as text (on a list field, any element may match). Each endpoint names its fields
and where each value lives in a record; an unknown field or bad syntax raises :class:`FilterError`,
which the server answers with a 400 naming the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Getter = Callable[[dict[str, Any]], Any]
Fields = Mapping[str, Getter]

_TOKEN = re.compile(
    r"\s*(?:(?P<paren>[()])|(?P<string>'(?:[^']|'')*')|(?P<open>'[^']*$)|(?P<word>[^\s()']+))"
)
_KEYWORDS = {"and", "or", "not", "eq"}


class FilterError(ValueError):
    """A filter the API would reject."""


def key(name: str, *path: str) -> Getter:
    """A getter for ``record[name][path...]`` (``None`` when missing)."""
    keys = (name, *path)

    def get(record: dict[str, Any]) -> Any:
        value: Any = record
        for k in keys:
            value = value.get(k) if isinstance(value, dict) else None
        return value

    return get


def fields(*names: str) -> dict[str, Getter]:
    """Top-level fields named as in the record."""
    return {name: key(name) for name in names}


@dataclass(frozen=True)
class Eq:
    field: str
    value: str | None
    get: Getter

    def matches(self, record: dict[str, Any]) -> bool:
        value = self.get(record)
        values = value if isinstance(value, list) else [value]
        return any(_text(v) == self.value for v in values)


@dataclass(frozen=True)
class Not:
    inner: Node

    def matches(self, record: dict[str, Any]) -> bool:
        return not self.inner.matches(record)


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...]

    def matches(self, record: dict[str, Any]) -> bool:
        return all(p.matches(record) for p in self.parts)


@dataclass(frozen=True)
class Any_:
    parts: tuple[Node, ...]

    def matches(self, record: dict[str, Any]) -> bool:
        return any(p.matches(record) for p in self.parts)


@dataclass(frozen=True)
class Everything:
    def matches(self, record: dict[str, Any]) -> bool:
        return True


Node = Eq | Not | All | Any_ | Everything


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Filter:
    """A parsed filter (``text`` None or blank: everything)."""

    text: str | None
    root: Node

    def matches(self, record: dict[str, Any]) -> bool:
        return self.root.matches(record)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos:].strip():
                raise FilterError(f"unexpected character at position {pos + 1}")
            break
        at = match.start(match.lastgroup or 0) if match.lastgroup else pos
        if match.lastgroup == "open":
            raise FilterError(f"unterminated string at position {at + 1}")
        if match.lastgroup == "paren":
            tokens.append((match["paren"], match["paren"], at))
        elif match.lastgroup == "string":
            tokens.append(("string", match["string"][1:-1].replace("''", "'"), at))
        elif match.lastgroup == "word":
            word = match["word"]
            kind = word.lower() if word.lower() in _KEYWORDS else "word"
            tokens.append((kind, word, at))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, known: Fields, name: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.known = known
        self.name = name

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def where(self) -> str:
        if self.pos >= len(self.tokens):
            return "end of filter"
        _, value, at = self.tokens[self.pos]
        return f"'{value}' at position {at + 1}"

    def take(self, kind: str, what: str) -> str:
        if self.peek() != kind:
            raise FilterError(f"expected {what} before {self.where()}")
        value = self.tokens[self.pos][1]
        self.pos += 1
        return value

    def parse(self) -> Node:
        if not self.tokens:
            raise FilterError("filter is empty")
        node = self.parse_or()
        if self.pos < len(self.tokens):
            raise FilterError(f"expected 'and' or 'or' before {self.where()}")
        return node

    def parse_or(self) -> Node:
        parts = [self.parse_and()]
        while self.peek() == "or":
            self.pos += 1
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Any_(tuple(parts))

    def parse_and(self) -> Node:
        parts = [self.parse_unary()]
        while self.peek() == "and":
            self.pos += 1
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def parse_unary(self) -> Node:
        kind = self.peek()
        if kind == "not":
            self.pos += 1
            return Not(self.parse_unary())
        if kind == "(":
            self.pos += 1
            node = self.parse_or()
            self.take(")", "')'")
            return node
        field = self.take("word", "a field name")
        if field not in self.known:
            raise FilterError(
                f"unknown field '{field}' (fields of this {self.name}: {', '.join(sorted(self.known))})"
            )
        self.take("eq", f"'eq' after '{field}'")
        kind = self.peek()
        if kind == "string":
            value: str | None = self.take("string", "a value")
        elif kind == "word":
            word = self.take("word", "a value")
            if word.lower() == "null":
                value = None
            elif word.lower() in ("true", "false") or re.fullmatch(r"-?\d+(\.\d+)?", word):
                value = word.lower()
            else:
                raise FilterError(f"value '{word}' for '{field}' must be quoted: '{word}'")
        else:
            raise FilterError(f"expected a value for '{field}' before {self.where()}")
        return Eq(field, value, self.known[field])


def parse(text: str | None, known: Fields, name: str = "filter", max_length: int = 5000) -> Filter:
    """Parse a filter over ``known`` fields; ``None`` or blank means no filter."""
    if text is None or not text.strip():
        return Filter(text, Everything())
    if len(text) > max_length:
        raise FilterError(f"filter is longer than {max_length} characters")
    return Filter(text, _Parser(text, known, name).parse())

"""The ``TMV1-Query`` language of Vision One's search endpoints: parse, then evaluate per record.

Grammar (the documented operators ``:`` ``and`` ``or`` ``not`` ``( )``)::

    query   := or
    or      := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" or ")" | "*" | term
    term    := field ":" (value | "quoted value")

Keywords are case-insensitive; ``and`` binds tighter than ``or``. Matching follows the API's field table:
(P) fields match a case-insensitive substring, (F) fields (ports, pids, sizes, hashes) match exactly; on a
list field any element may match; ``field:*`` means present and not null. Unknown fields and malformed
queries raise :class:`QueryError`, which the server answers with a 400 naming the problem.

Each search endpoint has its own field table (a :class:`Language`); ``parse`` uses the detections one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tests.simulator.dictionary import EXTRA_API_FIELDS, fields

MAX_LENGTH = 2048


@dataclass(frozen=True, eq=False)
class Language:
    """One search endpoint's query fields: name -> path into the record, and which match how."""

    name: str
    paths: dict[str, tuple[str, ...]]
    ints: frozenset[str]
    exact: frozenset[str]


def language(
    name: str, fields: tuple[str, ...], ints: tuple[str, ...] = (), exact: tuple[str, ...] = ()
) -> Language:
    """A flat field table (every field is a top-level key); ``ints`` and ``exact`` are full matches."""
    names = (*fields, *ints, *exact)
    return Language(name, {f: (f,) for f in names}, frozenset(ints), frozenset(ints) | frozenset(exact))


_NUMBERS = frozenset({"integer", "number"})
_EXACT_SUFFIXES = ("Md5", "Sha1", "Sha256", "Md5s", "Sha1s", "Sha256s", "HashId", "Hash")


def search_language(name: str, stream: str) -> Language:
    """A search endpoint's fields from Trend's dictionary: numbers match as integers, hashes and ids
    exactly (the reference's (F) fields), everything else as a case-insensitive substring (P)."""
    known = fields(stream)
    names = tuple(dict.fromkeys((*(f.name for f in known), *EXTRA_API_FIELDS[stream])))
    ints = {f.name for f in known if f.json_types and f.json_types <= _NUMBERS}
    if stream == "detections":
        ints.add("eventTime")  # epoch ms in detections (an extra API field, not in the dictionary)
    exact = {n for n in names if n.endswith(_EXACT_SUFFIXES) and n not in ints}
    return language(name, names, tuple(sorted(ints)), tuple(sorted(exact)))


DETECTIONS = search_language("detections", "detections")


class QueryError(ValueError):
    """A TMV1-Query the API would reject."""


@dataclass(frozen=True)
class Term:
    field: str
    value: str
    quoted: bool
    path: tuple[str, ...]
    kind: str  # "int", "exact" or "partial"

    def matches(self, record: dict[str, Any]) -> bool:
        value: Any = record
        for key in self.path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return False
        if self.value == "*" and not self.quoted:
            return value != []
        values = value if isinstance(value, list) else [value]
        if self.kind == "int":
            wanted = int(self.value)
            return any(v == wanted for v in values if isinstance(v, int) and not isinstance(v, bool))
        needle = self.value.casefold()
        if self.kind == "exact":
            return any(str(v).casefold() == needle for v in values)
        return any(needle in str(v).casefold() for v in values)


@dataclass(frozen=True)
class Everything:
    def matches(self, record: dict[str, Any]) -> bool:
        return True


@dataclass(frozen=True)
class Not:
    inner: Node

    def matches(self, record: dict[str, Any]) -> bool:
        return not self.inner.matches(record)


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]

    def matches(self, record: dict[str, Any]) -> bool:
        return all(p.matches(record) for p in self.parts)


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]

    def matches(self, record: dict[str, Any]) -> bool:
        return any(p.matches(record) for p in self.parts)


Node = Term | Everything | Not | And | Or


@dataclass(frozen=True)
class Query:
    """A parsed query; ``match_all`` lets callers skip evaluating ``*``."""

    text: str
    root: Node

    @property
    def match_all(self) -> bool:
        return isinstance(self.root, Everything)

    def matches(self, record: dict[str, Any]) -> bool:
        return self.root.matches(record)


_KEYWORDS = {"and", "or", "not"}


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    """Tokens ``(kind, value, position)``: ``(`` ``)`` ``and`` ``or`` ``not`` ``*`` and ``term``."""
    tokens: list[tuple[str, Any, int]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append((c, c, i))
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in '():"':
                i += 1
            word = text[start:i]
            if i < n and text[i] == ":":
                if not word:
                    raise QueryError(f"missing field name before ':' at position {start + 1}")
                i += 1
                if i < n and text[i] == '"':
                    i += 1
                    chars: list[str] = []
                    while i < n and text[i] != '"':
                        if text[i] == "\\" and i + 1 < n:
                            i += 1
                        chars.append(text[i])
                        i += 1
                    if i >= n:
                        raise QueryError(f"unterminated quoted value for field '{word}'")
                    i += 1
                    tokens.append(("term", (word, "".join(chars), True), start))
                else:
                    vstart = i
                    while i < n and not text[i].isspace() and text[i] not in "()":
                        i += 1
                    if vstart == i:
                        raise QueryError(f"missing value for field '{word}' at position {vstart + 1}")
                    tokens.append(("term", (word, text[vstart:i], False), start))
            elif word.lower() in _KEYWORDS:
                tokens.append((word.lower(), word, start))
            elif word == "*":
                tokens.append(("*", word, start))
            elif not word:
                raise QueryError(f"unexpected '{c}' at position {i + 1}")
            else:
                raise QueryError(f"expected field:value, got '{word}' at position {start + 1}")
    return tokens


class _Parser:
    def __init__(self, text: str, lang: Language) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.lang = lang

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def where(self) -> str:
        if self.pos >= len(self.tokens):
            return "end of query"
        kind, value, at = self.tokens[self.pos]
        shown = f"{value[0]}:" if kind == "term" else value
        return f"'{shown}' at position {at + 1}"

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError("query is empty")
        node = self.parse_or()
        if self.pos < len(self.tokens):
            raise QueryError(f"expected 'and' or 'or' before {self.where()}")
        return node

    def parse_or(self) -> Node:
        parts = [self.parse_and()]
        while self.peek() == "or":
            self.pos += 1
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self) -> Node:
        parts = [self.parse_unary()]
        while self.peek() == "and":
            self.pos += 1
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_unary(self) -> Node:
        kind = self.peek()
        if kind == "not":
            self.pos += 1
            return Not(self.parse_unary())
        if kind == "(":
            self.pos += 1
            node = self.parse_or()
            if self.peek() != ")":
                raise QueryError(f"expected ')' before {self.where()}")
            self.pos += 1
            return node
        if kind == "*":
            self.pos += 1
            return Everything()
        if kind == "term":
            field, value, quoted = self.tokens[self.pos][1]
            lang = self.lang
            if field not in lang.paths:
                raise QueryError(f"unknown field '{field}'")
            if field in lang.ints and not (value == "*" and not quoted):
                try:
                    int(value)
                except ValueError:
                    raise QueryError(f"field '{field}' takes an integer, got '{value}'") from None
            self.pos += 1
            kind = "int" if field in lang.ints else "exact" if field in lang.exact else "partial"
            return Term(field, value, quoted, lang.paths[field], kind)
        raise QueryError(f"expected field:value before {self.where()}")


@lru_cache(maxsize=512)
def parse(text: str, lang: Language = DETECTIONS) -> Query:
    """Parse a TMV1-Query header value for ``lang``'s fields; raises :class:`QueryError` with a reason."""
    if len(text) > MAX_LENGTH:
        raise QueryError(f"query is longer than {MAX_LENGTH} characters")
    return Query(text, _Parser(text, lang).parse())

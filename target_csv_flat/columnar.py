"""Many records at once to CSV text, one column at a time: the same bytes as row builder + csv.writer.

Why: per record, the generated row builder (`flatten.compile_row_builder`) and `csv.writer` were
half of this target's time for a 50-field detection; the C csv writer tests every character of
every cell through a function call. Column by column, what decides a cell's form (its type, the
CSV injection guard, CSV quoting) is settled for a whole column of a chunk at once by C loops
(`str.join`, `in`, `set(map(type, ...))`, one msgspec call for a column of lists), and only the
cells that need it are touched one by one. The same classes answer the schema check
(`encode_checked` with `validation.ColumnRules`), so valid chunks cost no per-record validation.

The text is exactly what `csv.writer` (excel dialect, QUOTE_MINIMAL, `\\r\\n`) writes for the rows
the row builder gives: a cell is quoted, its `"` doubled, when it holds `,` `"` `\\r` or `\\n`;
`None` is empty; numbers are `str()`. Records the column path does not take (undeclared fields,
a non-object where an object is declared: the builder's "slow" records) go through the builder and
`csv.writer` in their place, so the builder stays the one definition of a row.
"""

from __future__ import annotations

import csv
import decimal
import io
import operator
import typing as t
from collections.abc import Callable, Mapping, Sequence
from itertools import chain, repeat

import msgspec

from target_csv_flat.flatten import (
    Column,
    _declared_tree,
    cell_converter,
    list_formatter,
)
from target_csv_flat.safety import DANGEROUS_FIRST, guard_text

if t.TYPE_CHECKING:
    from target_csv_flat.validation import ColumnRules

LINE_END = "\r\n"
SPARSE_MIN_WIDTH = 64
"""Columns from which a chunk may take the sparse path (narrower layouts always go by columns)."""
SPARSE_SHARE = 0.5
"""A chunk goes the sparse way when its records fill fewer than this share of the top-level keys
the chunk uses (each record's own keys against all of them)."""
SPARSE_SAMPLE = 16
"""Every how many records of a chunk that share is measured on."""

_NONE = type(None)
_TEXT = frozenset({str, _NONE})
_NUMBERS = frozenset({int, float, decimal.Decimal, _NONE})
_LISTS = frozenset({list, _NONE})
_LIST = {list}
_TEXT_OR_LISTS = frozenset({str, list, _NONE})
_OBJECTS = frozenset({dict, _NONE})
_EMPTY: dict = {}
_COMMAS = repeat(",")
_LINE_ENDS = repeat(LINE_END)
_first_char = operator.itemgetter(slice(0, 1))
_MARKER = "\x00"  # between the lists of a column, in `json_list_column`
_MARKER_JSON = '"\\u0000"'
_MARKER_CELL_BREAK = ',""\\u0000"",'  # ',"<marker>",' with its quotes doubled
_encode_json = msgspec.json.Encoder().encode
_QUOTED_IF = ('"', ",", "\n", "\r")  # what makes csv.writer (QUOTE_MINIMAL, "\r\n") quote a cell


def quote(text: str) -> str:
    """`text` as csv.writer writes a cell that needs quoting."""
    return '"' + text.replace('"', '""') + '"'


def text_column(texts: list[str], *, guard: bool, joined: str | None = None) -> list[str]:
    """One column of text cells through the CSV injection guard (if `guard`), then quoted as
    csv.writer (QUOTE_MINIMAL) would quote each; `joined` is `"".join(texts)` if already made."""
    # Every dangerous first character sorts before "A"; a leading ' never changes the quoting.
    if (
        guard
        and min(filter(None, texts), default="A") < "A"
        and not DANGEROUS_FIRST.isdisjoint(map(_first_char, texts))
    ):
        texts = list(map(guard_text, texts))
    if joined is None:
        joined = "".join(texts)
    found = [c for c in _QUOTED_IF if c in joined]
    if not found:
        return texts
    if len(found) == 1:  # only cells holding that one character need quotes (the usual case)
        (c,) = found
        return [quote(x) if c in x else x for x in texts]
    return [quote(x) if ('"' in x or "," in x or "\n" in x or "\r" in x) else x for x in texts]


def json_list_column(values: list[list[str]]) -> list[str] | None:
    """CSV cells of a column of lists (no None) in `json` format, or None unless every element is text.

    Each cell is `json_list_text` quoted by csv.writer's rules, made for the whole column by one
    msgspec call (its string escapes are those of `json`, `ensure_ascii=False`): the lists are
    encoded as one JSON array with a marker string between them, then split at the markers. A
    marker written `,"<marker>",` can only come from the marker itself: inside JSON text a `"` is
    always escaped, and no element contains the marker.
    """
    try:
        if _MARKER in "".join(chain.from_iterable(values)):  # TypeError: an element is not text
            return None
    except TypeError:
        return None
    try:
        text = _encode_json(list(chain.from_iterable(zip(values, repeat(_MARKER))))).decode()
    except (msgspec.EncodeError, UnicodeError, TypeError, ValueError):  # lone surrogates
        return None
    doubled = text[1 : -len(_MARKER_JSON) - 2].replace('"', '""')  # without "[" and ',"<marker>"]'
    cells = ('"' + doubled.replace(_MARKER_CELL_BREAK, '"\x00"') + '"').split("\x00")
    if '"[]"' in cells:  # an empty list is "[]", unquoted
        return [c if c != '"[]"' else "[]" for c in cells]
    return cells


class ChunkEncoder:
    """Turns a list of records into CSV lines laid out for `output` (see `compile_row_builder`).

    `build_row` must be the row builder compiled with the same arguments: it makes the rows of
    the records the column path does not take.
    """

    def __init__(
        self,
        columns: Sequence[Column],
        output: Sequence[str | None],
        build_row: Callable[[dict], tuple],
        *,
        list_format: str = "json",
        guard: bool = False,
        computed: Mapping[str, Callable[[], object]] | None = None,
        rules: ColumnRules | None = None,
    ) -> None:
        """Plan the columns once per layout: where each value is, and what each cell is made of.

        `rules` (the schema's, with the key properties as required) let `encode_checked` vouch
        for the records' validity too.
        """
        output = list(output)
        self.build_row = build_row
        self.width = len(output)
        self.guard = guard
        self.cell = cell_converter(list_format, guard=guard)
        self.format_list = list_formatter(list_format, guard=guard)
        self.json_lists = list_format == "json"
        wanted = set(output)
        kept = [c for c in columns if c.name in wanted]
        by_name = {c.name: c for c in kept}
        tree = _declared_tree(kept)
        self.top_keys = frozenset(tree)
        # Flattened objects in parent-before-child order: (index of the parent, key, its keys);
        # index 0 is the record itself, object i is at index i + 1.
        self.objects: list[tuple[int, str, frozenset[str]]] = []
        where: dict[tuple[str, ...], int] = {(): 0}

        def declare(node: dict, path: tuple[str, ...]) -> None:
            for key, sub in node.items():
                if sub is not None:
                    self.objects.append((where[path], key, frozenset(sub)))
                    where[(*path, key)] = len(self.objects)
                    declare(sub, (*path, key))

        declare(tree, ())
        # One entry per output column: (object index, key) of a value, a computed column's
        # function, or None for an always-empty cell (the extra column is empty on this path).
        self.plan: list[tuple[int, str] | Callable[[], object] | None] = []
        computed = dict(computed or {})
        for name in output:
            column = by_name.get(name)
            if name is not None and name in computed:
                self.plan.append(computed[name])
            elif column is not None:
                self.plan.append((where[column.path[:-1]], column.path[-1]))
            else:  # the extra column (empty: plain records have no undeclared fields), or not ours
                self.plan.append(None)
        # The sparse path's plan: per object level, its keys' output columns; the computed ones.
        self.level_columns: list[dict[str, int]] = [{} for _ in range(len(self.objects) + 1)]
        self.computed_columns: list[tuple[int, Callable[[], object]]] = []
        for i, step in enumerate(self.plan):
            if step.__class__ is tuple:
                level, key = step  # type: ignore[misc]
                self.level_columns[level][key] = i
            elif step is not None:
                self.computed_columns.append((i, step))  # type: ignore[arg-type]
        self._blank = [""] * self.width
        self.level_objects: list[frozenset[str]] = [
            frozenset(key for parent, key, _ in self.objects if parent == level)
            for level in range(len(self.objects) + 1)
        ]
        self.checkable = False
        if rules is not None and self.width > 1:
            self._plan_checks(rules, kept, output, by_name, where)
        self._text = io.StringIO()
        self._writer = csv.writer(self._text, lineterminator=LINE_END)

    def _plan_checks(
        self,
        rules: ColumnRules,
        kept: list[Column],
        output: list[str | None],
        by_name: dict[str, Column],
        where: dict[tuple[str, ...], int],
    ) -> None:
        paths = {c.path for c in kept}
        if not paths <= rules.leaves.keys() or rules.objects.keys() != where.keys() - {()}:
            return
        if not rules.required.keys() <= where.keys():
            return
        # Per output column: (classes of the value, classes of list elements or None).
        self.checks: list[tuple[frozenset[type], frozenset[type] | None] | None] = []
        for name in output:
            column = by_name.get(name) if name is not None else None
            step = self.plan[len(self.checks)]
            if column is None or step.__class__ is not tuple:
                self.checks.append(None)
            else:
                self.checks.append((rules.leaves[column.path], rules.items.get(column.path)))
        by_index = {i: path for path, i in where.items()}
        self.nullable = [True, *(rules.objects[by_index[i]] for i in range(1, len(self.objects) + 1))]
        self.required = [(where[path], keys) for path, keys in rules.required.items()]
        self.checkable = True

    def plain(self, record: dict) -> bool:
        """True if the column path can take `record`: every field declared, objects where declared."""
        if not self.top_keys.issuperset(record):
            return False
        objects = [record]
        for parent, key, keys in self.objects:
            value = objects[parent].get(key)
            if value is None:
                value = _EMPTY
            elif value.__class__ is not dict or not keys.issuperset(value):
                return False
            objects.append(value)
        return True

    def encode(self, records: list[dict]) -> str:
        """The CSV lines (each ending `\\r\\n`) of `records`, in their order."""
        if not records:
            return ""
        if self.width > 1:
            text = self._chunk(records)
            if text is not None:
                return text
        # Some records need the builder: the others still go by columns, in runs, in order.
        parts: list[str] = []
        run: list[dict] = []
        plain = self.plain if self.width > 1 else (lambda _record: False)
        for record in records:
            if plain(record):
                run.append(record)
                continue
            if run:
                parts.append(self._chunk(run))  # type: ignore[arg-type]  # plain records: never None
                run = []
            parts.append(self._rows([record]))
        if run:
            parts.append(self._chunk(run))  # type: ignore[arg-type]
        return "".join(parts)

    def encode_checked(self, records: list[dict]) -> str | None:
        """`encode(records)` if every record is certainly valid by the rules, else None.

        "Certainly valid" is decided column by column, from the classes the encoder sees anyway;
        None says nothing about which record is invalid (the caller then checks each one).
        """
        if not records:
            return ""
        if not self.checkable:
            return None
        try:
            return self._chunk(records, check=True)
        except _Unchecked:
            return None

    def _chunk(self, records: list[dict], *, check: bool = False) -> str | None:
        """The chunk's CSV text, or None if a record is not plain (or, with `check`, breaks a rule)."""
        sparse = self._sparse_suits(records)
        levels = self._levels(records, check=check, top=not sparse)  # the sparse path sees each key
        if levels is None:
            return None
        if sparse:
            return self._sparse(levels, check=check)
        return self._dense(records, levels, check=check)

    def _rows(self, records: list[dict]) -> str:
        """The builder's rows through csv.writer (records the column path does not take)."""
        text = self._text
        text.seek(0)
        text.truncate()
        self._writer.writerows(map(self.build_row, records))
        return text.getvalue()

    def _levels(
        self, records: list[dict], *, check: bool = False, top: bool = True
    ) -> list[list[dict]] | None:
        """Each flattened object's values across `records` (`{}` for null), or None if a record is
        not plain (same test as `plain`, a column at a time), or with `check` breaks a rule.
        `top=False` leaves out the test of the records' own keys (the sparse path makes it)."""
        if top and not all(map(self.top_keys.issuperset, records)):
            return None
        levels = [records]
        for parent, key, keys in self.objects:
            values = list(map(dict.get, levels[parent], repeat(key)))
            kinds = set(map(type, values))
            if not kinds <= _OBJECTS:
                return None
            if _NONE in kinds:
                if check and not self.nullable[len(levels)]:  # null, or missing: jsonschema decides
                    return None
                values = [v or _EMPTY for v in values]
            if not all(map(keys.issuperset, values)):
                return None
            levels.append(values)
        if check:
            for index, keys in self.required:  # a null object's `{}` fails too: jsonschema decides
                if not all(map(keys.issubset, levels[index])):
                    return None
        return levels

    def _sparse_suits(self, records: list[dict]) -> bool:
        """Whether the records fill few of the columns they use, in a layout wide enough to matter."""
        if len(self.plan) < SPARSE_MIN_WIDTH:
            return False
        sample = records[::SPARSE_SAMPLE]  # a share that tells, at a fraction of the cost
        return sum(map(len, sample)) < SPARSE_SHARE * len(set().union(*sample)) * len(sample)

    def _sparse(self, levels: list[list[dict]], *, check: bool = False) -> str | None:
        """The chunk's CSV text, a record at a time for its own keys, a column at a time for cells.

        Why: a wide schema whose records each fill a few of its columns (detections: 545 columns,
        about 70 per record, but 400 used somewhere in a chunk of 512) made the column path touch
        every column any record of the chunk used, for every record. Here each record's own keys
        are gathered into their columns (values and record numbers), each column's cells are made
        by `_cells` as on the column path, then put in place in rows of empty cells.
        """
        n = len(levels[0])
        rows = [self._blank[:] for _ in range(n)]
        cells_of = self._cells
        for level, columns, objects in zip(levels, self.level_columns, self.level_objects, strict=True):
            found: dict[str, tuple[list[int], list[object]]] = {}
            for i, obj in enumerate(level):
                for key, value in obj.items():
                    entry = found.get(key)
                    if entry is None:
                        found[key] = ([i], [value])
                    else:
                        entry[0].append(i)
                        entry[1].append(value)
            for key, (where, values) in found.items():
                index = columns.get(key)
                if index is None:
                    if key in objects:  # a flattened object's key: its own level holds its columns
                        continue
                    return None  # not declared (or not in this layout): the record is not plain
                cells = cells_of(values, self.checks[index] if check else None)  # type: ignore[arg-type]
                for i, cell in zip(where, cells, strict=True):
                    rows[i][index] = cell
        for index, compute in self.computed_columns:
            cells = text_column([_text(compute()) for _ in range(n)], guard=False)
            for row, cell in zip(rows, cells, strict=True):
                row[index] = cell
        return LINE_END.join(map(",".join, rows)) + LINE_END

    def _dense(self, records: list[dict], levels: list[list[dict]], *, check: bool = False) -> str:
        """The chunk's CSV text, a column at a time. A column no record of the chunk has costs no
        lookup and no cells: its empty cells merge into the separators around it."""
        n = len(records)
        parts: list[t.Iterable[str]] = []  # cells, separators, cells, ..., separators + line end
        pending = ""  # the text every row has between the last cells in `parts` and the next
        present: dict[int, set] = {}  # the keys used in the chunk, per level
        get = dict.get
        for i, step in enumerate(self.plan):
            if i:
                pending += ","
            if step is None:
                continue
            if step.__class__ is tuple:
                parent, key = step  # type: ignore[misc]
                rule = self.checks[i] if check else None
                keys = present.get(parent)
                if keys is None:
                    keys = present[parent] = set().union(*levels[parent])
                if key not in keys:  # missing everywhere: empty, and valid only where null is
                    if rule is not None and _NONE not in rule[0]:
                        raise _Unchecked
                    continue
                cells = self._cells(list(map(get, levels[parent], repeat(key))), rule)
            else:
                cells = text_column([_text(step()) for _ in range(n)], guard=False)  # type: ignore[operator]
            if pending:
                parts.append(repeat(pending, n))
                pending = ""
            parts.append(cells)
        parts.append(repeat(pending + LINE_END, n))
        return "".join(chain.from_iterable(zip(*parts, strict=True)))

    def _cells(
        self, values: list[object], rule: tuple[frozenset[type], frozenset[type] | None] | None = None
    ) -> list[str]:
        """One column's cells, as the builder's cell and csv.writer's quoting would make them.

        With a `rule` (classes of the values, of list elements), raise `_Unchecked` if a value
        breaks it.
        """
        if values.count(None) == len(values):  # a column the chunk does not use: most, on wide schemas
            if rule is not None and _NONE not in rule[0]:
                raise _Unchecked
            return [""] * len(values)
        try:
            joined = "".join(values)  # type: ignore[arg-type]
        except TypeError:
            pass
        else:  # all text: the common case
            if rule is not None and str not in rule[0]:
                raise _Unchecked
            return text_column(values, guard=self.guard, joined=joined)  # type: ignore[arg-type]
        kinds = set(map(type, values))
        if rule is not None:
            classes, items = rule
            if not kinds <= classes:
                raise _Unchecked
            if items is not None and list in kinds:
                if kinds <= _LISTS:
                    lists: t.Iterable[list] = filter(None, values)  # type: ignore[arg-type]
                else:
                    lists = (v for v in values if v.__class__ is list)  # type: ignore[misc]
                if not items.issuperset(map(type, chain.from_iterable(lists))):  # type: ignore[arg-type]
                    raise _Unchecked
        if kinds <= _TEXT:
            return text_column([v or "" for v in values], guard=self.guard)  # type: ignore[misc]
        if kinds <= _NUMBERS:  # never guarded, never quoted
            if _NONE in kinds:
                return ["" if v is None else str(v) for v in values]
            return list(map(str, values))
        if kinds <= _LISTS:  # `format_list` guards (comma lists) or needs no guard (JSON)
            return self._list_cells(values)  # type: ignore[arg-type]
        if kinds <= _TEXT_OR_LISTS:  # text in some records, lists in others (many Vision One fields)
            at = [i for i, v in enumerate(values) if v.__class__ is list]
            cells = text_column([v if v.__class__ is str else "" for v in values], guard=self.guard)  # type: ignore[misc]
            for i, cell in zip(at, self._list_cells([values[i] for i in at]), strict=True):  # type: ignore[misc]
                cells[i] = cell
            return cells
        cell = self.cell  # guards text itself, and must not guard numbers' text
        return text_column([_text(cell(v)) if v is not None else "" for v in values], guard=False)

    def _list_cells(self, values: list[list | None]) -> list[str]:
        """Cells of a column of lists and None."""
        if self.json_lists and None not in values:
            cells = json_list_column(values)  # type: ignore[arg-type]
            if cells is not None:
                return cells
        fmt = self.format_list
        return text_column([fmt(v) if v is not None else "" for v in values], guard=False)


class _Unchecked(Exception):
    """A value breaks a column's rule: the records of the chunk are checked one by one."""


def _text(value: object) -> str:
    """What csv.writer writes for a cell before quoting: empty for None, else `str()`."""
    if value.__class__ is str:
        return value  # type: ignore[return-value]
    return "" if value is None else str(value)

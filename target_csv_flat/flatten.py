"""Flattening: a JSON Schema becomes ordered CSV columns, a record becomes a row tuple.

Pure functions, no I/O. The sink calls `flatten_schema` once per schema and `compile_row_builder`
once per file; the builder it gets back turns one record into one row and is the only code that
runs per record.

Rules
- Columns follow the schema's `properties` in schema order. An object property with `properties` of
  its own is replaced by its children, named `parent<separator>child`, down to `max_depth` levels
  (the Singer SDK's `flattening_max_depth` meaning: 0 keeps every object as one JSON cell, 3 gives
  `endpoint__os__name`). Deeper objects, and objects without declared properties, are one JSON cell.
- Cells: `None` and missing fields are empty; `True`/`False` are `true`/`false`; strings are kept exactly
  (timestamps included); numbers as `str()` gives them (a JSON `1.50` arrives as `Decimal("1.50")` and
  stays `1.50`); `datetime`/`date`/`time` as ISO 8601 (`.isoformat()`); dicts as compact JSON; lists by
  `list_format`: `json` (compact JSON text, the default) or `comma` (elements joined with `,` as the
  Vision One detections export script did; strings as they are, `None` empty, objects and lists inside as
  compact JSON). JSON text keeps non-ASCII characters as they are.
- A `null` object gives empty cells for all its sub-columns.
- Fields the schema does not declare (at any flattened level), and non-object values where the schema
  declares an object, are not dropped: they go, keyed by their flattened name, into one JSON object
  in the extra column (`EXTRA_COLUMN`, `_extra`), the last column of the header. `None` values of
  undeclared fields carry nothing and are left out.
- With `guard=True` every text cell passes the CSV injection guard (`safety`); numbers never do.
- `union_header` is how a file's header grows when a stream's schema gains columns: the old columns
  keep their places, so the rows already written only need empty cells appended.
"""

from __future__ import annotations

import datetime
import decimal
import json
import typing as t
from collections.abc import Callable, Iterable, Mapping, Sequence
from json.encoder import encode_basestring  # the C function when available

import simplejson

from target_csv_flat.safety import DANGEROUS_FIRST, guard_text

LIST_FORMATS = ("json", "comma")
EXTRA_COLUMN = "_extra"


class Column(t.NamedTuple):
    """One CSV column: its header name and the key path that leads to its value in a record."""

    name: str
    path: tuple[str, ...]


# --------------------------------------------------------------------------- schema -> columns


def _allows_object(schema: dict) -> bool:
    kind = schema.get("type")
    if kind is None:
        return True
    if isinstance(kind, str):
        return kind == "object"
    return "object" in kind


def _only_null(schema: object) -> bool:
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    return kind == "null" or kind == ["null"]


def object_properties(schema: object) -> dict | None:
    """The `properties` of an object schema (also inside `anyOf`/`oneOf` with `null`), else None."""
    if not isinstance(schema, dict):
        return None
    props = schema.get("properties")
    if isinstance(props, dict) and props and _allows_object(schema):
        return props
    for keyword in ("anyOf", "oneOf"):
        options = schema.get(keyword)
        if not isinstance(options, list):
            continue
        found = [p for p in map(object_properties, options) if p]
        others = [o for o in options if not object_properties(o)]
        if len(found) == 1 and all(_only_null(o) for o in others):
            return found[0]
    return None


def flatten_schema(schema: dict, max_depth: int = 3, separator: str = "__") -> list[Column]:
    """Ordered columns of a stream schema.

    A name that would repeat (e.g. a property literally called `a__b` next to `a: {b}`) gets `_2`,
    `_3`, ... so that every column keeps its own values.
    """
    columns: list[Column] = []
    used: set[str] = set()

    def walk(properties: dict, prefix: tuple[str, ...]) -> None:
        for key, sub in properties.items():
            path = (*prefix, str(key))
            children = object_properties(sub)
            if children and len(prefix) < max_depth:
                walk(children, path)
                continue
            name = base = separator.join(path)
            n = 1
            while name in used:
                n += 1
                name = f"{base}_{n}"
            used.add(name)
            columns.append(Column(name, path))

    walk(schema.get("properties") or {}, ())
    return columns


def extra_column_name(names: Iterable[str]) -> str:
    """`_extra`, or `_extra` with more leading underscores if the schema already uses that name."""
    taken = set(names)
    name = EXTRA_COLUMN
    while name in taken:
        name = "_" + name
    return name


def header(columns: Sequence[Column]) -> list[str]:
    """Header row for `columns`: their names, then the extra column."""
    names = [c.name for c in columns]
    return [*names, extra_column_name(names)]


def union_header(old: Sequence[str], ours: Sequence[str], extra: str, first: str | None = None) -> list[str]:
    """`old` with the names of `ours` it lacks: `first` (if new) at the front, the others in their
    order just before `old`'s `extra` column (at the end if it has none)."""
    present = set(old)
    new = [n for n in ours if n not in present]
    if not new:
        return list(old)
    result = list(old)
    if first is not None and first in new:
        new.remove(first)
        result.insert(0, first)
    at = result.index(extra) if extra in present else len(result)
    result[at:at] = new
    return result


# --------------------------------------------------------------------------- cells

_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode


def _json_default(value: object) -> object:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def json_text(value: object) -> str:
    """Compact JSON; `Decimal` stays an exact number, dates become ISO 8601 strings."""
    try:
        return _encode_json(value)
    except TypeError:  # Decimal, datetime, ... (rare: the C encoder handles the common types)
        return simplejson.dumps(
            value,
            ensure_ascii=False,
            separators=(",", ":"),
            use_decimal=True,
            default=_json_default,
            allow_nan=True,  # as the standard encoder above: NaN, not an error (simplejson's default)
        )


def json_list_text(values: Sequence[object]) -> str:
    """`json_text` of a list, with a fast path for the common list of strings."""
    try:
        return "[" + ",".join(map(encode_basestring, values)) + "]"  # type: ignore[arg-type]
    except TypeError:
        return json_text(values)


def _comma_item(value: object) -> str:
    if value.__class__ is str:
        return value  # type: ignore[return-value]
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (dict, list, tuple)):
        return json_text(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def comma_text(values: Sequence[object]) -> str:
    """Elements joined with `,`, as the detections export script wrote lists: `["a", None, 1, {"k": 2}]`
    -> `a,,1,{"k":2}`."""
    try:
        return ",".join(values)  # type: ignore[arg-type]
    except TypeError:
        return ",".join(map(_comma_item, values))


def _guarded_comma_text(values: Sequence[object]) -> str:
    return guard_text(comma_text(values))


def list_formatter(list_format: str, *, guard: bool = False) -> Callable[[Sequence[object]], str]:
    """The function that writes a list into its one cell (JSON text starts with `[`: never guarded)."""
    if list_format == "json":
        return json_list_text
    if list_format == "comma":
        return _guarded_comma_text if guard else comma_text
    msg = f"list_format must be one of {', '.join(LIST_FORMATS)}, not {list_format!r}"
    raise ValueError(msg)


# Classes the csv module already writes correctly (None -> empty, numbers -> str()).
_AS_IS = frozenset({str, int, float, decimal.Decimal, type(None)})


def cell_converter(list_format: str = "json", *, guard: bool = False) -> Callable[[object], object]:
    """The function that turns one value into what `csv.writer` should write for it."""
    format_list = list_formatter(list_format, guard=guard)

    def cell(value: object) -> object:
        if value.__class__ is str:
            return guard_text(value) if guard else value  # type: ignore[arg-type]
        if value.__class__ in _AS_IS:
            return value
        if value is True:
            return "true"
        if value is False:
            return "false"
        if isinstance(value, (list, tuple)):
            return format_list(value)
        if isinstance(value, dict):
            return json_text(value)
        if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
            return value.isoformat()
        if guard and isinstance(value, str):  # a str subclass
            return guard_text(str(value))
        return value

    return cell


# --------------------------------------------------------------------------- records -> rows


def _declared_tree(columns: Iterable[Column]) -> dict:
    """{key: subtree} for flattened objects, {key: None} for leaf columns."""
    tree: dict = {}
    for column in columns:
        node = tree
        for key in column.path[:-1]:
            sub = node.get(key)
            if sub is None:
                sub = node[key] = {}
            node = sub
        node.setdefault(column.path[-1], None)
    return tree


def _collect_extras(record: dict, tree: dict, separator: str) -> dict[str, object]:
    extras: dict[str, object] = {}

    def walk(obj: dict, node: dict, prefix: str) -> None:
        for key, value in obj.items():
            if key not in node:
                if value is not None:
                    extras[prefix + key] = value
                continue
            sub = node[key]
            if sub is None:
                continue
            if isinstance(value, dict):
                walk(value, sub, prefix + key + separator)
            elif value is not None:
                extras[prefix + key] = value

    walk(record, tree, "")
    return extras


def collect_extras(record: dict, columns: Iterable[Column], separator: str = "__") -> dict[str, object]:
    """Values of `record` that no column holds, keyed by flattened name (see module docstring)."""
    return _collect_extras(record, _declared_tree(columns), separator)


def flatten_record(
    record: dict,
    columns: Sequence[Column],
    list_format: str = "json",
    separator: str = "__",
    *,
    guard: bool = False,
) -> tuple:
    """Reference implementation of one row (columns, then the extra cell); see compile_row_builder."""
    cell = cell_converter(list_format, guard=guard)
    row: list[object] = []
    for column in columns:
        value: object = record
        for key in column.path:
            value = value.get(key) if isinstance(value, dict) else None
        row.append(cell(value))
    extras = collect_extras(record, columns, separator)
    row.append(json_text(extras) if extras else None)
    return tuple(row)


def compile_row_builder(
    columns: Sequence[Column],
    output: Sequence[str | None] | None = None,
    *,
    list_format: str = "json",
    separator: str = "__",
    on_extras: Callable[[list[str]], None] | None = None,
    guard: bool = False,
    computed: Mapping[str, Callable[[], object]] | None = None,
) -> Callable[[dict], tuple]:
    """Compile the per-record function for `columns`: `builder(record) -> row tuple`.

    `output` is the header the rows must fit, in its order (default: `header(columns)`): a name of
    `columns` gets that column's cell, the extra column (`extra_column_name(columns)`) gets the JSON
    of the undeclared fields, a name of `computed` the value of calling its function (the local
    timestamp), any other name (or None) an empty cell. Columns that `output` lacks are treated as
    undeclared, so their values land in the extra column. `on_extras` is called with the flattened
    names of the undeclared fields of each record that has some (the sink warns once per name), also
    when `output` has no extra column to keep them. `guard` passes text cells through the CSV
    injection guard; the common case (text starting with a letter) costs one comparison.

    The function is generated Python source (like `dataclasses` or `attrs` do): each record costs
    one `dict.get` per column, one `issuperset` per flattened object and a class test per cell;
    nothing is copied and nothing recurses unless a record has undeclared fields.
    """
    if output is None:
        output = header(columns)
    output = list(output)
    extra_name = extra_column_name(c.name for c in columns)
    wanted = set(output)
    kept = [c for c in columns if c.name in wanted]
    by_name = {c.name: c for c in kept}
    tree = _declared_tree(kept)

    cell = cell_converter(list_format, guard=guard)
    env: dict[str, object] = {
        "_AS_IS": _AS_IS,
        "_NOT_TEXT": _AS_IS - {str},
        "_DANGER": DANGEROUS_FIRST,
        "_str": str,
        "_cell": cell,
        "_list": list,
        "_format_list": list_formatter(list_format, guard=guard),
        "_dict": dict,
        "_isinstance": isinstance,
        "_EMPTY": {},
    }
    computed = dict(computed or {})
    for n, name in enumerate(computed):
        env[f"_C{n}"] = computed[name]
    lines = ["def build_row(r):"]
    objects: dict[tuple[str, ...], str] = {(): "r"}
    env["_K0"] = frozenset(tree)
    lines.append("    slow = not _K0.issuperset(r)")

    def declare(node: dict, path: tuple[str, ...]) -> None:
        for key, sub in node.items():
            if sub is None:
                continue
            sub_path = (*path, key)
            var = f"o{len(objects)}"
            objects[sub_path] = var
            keys = f"_K{len(objects) - 1}"
            env[keys] = frozenset(sub)
            lines.extend(
                [
                    f"    {var} = {objects[path]}.get({key!r})",
                    f"    if not _isinstance({var}, _dict):",
                    f"        if {var} is not None:",
                    "            slow = True",
                    f"        {var} = _EMPTY",
                    f"    elif not {keys}.issuperset({var}):",
                    "        slow = True",
                ]
            )
            declare(sub, sub_path)

    declare(tree, ())

    def extras_cell(record: dict) -> str | None:
        extras = _collect_extras(record, tree, separator)
        if not extras:
            return None
        if on_extras is not None:
            on_extras(list(extras))
        return json_text(extras)

    env["_extras"] = extras_cell
    # The common cell (None, a number, text starting with a letter) is written as it is; lists and
    # anything else go through a function. Guarded text is safe when its first character comes after
    # `@` (`x >= "A"`, one comparison) or is not one of `= + - @ \\t \\r`.
    if guard:
        template = (
            "(x if ((c := (x := {get}).__class__) is _str and (x >= 'A' or x[:1] not in _DANGER))"
            " or c in _NOT_TEXT else _format_list(x) if c is _list else _cell(x))"
        )
    else:
        template = (
            "(x if (x := {get}).__class__ in _AS_IS"
            " else _format_list(x) if x.__class__ is _list else _cell(x))"
        )
    computed_names = list(computed)
    cells = []
    for name in output:
        column = by_name.get(name)
        if name in computed:
            cells.append(f"_C{computed_names.index(name)}()")
        elif column is not None:
            parent = objects[column.path[:-1]]
            cells.append(template.format(get=f"{parent}.get({column.path[-1]!r})"))
        elif name == extra_name:
            cells.append("extras")
        else:
            cells.append("None")
    # Computed even when `output` has no extra column, so that on_extras still hears of them.
    lines.append("    extras = _extras(r) if slow else None")
    lines.append("    return (")
    lines.extend(f"        {c}," for c in cells)
    lines.append("    )")
    source = "\n".join(lines) + "\n"
    namespace: dict[str, object] = {}
    exec(compile(source, "<target_csv_flat row builder>", "exec"), env, namespace)
    builder = t.cast("Callable[[dict], tuple]", namespace["build_row"])
    builder.__doc__ = source  # shown by help(); handy when debugging a plan
    return builder

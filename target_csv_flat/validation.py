"""Record validation that keeps the SDK's verdicts but skips its cost on records that are fine.

The SDK validates every record with `jsonschema` (Draft 2020-12), which costs about half a
millisecond for a 50-field detection: more than everything else this target does per record. The
SDK's documented hook for a faster validator is `Sink.get_validator()`; this module plugs into it:

- `compile_check(schema)` generates one Python function (nested `if`s, like `fastjsonschema` does)
  that answers "certainly valid?" for the keywords taps emit: `type`, `properties`, `required`,
  `additionalProperties`, `items`, `enum`/`const` of scalars, `anyOf`, `allOf`, string, number and
  array bounds, `pattern`. `format` and annotations are ignored, exactly as the SDK's validator
  ignores them when format checks are off (its default).
  The function is never looser than `jsonschema`: types are compared by exact class (`True` is not
  an integer; `1.0` is not an integer here although Draft 2020-12 accepts it), so "yes" implies that
  `jsonschema` says yes too. A schema using any other validation keyword (`$ref`, `oneOf`, `not`,
  `if`, `patternProperties`, ...) gets no compiled function at all.
- `FastValidator.validate(record)` accepts a record when the compiled function says yes; otherwise
  the SDK's own `JSONSchemaValidator` decides, so an invalid record fails with the SDK's exact
  `InvalidRecord` message, and a record the compiled function was too strict for still passes.
- `column_rules(schema)` states a schema whose only checks are types as exact classes per
  flattened column, for the sink to check a whole chunk column by column (`columnar`), where the
  classes are known anyway. Same rule as above: never looser; anything else goes record by record.
"""

from __future__ import annotations

import decimal
import json
import re
import typing as t
from collections.abc import Callable

import jsonschema
from singer_sdk.sinks.core import DEFAULT_JSONSCHEMA_VALIDATOR, BaseJSONSchemaValidator, JSONSchemaValidator

from target_csv_flat.flatten import object_properties

Check = Callable[[object], bool]

_TYPES: dict[str, tuple[type, ...]] = {
    "null": (type(None),),
    "boolean": (bool,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float, decimal.Decimal),
    "array": (list,),
    "object": (dict,),
}
_NUMBER = frozenset(_TYPES["number"])
_SCALARS = frozenset({str, int, float, bool, type(None)})

# Keywords that constrain (Draft 2020-12) and that this module implements.
_HANDLED = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "allOf",
        "format",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
    }
)
# Every keyword `jsonschema` validates with in Draft 2020-12 (Draft202012Validator.VALIDATORS);
# any other key is an annotation or unknown, and jsonschema ignores it, as we do.
_CONSTRAINING = frozenset(
    {
        "$dynamicRef",
        "$ref",
        "additionalProperties",
        "allOf",
        "anyOf",
        "const",
        "contains",
        "dependentRequired",
        "dependentSchemas",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "format",
        "if",
        "items",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "not",
        "oneOf",
        "pattern",
        "patternProperties",
        "prefixItems",
        "properties",
        "propertyNames",
        "required",
        "type",
        "unevaluatedItems",
        "unevaluatedProperties",
        "uniqueItems",
    }
)
_BOUNDS = {
    "minLength": ("str", "len({v}) < {b}"),
    "maxLength": ("str", "len({v}) > {b}"),
    "minItems": ("list", "len({v}) < {b}"),
    "maxItems": ("list", "len({v}) > {b}"),
    "minimum": ("number", "{v} < {b}"),
    "maximum": ("number", "{v} > {b}"),
    "exclusiveMinimum": ("number", "{v} <= {b}"),
    "exclusiveMaximum": ("number", "{v} >= {b}"),
}


class Unsupported(Exception):
    """The schema uses something the compiled check does not implement."""


def _enum_ok(value: object, allowed: tuple) -> bool:
    cls = value.__class__
    return any(cls is a.__class__ and value == a for a in allowed)


class _Generator:
    """Writes the source of one check function; `return False` on the first failed constraint."""

    def __init__(self) -> None:
        self.env: dict[str, object] = {"_MISSING": object(), "_enum_ok": _enum_ok}
        self.counter = 0

    def name(self, prefix: str, value: object | None = None) -> str:
        self.counter += 1
        name = f"{prefix}{self.counter}"
        if value is not None:
            self.env[name] = value
        return name

    def function(self, schema: object) -> str:
        """Name of a generated function in `env` checking `schema` (for anyOf/allOf options)."""
        body = self.lines(schema, "v", "    ")
        fname = self.name("_f")
        source = "\n".join([f"def {fname}(v):", *body, "    return True"]) + "\n"
        namespace: dict[str, object] = {}
        exec(compile(source, "<target_csv_flat validator>", "exec"), self.env, namespace)
        self.env[fname] = namespace[fname]
        return fname

    @staticmethod
    def _accepts_none_freely(schema: dict) -> bool:
        """True if None passes every constraint of `schema` (so a None value needs no check)."""
        kind = schema.get("type")
        if kind is None or not (kind == "null" or (isinstance(kind, list) and "null" in kind)):
            return False
        return not ({"enum", "const", "anyOf", "allOf"} & schema.keys())

    def lines(self, schema: object, v: str, ind: str, *, not_none: bool = False) -> list[str]:
        if schema is True or schema == {}:
            return []
        if schema is False:
            return [f"{ind}return False"]
        if not isinstance(schema, dict):
            raise Unsupported(repr(schema))
        unknown = (schema.keys() & _CONSTRAINING) - _HANDLED
        if unknown:
            raise Unsupported(", ".join(sorted(unknown)))
        out: list[str] = []

        kind = schema.get("type")
        if kind is not None:
            names = [kind] if isinstance(kind, str) else list(kind)
            try:
                classes = frozenset(c for n in names for c in _TYPES[n])
            except (KeyError, TypeError) as exc:
                raise Unsupported("type") from exc
            if len(classes) == 1:
                (cls,) = classes
                out.append(f"{ind}if {v}.__class__ is not {self.name('_T', cls)}: return False")
            elif type(None) in classes and len(classes) == 2:
                (cls,) = classes - {type(None)}
                maybe_none = "" if not_none else f"{v} is not None and "
                out.append(f"{ind}if {maybe_none}{v}.__class__ is not {self.name('_T', cls)}: return False")
            else:
                out.append(f"{ind}if {v}.__class__ not in {self.name('_T', classes)}: return False")

        if "enum" in schema or "const" in schema:
            allowed = tuple(schema["enum"]) if "enum" in schema else (schema["const"],)
            if not all(a.__class__ in _SCALARS for a in allowed):
                raise Unsupported("enum")
            out.append(f"{ind}if not _enum_ok({v}, {self.name('_E', allowed)}): return False")

        if {"properties", "required", "additionalProperties"} & schema.keys():
            out.extend(self._object_lines(schema, v, ind))

        if "items" in schema:
            item = self.name("i")
            body = self.lines(schema["items"], item, ind + "        ")
            if body:
                out.append(f"{ind}if {v}.__class__ is list:")
                out.append(f"{ind}    for {item} in {v}:")
                out.extend(body)

        for keyword in ("anyOf", "allOf"):
            if keyword in schema:
                options = schema[keyword]
                if not isinstance(options, list) or not options:
                    raise Unsupported(keyword)
                calls = [f"{self.function(o)}({v})" for o in options]
                joined = " or ".join(calls) if keyword == "anyOf" else " and ".join(calls)
                out.append(f"{ind}if not ({joined}): return False")

        for keyword, (applies, failure) in _BOUNDS.items():
            if keyword not in schema:
                continue
            bound = schema[keyword]
            if bound.__class__ not in _NUMBER:
                raise Unsupported(keyword)
            guard = (
                f"{v}.__class__ in {self.name('_N', _NUMBER)}"
                if applies == "number"
                else f"{v}.__class__ is {applies}"
            )
            failed = failure.format(v=v, b=self.name("_B", bound))
            out.append(f"{ind}if {guard} and {failed}: return False")
        if "pattern" in schema:
            search = re.compile(schema["pattern"]).search
            matcher = self.name("_P", search)
            out.append(f"{ind}if {v}.__class__ is str and {matcher}({v}) is None: return False")
        return out

    def _object_lines(self, schema: dict, v: str, ind: str) -> list[str]:
        props = schema.get("properties", {})
        required = schema.get("required", [])
        additional = schema.get("additionalProperties", True)
        if not isinstance(props, dict) or not isinstance(required, list):
            raise Unsupported("properties")
        inner = ind + "    "
        body: list[str] = []
        for key, sub in props.items():
            if not isinstance(key, str):
                raise Unsupported("properties")
            var = self.name("p")
            if isinstance(sub, dict) and self._accepts_none_freely(sub):
                sub_lines = self.lines(sub, var, inner + "    ", not_none=True)
                if sub_lines:
                    body.append(f"{inner}{var} = {v}.get({key!r})")
                    body.append(f"{inner}if {var} is not None:")
                    body.extend(sub_lines)
            else:
                sub_lines = self.lines(sub, var, inner + "    ")
                if sub_lines:
                    body.append(f"{inner}{var} = {v}.get({key!r}, _MISSING)")
                    body.append(f"{inner}if {var} is not _MISSING:")
                    body.extend(sub_lines)
        if required:
            body.append(f"{inner}if not {self.name('_R', frozenset(required))}.issubset({v}): return False")
        if additional is not True:
            declared = self.name("_D", frozenset(props))
            key, value = self.name("k"), self.name("x")
            extra_lines = self.lines(additional, value, inner + "            ")
            if extra_lines:
                body.append(f"{inner}if not {declared}.issuperset({v}):")
                body.append(f"{inner}    for {key}, {value} in {v}.items():")
                body.append(f"{inner}        if {key} not in {declared}:")
                body.extend(extra_lines)
        if not body:
            return []
        return [f"{ind}if {v}.__class__ is dict:", *body]


def compile_check(schema: dict) -> Check | None:
    """A quick "certainly valid" test for records of `schema`, or None if the schema needs jsonschema."""
    generator = _Generator()
    try:
        name = generator.function(schema)
    except (Unsupported, re.error, TypeError, ValueError, SyntaxError, RecursionError, MemoryError):
        return None
    return t.cast("Check", generator.env[name])


_TEXT_ANNOTATIONS = frozenset({"title", "description", "$comment"})


def compact_schema(schema: object) -> object:
    """`schema` made small for the metaschema check, with the same verdict.

    Text annotations become "" (the metaschema asks only that they be strings), and the subschemas
    of every `properties` are kept once each under made-up names (the metaschema checks each on
    its own, whatever its name). A 545-property detection schema becomes a few dozen subschemas.
    """
    if isinstance(schema, list):
        return [compact_schema(value) for value in schema]
    if not isinstance(schema, dict):
        return schema
    compact: dict = {}
    for key, value in schema.items():
        if key in _TEXT_ANNOTATIONS and isinstance(value, str):
            compact[key] = ""
        elif key == "properties" and isinstance(value, dict):
            distinct: dict[str, object] = {}
            for sub in value.values():
                sub = compact_schema(sub)
                distinct.setdefault(json.dumps(sub, sort_keys=True, default=repr), sub)
            compact[key] = {str(i): sub for i, sub in enumerate(distinct.values())}
        else:
            compact[key] = compact_schema(value)
    return compact


class FastValidator(BaseJSONSchemaValidator):
    """The SDK's validator behind a compiled fast path (see module docstring).

    The SDK's validator checks the schema against the Draft 2020-12 metaschema when it is built:
    half a second for the detections schema, in every run. Here the schema is checked in its
    compact form (`compact_schema`), and the SDK's validator is built when a record first needs it
    (or when the compact check fails: it then raises the SDK's own `InvalidJSONSchema`).
    """

    def __init__(self, schema: dict[str, t.Any], *, validate_formats: bool = False) -> None:
        super().__init__(schema)
        self.validate_formats = validate_formats
        self._reference: JSONSchemaValidator | None = None
        try:
            DEFAULT_JSONSCHEMA_VALIDATOR.check_schema(compact_schema(schema))
        except jsonschema.SchemaError:
            self._reference = JSONSchemaValidator(schema, validate_formats=validate_formats)  # raises
        self.check = None if validate_formats else compile_check(schema)

    @property
    def reference(self) -> JSONSchemaValidator:
        """The SDK's validator, which decides every record the compiled check cannot vouch for."""
        if self._reference is None:
            self._reference = JSONSchemaValidator(self.schema, validate_formats=self.validate_formats)
        return self._reference

    def validate(self, record: dict) -> None:
        """Return if `record` is valid; raise the SDK's `InvalidRecord` if it is not."""
        check = self.check
        if check is not None and check(record):
            return
        self.reference.validate(record)


class ColumnRules(t.NamedTuple):
    """A schema's constraints as classes per flattened column, for checking a chunk column by column.

    Only for schemas whose every constraint is a `type` (plus `properties`, `required`, and
    `items` that are only a `type`): see `column_rules`. Paths are those of `flatten.flatten_schema`.
    """

    leaves: dict[tuple[str, ...], frozenset[type]]
    """Exact classes a leaf column's value may have (NoneType when null is allowed)."""
    items: dict[tuple[str, ...], frozenset[type]]
    """Exact classes of the elements of a list column whose `items` has a `type`."""
    objects: dict[tuple[str, ...], bool]
    """Flattened objects: True if the object may be null."""
    required: dict[tuple[str, ...], frozenset[str]]
    """Required keys of the record (path ()) and of flattened objects."""


def _type_classes(schema: dict) -> frozenset[type] | None:
    """The exact classes `schema`'s `type` allows; None if it has no (usable) `type`."""
    kind = schema.get("type")
    names = [kind] if isinstance(kind, str) else kind
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n in _TYPES for n in names):
        return None
    return frozenset(c for n in names for c in _TYPES[n])


def column_rules(schema: dict, max_depth: int) -> ColumnRules | None:
    """The `ColumnRules` of `schema` flattened to `max_depth`, or None if it has other constraints.

    Never looser than jsonschema for a record whose fields are all declared and whose flattened
    objects are objects (or null): each column's classes are exact, as in `compile_check`.
    """
    rules = ColumnRules({}, {}, {}, {})
    object_keys = {"type", "properties", "required", "additionalProperties", "format"}

    def walk(node: dict, path: tuple[str, ...]) -> bool:
        # additionalProperties only concerns undeclared fields, which send a record to jsonschema.
        if (node.keys() & _CONSTRAINING) - object_keys:
            return False
        required = node.get("required", [])
        if not isinstance(required, list):
            return False
        if required:
            rules.required[path] = frozenset(required)
        for key, sub in (node.get("properties") or {}).items():
            sub_path = (*path, str(key))
            if not isinstance(sub, dict):
                return False
            if object_properties(sub) and len(path) < max_depth:
                classes = _type_classes(sub)
                if "properties" not in sub or classes is None or dict not in classes:
                    return False  # e.g. anyOf [object, null]: jsonschema decides
                if not classes <= {dict, type(None)}:
                    return False
                rules.objects[sub_path] = type(None) in classes
                if not walk(sub, sub_path):
                    return False
                continue
            if (sub.keys() & _CONSTRAINING) - {"type", "format", "items"}:
                return False
            classes = _type_classes(sub)
            if classes is None:
                return False
            if "items" in sub:
                items = sub["items"]
                if not isinstance(items, dict) or (items.keys() & _CONSTRAINING) - {"type", "format"}:
                    return False
                if items.keys() & _CONSTRAINING:
                    item_classes = _type_classes(items)
                    if item_classes is None:
                        return False
                    rules.items[sub_path] = item_classes
            rules.leaves[sub_path] = classes
        return True

    top = _type_classes(schema)
    if top is not None and dict not in top:
        return None
    return rules if walk(schema, ()) else None

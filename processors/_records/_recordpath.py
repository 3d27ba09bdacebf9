"""NiFi's RecordPath: parse a path once (``RecordPath.compile``), evaluate it against records.

A record is a ``dict`` with a ``RecordSchema`` (see ``_types``). Evaluating a path gives
``FieldValue`` s: the value, its field name and data type, its parent, and the place it lives,
so that ``FieldValue.update_value`` changes the record in place (UpdateRecord, LookupRecord).
A path naming a field the record lacks still gives a ``FieldValue`` (value None) that can be
set: the field is then added to the record, and ``PathEvaluation.schema_updates`` says which
fields were added where, so ``with_added_fields`` can widen the schema, as NiFi's
``incorporateInactiveFields`` does.

The supported syntax (docs/record-path.md):

- ``/a/b`` children, ``/*`` every child, ``//name`` / ``//*`` descendants, ``.`` current,
  ``..`` parent; a child may be quoted: ``/'first name'``;
- filters in ``[...]``: indices ``[0]``, ``[-1]``, ranges ``[0..2]``, lists ``[0, 2..3]``,
  every element ``[*]``, map keys ``['k']`` / ``['k1', 'k2']``, predicates
  ``[./state = 'NY']`` with ``= != < <= > >=``, filter functions ``[isEmpty(./x)]``;
- functions at the root, in arguments and in predicates (``FUNCTIONS``).

``compile`` raises ``ValueError`` naming the path and the position of the problem; evaluation
raises ``ValueError`` (e.g. a date that does not match ``toDate``'s pattern).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flowyard.processors._records._coerce import coerce, to_text
from flowyard.processors._records._infer import infer_type
from flowyard.processors._records._types import DataType, RecordField, RecordFieldType, RecordSchema
from flowyard.runtime.sdk.javaregex import JavaReplacement, compile_java
from flowyard.runtime.sdk.javatime import JavaDateFormat, format_ms, parse_ms

__all__ = ["FUNCTIONS", "FieldValue", "PathEvaluation", "RecordPath", "with_added_fields"]

STRING = RecordFieldType.STRING.data_type()

#: One step of the schema path from the root record to a record: a field name, ``[]`` (an array's
#: element) or ``{}`` (a map's value).
SchemaPath = tuple[str, ...]


# -- values ------------------------------------------------------------------------------------------


def _record_schema(data_type: DataType | None, value: Any) -> RecordSchema | None:
    """The schema of a record value of ``data_type`` (a record choice when it is a choice)."""
    if data_type is not None:
        if data_type.field_type is RecordFieldType.RECORD:
            return data_type.schema
        if data_type.field_type is RecordFieldType.CHOICE:
            for choice in data_type.choices:
                if choice.field_type is RecordFieldType.RECORD:
                    return choice.schema
    return None


def _kind(data_type: DataType | None, value: Any) -> RecordFieldType | None:
    """RECORD, MAP or ARRAY for container values, by type when known, else by the value."""
    if data_type is not None:
        kind = data_type.field_type
        if kind is RecordFieldType.CHOICE:
            for choice in data_type.choices:
                if choice.field_type is RecordFieldType.RECORD and isinstance(value, dict):
                    return RecordFieldType.RECORD
                if choice.field_type is RecordFieldType.MAP and isinstance(value, dict):
                    return RecordFieldType.MAP
                if choice.field_type is RecordFieldType.ARRAY and isinstance(value, (list, tuple)):
                    return RecordFieldType.ARRAY
        elif (kind in (RecordFieldType.RECORD, RecordFieldType.MAP) and isinstance(value, dict)) or (
                kind is RecordFieldType.ARRAY and isinstance(value, (list, tuple))):
            return kind
    if isinstance(value, dict):
        return RecordFieldType.RECORD
    if isinstance(value, list):
        return RecordFieldType.ARRAY
    return None


def _element_type(data_type: DataType | None, kind: RecordFieldType) -> DataType | None:
    if data_type is None:
        return None
    if data_type.field_type is kind:
        return data_type.element
    for choice in data_type.choices:
        if choice.field_type is kind:
            return choice.element
    return None


class _Tracker:
    """Collects the fields added to records during one evaluation."""

    __slots__ = ("added",)

    def __init__(self) -> None:
        self.added: list[tuple[SchemaPath, RecordField]] = []


@dataclass(eq=False)
class FieldValue:
    """One value a path selected. ``name`` is its field's name (an array element and a map
    value carry the name of their array or map), ``data_type`` its type when known.
    ``parent`` is the value it was selected from (for ``..``). ``array_index`` / ``map_key``
    say where an element lives."""

    value: Any
    name: str | None
    data_type: DataType | None
    parent: FieldValue | None
    container: dict[str, Any] | list[Any] | None = None
    key: str | int | None = None
    schema_path: SchemaPath = ()
    record_field: bool = False
    tracker: _Tracker | None = field(default=None, repr=False)
    #: False for a field that neither the record nor its schema has (selected so that it can be added).
    known: bool = True

    @property
    def array_index(self) -> int | None:
        """The index of an array element, else None."""
        return self.key if isinstance(self.container, list) and isinstance(self.key, int) else None

    @property
    def map_key(self) -> str | None:
        """The key of a map value, else None."""
        return self.key if not self.record_field and isinstance(self.container, dict) and isinstance(
            self.key, str) else None

    @property
    def absent(self) -> bool:
        """Whether this is a field that neither the record nor its schema has (selected so that
        it can be added); comparisons ignore it, as NiFi's do."""
        return not self.known and self.value is None

    @property
    def updatable(self) -> bool:
        """Whether ``update_value`` can change the record (values computed by functions cannot)."""
        return self.container is not None

    @property
    def effective_type(self) -> DataType:
        """The data type: the declared one, else inferred from the value, else STRING."""
        if self.data_type is not None:
            return self.data_type
        inferred = infer_type(self.value) if self.value is not None else None
        return inferred or STRING

    def child(self, name: str) -> FieldValue | None:
        """The field ``name`` of this record value (value None when absent, so it can be set),
        or None when this is not a record."""
        return _child(self, name)

    def elements(self) -> list[FieldValue]:
        """The elements of this array value (none when it is not an array)."""
        return _elements(self)

    def parent_record(self) -> dict[str, Any] | None:
        """The record holding this field; for an array element or a map value, the record holding
        the array or map (as NiFi's ``getParentRecord``); None for the root and computed values."""
        if self.record_field:
            return self.container if isinstance(self.container, dict) else None
        if self.container is not None and self.parent is not None:
            return self.parent.parent_record()
        return None

    def update_value(self, new_value: Any, data_type: DataType | None = None) -> None:
        """Set this field to ``new_value`` in its record. A field of the record's schema gets
        ``new_value`` coerced to the field's type (``IllegalTypeConversion`` when it cannot); a
        field the schema lacks is added with ``data_type`` (else the value's inferred type). A
        field of a null record is left alone (there is no record to change). Raises ``ValueError``
        for a value computed by a function and for the root record (they have no place to go)."""
        if self.container is None:
            if self.parent is not None and self.parent.value is None and self.record_field:
                return  # a field of a null record: there is no record to change
            if self.parent is None and self.name is None:
                raise ValueError("the record itself (/) cannot be set to a value; select its fields")
            raise ValueError(f"the value of {self.name or 'a function'!r} was computed by a function or lies "
                             "under a null value, so it cannot be updated")
        target_type = self.data_type
        if self.record_field and not self.known:
            # a field absent from the record and its schema: it joins the schema with the new value's type
            target_type = data_type or (infer_type(new_value) if new_value is not None else None) or STRING
            if self.tracker is not None and isinstance(self.key, str):
                self.tracker.added.append((self.schema_path[:-1], RecordField(self.key, target_type)))
            self.data_type = target_type
            self.known = True
        elif target_type is not None and new_value is not None:
            new_value = coerce(new_value, target_type, name=self.name or "")
        if isinstance(self.container, list):
            assert isinstance(self.key, int)
            self.container[self.key] = new_value
        else:
            assert isinstance(self.key, str)
            self.container[self.key] = new_value
        self.value = new_value


def _computed(value: Any, name: str | None, data_type: DataType | None = None,
              parent: FieldValue | None = None) -> FieldValue:
    return FieldValue(value, name, data_type, parent)


def _children(fv: FieldValue) -> Iterator[FieldValue]:
    """The fields of a record value: the schema's in order, then keys the schema lacks."""
    value = fv.value
    if not isinstance(value, dict) or _kind(fv.data_type, value) is not RecordFieldType.RECORD:
        return
    schema = _record_schema(fv.data_type, value)
    seen: set[str] = set()
    if schema is not None:
        for f in schema.fields:
            seen.add(f.name)
            yield FieldValue(value.get(f.name), f.name, f.data_type, fv, value, f.name, (*fv.schema_path, f.name),
                             True, fv.tracker)
    for name, child in value.items():
        if name not in seen:
            yield FieldValue(child, name, None, fv, value, name, (*fv.schema_path, name), True, fv.tracker)


def _child(fv: FieldValue, name: str) -> FieldValue | None:
    value = fv.value
    if value is None and fv.data_type is not None and _record_schema(fv.data_type, None) is not None:
        schema = _record_schema(fv.data_type, None)
        assert schema is not None
        f = schema.field(name)
        return FieldValue(None, name, f.data_type if f else None, fv, None, name, (*fv.schema_path, name), True,
                          fv.tracker, known=f is not None)
    if not isinstance(value, dict) or _kind(fv.data_type, value) is not RecordFieldType.RECORD:
        return None
    schema = _record_schema(fv.data_type, value)
    f = schema.field(name) if schema is not None else None
    if f is not None and f.name != name and f.name in value:
        name = f.name
    child = value.get(name)
    return FieldValue(child, name, f.data_type if f is not None else None, fv, value, name, (*fv.schema_path, name),
                      True, fv.tracker, known=f is not None or name in value)


def _elements(fv: FieldValue) -> list[FieldValue]:
    value = fv.value
    kind = _kind(fv.data_type, value)
    if kind is RecordFieldType.ARRAY and isinstance(value, list):
        element = _element_type(fv.data_type, RecordFieldType.ARRAY)
        path = (*fv.schema_path, "[]")
        return [FieldValue(v, fv.name, element, fv, value, i, path, False, fv.tracker) for i, v in enumerate(value)]
    if kind is RecordFieldType.ARRAY and isinstance(value, tuple):
        element = _element_type(fv.data_type, RecordFieldType.ARRAY)
        return [_computed(v, fv.name, element, fv) for v in value]
    return []


def _map_values(fv: FieldValue) -> list[FieldValue]:
    value = fv.value
    if isinstance(value, dict) and _kind(fv.data_type, value) is RecordFieldType.MAP:
        element = _element_type(fv.data_type, RecordFieldType.MAP)
        path = (*fv.schema_path, "{}")
        return [FieldValue(v, fv.name, element, fv, value, k, path, False, fv.tracker) for k, v in value.items()]
    return []


def _descendants(fv: FieldValue) -> Iterator[FieldValue]:
    for child in _children(fv):
        yield child
        yield from _descendants(child)
        for element in _elements(child):
            yield from _descendants(element)


# -- the evaluated tree --------------------------------------------------------------------------------


class _Ctx:
    __slots__ = ("root",)

    def __init__(self, root: FieldValue) -> None:
        self.root = root


class _Node:
    """An expression: yields field values for a context value."""

    def values(self, ctx: _Ctx, current: FieldValue) -> Iterator[FieldValue]:
        raise NotImplementedError


class _Path(_Node):
    """A start (root, current, or an expression) and steps."""

    def __init__(self, start: str | _Node, steps: list[Callable[[_Ctx, FieldValue], Iterator[FieldValue]]]) -> None:
        self.start = start
        self.steps = steps

    def values(self, ctx: _Ctx, current: FieldValue) -> Iterator[FieldValue]:
        if self.start == "/":
            items: Iterator[FieldValue] = iter((ctx.root,))
        elif self.start == ".":
            items = iter((current,))
        else:
            assert isinstance(self.start, _Node)
            items = self.start.values(ctx, current)
        for step in self.steps:
            items = _apply(step, ctx, items)
        return items


def _apply(step: Callable[[_Ctx, FieldValue], Iterator[FieldValue]], ctx: _Ctx,
           items: Iterator[FieldValue]) -> Iterator[FieldValue]:
    for item in items:
        yield from step(ctx, item)


class _Literal(_Node):
    def __init__(self, value: Any) -> None:
        self.value = value

    def values(self, ctx: _Ctx, current: FieldValue) -> Iterator[FieldValue]:
        yield _computed(self.value, None, STRING if isinstance(self.value, str) else None)


def _child_step(name: str) -> Callable[[_Ctx, FieldValue], Iterator[FieldValue]]:
    def step(ctx: _Ctx, fv: FieldValue) -> Iterator[FieldValue]:
        child = _child(fv, name)
        if child is not None:
            yield child
    return step


def _wildcard_step(ctx: _Ctx, fv: FieldValue) -> Iterator[FieldValue]:
    yield from _children(fv)


def _descendant_step(name: str | None) -> Callable[[_Ctx, FieldValue], Iterator[FieldValue]]:
    def step(ctx: _Ctx, fv: FieldValue) -> Iterator[FieldValue]:
        for d in _descendants(fv):
            if name is None or d.name == name:
                yield d
    return step


def _parent_step(ctx: _Ctx, fv: FieldValue) -> Iterator[FieldValue]:
    parent = fv.parent
    # an array element's or map value's parent is the array or map field; ``..`` goes to its record
    if parent is not None and not fv.record_field and fv.container is not None and parent.value is fv.container:
        parent = parent.parent
    if parent is not None:
        yield parent


def _current_step(ctx: _Ctx, fv: FieldValue) -> Iterator[FieldValue]:
    yield fv


def _index_step(selectors: list[tuple[int, int | None]]) -> Callable[[_Ctx, FieldValue], Iterator[FieldValue]]:
    """``(i, None)`` one index, ``(a, b)`` an inclusive range; negative counts from the end."""
    def step(ctx: _Ctx, fv: FieldValue) -> Iterator[FieldValue]:
        elements = _elements(fv)
        n = len(elements)
        for start, end in selectors:
            if end is None:
                index = start + n if start < 0 else start
                if 0 <= index < n:
                    yield elements[index]
            else:
                a = start + n if start < 0 else start
                b = end + n if end < 0 else end
                for index in range(max(a, 0), min(b, n - 1) + 1):
                    yield elements[index]
    return step


def _all_elements_step(ctx: _Ctx, fv: FieldValue) -> Iterator[FieldValue]:
    yield from _elements(fv)
    yield from _map_values(fv)


def _map_key_step(keys: list[str]) -> Callable[[_Ctx, FieldValue], Iterator[FieldValue]]:
    def step(ctx: _Ctx, fv: FieldValue) -> Iterator[FieldValue]:
        value = fv.value
        if not isinstance(value, dict) or _kind(fv.data_type, value) is not RecordFieldType.MAP:
            return
        element = _element_type(fv.data_type, RecordFieldType.MAP)
        for key in keys:
            yield FieldValue(value.get(key), fv.name, element, fv, value, key, (*fv.schema_path, "{}"), False,
                             fv.tracker)
    return step


def _predicate_step(condition: _Condition) -> Callable[[_Ctx, FieldValue], Iterator[FieldValue]]:
    def step(ctx: _Ctx, fv: FieldValue) -> Iterator[FieldValue]:
        if condition.test(ctx, fv):
            yield fv
    return step


# -- conditions ------------------------------------------------------------------------------------------


class _Condition:
    def test(self, ctx: _Ctx, current: FieldValue) -> bool:
        raise NotImplementedError


def _number(value: Any) -> float | Decimal | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return Decimal(text) if text and text.lower() not in ("nan", "inf", "-inf", "infinity") else None
        except InvalidOperation:
            return None
    return None


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    ln, rn = _number(left), _number(right)
    if ln is not None and rn is not None and (not isinstance(left, str) or not isinstance(right, str)):
        return Decimal(str(ln)) == Decimal(str(rn))
    if isinstance(left, bool) or isinstance(right, bool):
        return to_text(left).lower() == to_text(right).lower()
    if type(left) is type(right) and not isinstance(left, (date, time)):
        return bool(left == right)
    return to_text(left) == to_text(right)


class _Comparison(_Condition):
    def __init__(self, left: _Node, op: str, right: _Node) -> None:
        self.left, self.op, self.right = left, op, right

    def test(self, ctx: _Ctx, current: FieldValue) -> bool:
        rights = [r.value for r in self.right.values(ctx, current) if not r.absent]
        for left in self.left.values(ctx, current):
            if left.absent:
                continue
            for right in rights:
                if self._holds(left.value, right):
                    return True
        return False

    def _holds(self, left: Any, right: Any) -> bool:
        if self.op == "=":
            return _equal(left, right)
        if self.op == "!=":
            return not _equal(left, right)
        ln, rn = _number(left), _number(right)
        if ln is None or rn is None:
            return False
        a, b = Decimal(str(ln)), Decimal(str(rn))
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[self.op]


class _FilterCall(_Condition):
    def __init__(self, name: str, args: list[_Node], fn: Callable[..., bool]) -> None:
        self.name, self.args, self.fn = name, args, fn

    def test(self, ctx: _Ctx, current: FieldValue) -> bool:
        return bool(self.fn(ctx, current, self.args))


class _Not(_Condition):
    def __init__(self, inner: _Condition) -> None:
        self.inner = inner

    def test(self, ctx: _Ctx, current: FieldValue) -> bool:
        return not self.inner.test(ctx, current)


class _ConditionNode(_Node):
    """A condition used as a value (a filter function at the root): a boolean."""

    def __init__(self, condition: _Condition, name: str) -> None:
        self.condition, self.name = condition, name

    def values(self, ctx: _Ctx, current: FieldValue) -> Iterator[FieldValue]:
        yield _computed(self.condition.test(ctx, current), self.name, RecordFieldType.BOOLEAN.data_type())


# -- functions ---------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else to_text(value)


def _one(node: _Node, ctx: _Ctx, current: FieldValue, what: str) -> Any:
    """The value of an argument such as a pattern or a length: its first value (None when it
    selects nothing), as NiFi takes it."""
    for fv in node.values(ctx, current):
        return fv.value
    return None


def _string_fn(transform: Callable[..., Any], *arg_names: str, null_as_empty: bool = False) -> Callable[
        [_Ctx, FieldValue, list[_Node]], Iterator[FieldValue]]:
    """A function applying ``transform(text, *args)`` to each value of its first argument; a null
    gives nothing (or the empty text with ``null_as_empty``, as NiFi's case functions do)."""
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
        extra = [_one(a, ctx, current, name) for a, name in zip(args[1:], arg_names, strict=False)]
        for fv in args[0].values(ctx, current):
            if fv.value is None:
                if null_as_empty:
                    yield _computed("", fv.name, STRING, fv.parent)
            else:
                yield _computed(transform(_text(fv.value), *extra), fv.name, STRING, fv.parent)
    return fn


def _java_substring(text: str, start: Any, end: Any) -> str:
    """NiFi's substring: a negative index counts from the end, -1 being the length."""
    try:
        s, e = _integer(start), _integer(end)
    except (TypeError, ValueError):
        return ""
    n = len(text)
    s = n + 1 + s if s < 0 else s
    e = n + 1 + e if e < 0 else e
    if e <= s or s < 0 or s > n:
        return ""
    return text[s:min(e, n)]


def _integer(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        raise TypeError("not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return int(str(value).strip())


def _before(text: str, search: Any) -> str:
    i = text.find(_text(search))
    return text if i < 0 or not _text(search) else text[:i]


def _before_last(text: str, search: Any) -> str:
    i = text.rfind(_text(search))
    return text if i < 0 or not _text(search) else text[:i]


def _after(text: str, search: Any) -> str:
    s = _text(search)
    i = text.find(s)
    return text if i < 0 or not s else text[i + len(s):]


def _after_last(text: str, search: Any) -> str:
    s = _text(search)
    i = text.rfind(s)
    return text if i < 0 or not s else text[i + len(s):]


def _replace_regex(text: str, regex: Any, replacement: Any) -> str:
    pattern = compile_java(_text(regex))
    replaced: str = pattern.regex.sub(JavaReplacement(_text(replacement), pattern).as_function(), text)
    return replaced


def _pad(left: bool) -> Callable[[_Ctx, FieldValue, list[_Node]], Iterator[FieldValue]]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
        try:
            size = _integer(_one(args[1], ctx, current, "the desired length"))
        except (TypeError, ValueError):
            raise ValueError("the desired length of padLeft/padRight must be an integer") from None
        pad = _text(_one(args[2], ctx, current, "the padding")) if len(args) > 2 else "_"
        for fv in args[0].values(ctx, current):
            if fv.value is None:
                yield _computed(None, fv.name, STRING, fv.parent)
                continue
            text = _text(fv.value)
            missing = size - len(text)
            if missing <= 0 or not pad:
                yield _computed(text, fv.name, STRING, fv.parent)
                continue
            padding = (pad * (missing // len(pad) + 1))[:missing]
            yield _computed(padding + text if left else text + padding, fv.name, STRING, fv.parent)
    return fn


def _concat(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    parts = [_text(fv.value) for a in args for fv in a.values(ctx, current) if fv.value is not None]
    yield _computed("".join(parts), "concat", STRING)


def _join(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    delimiter = _text(_one(args[0], ctx, current, "the delimiter"))
    parts: list[str] = []
    for a in args[1:]:
        for fv in a.values(ctx, current):
            if isinstance(fv.value, (list, tuple)):
                parts.extend(_text(v) for v in fv.value if v is not None)
            elif fv.value is not None:
                parts.append(_text(fv.value))
    yield _computed(delimiter.join(parts), "join", STRING)


def _field_name(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for fv in args[0].values(ctx, current):
        yield _computed(fv.name, "fieldName", STRING, fv.parent)


def _count(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    yield _computed(sum(1 for _ in args[0].values(ctx, current)), "count", RecordFieldType.LONG.data_type())


def _coalesce(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for a in args:
        for fv in a.values(ctx, current):
            if fv.value is not None:
                yield fv
                return


def _replace_null(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for fv in args[0].values(ctx, current):
        if fv.value is not None:
            yield fv
            continue
        replacement = next(iter(args[1].values(ctx, fv)), None)
        yield _computed(None if replacement is None else replacement.value, fv.name,
                        replacement.data_type if replacement is not None else None, fv.parent)


def _uuid(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    yield _computed(str(uuid.uuid4()), "uuid", STRING)


def _uuid5(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    namespace_text = _one(args[1], ctx, current, "the namespace") if len(args) > 1 else None
    try:
        namespace = uuid.UUID(int=0) if namespace_text is None else uuid.UUID(_text(namespace_text))
    except ValueError:
        raise ValueError(f"uuid5: the namespace {_text(namespace_text)!r} is not a UUID") from None
    for fv in args[0].values(ctx, current):
        if fv.value is not None:
            yield _computed(str(uuid.uuid5(namespace, _text(fv.value))), fv.name, STRING, fv.parent)


def _java_json(value: Any) -> Any:
    if isinstance(value, (datetime, date, time, Decimal, uuid.UUID)):
        return to_text(value)
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, dict):
        return {k: _java_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_java_json(v) for v in value]
    return value


def _escape_json(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for fv in args[0].values(ctx, current):
        text = json.dumps(_java_json(fv.value), ensure_ascii=False, separators=(",", ":"))
        yield _computed(text, fv.name, STRING, fv.parent)


def _unescape_json(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for fv in args[0].values(ctx, current):
        if fv.value is None:
            yield _computed(None, fv.name, None, fv.parent)
            continue
        if not isinstance(fv.value, str):
            raise ValueError(f"unescapeJson needs text; the field {fv.name!r} holds {type(fv.value).__name__}")
        try:
            parsed = json.loads(fv.value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"unescapeJson: the field {fv.name!r} is not JSON: {exc}") from None
        yield _computed(parsed, fv.name, infer_type(parsed) if parsed is not None else None, fv.parent)


_HASHES = {"MD2": None, "MD5": "md5", "SHA": "sha1", "SHA-1": "sha1", "SHA-224": "sha224", "SHA-256": "sha256",
           "SHA-384": "sha384", "SHA-512": "sha512", "SHA-512/224": "sha512_224", "SHA-512/256": "sha512_256",
           "SHA3-224": "sha3_224", "SHA3-256": "sha3_256", "SHA3-384": "sha3_384", "SHA3-512": "sha3_512"}


def _hash(text: str, algorithm: Any) -> str:
    name = _HASHES.get(_text(algorithm).upper())
    if name is None:
        raise ValueError(f"hash: unsupported algorithm {_text(algorithm)!r}; "
                         f"use one of {', '.join(k for k, v in _HASHES.items() if v)}")
    return hashlib.new(name, text.encode("utf-8")).hexdigest()


def _base64(encode: bool) -> Callable[[_Ctx, FieldValue, list[_Node]], Iterator[FieldValue]]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
        for fv in args[0].values(ctx, current):
            value = fv.value
            if value is None:
                yield _computed(None, fv.name, fv.data_type, fv.parent)
                continue
            raw = bytes(value) if isinstance(value, (bytes, bytearray)) else _text(value).encode("utf-8")
            try:
                out = base64.b64encode(raw) if encode else base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"base64Decode: the field {fv.name!r} is not Base64") from None
            if isinstance(value, (bytes, bytearray)):
                yield _computed(out, fv.name, DataType.array(RecordFieldType.BYTE.data_type()), fv.parent)
            else:
                yield _computed(out.decode("utf-8", "replace"), fv.name, STRING, fv.parent)
    return fn


def _to_string(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    charset = _text(_one(args[1], ctx, current, "the character set"))
    for fv in args[0].values(ctx, current):
        value = fv.value
        if isinstance(value, (bytes, bytearray)):
            text: str | None = bytes(value).decode(_codec(charset), "replace")
        elif isinstance(value, list) and all(isinstance(v, int) for v in value):
            text = bytes(v & 0xFF for v in value).decode(_codec(charset), "replace")
        else:
            text = None if value is None else _text(value)
        yield _computed(text, fv.name, STRING, fv.parent)


def _to_bytes(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    charset = _text(_one(args[1], ctx, current, "the character set"))
    for fv in args[0].values(ctx, current):
        value = fv.value
        if value is None:
            yield _computed(None, fv.name, None, fv.parent)
            continue
        if not isinstance(value, str):
            raise ValueError(f"toBytes needs text; the field {fv.name!r} holds {type(value).__name__}")
        yield _computed(value.encode(_codec(charset)), fv.name, DataType.array(RecordFieldType.BYTE.data_type()),
                        fv.parent)


def _codec(charset: str) -> str:
    import codecs
    try:
        return codecs.lookup(charset).name
    except LookupError:
        raise ValueError(f"unknown character set {charset!r}") from None


_TIMESTAMP = RecordFieldType.TIMESTAMP.data_type()


def _to_date(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    pattern = _text(_one(args[1], ctx, current, "the date format")) if len(args) > 1 else None
    zone = _text(_one(args[2], ctx, current, "the time zone")) if len(args) > 2 else None
    for fv in args[0].values(ctx, current):
        value = fv.value
        if value is None:
            continue
        if not isinstance(value, str) or not pattern:
            yield fv
            continue
        try:
            if zone:
                ms = parse_ms(value, pattern, zone)
                if ms is None:
                    raise ValueError(value)
                parsed = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
            else:
                parsed = JavaDateFormat(pattern).parse(value)
        except (ValueError, OverflowError):
            yield fv  # as NiFi: a value that does not match stays as it is
            continue
        yield _computed(parsed, fv.name, _TIMESTAMP, fv.parent)


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int((value - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))
    if isinstance(value, date):
        return _epoch_ms(datetime(value.year, value.month, value.day))
    if isinstance(value, time):
        return _epoch_ms(datetime.combine(date(1970, 1, 1), value))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _format(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    pattern = _text(_one(args[1], ctx, current, "the date format"))
    zone = _text(_one(args[2], ctx, current, "the time zone")) if len(args) > 2 else None
    for fv in args[0].values(ctx, current):
        value = fv.value
        ms = _epoch_ms(value)
        if ms is None:
            yield fv
            continue
        try:
            if not zone and isinstance(value, (datetime, date, time)):
                text = JavaDateFormat(pattern).format(value)
            else:
                text = format_ms(ms, pattern, zone or "UTC")
        except (ValueError, OverflowError):
            yield fv  # as NiFi: an invalid pattern or zone leaves the value as it is
            continue
        yield _computed(text, fv.name, STRING, fv.parent)


def _anchored(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for anchor in args[0].values(ctx, current):
        yield from args[1].values(_Ctx(anchor), anchor)


def _pairs(name: str) -> Callable[[_Ctx, FieldValue, list[_Node]], Iterator[FieldValue]]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
        if len(args) % 2:
            raise ValueError(f"{name} takes pairs of a name and a value; found {len(args)} arguments")
        out: dict[str, Any] = {}
        fields: list[RecordField] = []
        for key_node, value_node in zip(args[::2], args[1::2], strict=True):
            key = _text(_one(key_node, ctx, current, f"a {name} key"))
            values = list(value_node.values(ctx, current))
            value = values[0].value if values else None
            if name == "mapOf":
                out[key] = None if value is None else _text(value)
            else:
                out[key] = value
                fields.append(RecordField(key, values[0].effective_type if values else STRING))
        data_type = DataType.map(STRING) if name == "mapOf" else DataType.record(RecordSchema(tuple(fields)))
        yield _computed(out, name, data_type)
    return fn


def _array_of(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    values = [fv for a in args for fv in a.values(ctx, current)]
    types = {fv.effective_type for fv in values if fv.value is not None}
    element = DataType.choice(list(types)) if types else STRING
    yield _computed([fv.value for fv in values], "arrayOf", DataType.array(element))


# filter functions: (ctx, current, args) → bool, true when any value of the first argument passes
def _text_filter(test: Callable[[str, str], bool]) -> Callable[[_Ctx, FieldValue, list[_Node]], bool]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> bool:
        needle = _text(_one(args[1], ctx, current, "the search text"))
        return any(fv.value is not None and test(_text(fv.value), needle) for fv in args[0].values(ctx, current))
    return fn


def _regex_filter(full: bool) -> Callable[[_Ctx, FieldValue, list[_Node]], bool]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> bool:
        regex = compile_java(_text(_one(args[1], ctx, current, "the regular expression"))).regex
        for fv in args[0].values(ctx, current):
            if fv.value is None:
                continue
            text = _text(fv.value)
            if (regex.fullmatch(text) if full else regex.search(text)) is not None:
                return True
        return False
    return fn


def _is_empty(blank: bool) -> Callable[[_Ctx, FieldValue, list[_Node]], bool]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> bool:
        values = list(args[0].values(ctx, current))
        if not values:
            return True
        return any(fv.value is None or (_text(fv.value).strip() if blank else _text(fv.value)) == ""
                   for fv in values)
    return fn


@dataclass(frozen=True)
class _Function:
    min_args: int
    max_args: int | None
    value: Callable[[_Ctx, FieldValue, list[_Node]], Iterator[FieldValue]] | None = None
    condition: Callable[[_Ctx, FieldValue, list[_Node]], bool] | None = None


#: The functions, by name: how many arguments they take and what they do.
FUNCTIONS: dict[str, _Function] = {
    "substring": _Function(3, 3, _string_fn(_java_substring, "the start index", "the end index")),
    "substringBefore": _Function(2, 2, _string_fn(_before, "the search text")),
    "substringBeforeLast": _Function(2, 2, _string_fn(_before_last, "the search text")),
    "substringAfter": _Function(2, 2, _string_fn(_after, "the search text")),
    "substringAfterLast": _Function(2, 2, _string_fn(_after_last, "the search text")),
    "replace": _Function(3, 3, _string_fn(lambda t, s, r: t.replace(_text(s), _text(r)) if _text(s) else t,
                                          "the search text", "the replacement")),
    "replaceRegex": _Function(3, 3, _string_fn(_replace_regex, "the regular expression", "the replacement")),
    "replaceNull": _Function(2, 2, _replace_null),
    "concat": _Function(1, None, _concat),
    "join": _Function(2, None, _join),
    "toUpperCase": _Function(1, 1, _string_fn(str.upper, null_as_empty=True)),
    "toLowerCase": _Function(1, 1, _string_fn(str.lower, null_as_empty=True)),
    "trim": _Function(1, 1, _string_fn(str.strip, null_as_empty=True)),
    "padLeft": _Function(2, 3, _pad(True)),
    "padRight": _Function(2, 3, _pad(False)),
    "fieldName": _Function(1, 1, _field_name),
    "count": _Function(1, 1, _count),
    "coalesce": _Function(1, None, _coalesce),
    "uuid": _Function(0, 0, _uuid),
    "uuid5": _Function(1, 2, _uuid5),
    "escapeJson": _Function(1, 1, _escape_json),
    "unescapeJson": _Function(1, 3, _unescape_json),
    "hash": _Function(2, 2, _string_fn(_hash, "the algorithm")),
    "base64Encode": _Function(1, 1, _base64(True)),
    "base64Decode": _Function(1, 1, _base64(False)),
    "toString": _Function(2, 2, _to_string),
    "toBytes": _Function(2, 2, _to_bytes),
    "toDate": _Function(2, 3, _to_date),
    "format": _Function(2, 3, _format),
    "anchored": _Function(2, 2, _anchored),
    "mapOf": _Function(0, None, _pairs("mapOf")),
    "recordOf": _Function(0, None, _pairs("recordOf")),
    "arrayOf": _Function(0, None, _array_of),
    "contains": _Function(2, 2, condition=_text_filter(lambda t, n: n in t)),
    "startsWith": _Function(2, 2, condition=_text_filter(str.startswith)),
    "endsWith": _Function(2, 2, condition=_text_filter(str.endswith)),
    "matchesRegex": _Function(2, 2, condition=_regex_filter(True)),
    "containsRegex": _Function(2, 2, condition=_regex_filter(False)),
    "isEmpty": _Function(1, 1, condition=_is_empty(False)),
    "isBlank": _Function(1, 1, condition=_is_empty(True)),
    "not": _Function(1, 1),
}


class _ValueCall(_Node):
    def __init__(self, name: str, args: list[_Node], fn: Callable[[_Ctx, FieldValue, list[_Node]],
                                                                   Iterator[FieldValue]]) -> None:
        self.name, self.args, self.fn = name, args, fn

    def values(self, ctx: _Ctx, current: FieldValue) -> Iterator[FieldValue]:
        return self.fn(ctx, current, self.args)


# -- parser --------------------------------------------------------------------------------------------------

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-$@#:")
_OPERATORS = ("<=", ">=", "!=", "=", "<", ">")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str, pos: int | None = None) -> ValueError:
        where = self.pos if pos is None else pos
        return ValueError(f"invalid RecordPath {self.text!r} at position {where}: {why}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, token: str) -> bool:
        self.skip()
        return self.text.startswith(token, self.pos)

    def take(self, token: str) -> bool:
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str, what: str) -> None:
        if not self.take(token):
            found = self.text[self.pos:self.pos + 10] or "the end"
            raise self.fail(f"expected {what} ({token!r}), found {found!r}")

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    # expressions ----------------------------------------------------------------------
    def parse(self) -> _Node:
        if self.at_end():
            raise self.fail("the path is empty")
        node = self.expression(top=True)
        self.skip()
        for op in _OPERATORS:  # a comparison as the whole path: a boolean (NiFi's "predicate as path")
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                node = _ConditionNode(_Comparison(node, op, self.expression()), "predicate")
                break
        if not self.at_end():
            raise self.fail(f"unexpected {self.text[self.pos:self.pos + 10]!r}")
        return node

    def expression(self, top: bool = False) -> _Node:
        self.skip()
        if self.peek("/"):
            return self.path("/")
        if self.peek("."):
            if self.text.startswith("..", self.pos):
                return self.path(".", first=_parent_step, skip=2)
            return self.path(".", first=None, skip=1)
        if self.peek("'") or self.peek('"'):
            if top:
                raise self.fail("a RecordPath must start with '/', '.', '..' or a function")
            return _Literal(self.string())
        start = self.pos
        if self.pos < len(self.text) and (self.text[self.pos].isdigit() or self.text[self.pos] == "-"):
            if top:
                raise self.fail("a RecordPath must start with '/', '.', '..' or a function")
            return _Literal(self.integer())
        name = self.name()
        if not name:
            raise self.fail("expected a path, a function or a literal")
        if not self.take("("):
            if not top and name in ("true", "false"):
                return _Literal(name == "true")
            raise self.fail(f"expected '(' after the function name {name!r}", start)
        node = self.call(name, start)
        return _Path(node, self.steps()) if self.peek("/") or self.peek("[") else node

    def call(self, name: str, start: int) -> _Node:
        fn = FUNCTIONS.get(name)
        if fn is None:
            raise self.fail(f"unknown function {name!r}", start)
        args: list[_Node] = []
        condition_arg: _Condition | None = None
        if not self.take(")"):
            while True:
                if name == "not":
                    condition_arg = self.condition()
                else:
                    args.append(self.expression())
                if self.take(")"):
                    break
                self.expect(",", "',' or ')'")
        count = 1 if condition_arg is not None else len(args)
        if count < fn.min_args or (fn.max_args is not None and count > fn.max_args):
            wanted = (str(fn.min_args) if fn.min_args == fn.max_args else
                      f"{fn.min_args} or more" if fn.max_args is None else f"{fn.min_args} to {fn.max_args}")
            raise self.fail(f"the function {name!r} takes {wanted} arguments; found {count}", start)
        if name == "not":
            assert condition_arg is not None
            return _ConditionNode(_Not(condition_arg), name)
        if fn.condition is not None:
            return _ConditionNode(_FilterCall(name, args, fn.condition), name)
        assert fn.value is not None
        return _ValueCall(name, args, fn.value)

    def path(self, start: str, first: Callable[[_Ctx, FieldValue], Iterator[FieldValue]] | None = None,
             skip: int = 0) -> _Path:
        self.pos += skip
        steps: list[Callable[[_Ctx, FieldValue], Iterator[FieldValue]]] = []
        if first is not None:
            steps.append(first)
        if start == "/" and (self.at_end() or not self.text.startswith("/", self.pos)):
            raise self.fail("expected '/'")
        if start == "/" and self.text.startswith("/", self.pos) and self._bare_root():
            self.pos += 1
            return _Path("/", steps)
        steps.extend(self.steps())
        return _Path(start, steps)

    def _bare_root(self) -> bool:
        """``/`` alone: the root record itself."""
        rest = self.text[self.pos + 1:].lstrip()
        return not rest or rest[0] in "]),=!<>"

    def steps(self) -> list[Callable[[_Ctx, FieldValue], Iterator[FieldValue]]]:
        steps: list[Callable[[_Ctx, FieldValue], Iterator[FieldValue]]] = []
        while True:
            self.skip()
            if self.text.startswith("//", self.pos):
                self.pos += 2
                name = self.segment_name(allow_star=True)
                steps.append(_descendant_step(None if name == "*" else name))
            elif self.text.startswith("/", self.pos):
                self.pos += 1
                if self.text.startswith("..", self.pos):
                    self.pos += 2
                    steps.append(_parent_step)
                elif self.text.startswith(".", self.pos):
                    self.pos += 1
                    steps.append(_current_step)
                else:
                    name = self.segment_name(allow_star=True)
                    steps.append(_wildcard_step if name == "*" else _child_step(name))
            elif self.text.startswith("[", self.pos):
                steps.extend(self.filters())
            else:
                return steps

    def segment_name(self, allow_star: bool) -> str:
        self.skip()
        if allow_star and self.take("*"):
            return "*"
        if self.peek("'") or self.peek('"'):
            return self.string()
        start = self.pos
        name = self.name()
        if not name:
            found = self.text[start:start + 10] or "the end"
            raise self.fail(f"expected a field name, found {found!r}", start)
        return name

    def name(self) -> str:
        self.skip()
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos] in _NAME_CHARS or self.text[self.pos].isalnum()):
            self.pos += 1
        return self.text[start:self.pos]

    def string(self) -> str:
        quote = self.text[self.pos]
        start = self.pos
        self.pos += 1
        out: list[str] = []
        escapes = {"n": "\n", "t": "\t", "r": "\r", "'": "'", '"': '"'}
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                out.append(escapes.get(nxt, "\\" + nxt))
                self.pos += 2
                continue
            if c == quote:
                self.pos += 1
                return "".join(out)
            out.append(c)
            self.pos += 1
        raise self.fail("the string literal is not closed", start)

    def integer(self) -> int:
        self.skip()
        start = self.pos
        if self.pos < len(self.text) and self.text[self.pos] == "-":
            self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos].isdigit():
            self.pos += 1
        if self.pos < len(self.text) and self.text[self.pos] == "." and self.text[self.pos + 1:self.pos + 2].isdigit():
            raise self.fail("decimal numbers are not supported in a RecordPath; quote the value", start)
        digits = self.text[start:self.pos]
        if digits in ("", "-"):
            raise self.fail("expected a number", start)
        return int(digits)

    # filters -----------------------------------------------------------------------------
    def filters(self) -> list[Callable[[_Ctx, FieldValue], Iterator[FieldValue]]]:
        steps: list[Callable[[_Ctx, FieldValue], Iterator[FieldValue]]] = []
        while self.take("["):
            start = self.pos
            self.skip()
            if self.take("*"):
                steps.append(_all_elements_step)
            elif self.peek("'") or self.peek('"'):
                keys = [self.string()]
                while self.take(","):
                    self.skip()
                    if not (self.peek("'") or self.peek('"')):
                        raise self.fail("expected a quoted map key")
                    keys.append(self.string())
                steps.append(_map_key_step(keys))
            elif self.pos < len(self.text) and (self.text[self.pos].isdigit() or self.text[self.pos] == "-"):
                steps.append(_index_step(self.indices()))
            else:
                steps.append(_predicate_step(self.condition()))
            if not self.take("]"):
                found = self.text[self.pos:self.pos + 10] or "the end"
                raise self.fail(f"expected ']' to close the filter opened at position {start - 1}, "
                                f"found {found!r}")
        return steps

    def indices(self) -> list[tuple[int, int | None]]:
        selectors: list[tuple[int, int | None]] = []
        while True:
            first = self.integer()
            if self.take(".."):
                selectors.append((first, self.integer()))
            else:
                selectors.append((first, None))
            if not self.take(","):
                return selectors

    def condition(self) -> _Condition:
        self.skip()
        start = self.pos
        left = self.expression()
        self.skip()
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                right = self.expression()
                return _Comparison(left, op, right)
        if isinstance(left, _ConditionNode):
            return left.condition
        raise self.fail("a filter must be a comparison (=, !=, <, <=, >, >=) or a filter function such as "
                        "contains(), isEmpty() or not()", start)


def _absolute(node: _Node) -> bool:
    if isinstance(node, _Path):
        return node.start == "/" or (isinstance(node.start, _Node) and _absolute(node.start))
    if isinstance(node, _ValueCall):
        return all(_absolute(a) for a in node.args)
    if isinstance(node, _ConditionNode):
        return _absolute_condition(node.condition)
    return True


def _absolute_condition(condition: _Condition) -> bool:
    if isinstance(condition, _Comparison):
        return _absolute(condition.left) and _absolute(condition.right)
    if isinstance(condition, _FilterCall):
        return all(_absolute(a) for a in condition.args)
    if isinstance(condition, _Not):
        return _absolute_condition(condition.inner)
    return True


@dataclass
class PathEvaluation:
    """The values one evaluation selected, and the fields that updating them added."""

    fields: list[FieldValue]
    tracker: _Tracker

    @property
    def schema_updates(self) -> list[tuple[SchemaPath, RecordField]]:
        """(where, field) for every field added to a record by ``update_value``."""
        return list(self.tracker.added)


class RecordPath:
    """A compiled RecordPath. ``compile`` (cached) raises ``ValueError`` naming the path and the
    position of the first problem."""

    __slots__ = ("_node", "is_absolute", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            self._node = _Parser(text).parse()
        except RecursionError:
            raise ValueError(f"invalid RecordPath {text[:100]!r}: it is nested too deeply") from None
        #: Whether the path starts from the root (``/...``, or a function of absolute paths and
        #: literals), so that its result does not depend on the context value.
        self.is_absolute = _absolute(self._node)

    @staticmethod
    @functools.lru_cache(maxsize=512)
    def compile(text: str) -> RecordPath:
        """The compiled ``text``."""
        return RecordPath(text)

    def evaluate(self, record: dict[str, Any], schema: RecordSchema | None = None,
                 context: FieldValue | None = None, root: FieldValue | None = None) -> PathEvaluation:
        """The field values this path selects in ``record`` (of ``schema``; inferred when None).
        ``context`` is the value relative paths start from (default: the record). ``root``, a
        record value selected earlier (e.g. by a Root Record Path), makes the path start there
        instead of ``record``: the schema changes are then reported from ``record``'s root and
        collected with those of the evaluation that selected ``root``."""
        if root is not None:
            tracker = root.tracker or _Tracker()
            root.tracker = tracker
        else:
            tracker = _Tracker()
            data_type = DataType.record(schema) if schema is not None else None
            root = FieldValue(record, None, data_type, None, tracker=tracker)
        try:
            fields = list(self._node.values(_Ctx(root), context or root))
        except RecursionError:
            raise ValueError(f"the record is nested too deeply to evaluate {self.text!r}") from None
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValueError(f"RecordPath {self.text!r}: {exc}") from None
        for fv in fields:
            fv.tracker = tracker
        return PathEvaluation(fields, tracker)

    def values(self, record: dict[str, Any], schema: RecordSchema | None = None) -> list[Any]:
        """Just the values selected."""
        return [fv.value for fv in self.evaluate(record, schema).fields]

    def __repr__(self) -> str:
        return f"RecordPath({self.text!r})"


def _with_field(data_type: DataType, path: Sequence[str], new: RecordField) -> DataType:
    kind = data_type.field_type
    if kind is RecordFieldType.CHOICE:
        return DataType.choice([_with_field(c, path, new) if c.field_type in (
            RecordFieldType.RECORD, RecordFieldType.ARRAY, RecordFieldType.MAP) else c for c in data_type.choices])
    if kind is RecordFieldType.RECORD and data_type.schema is not None and path and path[0] not in ("[]", "{}"):
        return DataType.record(_widen(data_type.schema, [(tuple(path), new)]))
    if kind is RecordFieldType.RECORD and data_type.schema is not None and not path:
        return DataType.record(_widen(data_type.schema, [((), new)]))
    if kind is RecordFieldType.ARRAY and path and path[0] == "[]" and data_type.element is not None:
        return DataType.array(_with_field(data_type.element, path[1:], new))
    if kind is RecordFieldType.MAP and path and path[0] == "{}" and data_type.element is not None:
        return DataType.map(_with_field(data_type.element, path[1:], new))
    return data_type


_WIDENED: dict[tuple[int, tuple[tuple[SchemaPath, RecordField], ...]], tuple[RecordSchema, RecordSchema]] = {}
_WIDENED_MAX = 512


def with_added_fields(schema: RecordSchema, updates: Sequence[tuple[SchemaPath, RecordField]]) -> RecordSchema:
    """``schema`` with each ``(where, field)`` added (a field already there is kept). Results
    are remembered: every record of a flowfile usually adds the same fields to the same schema."""
    if not updates:
        return schema
    try:
        key = (id(schema), tuple(updates))
        known = _WIDENED.get(key)
    except TypeError:  # a field default that cannot be hashed
        return _widen(schema, updates)
    if known is not None and known[0] is schema:
        return known[1]
    widened = _widen(schema, updates)
    if len(_WIDENED) >= _WIDENED_MAX:
        _WIDENED.clear()
    _WIDENED[key] = (schema, widened)
    return widened


def _widen(schema: RecordSchema, updates: Sequence[tuple[SchemaPath, RecordField]]) -> RecordSchema:
    fields = list(schema.fields)
    changed = False
    for where, new in updates:
        if not where:
            if schema.field(new.name) is None and all(f.name != new.name for f in fields):
                fields.append(new)
                changed = True
            continue
        for i, f in enumerate(fields):
            if f.name == where[0]:
                widened = _with_field(f.data_type, where[1:], new)
                if widened != f.data_type:
                    fields[i] = RecordField(f.name, widened, f.nullable, f.default, f.aliases)
                    changed = True
                break
    if not changed:
        return schema
    return RecordSchema(tuple(fields), schema.name, schema.namespace)


"""A compiled RecordPath as a tree of nodes: paths (a start and steps: children,
wildcards, descendants, parent, indices, map keys, predicates), literals, and the
conditions of predicates (comparisons, filter function calls, ``not``). The parser
in ``_recordpath`` builds it; ``_recordpath_functions`` adds the function calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from flowyard.processors._records._coerce import to_text
from flowyard.processors._records._recordpath_values import (
    STRING,
    FieldValue,
    _child,
    _children,
    _computed,
    _descendants,
    _element_type,
    _elements,
    _kind,
    _map_values,
)
from flowyard.processors._records._types import RecordFieldType

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

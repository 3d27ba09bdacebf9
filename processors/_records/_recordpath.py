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

The parser, ``RecordPath`` and schema widening live here; what a path selects
(``FieldValue``) is in ``_recordpath_values``, the compiled tree in ``_recordpath_tree``
and the functions (``FUNCTIONS``) in ``_recordpath_functions``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flowyard.processors._records._recordpath_functions import FUNCTIONS, _ValueCall
from flowyard.processors._records._recordpath_tree import (
    _all_elements_step,
    _child_step,
    _Comparison,
    _Condition,
    _ConditionNode,
    _Ctx,
    _current_step,
    _descendant_step,
    _FilterCall,
    _index_step,
    _Literal,
    _map_key_step,
    _Node,
    _Not,
    _parent_step,
    _Path,
    _predicate_step,
    _wildcard_step,
)
from flowyard.processors._records._recordpath_values import FieldValue, SchemaPath, _Tracker
from flowyard.processors._records._types import DataType, RecordField, RecordFieldType, RecordSchema

__all__ = ["FUNCTIONS", "FieldValue", "PathEvaluation", "RecordPath", "with_added_fields"]


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


"""JsonPath with the semantics of Jayway JsonPath, the library NiFi uses.

    path = compile_path("$.store.book[?(@.price < 10)].title")
    titles = path.read(document)          # a list: the path is indefinite

Why our own: Python's JsonPath libraries follow RFC 9535 or Goessner's
draft, which differ from Jayway in what NiFi users see — Jayway returns a
single value for a *definite* path (no ``..``, ``*``, filter, slice or
several indexes) and raises ``PathNotFound`` when it finds nothing, but a
list (possibly empty) for an indefinite one; ``['a','b']`` as the last step
merges the properties into one object; filters apply to an object itself
as well as to array elements; ``==`` compares ``1`` and ``'1'`` equal;
``length()`` and the aggregate functions work on the results of a deep scan.

Supported: ``$``, ``.name``, ``['name']`` / ``["name"]``, ``['a','b']``,
``[0]``, ``[-1]``, ``[0,2]``, ``[1:3]``, ``[:2]``, ``[-2:]``, ``*``,
``[*]``, ``..``, filters ``[?(...)]`` with ``@``/``$`` paths, literals
(numbers, strings, ``true``, ``false``, ``null``, JSON arrays and objects),
``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``=~ /regex/flags``, ``in``,
``nin``, ``subsetof``, ``anyof``, ``noneof``, ``size``, ``empty``,
``contains``, ``&&``, ``||``, ``!`` and parentheses (regular expressions in
Java's syntax, flags ``i m s x d u U``); functions ``length()``,
``size()``, ``min()``, ``max()``, ``avg()``, ``sum()``, ``stddev()``,
``keys()``, ``first()``, ``last()``, ``index(n)``, ``concat(...)``,
``append(...)``. Paths not starting with ``$`` get ``$.`` prepended, as
Jayway does.

Pure code: no I/O. ``compile_path`` raises ``InvalidJsonPath``; ``read``
raises ``PathNotFound`` or ``JsonPathEvaluationError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InvalidJsonPath", "JsonPath", "JsonPathEvaluationError", "PathNotFound", "compile_path"]


class InvalidJsonPath(ValueError):
    """The path text is not a JsonPath; the message says why."""


class PathNotFound(LookupError):
    """A definite path found nothing (Jayway's ``PathNotFoundException``)."""


class JsonPathEvaluationError(ValueError):
    """The path is valid but cannot be evaluated on this document (e.g. an
    aggregate function over an empty array)."""


_UNDEFINED: Any = object()


# -- tokens -------------------------------------------------------------------------


@dataclass(slots=True)
class _Token:
    upstream_definite: bool = True
    leaf: bool = False

    @property
    def definite(self) -> bool:
        return True


@dataclass(slots=True)
class _Property(_Token):
    names: tuple[str, ...] = ()

    @property
    def definite(self) -> bool:
        return len(self.names) == 1 or self.leaf


@dataclass(slots=True)
class _Index(_Token):
    indexes: tuple[int, ...] = ()

    @property
    def definite(self) -> bool:
        return len(self.indexes) == 1


@dataclass(slots=True)
class _Slice(_Token):
    start: int | None = None
    end: int | None = None

    @property
    def definite(self) -> bool:
        return False


@dataclass(slots=True)
class _Wildcard(_Token):
    @property
    def definite(self) -> bool:
        return False


@dataclass(slots=True)
class _Scan(_Token):
    @property
    def definite(self) -> bool:
        return False


@dataclass(slots=True)
class _Filter(_Token):
    predicate: Any = None

    @property
    def definite(self) -> bool:
        return False


@dataclass(slots=True)
class _Function(_Token):
    name: str = ""
    params: list[Any] = field(default_factory=list)


# -- the compiled path ------------------------------------------------------------------


class JsonPath:
    """A compiled JsonPath. ``definite`` says whether ``read`` returns one
    value (or raises ``PathNotFound``) rather than a list."""

    __slots__ = ("_tokens", "definite", "text")

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self._tokens = tokens
        definite = True
        for i, token in enumerate(tokens):
            token.leaf = i == len(tokens) - 1
            token.upstream_definite = definite
            definite = definite and token.definite
        self.definite = definite

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"

    def read(self, document: Any, root: Any = _UNDEFINED) -> Any:
        """The value (definite path) or list of values (indefinite) at this
        path in ``document``. Raises ``PathNotFound`` when a definite path
        finds nothing or a step of it meets the wrong kind of value."""
        results: list[Any] = []
        _evaluate(self._tokens, 0, document, document if root is _UNDEFINED else root, results)
        if self.definite:
            if not results:
                raise PathNotFound(f"No results for path: {self.text}")
            return results[0]
        return results

    def exists(self, document: Any, root: Any) -> bool:
        """Whether the path finds something (filters' ``[?(@.a)]``)."""
        results: list[Any] = []
        try:
            _evaluate(self._tokens, 0, document, root, results, require=True)
        except PathNotFound:
            return False
        return bool(results) if self.definite else True

    def is_function_path(self) -> bool:
        return bool(self._tokens) and isinstance(self._tokens[-1], _Function)


def _evaluate(tokens: list[_Token], i: int, model: Any, root: Any, out: list[Any], require: bool = False) -> None:
    if i == len(tokens):
        out.append(model)
        return
    token = tokens[i]
    kind = type(token)
    if kind is _Property:
        _eval_property(tokens, i, token, model, root, out, require)  # type: ignore[arg-type]
    elif kind is _Index:
        if not _check_array(token, model):
            return
        length = len(model)
        for index in token.indexes:  # type: ignore[attr-defined]
            effective = length + index if index < 0 else index
            if 0 <= effective < length:
                _evaluate(tokens, i + 1, model[effective], root, out, require)
    elif kind is _Slice:
        if not _check_array(token, model):
            return
        for item in _slice(token, model):  # type: ignore[arg-type]
            _evaluate(tokens, i + 1, item, root, out, require)
    elif kind is _Wildcard:
        if isinstance(model, dict):
            for value in model.values():
                _evaluate(tokens, i + 1, value, root, out, require)
        elif isinstance(model, list):
            for value in model:
                _evaluate(tokens, i + 1, value, root, out, require)
    elif kind is _Scan:
        _walk(tokens, i + 1, model, root, out, require)
    elif kind is _Filter:
        predicate = token.predicate  # type: ignore[attr-defined]
        if isinstance(model, dict):
            if predicate(model, root):
                _evaluate(tokens, i + 1, model, root, out, require)
        elif isinstance(model, list):
            for item in model:
                if predicate(item, root):
                    _evaluate(tokens, i + 1, item, root, out, require)
        elif token.upstream_definite:
            raise JsonPathEvaluationError(f"a filter cannot be applied to a primitive: {_kind(model)}")
    elif kind is _Function:
        value = _call_function(token, model, root)  # type: ignore[arg-type]
        _evaluate(tokens, i + 1, value, root, out, require)


def _kind(model: Any) -> str:
    if model is None:
        return "null"
    return type(model).__name__


def _check_array(token: _Token, model: Any) -> bool:
    if isinstance(model, list):
        return True
    if not token.upstream_definite:
        return False
    if model is None:
        raise PathNotFound("The path is null")
    raise PathNotFound(f"Filter can only be applied to arrays. Current context is: {_kind(model)}")


def _slice(token: _Slice, model: list[Any]) -> list[Any]:
    length = len(model)
    if length == 0:
        return []
    start, end = token.start, token.end
    if end is None:  # [from:]
        begin = start or 0
        if begin < 0:
            begin = max(0, length + begin)
        return model[begin:]
    if start is None:  # [:to]
        stop = length + end if end < 0 else end
        return model[: max(0, min(length, stop))]
    stop = min(length, end)
    if start >= stop:
        return []
    return model[start:stop]


def _eval_property(
    tokens: list[_Token], i: int, token: _Property, model: Any, root: Any, out: list[Any], require: bool
) -> None:
    if not isinstance(model, dict):
        if not token.upstream_definite:
            return
        raise PathNotFound(
            f"Expected to find an object with property {_fragment(token.names)} but found {_kind(model)!r}"
        )
    names = token.names
    if len(names) > 1 and token.leaf:
        merged = {name: model[name] for name in names if name in model}
        if require and len(merged) != len(names):
            raise PathNotFound(f"Missing property in path {_fragment(names)}")
        out.append(merged)
        return
    for name in names:
        if name not in model:
            if token.leaf:
                if require:
                    raise PathNotFound(f"No results for path: {_fragment((name,))}")
                continue
            if token.upstream_definite and token.definite:
                raise PathNotFound(f"Missing property in path {_fragment((name,))}")
            continue
        _evaluate(tokens, i + 1, model[name], root, out, require)


def _fragment(names: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{n}'" for n in names) + "]"


def _walk(tokens: list[_Token], i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
    """Jayway's deep scan: apply token ``i`` wherever its kind matches, in
    document order, the node itself before its descendants."""
    if i == len(tokens):
        raise InvalidJsonPath("a path must not end with '..'")
    token = tokens[i]
    if isinstance(model, dict):
        if _scan_matches(token, model, root):
            _evaluate(tokens, i, model, root, out, require)
        for value in model.values():
            if isinstance(value, (dict, list)):
                _walk(tokens, i, value, root, out, require)
    elif isinstance(model, list):
        if _scan_matches(token, model, root):
            if token.leaf or not isinstance(token, (_Wildcard,)):
                _evaluate(tokens, i, model, root, out, require)
            else:
                for item in model:
                    _evaluate(tokens, i + 1, item, root, out, require)
        for value in model:
            if isinstance(value, (dict, list)):
                _walk(tokens, i, value, root, out, require)


def _scan_matches(token: _Token, model: Any, root: Any) -> bool:
    if isinstance(token, _Property):
        if not isinstance(model, dict):
            return False
        if not token.definite:
            return True
        return all(name in model for name in token.names)
    if isinstance(token, (_Index, _Slice)):
        return isinstance(model, list)
    if isinstance(token, _Filter):
        return bool(token.predicate(model, root))
    return True


# -- functions ---------------------------------------------------------------------------

_AGGREGATES = {"min", "max", "avg", "sum", "stddev"}
_FUNCTIONS = _AGGREGATES | {"length", "size", "keys", "first", "last", "index", "concat", "append"}


def _param_values(token: _Function, model: Any, root: Any) -> list[Any]:
    values = []
    for param in token.params:
        if isinstance(param, JsonPath):
            try:
                value = param.read(root)
            except PathNotFound:
                continue
            values.append(value)
        else:
            values.append(param)
    return values


def _call_function(token: _Function, model: Any, root: Any) -> Any:
    name = token.name
    if name in _AGGREGATES:
        numbers: list[float] = []
        if isinstance(model, list):
            numbers.extend(float(v) for v in model if _is_number(v))
        for value in _param_values(token, model, root):
            items = value if isinstance(value, list) else [value]
            numbers.extend(float(v) for v in items if _is_number(v))
        if not numbers:
            raise JsonPathEvaluationError("Aggregation function attempted to calculate value using empty array")
        if name == "min":
            return min(numbers)
        if name == "max":
            return max(numbers)
        if name == "sum":
            return math.fsum(numbers)
        mean = math.fsum(numbers) / len(numbers)
        if name == "avg":
            return mean
        return math.sqrt(math.fsum(v * v for v in numbers) / len(numbers) - mean * mean)
    if name in ("length", "size"):
        if token.params and isinstance(token.params[0], JsonPath):
            inner: list[Any] = []
            _evaluate([*token.params[0]._tokens, _Wildcard()], 0, root, root, inner)
            return len(inner)
        if isinstance(model, (list, dict)):
            return len(model)
        if isinstance(model, str):
            return len(model)
        return None
    if name == "keys":
        return list(model) if isinstance(model, dict) else None
    if name in ("first", "last", "index"):
        if not isinstance(model, list) or not model:
            raise JsonPathEvaluationError(f"{name}() needs a non-empty array")
        if name == "first":
            return model[0]
        if name == "last":
            return model[-1]
        params = _param_values(token, model, root)
        if not params or not _is_number(params[0]):
            raise JsonPathEvaluationError("index() needs a number")
        position = int(params[0])
        position = len(model) + position if position < 0 else position
        if not 0 <= position < len(model):
            raise JsonPathEvaluationError(f"index {params[0]} is out of the array's bounds")
        return model[position]
    if name == "concat":
        from flowyard.processors._json_text import java_string

        parts: list[str] = []
        if isinstance(model, list):
            parts.extend(java_string(v) for v in model if isinstance(v, str))
        parts.extend(java_string(v) for v in _param_values(token, model, root))
        return "".join(parts)
    if name == "append":
        if not isinstance(model, list):
            return model
        return [*model, *_param_values(token, model, root)]
    raise JsonPathEvaluationError(f"unknown function {name}()")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- filters ------------------------------------------------------------------------------

Predicate = Callable[[Any, Any], bool]


class _Missing:
    """The value of a filter path that found nothing (Jayway's UNDEFINED)."""


_MISSING = _Missing()


@dataclass(frozen=True, slots=True)
class _PathOperand:
    path: JsonPath
    relative: bool

    def value(self, current: Any, root: Any) -> Any:
        base = current if self.relative else root
        try:
            return self.path.read(base, root)
        except PathNotFound:
            return _MISSING
        except JsonPathEvaluationError:
            return _MISSING

    def exists(self, current: Any, root: Any) -> bool:
        base = current if self.relative else root
        try:
            return self.path.exists(base, root)
        except JsonPathEvaluationError:
            return False


@dataclass(frozen=True, slots=True)
class _Regex:
    pattern: re.Pattern[str]


def _operand_value(operand: Any, current: Any, root: Any) -> Any:
    if isinstance(operand, _PathOperand):
        return operand.value(current, root)
    return operand


def _as_number(value: Any) -> float | None:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _equals(left: Any, right: Any) -> bool:
    if left is _MISSING or right is _MISSING:
        return False
    if _is_number(left) or _is_number(right):
        if isinstance(left, bool) or isinstance(right, bool):
            return left is right
        a, b = _as_number(left), _as_number(right)
        if a is None or b is None:
            return False
        if isinstance(left, str) or isinstance(right, str):
            # Jayway: a string compared with a number is read as a number
            return a == b
        return a == b
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return bool(left == right)


def _compare(left: Any, right: Any) -> int | None:
    if _is_number(left) and _is_number(right):
        return int(left > right) - int(left < right)
    if isinstance(left, str) and isinstance(right, str):
        return int(left > right) - int(left < right)
    return None


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, list):
        return any(_equals(element, item) for element in container)
    return False


def _binary(op: str, left: Any, right: Any) -> bool:
    if op in ("==", "==="):
        if op == "===" and type(left) is not type(right):
            return False
        return _equals(left, right)
    if op in ("!=", "!=="):
        if op == "!==" and type(left) is not type(right):
            return True
        return not _equals(left, right)
    if op in ("<", "<=", ">", ">="):
        if left is _MISSING or right is _MISSING:
            return False
        order = _compare(left, right)
        if order is None:
            return False
        return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[op]
    if op == "=~":
        if not isinstance(right, _Regex) or left is _MISSING:
            return False
        if isinstance(left, list):
            return any(isinstance(v, str) and right.pattern.fullmatch(v) for v in left)
        subject = left if isinstance(left, str) else None
        if subject is None:
            return False
        return right.pattern.fullmatch(subject) is not None
    if op == "in":
        return _contains(right, left) if not isinstance(right, str) else False
    if op == "nin":
        return not _contains(right, left) if isinstance(right, list) else True
    if op == "contains":
        if isinstance(left, str):
            return isinstance(right, str) and right in left
        return _contains(left, right)
    if op == "subsetof":
        return isinstance(left, list) and isinstance(right, list) and all(_contains(right, v) for v in left)
    if op == "anyof":
        return isinstance(left, list) and isinstance(right, list) and any(_contains(right, v) for v in left)
    if op == "noneof":
        return isinstance(left, list) and isinstance(right, list) and not any(_contains(right, v) for v in left)
    if op == "size":
        if not _is_number(right) or not isinstance(left, (str, list)):
            return False
        return bool(len(left) == right)
    if op == "empty":
        if not isinstance(right, bool) or not isinstance(left, (str, list)):
            return False
        return (len(left) == 0) == right
    raise InvalidJsonPath(f"unknown operator {op}")


def compile_path(text: str) -> JsonPath:
    """Compile ``text`` as Jayway compiles it. Raises ``InvalidJsonPath``
    naming the position for anything it cannot parse, including an empty
    path."""
    from flowyard.processors._json_path_parse import parse_path  # the parser builds on this module

    return parse_path(text)

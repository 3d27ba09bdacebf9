"""The stock functions of Jolt's Modifier transforms (``FUNCTIONS``: ``=toLower``,
``=concat``, ``=divideAndRound``, ``=squashNulls``, ...), over already evaluated
arguments, with Jolt's coercions; ``MISSING`` means no result. ``_jolt_modify``
re-exports ``FUNCTIONS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flowyard.processors._jolt_path import MISSING
from flowyard.processors._json_text import java_string, to_json
from flowyard.runtime.sdk.javaregex import JavaRegexError, compile_java

_EMPTY: Any = MISSING


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _flatten(args: list[Any]) -> list[Any]:
    if len(args) == 1 and isinstance(args[0], list):
        return list(args[0])
    return args


def _to_number(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or value is None:
        return _EMPTY
    if _is_number(value):
        if kind is float:
            return float(value)
        if isinstance(value, float) and not math.isfinite(value):
            return _EMPTY
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text) if kind is int else float(text)
        except ValueError:
            pass
        if kind is int:
            try:
                number = float(text)
            except ValueError:
                return _EMPTY
            return int(number) if math.isfinite(number) else _EMPTY
    return _EMPTY


def _numbers(args: list[Any]) -> list[Any]:
    return [a for a in _flatten(args) if _is_number(a)]


def _single(fn: Callable[[Any], Any]) -> Callable[[list[Any]], Any]:
    """A function of one value (Jolt's SingleFunction)."""

    def apply(args: list[Any]) -> Any:
        if len(args) != 1:
            return _EMPTY
        return fn(args[0])

    return apply


def _each(fn: Callable[[Any], Any]) -> Callable[[list[Any]], Any]:
    """A function of one value that a list gets element by element (Jolt's
    SingleFunction on a list argument); elements without a result are dropped."""

    def apply(args: list[Any]) -> Any:
        if len(args) != 1:
            return _EMPTY
        if isinstance(args[0], list):
            results = [fn(v) for v in args[0]]
            return [r for r in results if r is not _EMPTY]
        return fn(args[0])

    return apply


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else _EMPTY


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else _EMPTY


def _text(value: Any) -> str:
    return to_json(value) if isinstance(value, (dict, list)) else java_string(value, "null")


def _concat(args: list[Any]) -> Any:
    return "".join(_text(a) for a in _flatten(args) if a is not None)


def _join(args: list[Any]) -> Any:
    if not args or not isinstance(args[0], str):
        return _EMPTY
    items: list[Any] = []
    for arg in args[1:]:
        if isinstance(arg, list):
            items.extend(arg)
        else:
            items.append(arg)
    return args[0].join(_text(item) for item in items if item is not None)


def _split(args: list[Any]) -> Any:
    if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], str):
        return _EMPTY
    try:
        parts = compile_java(args[0]).regex.split(args[1]) if args[0] else list(args[1])
    except JavaRegexError:
        return _EMPTY
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _substring(args: list[Any]) -> Any:
    if len(args) != 3 or not isinstance(args[0], str):
        return _EMPTY
    start, end = _to_number(args[1], int), _to_number(args[2], int)
    if start is _EMPTY or end is _EMPTY or start < 0 or end > len(args[0]) or start >= end:
        return _EMPTY
    return args[0][start:end]


def _trim(value: Any) -> Any:
    if not isinstance(value, str):
        return _EMPTY
    return value.strip("".join(chr(c) for c in range(33)))


_MAX_PAD = 500


def _pad(left: bool) -> Callable[[list[Any]], Any]:
    def apply(args: list[Any]) -> Any:
        if len(args) != 3 or not isinstance(args[0], str):
            return _EMPTY
        width = _to_number(args[1], int)
        pad = _text(args[2]) if args[2] is not None else " "
        if width is _EMPTY or not 0 < width <= _MAX_PAD or len(pad) != 1:
            return _EMPTY
        missing = width - len(args[0])
        if missing <= 0:
            return args[0]
        filler = (pad * (missing // len(pad) + 1))[:missing]
        return filler + args[0] if left else args[0] + filler

    return apply


def _min_max(pick: Callable[..., Any]) -> Callable[[list[Any]], Any]:
    def apply(args: list[Any]) -> Any:
        numbers = _numbers(args)
        return pick(numbers) if numbers else _EMPTY

    return apply


def _abs(value: Any) -> Any:
    if _is_number(value):
        return abs(value)
    number = _to_number(value, float)
    if number is _EMPTY:
        return _EMPTY
    whole = _to_number(value, int)
    return abs(whole) if whole is not _EMPTY and float(whole) == number else abs(number)


def _avg(args: list[Any]) -> Any:
    numbers = _numbers(args)
    return math.fsum(numbers) / len(numbers) if numbers else _EMPTY


def _sum(kind: type) -> Callable[[list[Any]], Any]:
    def apply(args: list[Any]) -> Any:
        total: Any = 0.0 if kind is float else 0
        for arg in _flatten(args):
            number = _to_number(arg, kind)
            if number is _EMPTY:
                return _EMPTY
            total += number
        return total

    return apply


def _subtract(kind: type) -> Callable[[list[Any]], Any]:
    def apply(args: list[Any]) -> Any:
        if len(args) != 2:
            return _EMPTY
        a, b = _to_number(args[0], kind), _to_number(args[1], kind)
        if a is _EMPTY or b is _EMPTY:
            return _EMPTY
        return a - b

    return apply


def _divide(args: list[Any]) -> Any:
    args = _flatten(args)
    if len(args) != 2:
        return _EMPTY
    a, b = _to_number(args[0], float), _to_number(args[1], float)
    if a is _EMPTY or b is _EMPTY or b == 0:
        return _EMPTY
    return a / b


def _divide_and_round(args: list[Any]) -> Any:
    if len(args) != 3:
        return _EMPTY
    digits = _to_number(args[0], int)
    quotient = _divide(args[1:])
    if digits is _EMPTY or quotient is _EMPTY:
        return _EMPTY
    return float(Decimal(repr(quotient)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _to_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return _EMPTY


def _to_string(value: Any) -> Any:
    return value if isinstance(value, str) else _text(value)


def _size(args: list[Any]) -> Any:
    if len(args) == 1:
        value = args[0]
        if isinstance(value, (str, list, dict)):
            return len(value)
        return _EMPTY
    return len(args)


def _squash_nulls(value: Any) -> Any:
    if isinstance(value, list):
        return [v for v in value if v is not None]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None}
    return value


def _squash_recursively(value: Any) -> Any:
    if isinstance(value, list):
        return [_squash_recursively(v) for v in value if v is not None]
    if isinstance(value, dict):
        return {k: _squash_recursively(v) for k, v in value.items() if v is not None}
    return value


def _squash_duplicates(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for item in value:
        if item not in out:
            out.append(item)
    return out


def _element(pick: Callable[[list[Any]], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        return pick(value) if isinstance(value, list) and value else _EMPTY

    return apply


def _element_at(args: list[Any]) -> Any:
    if len(args) != 2 or not isinstance(args[1], list):
        return _EMPTY
    index = _to_number(args[0], int)
    if index is _EMPTY or not 0 <= index < len(args[1]):
        return _EMPTY
    return args[1][index]


def _to_list(args: list[Any]) -> Any:
    if len(args) == 1:
        value = args[0]
        if isinstance(value, list):
            return value
        return [] if value is None else [value]
    return list(args)


def _sort(value: Any) -> Any:
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value) or all(_is_number(v) for v in value):
            return sorted(value)
        return _EMPTY
    if isinstance(value, dict):
        return {k: value[k] for k in sorted(value)}
    return _EMPTY


FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "toLower": _each(_lower),
    "toUpper": _each(_upper),
    "concat": _concat,
    "join": _join,
    "split": _split,
    "substring": _substring,
    "trim": _each(_trim),
    "leftPad": _pad(True),
    "rightPad": _pad(False),
    "min": _min_max(min),
    "max": _min_max(max),
    "abs": _each(_abs),
    "avg": _avg,
    "intSum": _sum(int),
    "doubleSum": _sum(float),
    "longSum": _sum(int),
    "intSubtract": _subtract(int),
    "doubleSubtract": _subtract(float),
    "longSubtract": _subtract(int),
    "divide": _divide,
    "div": _divide,
    "divideAndRound": _divide_and_round,
    "toInteger": _each(lambda v: _to_number(v, int)),
    "toLong": _each(lambda v: _to_number(v, int)),
    "toDouble": _each(lambda v: _to_number(v, float)),
    "toBoolean": _each(_to_boolean),
    "toString": _single(_to_string),
    "size": _size,
    "squashNulls": _single(_squash_nulls),
    "recursivelySquashNulls": _single(_squash_recursively),
    "squashDuplicates": _single(_squash_duplicates),
    "noop": lambda args: _EMPTY,
    "isPresent": _single(lambda v: v),
    "notNull": _single(lambda v: _EMPTY if v is None else v),
    "isNull": _single(lambda v: v if v is None else _EMPTY),
    "firstElement": _single(_element(lambda v: v[0])),
    "lastElement": _single(_element(lambda v: v[-1])),
    "elementAt": _element_at,
    "toList": _to_list,
    "sort": _single(_sort),
}
"""Stock function name → implementation over evaluated arguments (``MISSING`` = no result)."""

"""Arithmetic and number conversion functions of the Expression Language: ``plus``,
``minus``, ``multiply``, ``divide``, ``mod``, ``toRadix``, ``fromRadix``, ``random``,
``math``, ``toNumber``, ``toDecimal``. Pure (``random`` uses a pseudo-random generator).

Java semantics: two whole numbers give a whole number that wraps at 64 bits, and
division truncates toward zero; a decimal on either side gives a decimal (Java's
double, so ``1.0 / 0`` is ``Infinity``). Whole-number division or remainder by zero
raises ``EvaluationError`` like Java's ``ArithmeticException``. ``math`` calls one of
a fixed list of ``java.lang.Math`` methods, matching Java's overloads exactly: a
whole number is a ``long``, a decimal a ``double``, and ``pow`` on two longs does
not exist (convert with ``toDecimal()``).
"""

from __future__ import annotations

import math
import random as _random
from collections.abc import Callable
from typing import Any

from flowyard.runtime.expression._registry import Arg, EvaluationError, function
from flowyard.runtime.expression._types import (
    as_decimal,
    as_number,
    parse_decimal,
    parse_whole,
    wrap_long,
)

M = "mathematical"
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_OPERAND = (Arg("operand", "number"),)

Number = int | float


def _java_div(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _java_fmod(a: float, b: float) -> float:
    if b == 0 or math.isinf(a) or math.isnan(a) or math.isnan(b):
        return math.nan
    if math.isinf(b):
        return a
    return math.fmod(a, b)


def _long_div(a: int, b: int) -> int:
    if b == 0:
        raise EvaluationError("/ by zero")
    q = abs(a) // abs(b)
    return wrap_long(q if (a < 0) == (b < 0) else -q)


def _long_mod(a: int, b: int) -> int:
    if b == 0:
        raise EvaluationError("/ by zero")
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _arithmetic(name: str, verb: str, whole: Callable[[int, int], int],
                decimal: Callable[[float, float], float]) -> None:
    @function(name, family=M, subject="number", args=_OPERAND, returns="number",
              description=f"{verb}; a decimal if either side is one, else a 64-bit whole number.")
    def impl(a: Number, b: Number | None) -> Number | None:
        if b is None:
            return None
        if isinstance(a, float) or isinstance(b, float):
            return decimal(float(a), float(b))
        return whole(a, b)


_arithmetic("plus", "Adds the operand to the subject", lambda a, b: wrap_long(a + b), lambda a, b: a + b)
_arithmetic("minus", "Subtracts the operand from the subject", lambda a, b: wrap_long(a - b), lambda a, b: a - b)
_arithmetic("multiply", "Multiplies the subject by the operand", lambda a, b: wrap_long(a * b), lambda a, b: a * b)
_arithmetic("divide", "Divides the subject by the operand (whole numbers truncate toward zero)", _long_div,
            _java_div)
_arithmetic("mod", "The remainder of dividing the subject by the operand (sign of the subject)", _long_mod,
            _java_fmod)


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _check_radix(base: int | None) -> int:
    if base is None or not 2 <= base <= 36:
        raise EvaluationError(f"radix {base} is out of range 2..36")
    return base


@function("toRadix", family=M, subject="whole_number",
          args=(Arg("base", "whole_number"), Arg("padding", "whole_number", optional=True)), returns="string",
          description="The subject written in base 2..36 (lower-case digits), zero-padded to a minimum width.")
def to_radix(n: int, base: int | None, padding: int | None = None) -> str:
    radix = _check_radix(base)
    value, digits = abs(n), []
    while True:
        value, d = divmod(value, radix)
        digits.append(_DIGITS[d])
        if not value:
            break
    text = "".join(reversed(digits))
    if padding is not None and padding > len(text):
        text = text.rjust(padding, "0")
    return "-" + text if n < 0 else text


@function("fromRadix", family=M, subject="string", args=(Arg("base", "whole_number"),), returns="whole_number",
          description="Reads the subject as a whole number written in base 2..36 (letters in any case, no '0x').")
def from_radix(text: str, base: int | None) -> int:
    radix = _check_radix(base)
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or any(_DIGITS.find(c) < 0 or _DIGITS.find(c) >= radix for c in body.lower()):
        raise EvaluationError(f"{text!r} is not a number in base {radix}")
    value = int(body, radix) * (-1 if text[:1] == "-" else 1)
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise EvaluationError(f"{text!r} is out of the 64-bit range")
    return value


_rng = _random.Random()


@function("random", family=M, subject=None, returns="whole_number",
          description="A pseudo-random whole number from 0 to 2^63-1 (not for security).")
def random() -> int:
    return _rng.getrandbits(63)


# --- math() --------------------------------------------------------------------------------------------------

def _d(f: Callable[[float], float]) -> Callable[[float], float]:
    """``f`` with Java's answers where Python raises: NaN for a domain error, infinity on overflow."""
    def java(x: float) -> float:
        try:
            return f(x)
        except ValueError:
            return math.nan
        except OverflowError:
            return math.inf
    return java


def _log(base_log: Callable[[float], float]) -> Callable[[float], float]:
    def java(x: float) -> float:
        if x == 0:
            return -math.inf
        if x < 0 or math.isnan(x):
            return math.nan
        return math.inf if math.isinf(x) else base_log(x)
    return java


def _pow(x: float, y: float) -> float:
    try:
        return math.pow(x, y)
    except ValueError:
        if x == 0:  # 0 to a negative power
            return -math.inf if y % 2 == 1 and math.copysign(1, x) < 0 else math.inf
        return math.nan
    except OverflowError:
        return -math.inf if x < 0 and y % 2 == 1 else math.inf


def _round(x: float) -> int:
    if math.isnan(x):
        return 0
    if x >= 2.0 ** 63:
        return _LONG_MAX
    if x <= -(2.0 ** 63):
        return _LONG_MIN
    floor = math.floor(x)
    return floor + 1 if x - floor >= 0.5 else floor


def _rint(x: float) -> float:
    return x if math.isnan(x) or math.isinf(x) else math.copysign(float(round(x)), x)


def _signum(x: float) -> float:
    return x if x == 0 or math.isnan(x) else math.copysign(1.0, x)


def _fmax(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b == 0:
        return 0.0 if math.copysign(1, a) > 0 or math.copysign(1, b) > 0 else -0.0
    return max(a, b)


def _fmin(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b == 0:
        return -0.0 if math.copysign(1, a) < 0 or math.copysign(1, b) < 0 else 0.0
    return min(a, b)


def _exact(value: int) -> int:
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise EvaluationError("long overflow")
    return value


def _scalb(x: float, n: int) -> float:
    try:
        return math.ldexp(x, max(min(n, 2100), -2100))
    except OverflowError:
        return math.copysign(math.inf, x)


def _floor_div(a: int, b: int) -> int:
    if b == 0:
        raise EvaluationError("/ by zero")
    return wrap_long(a // b)


def _floor_mod(a: int, b: int) -> int:
    if b == 0:
        raise EvaluationError("/ by zero")
    return a % b


# Overloads by parameter types: "J" is long, "D" double, "I" int (Java's fallback for a second long).
_MATH: dict[tuple[str, str], Callable[..., Number]] = {
    ("abs", "J"): lambda x: wrap_long(abs(x)), ("abs", "D"): abs,
    ("max", "JJ"): max, ("max", "DD"): _fmax, ("min", "JJ"): min, ("min", "DD"): _fmin,
    ("round", "D"): _round, ("rint", "D"): _rint, ("signum", "D"): _signum,
    ("ceil", "D"): _d(lambda x: x if math.isinf(x) or math.isnan(x) else float(math.ceil(x))),
    ("floor", "D"): _d(lambda x: x if math.isinf(x) or math.isnan(x) else float(math.floor(x))),
    ("sqrt", "D"): _d(math.sqrt), ("cbrt", "D"): _d(math.cbrt), ("exp", "D"): _d(math.exp),
    ("expm1", "D"): _d(math.expm1), ("log", "D"): _log(math.log), ("log10", "D"): _log(math.log10),
    ("log1p", "D"): lambda x: _log(math.log)(1.0 + x) if x != -1 else -math.inf,
    ("sin", "D"): _d(math.sin), ("cos", "D"): _d(math.cos), ("tan", "D"): _d(math.tan),
    ("asin", "D"): _d(math.asin), ("acos", "D"): _d(math.acos), ("atan", "D"): _d(math.atan),
    ("sinh", "D"): _d(math.sinh), ("cosh", "D"): _d(math.cosh), ("tanh", "D"): _d(math.tanh),
    ("toDegrees", "D"): _d(math.degrees), ("toRadians", "D"): _d(math.radians),
    ("pow", "DD"): _pow, ("atan2", "DD"): math.atan2, ("hypot", "DD"): math.hypot,
    ("scalb", "DI"): _scalb,
    ("floorDiv", "JJ"): _floor_div, ("floorMod", "JJ"): _floor_mod,
    ("addExact", "JJ"): lambda a, b: _exact(a + b), ("subtractExact", "JJ"): lambda a, b: _exact(a - b),
    ("multiplyExact", "JJ"): lambda a, b: _exact(a * b), ("negateExact", "J"): lambda a: _exact(-a),
    ("incrementExact", "J"): lambda a: _exact(a + 1), ("decrementExact", "J"): lambda a: _exact(a - 1),
    ("random", ""): _rng.random,
}
#: The method names ``math`` accepts.
MATH_METHODS = frozenset(name for name, _ in _MATH)


@function("math", family=M, subject="number", args=(Arg("method"), Arg("argument", "number", optional=True)),
          returns="number", null_subject="pass", subject_optional=True,
          description="Calls a java.lang.Math method (abs, ceil, floor, round, sqrt, cbrt, pow, exp, log, log10, "
                      "sin, cos, tan, asin, acos, atan, atan2, max, min, signum, toDegrees, toRadians, random, ...) "
                      "on the subject and the optional argument; whole numbers are longs, decimals doubles.")
def math_(subject: Number | None, method: str | None, argument: Number | None = None) -> Number | None:
    if method is None:
        return None
    if method not in MATH_METHODS:
        raise EvaluationError(f"{method!r} is not a supported java.lang.Math method")
    if subject is None:
        # NiFi's subjectless form ${math("random")}; with a missing subject a method that
        # needs arguments gives null rather than an error.
        fn = _MATH.get((method, "")) if argument is None else None
        return fn() if fn is not None else None
    values = [subject] if argument is None else [subject, argument]
    signature = "".join("D" if isinstance(v, float) else "J" for v in values)
    fn = _MATH.get((method, signature))
    if fn is None and signature.endswith("J") and isinstance(values[-1], int) \
            and _INT_MIN <= values[-1] <= _INT_MAX:
        fn = _MATH.get((method, signature[:-1] + "I"))
    if fn is None:
        types = ", ".join("double" if c == "D" else "long" for c in signature)
        raise EvaluationError(f"no java.lang.Math method {method}({types}); convert with toDecimal() or toNumber()")
    result = fn(*values)
    return result


# --- type coercion -------------------------------------------------------------------------------------------

def _saturate(x: float) -> int | None:
    """Java's ``(long) x``: truncation, clamped to the 64-bit range; None for NaN."""
    if math.isnan(x):
        return None
    if x >= 2.0 ** 63:
        return _LONG_MAX
    if x <= -(2.0 ** 63):
        return _LONG_MIN
    return int(x)


@function("toNumber", family="type coercion", subject="any", returns="whole_number",
          description="The subject as a whole number: text is parsed (decimals truncate toward zero, '0x' hex "
                      "accepted), dates and instants give epoch milliseconds; null if not a number.")
def to_number(s: Any) -> int | None:
    if isinstance(s, bool):
        return None
    if isinstance(s, float):
        return _saturate(s)
    if isinstance(s, str):
        whole = parse_whole(s)
        if whole is not None:
            return whole
        dec = parse_decimal(s)
        return None if dec is None or math.isinf(dec) else _saturate(dec)
    return as_number(s)


@function("toDecimal", family="type coercion", subject="any", returns="decimal",
          description="The subject as a decimal (Java double): text is parsed (incl. Infinity, NaN, hex with a "
                      "'p' exponent), dates give epoch milliseconds; null if not a number.")
def to_decimal(s: Any) -> float | None:
    return as_decimal(s)

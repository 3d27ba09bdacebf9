"""Arithmetic, ``math`` and number conversions, through the evaluator."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from flowyard.runtime.expression import ExpressionError, evaluate, evaluate_typed
from flowyard.runtime.expression._fn_math import MATH_METHODS
from flowyard.runtime.expression._registry import REGISTRY

DATA = Path(__file__).parent / "data"
FUNCTIONS = {"plus", "minus", "multiply", "divide", "mod", "toRadix", "fromRadix", "random", "math", "toNumber",
             "toDecimal"}
MAX = 9223372036854775807
MIN = -9223372036854775808


def test_every_mathematical_function_is_declared() -> None:
    catalogue = json.loads((DATA / "el_functions.json").read_text())
    names = {f["name"] for f in catalogue if f["family"] == "mathematical"} | {"toNumber", "toDecimal"}
    assert names <= set(REGISTRY)


@pytest.mark.parametrize(("expression", "attributes", "expected"), [
    ("${n:plus(1000)}", {"n": "100"}, "1100"),
    ("${n:plus(1)}", {"n": "0123456789"}, "123456790"),  # leading zeros are not octal
    ("${n:plus(1)}", {"n": " 7 "}, "8"),
    ("${n:plus(1)}", {"n": "1.5"}, "2.5"),
    ("${n:plus(1)}", {"n": "0x1F"}, "32"),
    ("${n:plus(0.1)}", {"n": "0.2"}, "0.30000000000000004"),
    ("${n:plus(1)}", {"n": str(MAX)}, str(MIN)),  # wraps like Java's long
    ("${n:minus(1)}", {"n": str(MIN)}, str(MAX)),
    ("${n:multiply(2)}", {"n": str(MAX)}, "-2"),
    ("${n:multiply(1024)}", {"n": "100"}, "102400"),
    ("${n:multiply(1.5)}", {"n": "3"}, "4.5"),
    ("${n:multiply(2)}", {"n": "1e308"}, "Infinity"),
    ("${n:divide(12)}", {"n": "100"}, "8"),
    ("${n:divide(12)}", {"n": "-100"}, "-8"),  # truncates toward zero
    ("${n:divide(-1)}", {"n": str(MIN)}, str(MIN)),
    ("${n:divide(4)}", {"n": "10.0"}, "2.5"),
    ("${n:divide(0.0)}", {"n": "1"}, "Infinity"),
    ("${n:divide(0.0)}", {"n": "-1"}, "-Infinity"),
    ("${n:divide(0.0)}", {"n": "0"}, "NaN"),
    ("${n:divide(3)}", {"n": "1e-300"}, "3.3333333333333334E-301"),
    ("${n:mod(12)}", {"n": "100"}, "4"),
    ("${n:mod(12)}", {"n": "-100"}, "-4"),  # sign of the dividend
    ("${n:mod(-12)}", {"n": "100"}, "4"),
    ("${n:mod(2.5)}", {"n": "-7"}, "-2.0"),
    ("${n:mod(0.0)}", {"n": "7"}, "NaN"),
    ("${n:plus(1)}", {"n": "abc"}, ""),
    ("${n:plus(1)}", {"n": ""}, ""),
    ("${n:plus(1)}", {}, ""),
    ("${n:plus(${missing})}", {"n": "1"}, ""),
    ("${n:plus('x')}", {"n": "1"}, ""),
    ("${n:plus(${m})}", {"n": "1", "m": "2"}, "3"),
    ("${n:toDate():plus(86400000):format('yyyy-MM-dd', 'UTC')}", {"n": "0"}, "1970-01-02"),
    ("${n:toDate():plus(1)}", {"n": "0"}, "1"),  # a date is its epoch milliseconds
])
def test_arithmetic(expression: str, attributes: dict[str, str], expected: str) -> None:
    assert evaluate(expression, attributes) == expected


@pytest.mark.parametrize("expression", ["${n:divide(0)}", "${n:mod(0)}", "${n:divide(${z})}"])
def test_whole_division_by_zero_raises(expression: str) -> None:
    with pytest.raises(ExpressionError, match="by zero"):
        evaluate(expression, {"n": "7", "z": "0"})


@pytest.mark.parametrize(("expression", "attributes", "expected"), [
    ("${n:toRadix(16)}", {"n": "1024"}, "400"),
    ("${n:toRadix(16, 8)}", {"n": "1024"}, "00000400"),
    ("${n:toRadix(16)}", {"n": "255"}, "ff"),
    ("${n:toRadix(36)}", {"n": "35"}, "z"),
    ("${n:toRadix(2)}", {"n": "0"}, "0"),
    ("${n:toRadix(2)}", {"n": "-5"}, "-101"),
    ("${n:toRadix(10, 4)}", {"n": "-5"}, "-0005"),
    ("${n:toRadix(10)}", {"n": "12.9"}, "12"),  # decimals are truncated first
    ("${n:toRadix(16)}", {"n": str(MIN)}, "-8000000000000000"),
    ("${n:toRadix(16)}", {}, ""),
    ("${n:fromRadix(16)}", {"n": "ABCDEF"}, "11259375"),
    ("${n:fromRadix(16)}", {"n": "abcdef"}, "11259375"),
    ("${n:fromRadix(2)}", {"n": "-101"}, "-5"),
    ("${n:fromRadix(36)}", {"n": "+z"}, "35"),
    ("${n:fromRadix(16)}", {"n": "7fffffffffffffff"}, str(MAX)),
    ("${n:fromRadix(16)}", {"n": "-8000000000000000"}, str(MIN)),
    ("${n:fromRadix(10)}", {}, ""),
])
def test_radix(expression: str, attributes: dict[str, str], expected: str) -> None:
    assert evaluate(expression, attributes) == expected


@pytest.mark.parametrize(("expression", "value"), [
    ("${n:fromRadix(16)}", "0x1F"),  # no 0x prefix
    ("${n:fromRadix(2)}", "102"),
    ("${n:fromRadix(10)}", ""),
    ("${n:fromRadix(10)}", "1_000"),
    ("${n:fromRadix(10)}", " 1"),
    ("${n:fromRadix(16)}", "8000000000000000"),  # beyond a long
    ("${n:fromRadix(37)}", "1"),
    ("${n:toRadix(1)}", "1"),
    ("${n:toRadix(37)}", "1"),
])
def test_bad_radix_raises(expression: str, value: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expression, {"n": value})


@pytest.mark.parametrize(("expression", "expected"), [
    ("${literal(2):toDecimal():math('pow', 2.5)}", "5.656854249492381"),
    ("${literal(64):toDecimal():math('cbrt'):toNumber():math('max', 5)}", "5"),
    ("${literal(5.4):math('scalb', 2)}", "21.6"),
    ("${literal(-5):math('abs')}", "5"),
    ("${literal(-5.5):math('abs')}", "5.5"),
    ("${literal(2.5):math('round')}", "3"),
    ("${literal(-2.5):math('round')}", "-2"),  # Java rounds half up
    ("${literal(0.49999999999999994):math('round')}", "0"),
    ("${literal(2.5):math('rint')}", "2.0"),
    ("${literal(2.1):math('ceil')}", "3.0"),
    ("${literal(-2.1):math('floor')}", "-3.0"),
    ("${literal(16.0):math('sqrt')}", "4.0"),
    ("${literal(-1.0):math('sqrt')}", "NaN"),
    ("${literal(0.0):math('log')}", "-Infinity"),
    ("${literal(-1.0):math('log10')}", "NaN"),
    ("${literal(1000.0):math('log10')}", "3.0"),
    ("${literal(1000.0):math('exp')}", "Infinity"),
    ("${literal(0.0):math('pow', -1.0)}", "Infinity"),
    ("${literal(-8.0):math('pow', 0.5)}", "NaN"),
    ("${literal(10.0):math('pow', 400.0)}", "Infinity"),
    ("${literal(0.0):math('sin')}", "0.0"),
    ("${literal(1.0):math('atan2', 1.0)}", str(math.pi / 4)),
    ("${literal(180.0):math('toRadians')}", str(math.pi)),
    ("${literal(-3.0):math('signum')}", "-1.0"),
    ("${literal(3):math('min', -4)}", "-4"),
    ("${literal(3.0):math('max', -4.0)}", "3.0"),
    ("${literal(7):math('floorMod', -2)}", "-1"),
    ("${literal(-7):math('floorDiv', 2)}", "-4"),
    ("${literal(2.0):math('hypot', 1.5)}", "2.5"),
    ("${literal(1):math('addExact', 2)}", "3"),
    ("${missing:math('abs')}", ""),
])
def test_math(expression: str, expected: str) -> None:
    assert evaluate(expression, {}) == expected


@pytest.mark.parametrize("expression", [
    "${literal(2):math('pow', 2)}",  # pow(long, long) does not exist in Java
    "${literal(2):toDecimal():math('pow', 2)}",  # nor pow(double, long)
    "${literal(64):math('sqrt')}",  # sqrt(long) neither
    "${literal(2.0):math('max', 1)}",
    "${literal(2):math('getRuntime')}",  # not a whitelisted method
    "${literal(2):math('exit')}",
    "${literal(2):math('__class__')}",
    "${literal(9223372036854775807):math('addExact', 1)}",  # overflow
    "${literal(1):math('floorMod', 0)}",
])
def test_bad_math_raises(expression: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expression, {})


def test_math_whitelist_is_java_math_only() -> None:
    assert {"abs", "ceil", "floor", "round", "sqrt", "cbrt", "pow", "exp", "log", "log10", "sin", "cos", "tan",
            "asin", "acos", "atan", "atan2", "max", "min", "signum", "toDegrees", "toRadians", "random",
            "scalb"} <= MATH_METHODS
    assert all(name.isidentifier() and not name.startswith("_") for name in MATH_METHODS)


def test_subjectless_math_random() -> None:
    value = evaluate_typed('${math("random")}').value
    assert isinstance(value, float) and 0.0 <= value < 1.0


def test_random() -> None:
    values = {evaluate_typed("${random()}").value for _ in range(50)}
    assert all(isinstance(v, int) and 0 <= v <= MAX for v in values)
    assert len(values) > 40
    assert all(1 <= int(evaluate("${random():mod(10):plus(1)}")) <= 10 for _ in range(50))


@pytest.mark.parametrize(("value", "expected"), [
    ("1024", "1024"), ("1.332", "1"), ("5.5", "5"), ("-5.5", "-5"), ("+7", "7"), ("0123", "123"),
    (" 12 ", "12"), ("0x1234567890ABCDEF", "1311768467294899695"), ("-0xF", "-15"), ("1e3", "1000"),
    ("abc", ""), ("", ""), ("NaN", ""), ("Infinity", ""), ("1e30", str(MAX)), ("-1e30", str(MIN)),
    ("9223372036854775807", str(MAX)), ("9223372036854775808", str(MAX)),  # a double, then saturated
])
def test_to_number(value: str, expected: str) -> None:
    assert evaluate("${v:toNumber()}", {"v": value}) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("1024", "1024.0"), ("1.1", "1.1"), (".5", "0.5"), ("5.", "5.0"), ("1e10", "1.0E10"), ("12.5E-2", "0.125"),
    ("-Infinity", "-Infinity"), ("NaN", "NaN"), ("0xF.Fp10", "16320.0"), ("0x.5BP0", "0.35546875"),
    ("0x1.1", ""), ("A.1e123", ""), ("", ""),
])
def test_to_decimal(value: str, expected: str) -> None:
    assert evaluate("${v:toDecimal()}", {"v": value}) == expected


@pytest.mark.parametrize(("expression", "expected"), [
    ("${literal(5.9):toNumber()}", "5"),
    ("${literal(2):toDecimal()}", "2.0"),
    ("${t:toDate():toNumber()}", "1420058163264"),
    ("${t:toDate():toDecimal()}", "1.420058163264E12"),
    ("${t:toInstant():toNumber()}", "1420058163264"),
    ("${missing:toNumber()}", ""),
    ("${missing:toDecimal()}", ""),
    ("${literal('true'):toNumber()}", ""),
])
def test_conversions_of_values(expression: str, expected: str) -> None:
    assert evaluate(expression, {"t": "1420058163264"}) == expected


def test_to_number_type() -> None:
    assert evaluate_typed("${v:toNumber()}", {"v": "12"}).type == "whole_number"
    assert evaluate_typed("${v:toDecimal()}", {"v": "12"}).type == "decimal"
    assert evaluate_typed("${v:plus(1.0)}", {"v": "12"}).type == "decimal"
    assert evaluate_typed("${v:plus(1)}", {"v": "12"}).type == "whole_number"


def guide_examples() -> list[Any]:
    examples = json.loads((DATA / "el_guide_examples.json").read_text())
    return [pytest.param(e, id=e["id"]) for e in examples
            if e["function"] in FUNCTIONS and e.get("expected_actual", e["expected"]) is not None]


@pytest.mark.parametrize("example", guide_examples())
def test_guide_example(example: dict[str, Any]) -> None:
    expression = example.get("corrected_expression", example["expression"])
    assert evaluate(expression, example["attributes"]) == example.get("expected_actual", example["expected"])

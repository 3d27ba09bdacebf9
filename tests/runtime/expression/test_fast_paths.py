"""The evaluation shortcuts give exactly what the general path gives.

Evaluation has closures of its own for the common shapes (``_nodes.compile_call``), the
``specialize`` implementations of gt/ge/lt/le against a whole number, the nodes written out
for and/or/not (``compile_node``), and a digits-only shortcut in ``parse_whole``. Each is
checked here against the general implementation over values chosen to sit on its edges
(signs, white space, non-ASCII digits, 19 digits, decimals, null, booleans, dates)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from flowyard.runtime import expression
from flowyard.runtime.expression._nodes import _literal
from flowyard.runtime.expression._registry import REGISTRY, EvalContext
from flowyard.runtime.expression._types import Date, Instant, as_bool, parse_whole

SUBJECTS: list[Any] = [
    "2048", "0012", "0", "", " 12", "12 ", "+12", "-3", "12.5", "1e3", "\u0663\u0664",  # Arabic-Indic 34
    "9" * 18, "9" * 19, "-" + "9" * 18, "0x1F", "abc", "true", None, 12, -7, 12.5, float("nan"),
    True, False, Date(1_000), Instant(5_000_000),
]
WHOLE_LITERALS = [-5, 0, 12, 1000, 2**62]


@pytest.mark.parametrize("name", ["gt", "ge", "lt", "le"])
@pytest.mark.parametrize("literal", WHOLE_LITERALS)
def test_comparisons_against_a_whole_number_agree_with_the_general_comparison(name: str, literal: int) -> None:
    fn = REGISTRY[name]
    assert fn.specialize is not None
    fast = fn.specialize(literal)
    assert fast is not None
    for subject in SUBJECTS:
        assert fast(subject) == fn.impl(subject, literal), (name, subject, literal)


@pytest.mark.parametrize("literal", ["12", 12.0, True, None])
def test_comparisons_against_other_literals_keep_the_general_comparison(literal: Any) -> None:
    fn = REGISTRY["gt"]
    assert fn.specialize is not None
    assert fn.specialize(literal) is None


def _parse_whole_by_expressions(text: str) -> int | None:
    """parse_whole without its digits-only shortcut (the general path it must agree with)."""
    t = text.strip()
    if re.fullmatch(r"[+-]?\d+", t):
        n = int(t)
    else:
        m = re.fullmatch(r"([+-]?)0[xX]([0-9a-fA-F]+)", t)
        if not m:
            return None
        n = int(m.group(2), 16) * (-1 if m.group(1) == "-" else 1)
    return n if -(1 << 63) <= n < (1 << 63) else None


@pytest.mark.parametrize(
    "text", [*(s for s in SUBJECTS if isinstance(s, str)), "9" * 17, "\u00b2", "1_000", "\u0663" * 19]
)
def test_parse_whole_shortcut_agrees_with_the_expressions(text: str) -> None:
    assert parse_whole(text) == _parse_whole_by_expressions(text)


BOOLEAN_VALUES: list[Any] = [True, False, None, "true", " TRUE ", "false", "yes", "", 1, 0.0]


@pytest.mark.parametrize("name", ["and", "or"])
def test_and_or_nodes_agree_with_their_functions(name: str) -> None:
    fn = REGISTRY[name]
    assert fn.compile_node is not None
    ctx = EvalContext({})
    for left in BOOLEAN_VALUES:
        for right in BOOLEAN_VALUES:
            node = fn.compile_node(_literal(left), [_literal(right)])
            assert node(ctx) == fn.impl(as_bool(left), as_bool(right)), (name, left, right)


def test_not_node_agrees_with_its_function() -> None:
    fn = REGISTRY["not"]
    assert fn.compile_node is not None
    for value in BOOLEAN_VALUES:
        assert fn.compile_node(_literal(value), [])(EvalContext({})) == fn.impl(as_bool(value)), value


@pytest.mark.parametrize(
    ("text", "attributes", "expected"),
    [
        # a call on a named attribute (the attribute's own closure is skipped), present and missing
        ("${size:gt(1000)}", {"size": "2048"}, "true"),
        ("${size:gt(1000)}", {}, "false"),
        ("${name:toUpper()}", {}, ""),
        ("${name:isNull()}", {}, "true"),
        ("${name:append('x')}", {}, "x"),
        ("${name:endsWith('.csv')}", {"name": "a.csv"}, "true"),
        # one ${...} alone is its value's text, as the join of '' and the value was
        ("${size:toNumber()}", {"size": " 12 "}, "12"),
        ("${size:toDecimal()}", {"size": "2"}, "2.0"),
        ("${missing}", {}, ""),
        ("${literal('a'):evaluateELString()}", {}, "a"),
        ("${literal('${missing}'):evaluateELString():isNull()}", {}, "false"),
    ],
)
def test_shortcut_shapes_evaluate_as_before(text: str, attributes: dict[str, str], expected: str) -> None:
    assert expression.compile(text).evaluate(attributes) == expected
    assert expression.evaluator({})(text, attributes) == expected


def test_a_missing_attribute_falls_back_to_the_environment_but_not_to_flowyard_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EL_FAST_PATH_VAR", "from the environment")
    monkeypatch.setenv("FLOWYARD_EL_FAST_PATH_SECRET", "hidden")
    evaluate = expression.evaluator({})
    assert evaluate("${EL_FAST_PATH_VAR:toUpper()}", {}) == "FROM THE ENVIRONMENT"
    assert evaluate("${EL_FAST_PATH_VAR:toUpper()}", {"EL_FAST_PATH_VAR": "attr"}) == "ATTR"
    assert evaluate("${FLOWYARD_EL_FAST_PATH_SECRET:isNull()}", {}) == "true"
    assert expression.ENVIRONMENT.get("FLOWYARD_EL_FAST_PATH_SECRET") is None
    assert expression.ENVIRONMENT.get("EL_FAST_PATH_MISSING", "default") == "default"


@pytest.mark.parametrize(
    ("text", "on_attributes"),
    [
        ("${a:equals('x')}", True),
        ("${a:equals(${b}):and(${c:gt(1)})}", True),
        ("${a:append('-${b:toUpper()}')}", True),
        ("plain", True),
        ("${UUID():length()}", True),
        ("#{p}", False),
        ("${a:equals('#{p}')}", False),  # a parameter inside a string argument
        ("${a:append('${b:equals(#{p})}')}", False),
        ("${${a}}", False),  # an attribute named by an expression
        ("${getStateValue('k')}", False),
        ("${anyAttribute('a', 'b'):equals('x')}", False),
        ("${a:evaluateELString()}", False),
    ],
)
def test_text_reading_only_attributes_is_compiled_on_attributes(text: str, on_attributes: bool) -> None:
    from flowyard.runtime.expression._parser import compile_text

    assert compile_text(text).on_attributes is on_attributes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${a:equals('#{p}')}", "true"),
        ("${a:append('${b:equals(#{p})}')}", "xfalse"),
        ("${${pointer}:toUpper()}", "X"),
        ("${getStateValue('k'):append(${a})}", "sx"),
        ("${anyAttribute('a', 'b'):equals('y')}", "true"),
        ("${allAttributes('a', 'b'):join('+')}", "x+y"),
        ("${literal('${a}-${b}'):evaluateELString()}", "x-y"),
        ("${literal('$${a}'):evaluateELString()}", "x"),
        ("${literal('$${a}#{p}'):evaluateELString()}", "xx"),  # the argument's #{p} is resolved first
        ("${literal('$${a}##{p}'):evaluateELString()}", "x"),  # evaluateELString resolves no parameter
    ],
)
def test_text_reading_the_context_evaluates_as_before(text: str, expected: str) -> None:
    attributes = {"a": "x", "b": "y", "pointer": "a"}
    assert expression.evaluator({"p": "x"})(text, attributes, state={"k": "s"}) == expected
    assert expression.compile(text).evaluate(attributes, parameters={"p": "x"}, state={"k": "s"}) == expected

"""Static result types and NiFi's boolean-expression validity (RouteOnAttribute's conditions).

NiFi validates such a property with ``createAttributeExpressionLanguageValidator(BOOLEAN, false)``:
``Query.validateExpression(value, false)`` (exactly one expression, "No Expressions found",
"Found multiple Expressions but expected only 1", "Found characters outside of Expression"),
then ``getResultType`` must be BOOLEAN. TestQuery.testIsValidExpression: ``$${attr}`` is invalid
when no surrounding characters are allowed.
"""

from __future__ import annotations

import pytest

from flowyard.runtime import expression
from flowyard.runtime.sdk import DynamicPropertySpec, ExpressionScope, validate_properties, validators


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${a}", "string"),
        ("${'a b'}", "string"),
        ("${${a}}", "string"),
        ("${#{p}}", "string"),
        ("${a:equals('b')}", "boolean"),
        ("${a:toUpper()}", "string"),
        ("${a:length()}", "whole_number"),
        ("${a:toDecimal()}", "decimal"),
        ("${a:plus(1)}", "number"),
        ("${a:toDate('yyyy')}", "date"),
        ("${a:toInstant()}", "instant"),
        ("${now()}", "date"),
        ("${literal(true)}", "string"),  # NiFi's ToLiteralEvaluator is a StringEvaluator
        ("${a:replaceNull(1)}", "string"),
        ("${allAttributes('a', 'b'):isEmpty()}", "boolean"),
        ("${anyMatchingAttribute('a.*'):equals('x')}", "boolean"),
        ("${allMatchingAttributes('a.*'):join(',')}", "string"),
        ("${allAttributes('a', 'b'):count()}", "whole_number"),
        ("${filename:startsWith('T8')\n:or( ${filename:startsWith('C4')} )}", "boolean"),
    ],
)
def test_result_type(text: str, expected: str) -> None:
    assert expression.result_type(text) == expected


@pytest.mark.parametrize(
    ("text", "reason", "position"),
    [
        ("true", "no expression found: expected one ${...}", 0),
        ("", "no expression found: expected one ${...}", 0),
        ("$${attr}", "no expression found: expected one ${...}", 0),
        ("${a:equals('b')", "unclosed expression: '${' has no matching '}'", 0),
        ("${a:isEmpty()} ${b", "unclosed expression: '${' has no matching '}'", 15),
        ("${a}${b}", "found 2 expressions but expected only one", 4),
        (" ${a:isEmpty()}", "found characters outside of the expression", 0),
        ("${a:isEmpty()}x", "found characters outside of the expression", 14),
        ("${a:nope()}", "unknown function 'nope'", 4),
    ],
)
def test_not_a_single_expression(text: str, reason: str, position: int) -> None:
    with pytest.raises(expression.ExpressionError) as caught:
        expression.result_type(text)
    assert (caught.value.reason, caught.value.position) == (reason, position)


@pytest.mark.parametrize("value", ["${a:equals('b')}", "${x:isNull():not()}", "#{flag}"])
def test_boolean_expression_validator_accepts(value: str) -> None:
    assert validators.BOOLEAN_EXPRESSION(value) is None


def test_compile_errors_are_left_to_the_frameworks_expression_check() -> None:
    # the engine compiles every Expression Language property and names the position: said once
    assert validators.BOOLEAN_EXPRESSION("${a:nope()}") is None
    assert validators.EXPRESSION("${a:nope()}") is not None


@pytest.mark.parametrize(
    ("value", "explanation"),
    [
        ("true", "'true' is not a valid boolean expression: no expression found: expected one ${...} at position 0"),
        ("${a}", "'${a}' is not a valid boolean expression: expected the expression to return type BOOLEAN but "
                 "it returns type STRING (at position 0)"),
        ("${a:length()}", "'${a:length()}' is not a valid boolean expression: expected the expression to return "
                          "type BOOLEAN but it returns type WHOLE_NUMBER (at position 0)"),
    ],
)
def test_boolean_expression_validator_refuses(value: str, explanation: str) -> None:
    assert validators.BOOLEAN_EXPRESSION(value) == explanation


def test_a_validator_of_expressions_runs_on_values_with_expressions() -> None:
    dynamic = DynamicPropertySpec("n", "v", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
                                  validator=validators.BOOLEAN_EXPRESSION)
    results = validate_properties((), {}, {"ok": "${a:isEmpty()}", "bad": "${a}"}, dynamic, expression_enabled=True)
    assert [r.subject for r in results] == ["bad"]
    # an ordinary validator still waits for the evaluated value
    plain = DynamicPropertySpec("n", "v", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
                                validator=validators.BOOLEAN)
    assert validate_properties((), {}, {"x": "${a}"}, plain, expression_enabled=True) == []

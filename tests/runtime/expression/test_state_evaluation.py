"""Component state in expressions: ``getStateValue`` through the SDK (UpdateAttribute's stateful mode),
and values that are not properties (``ProcessContext.new_property_value``, NiFi's ``newPropertyValue``)."""

from __future__ import annotations

from flowyard.runtime import expression
from flowyard.runtime.sdk import ProcessContext, PropertyValue, validators


def test_the_evaluator_passes_state_to_get_state_value() -> None:
    evaluate = expression.evaluator({"p": "param"})
    assert evaluate("${getStateValue('n'):plus(1)}-#{p}", {}, state={"n": "41"}) == "42-param"
    assert evaluate("${getStateValue('n')}", {}) == ""


def test_property_values_evaluate_with_state() -> None:
    value = PropertyValue("${getStateValue('count'):plus(${step})}", None, evaluator=expression.evaluator(),
                          name="count")
    assert value.evaluate({"step": "2"}, state={"count": "3"}).as_str() == "5"
    assert value.evaluate({"step": "2"}).as_str() == ""


def test_new_property_value_uses_the_components_expression_language() -> None:
    context = ProcessContext(component_id="c", name="c", component_type="T", specs=(), properties={}, dynamic={},
                             evaluator=expression.evaluator())
    value = context.new_property_value("${a:toUpper()}", name="condition")
    assert value.evaluate({"a": "x"}).as_str() == "X"
    assert context.new_property_value(None).is_set is False
    literal = ProcessContext(component_id="c", name="c", component_type="T", specs=(), properties={}, dynamic={})
    assert literal.new_property_value("${a}").evaluate({"a": "x"}).as_str() == "${a}"


def test_expression_text_validator() -> None:
    assert validators.EXPRESSION("plain") is None
    assert validators.EXPRESSION("${a}-${b:toUpper()}") is None
    assert validators.EXPRESSION("${a:nope()}") == "'${a:nope()}' is not a valid expression: unknown function " \
                                                   "'nope' at position 4"

"""NiFi's Expression Language, compiled once, evaluated without eval or exec.

    from flowyard.runtime import expression

    compiled = expression.compile("${filename:substringBeforeLast('.'):toUpper()}.csv")
    compiled.evaluate({"filename": "report.txt"})          # 'REPORT.csv'
    expression.evaluate("#{dir}/${filename}", attrs, parameters={"dir": "/data"})
    expression.evaluate_typed("${size:toNumber():gt(1000)}", attrs)   # TypedValue('boolean', True)
    expression.catalogue()                                   # every function, for completion

``ExpressionError`` (a ``ValueError``) names the position (``.position``, 0-based)
and what was expected; invalid text fails in ``compile``, never later, except
for problems only values can reveal (an invalid regular expression taken from
an attribute), which fail in ``evaluate`` with the same error type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from flowyard.runtime.expression._environment import ENVIRONMENT
from flowyard.runtime.expression._parser import (
    CompiledText,
    ExpressionError,
    Node,
    compile_expression,
    compile_text,
    single_expression_type,
)
from flowyard.runtime.expression._registry import REGISTRY, EvalContext, load_functions
from flowyard.runtime.expression._types import TYPES, TypedValue, as_text, type_of

__all__ = [
    "TYPES",
    "CompiledExpression",
    "ExpressionError",
    "TypedValue",
    "catalogue",
    "compile",
    "evaluate",
    "evaluate_typed",
    "evaluator",
    "parameter_references",
    "result_type",
    "substitute_parameters",
]


_EMPTY: Mapping[str, str] = MappingProxyType({})


class CompiledExpression:
    """Property text compiled once. ``evaluate`` returns its string value."""

    __slots__ = ("_compiled", "_literal", "_node", "_on_attributes", "text")

    def __init__(self, compiled: CompiledText) -> None:
        self._compiled = compiled
        self.text = compiled.text
        # Most property values hold no expression: answer those without a context.
        parts = compiled.parts
        self._literal: str | None = "".join(p for p in parts if isinstance(p, str)) if compiled.is_literal else None
        #: What gives the value (its text is the result), None for literal text.
        self._node: Node | None = (None if self._literal is not None
                                   else compiled.expression if compiled.expression is not None else compiled.node)
        #: The node is called with the attributes mapping, not an EvalContext (``compile_text``).
        self._on_attributes = compiled.on_attributes

    @property
    def is_literal(self) -> bool:
        """True if the text has no expression and no parameter reference."""
        return self._compiled.is_literal

    def evaluate(
        self,
        attributes: Mapping[str, str] | None = None,
        *,
        parameters: Mapping[str, str] | None = None,
        state: Mapping[str, str] | None = None,
    ) -> str:
        """The text with every expression and parameter replaced by its value
        (a null value becomes the empty string). Raises ``ExpressionError``."""
        node = self._node
        if node is None:
            return self._literal  # type: ignore[return-value]
        try:
            if self._on_attributes:
                value = node(_EMPTY if attributes is None else attributes)
            else:
                value = node(EvalContext(_EMPTY if attributes is None else attributes,
                                         _EMPTY if parameters is None else parameters,
                                         _EMPTY if state is None else state, ENVIRONMENT))
        except RecursionError:
            raise _too_deep(self.text) from None
        return value if type(value) is str else _value_text(value)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.text!r})"


def _value_text(value: object) -> str:
    """The text a property's value becomes (null: the empty string)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return as_text(value) or ""


def _too_deep(text: str) -> ExpressionError:
    return ExpressionError("the expression is nested too deeply to evaluate", 0, text)


@lru_cache(maxsize=4096)
def compile(text: str) -> CompiledExpression:
    """Compile property text (literal text with embedded ``${...}`` and ``#{...}``).

    Raises ``ExpressionError`` with ``.position`` for invalid text. Results are
    cached by text: compiling the same property twice costs nothing.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected text, found {type(text).__name__}")
    try:
        return CompiledExpression(compile_text(text))
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply", 0, text) from None


def evaluate(
    text: str,
    attributes: Mapping[str, str] | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    state: Mapping[str, str] | None = None,
) -> str:
    """Compile (cached) and evaluate ``text``. Raises ``ExpressionError``."""
    return compile(text).evaluate(attributes, parameters=parameters, state=state)


def evaluate_typed(
    expression: str,
    attributes: Mapping[str, str] | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    state: Mapping[str, str] | None = None,
) -> TypedValue:
    """Evaluate a single ``${...}`` expression and return its value with its type
    (``string``, ``whole_number``, ``decimal``, ``boolean``, ``date``, ``instant``;
    ``None`` for null). Raises ``ExpressionError``."""
    try:
        node = compile_expression(expression)
        ctx = EvalContext(attributes or {}, parameters or {}, state or {}, ENVIRONMENT)
        value = node(ctx)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply", 0, expression) from None
    return TypedValue(type_of(value), value)


@lru_cache(maxsize=1024)
def result_type(text: str) -> str:
    """The type an expression returns, known without evaluating it (NiFi's ``ResultType``):
    ``boolean``, ``string``, ``whole_number``, ``decimal``, ``number``, ``date`` or ``instant``.

    ``text`` must be exactly one ``${...}`` with nothing around it, as NiFi requires of
    properties that take a boolean expression (RouteOnAttribute's conditions). Raises
    ``ExpressionError`` with the position otherwise: no expression (``true``, or an escaped
    ``$${a}``), an unclosed ``${``, several expressions, text outside the expression, or an
    expression that does not compile.
    """
    try:
        return single_expression_type(text)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply", 0, text) from None


_PARAMETER_REF = re.compile(r"(?<!#)#\{\s*(?:'([^']*)'|\"([^\"]*)\"|([^}]*?))\s*\}")


def parameter_references(text: str) -> set[str]:
    """Names of the parameters ``text`` refers to with ``#{...}`` (``##{`` is literal)."""
    return {next(g for g in m.groups() if g is not None) for m in _PARAMETER_REF.finditer(text)}


def substitute_parameters(text: str, parameters: Mapping[str, str]) -> str:
    """``text`` with each ``#{name}`` replaced by its parameter value and ``##{``
    by ``#{``; nothing else is evaluated (for properties without Expression
    Language, where NiFi still substitutes parameters). Unknown names stay as written."""
    def replace(m: re.Match[str]) -> str:
        name = next(g for g in m.groups() if g is not None)
        return parameters.get(name, m.group(0))
    return _PARAMETER_REF.sub(replace, text).replace("##{", "#{")


def catalogue() -> list[dict[str, object]]:
    """Every function: name, family, subject type, arguments, return type, description."""
    load_functions()
    return [REGISTRY[name].to_dict() for name in sorted(REGISTRY, key=str.lower)]


def evaluator(parameters: Mapping[str, str] | None = None):  # type: ignore[no-untyped-def]
    """An SDK ``Evaluator``: ``(text, attributes, *, state=None) -> str`` with these parameters
    (``state``: the component state ``getStateValue`` reads)."""
    params = dict(parameters or {})
    # The compiled texts this evaluator has seen. This is the per-flowfile path of every
    # processor: it does what CompiledExpression.evaluate does, written out here to save a call.
    known: dict[str, CompiledExpression] = {}
    environment = ENVIRONMENT

    def evaluate_property(text: str, attributes: Mapping[str, str] | None, *,
                          state: Mapping[str, str] | None = None) -> str:
        compiled = known.get(text)
        if compiled is None:
            compiled = compile(text)
            if len(known) >= _KNOWN_TEXTS:
                known.clear()
            known[text] = compiled
        node = compiled._node
        if node is None:
            return compiled._literal  # type: ignore[return-value]
        try:
            if compiled._on_attributes:
                value = node(_EMPTY if attributes is None else attributes)
            else:
                value = node(EvalContext(_EMPTY if attributes is None else attributes, params,
                                         _EMPTY if state is None else state, environment))
        except RecursionError:
            raise _too_deep(text) from None
        return value if type(value) is str else _value_text(value)
    return evaluate_property


#: How many compiled texts an evaluator keeps at hand (as many as ``compile`` caches).
_KNOWN_TEXTS = 4096

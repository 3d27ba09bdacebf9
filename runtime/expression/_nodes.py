"""What compiled Expression Language is made of, and the error it raises.

A ``Node`` is a closure called with an ``EvalContext`` (or with the attributes mapping
itself, in text whose expressions read nothing else: ``_parser.compile_text``); ``_Const`` marks one whose value
is known at compile time (literal arguments are converted once). ``compile_call``
builds the closure that calls a registered function, converting its subject and
arguments as the function declares. ``ExpressionError`` is what compiling raises,
and what evaluating raises when a call fails. The parser that builds nodes from
text is ``flowyard.runtime.expression._parser``. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowyard.runtime.expression._environment import ENVIRONMENT
from flowyard.runtime.expression._registry import EvalContext, EvaluationError, Function, coerce, converter

__all__ = ["ExpressionError", "Node", "compile_call"]

#: Called with an EvalContext, or with the attributes mapping itself in text compiled on attributes
#: (``_parser.compile_text``).
Node = Callable[[Any], Any]


class ExpressionError(ValueError):
    """An expression is invalid (at compile time) or failed (at evaluation).

    ``position`` is the 0-based offset in the text where the problem is; the
    message says what was expected there.
    """

    def __init__(self, message: str, position: int, text: str = "") -> None:
        self.position = position
        self.text = text
        self.reason = message
        super().__init__(f"{message} at position {position}")



class _Const:
    """A node whose value is known at compile time (literal arguments)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, ctx: EvalContext) -> Any:
        return self.value


def _literal(value: Any) -> Node:
    return _Const(value)


class _Never:
    """No value has this type: a conversion guarded by it always runs."""


#: For each declared type, the runtime type its conversion returns unchanged (``as_text`` of a
#: ``str``, ``as_bool`` of a ``bool``...): a node checks ``type(v) is not exact`` and skips the
#: call when it is. The others (``number``, ``date``, ``instant``) always convert.
_EXACT: dict[str, type] = {"string": str, "whole_number": int, "decimal": float, "boolean": bool}


def _conversion(type_name: str | None) -> tuple[bool, type, Callable[[Any], Any]]:
    """``(converts, exact, convert)`` for a declared type: ``any`` (and no type) converts nothing."""
    if type_name is None or type_name == "any":
        return False, _Never, _identity
    return True, _EXACT.get(type_name, _Never), converter(type_name)


def _identity(value: Any) -> Any:
    return value


def compile_call(fn: Function, subject: Node | None, args: list[Node], pos: int, text: str, *,
                 attribute: str | None = None, on_attributes: bool = False) -> Node:
    """The closure calling ``fn`` on ``subject`` with ``args`` (converted per declaration);
    ``subject`` ``None`` calls a subjectless function. ``text`` and ``pos`` place the
    ``ExpressionError`` that a failing call raises (or a literal argument ``fn`` refuses).
    ``attribute`` says that ``subject`` is the value of the attribute of that name
    (``EvalContext.lookup``), which the closure may then look up itself; ``on_attributes``
    that nodes are called with the attributes mapping instead of an ``EvalContext``
    (``fn`` must then not take the context).

    Evaluation is what most of the time goes to, so the common shapes get closures of
    their own (literal arguments converted once, no conversion call for a value that
    already has the declared type, the function's own ``specialize`` for literal
    arguments); they behave exactly as the general one."""
    types = [a.type for a in fn.args]
    if fn.args and fn.args[-1].variadic:
        types += [fn.args[-1].type] * (len(args) - len(types))
    arg_types = types[: len(args)]
    impl = fn.impl
    # Literal arguments are converted once, here.
    consts: list[Any] = []
    all_const = True
    for node, t in zip(args, arg_types):
        if isinstance(node, _Const):
            consts.append(coerce(node.value, t))
        else:
            all_const = False
            break
    if all_const and fn.check_literals is not None:
        try:
            fn.check_literals(*consts)
        except EvaluationError as exc:  # NiFi validates literal arguments when compiling
            raise ExpressionError(f"{fn.name}(): {exc}", pos, text) from None
    passes_null = fn.null_subject == "pass"
    with_ctx = fn.context
    name = fn.name

    def failed(exc: Exception) -> ExpressionError:
        return ExpressionError(f"{name}() failed: {exc}", pos, text)

    if subject is None:
        def subjectless(ctx: EvalContext) -> Any:
            values = consts if all_const else [coerce(a(ctx), t) for a, t in zip(args, arg_types)]
            try:
                return impl(ctx, *values) if with_ctx else impl(*values)
            except EvaluationError as exc:
                raise failed(exc) from None
        return subjectless

    if fn.compile_node is not None and not with_ctx:
        return fn.compile_node(subject, args)
    subj = subject
    converts, exact, to_subj = _conversion(fn.subject)
    if all_const and not with_ctx:
        fixed = tuple(consts)
        if fn.specialize is not None:
            impl = fn.specialize(*fixed) or impl
            if impl is not fn.impl:
                fixed = ()
        if attribute is not None and len(fixed) < 2:
            call_on = _call_in_attributes if on_attributes else _call_on_attribute
            return call_on(impl, attribute, fixed, converts, exact, to_subj, passes_null, failed)
        if not fixed:
            def call_subject(ctx: EvalContext) -> Any:
                s = subj(ctx)
                if converts and type(s) is not exact:
                    s = to_subj(s)
                if s is None and not passes_null:
                    return None
                try:
                    return impl(s)
                except EvaluationError as exc:
                    raise failed(exc) from None
            return call_subject
        if len(fixed) == 1:
            (literal,) = fixed

            def call_literal(ctx: EvalContext) -> Any:
                s = subj(ctx)
                if converts and type(s) is not exact:
                    s = to_subj(s)
                if s is None and not passes_null:
                    return None
                try:
                    return impl(s, literal)
                except EvaluationError as exc:
                    raise failed(exc) from None
            return call_literal

        def call_literals(ctx: EvalContext) -> Any:
            s = subj(ctx)
            if converts and type(s) is not exact:
                s = to_subj(s)
            if s is None and not passes_null:
                return None
            try:
                return impl(s, *fixed)
            except EvaluationError as exc:
                raise failed(exc) from None
        return call_literals

    if len(args) == 1 and not with_ctx:
        (only,) = args
        arg_converts, arg_exact, to_arg = _conversion(arg_types[0])

        def call_one(ctx: EvalContext) -> Any:
            s = subj(ctx)
            if converts and type(s) is not exact:
                s = to_subj(s)
            if s is None and not passes_null:
                return None
            a = only(ctx)
            if arg_converts and type(a) is not arg_exact:
                a = to_arg(a)
            try:
                return impl(s, a)
            except EvaluationError as exc:
                raise failed(exc) from None
        return call_one

    pairs = [(a, converter(t)) for a, t in zip(args, arg_types)]

    def call_dynamic(ctx: EvalContext) -> Any:
        s = subj(ctx)
        if converts:
            s = to_subj(s)
        if s is None and not passes_null:
            return None
        values = [conv(a(ctx)) for a, conv in pairs]
        try:
            return impl(ctx, s, *values) if with_ctx else impl(s, *values)
        except EvaluationError as exc:
            raise failed(exc) from None
    return call_dynamic


def _call_on_attribute(impl: Callable[..., Any], attribute: str, fixed: tuple[Any, ...], converts: bool,
                       exact: type, to_subj: Callable[[Any], Any], passes_null: bool,
                       failed: Callable[[Exception], ExpressionError]) -> Node:
    """``compile_call``'s closure for a call on the attribute named ``attribute`` with no
    argument or one literal: the most common expressions (``${filename:endsWith('.csv')}``,
    ``${size:gt(1000)}``), one call fewer than asking the attribute's node."""
    if not fixed:
        def call_attribute(ctx: EvalContext) -> Any:
            s = ctx.attributes.get(attribute)
            if s is None:
                s = ctx.environment.get(attribute)
            if converts and type(s) is not exact:
                s = to_subj(s)
            if s is None and not passes_null:
                return None
            try:
                return impl(s)
            except EvaluationError as exc:
                raise failed(exc) from None
        return call_attribute
    (literal,) = fixed

    def call_attribute_literal(ctx: EvalContext) -> Any:
        s = ctx.attributes.get(attribute)
        if s is None:
            s = ctx.environment.get(attribute)
        if converts and type(s) is not exact:
            s = to_subj(s)
        if s is None and not passes_null:
            return None
        try:
            return impl(s, literal)
        except EvaluationError as exc:
            raise failed(exc) from None
    return call_attribute_literal


def _call_in_attributes(impl: Callable[..., Any], attribute: str, fixed: tuple[Any, ...], converts: bool,
                        exact: type, to_subj: Callable[[Any], Any], passes_null: bool,
                        failed: Callable[[Exception], ExpressionError]) -> Node:
    """``_call_on_attribute`` for nodes called with the attributes mapping."""
    environment = ENVIRONMENT
    if not fixed:
        def call_attribute(attributes: Any) -> Any:
            s = attributes.get(attribute)
            if s is None:
                s = environment.get(attribute)
            if converts and type(s) is not exact:
                s = to_subj(s)
            if s is None and not passes_null:
                return None
            try:
                return impl(s)
            except EvaluationError as exc:
                raise failed(exc) from None
        return call_attribute
    (literal,) = fixed

    def call_attribute_literal(attributes: Any) -> Any:
        s = attributes.get(attribute)
        if s is None:
            s = environment.get(attribute)
        if converts and type(s) is not exact:
            s = to_subj(s)
        if s is None and not passes_null:
            return None
        try:
            return impl(s, literal)
        except EvaluationError as exc:
            raise failed(exc) from None
    return call_attribute_literal

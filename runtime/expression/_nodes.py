"""What compiled Expression Language is made of, and the error it raises.

A ``Node`` is a closure over an ``EvalContext``; ``_Const`` marks one whose value
is known at compile time (literal arguments are converted once). ``compile_call``
builds the closure that calls a registered function, converting its subject and
arguments as the function declares. ``ExpressionError`` is what compiling raises,
and what evaluating raises when a call fails. The parser that builds nodes from
text is ``flowyard.runtime.expression._parser``. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowyard.runtime.expression._registry import EvalContext, EvaluationError, Function, coerce, converter
from flowyard.runtime.expression._types import as_text

__all__ = ["ExpressionError", "Node", "compile_call"]

Node = Callable[[EvalContext], Any]


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


def compile_call(fn: Function, subject: Node | None, args: list[Node], pos: int, text: str) -> Node:
    """The closure calling ``fn`` on ``subject`` with ``args`` (converted per declaration);
    ``subject`` ``None`` calls a subjectless function. ``text`` and ``pos`` place the
    ``ExpressionError`` that a failing call raises (or a literal argument ``fn`` refuses)."""
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
    subject_type = fn.subject
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

    subj = subject
    convert_subject = subject_type not in (None, "any")
    if all_const:
        fixed = tuple(consts)
        if subject_type == "string" and not with_ctx:
            def call_string_const(ctx: EvalContext) -> Any:
                s = subj(ctx)
                if type(s) is not str:
                    s = as_text(s)
                    if s is None and not passes_null:
                        return None
                try:
                    return impl(s, *fixed)
                except EvaluationError as exc:
                    raise failed(exc) from None
            return call_string_const

        to_subj = converter(subject_type) if convert_subject else None  # type: ignore[arg-type]

        def call_const(ctx: EvalContext) -> Any:
            s = subj(ctx)
            if to_subj is not None:
                s = to_subj(s)
            if s is None and not passes_null:
                return None
            try:
                return impl(ctx, s, *fixed) if with_ctx else impl(s, *fixed)
            except EvaluationError as exc:
                raise failed(exc) from None
        return call_const

    to_subject = converter(subject_type) if convert_subject else None  # type: ignore[arg-type]
    pairs = [(a, converter(t)) for a, t in zip(args, arg_types)]
    if len(pairs) == 1 and not with_ctx:
        (only, to_arg), = pairs

        def call_one(ctx: EvalContext) -> Any:
            s = subj(ctx)
            if to_subject is not None:
                s = to_subject(s)
            if s is None and not passes_null:
                return None
            try:
                return impl(s, to_arg(only(ctx)))
            except EvaluationError as exc:
                raise failed(exc) from None
        return call_one

    def call_dynamic(ctx: EvalContext) -> Any:
        s = subj(ctx)
        if to_subject is not None:
            s = to_subject(s)
        if s is None and not passes_null:
            return None
        values = [conv(a(ctx)) for a, conv in pairs]
        try:
            return impl(ctx, s, *values) if with_ctx else impl(s, *values)
        except EvaluationError as exc:
            raise failed(exc) from None
    return call_dynamic

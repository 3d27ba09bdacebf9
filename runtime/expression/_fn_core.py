"""Boolean logic, comparisons, multi-attribute evaluation and subjectless
functions of the Expression Language. Pure (``hostname``/``ip`` read the
machine's name; ``UUID``/``random`` use the OS random source)."""

from __future__ import annotations

import itertools
import operator
import re
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from flowyard.runtime.expression._nodes import Node
from flowyard.runtime.expression._registry import Arg, EvalContext, EvaluationError, function
from flowyard.runtime.expression._types import (
    Date,
    Instant,
    as_bool,
    as_date_ms,
    as_decimal,
    as_number,
    as_text,
)

B = "boolean logic"
M = "multi-attribute evaluation"
S = "subjectless"


@function("isNull", family=B, subject="any", returns="boolean", null_subject="pass",
          description="True if the subject has no value (a missing attribute).")
def is_null(s: Any) -> bool:
    return s is None


@function("notNull", family=B, subject="any", returns="boolean", null_subject="pass",
          description="True if the subject has a value (possibly empty).")
def not_null(s: Any) -> bool:
    return s is not None


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """NiFi compares across types by string form; dates by epoch milliseconds."""
    if isinstance(a, Date | Instant) or isinstance(b, Date | Instant):
        return as_date_ms(a), as_date_ms(b)
    return as_text(a), as_text(b)


@function("equals", family=B, subject="any", args=(Arg("value", "any"),), returns="boolean",
          null_subject="pass",
          description="True if the subject equals the argument (compared as text; dates as time).")
def equals(s: Any, other: Any) -> bool:
    if s is None or other is None:
        return s is None and other is None
    if type(s) is type(other) and not isinstance(s, float):
        return bool(s == other)
    x, y = _comparable(s, other)
    return x is not None and x == y


@function("equalsIgnoreCase", family=B, subject="string", args=(Arg("value"),), returns="boolean",
          null_subject="pass", description="True if the subject equals the argument, ignoring case.")
def equals_ignore_case(s: str | None, other: str | None) -> bool:
    if s is None or other is None:
        return False
    return s.lower() == other.lower()


def _compare(s: Any, other: Any) -> int | None:
    if isinstance(s, Date | Instant) or isinstance(other, Date | Instant):
        a, b = as_date_ms(s), as_date_ms(other)
    elif isinstance(s, float) or isinstance(other, float):
        a, b = as_decimal(s), as_decimal(other)  # type: ignore[assignment]
    else:
        a, b = as_number(s), as_number(other)
        if a is None or b is None:
            a, b = as_decimal(s), as_decimal(other)  # type: ignore[assignment]
    if a is None or b is None:
        return None
    return (a > b) - (a < b)


def _comparison(name: str, description: str, test: Any, holds: Callable[[int, int], bool]) -> None:
    """Declare comparison ``name``: true when ``test`` holds for ``_compare``'s answer.
    ``holds(a, b)`` is the same test on two whole numbers (``operator.gt`` for ``gt``...)."""

    def compare(s: Any, other: Any) -> bool:
        c = _compare(s, other)
        return c is not None and bool(test(c))

    def specialize(other: Any) -> Callable[[Any], bool] | None:
        if type(other) is not int:
            return None

        def compare_with_whole(s: Any) -> bool:
            # Plain digits (what str.isdecimal accepts, as parse_whole's \d+ does) of at most 18
            # of them are a whole number in a long's range: _compare would find it so.
            if type(s) is str and s.isdecimal() and len(s) < 19:
                return holds(int(s), other)
            if type(s) is int:
                return holds(s, other)
            return compare(s, other)
        return compare_with_whole

    function(name, family=B, subject="any", args=(Arg("value", "any"),), returns="boolean", null_subject="pass",
             description=description, specialize=specialize)(compare)


_comparison("gt", "True if the subject is a number greater than the argument.", lambda c: c > 0, operator.gt)
_comparison("ge", "True if the subject is a number greater than or equal to the argument.", lambda c: c >= 0,
            operator.ge)
_comparison("lt", "True if the subject is a number less than the argument.", lambda c: c < 0, operator.lt)
_comparison("le", "True if the subject is a number less than or equal to the argument.", lambda c: c <= 0,
            operator.le)


def _logic_node(both: bool) -> Callable[[Node, list[Node]], Node]:
    """The node of ``and`` (``both``) or ``or``: both sides evaluated, each as a boolean."""
    def compile_node(subject: Node, args: list[Node]) -> Node:
        (other,) = args

        def logic_node(ctx: EvalContext) -> bool:
            s = subject(ctx)
            if type(s) is not bool:
                s = bool(as_bool(s))
            o = other(ctx)
            if type(o) is not bool:
                o = bool(as_bool(o))
            return (s and o) if both else (s or o)
        return logic_node
    return compile_node


_and_node, _or_node = _logic_node(True), _logic_node(False)


def _not_node(subject: Node, args: list[Node]) -> Node:
    def not_node(ctx: EvalContext) -> bool:
        s = subject(ctx)
        if type(s) is not bool:
            s = as_bool(s)
        return not s
    return not_node


# and/or evaluate both sides, as flowyard always has (an error on the right is not hidden by a
# false left side); their nodes are written out (compile_node), the functions document them.
@function("and", family=B, subject="boolean", args=(Arg("condition", "boolean"),), returns="boolean",
          null_subject="pass", description="True if both the subject and the argument are true.",
          compile_node=_and_node)
def and_(s: bool | None, other: bool | None) -> bool:
    return bool(s) and bool(other)


@function("or", family=B, subject="boolean", args=(Arg("condition", "boolean"),), returns="boolean",
          null_subject="pass", description="True if the subject or the argument is true.",
          compile_node=_or_node)
def or_(s: bool | None, other: bool | None) -> bool:
    return bool(s) or bool(other)


@function("not", family=B, subject="boolean", returns="boolean", null_subject="pass",
          description="The negation of the subject (a missing value counts as false).", compile_node=_not_node)
def not_(s: bool | None) -> bool:
    return not s


@function("ifElse", family=B, subject="boolean", args=(Arg("if_true", "any"), Arg("if_false", "any")),
          returns="string", null_subject="pass",
          description="The first argument if the subject is true, else the second.")
def if_else(s: bool | None, yes: Any, no: Any) -> Any:
    return yes if s else no


# -- multi-attribute ------------------------------------------------------------------------


def _matching(ctx: EvalContext, *patterns: str | None) -> list[str | None]:
    compiled = []
    for p in patterns:
        try:
            compiled.append(re.compile(p or ""))
        except re.error as exc:
            raise EvaluationError(f"invalid regular expression {p!r}: {exc}") from None
    return [v for k, v in sorted(ctx.attributes.items()) if any(c.fullmatch(k) for c in compiled)]


def _named(ctx: EvalContext, *names: str | None) -> list[str | None]:
    return [ctx.lookup(n) if n is not None else None for n in names]


def _delineated(value: str | None, delimiter: str | None) -> list[str]:
    if not value or not delimiter:
        return [] if not value else [value]
    parts = value.split(delimiter)
    while parts and parts[-1] == "":  # Java's String.split drops trailing empty strings
        parts.pop()
    return parts


_ANY = "True if the following functions are true for any"
_ALL = "True if the following functions are true for"
for _name, _multi, _desc in (
    ("anyAttribute", "any", f"{_ANY} of the named attributes."),
    ("allAttributes", "all", f"{_ALL} all of the named attributes."),
):
    function(_name, family=M, subject=None, args=(Arg("name", variadic=True),), returns="any", context=True,
             multi=_multi, description=_desc)(_named)

for _name, _multi, _desc in (
    ("anyMatchingAttribute", "any", f"{_ANY} attribute whose name matches one of the regular expressions."),
    ("allMatchingAttributes", "all", f"{_ALL} every attribute whose name matches one of the regular expressions."),
):
    function(_name, family=M, subject=None, args=(Arg("regex", variadic=True),), returns="any", context=True,
             multi=_multi, description=_desc)(_matching)


@function("anyDelineatedValue", family=M, subject=None, args=(Arg("value"), Arg("delimiter")), returns="any",
          multi="any", description="True if the following functions are true for any piece of the delimited value.")
def any_delineated(value: str | None, delimiter: str | None) -> list[str]:
    return _delineated(value, delimiter)


@function("allDelineatedValues", family=M, subject=None, args=(Arg("value"), Arg("delimiter")), returns="any",
          multi="all", description="True if the following functions are true for every piece of the delimited value.")
def all_delineated(value: str | None, delimiter: str | None) -> list[str]:
    return _delineated(value, delimiter)


@function("join", family=M, subject="any", args=(Arg("delimiter"),), returns="string", null_subject="pass",
          multi="aggregate", description="The values of an all* expression (or the single value of an "
                                         "attribute) joined with the delimiter; a null value joins as ''.")
def join(values: Any, delimiter: str | None) -> str:
    return (delimiter or "").join(as_text(v) or "" for v in values or ())


@function("count", family=M, subject="any", returns="whole_number", null_subject="pass", multi="aggregate",
          description="How many values of an all* expression (or of the single subject) are non-null and "
                      "not false.")
def count(values: Any) -> int:
    return sum(1 for v in values or () if v is not None and v is not False)


# -- subjectless ----------------------------------------------------------------------------


@function("literal", family=S, subject=None, args=(Arg("value", "any"),), returns="any",
          description="The argument itself, so functions can be applied to a literal value.")
def literal(value: Any) -> Any:
    return value


@function("getStateValue", family=S, subject=None, args=(Arg("key"),), returns="string", context=True,
          description="The value of a key in the processor's component state.")
def get_state_value(ctx: EvalContext, key: str | None) -> str | None:
    return ctx.state.get(key or "")


@function("UUID", family=S, subject=None, returns="string", description="A random (version 4) UUID.")
def random_uuid() -> str:
    return str(uuid.uuid4())


@function("hostname", family=S, subject=None, args=(Arg("fully_qualified", "boolean", optional=True),),
          returns="string", description="The host name of the machine (fully qualified if asked).")
def hostname(fully_qualified: bool | None = False) -> str:
    return socket.getfqdn() if fully_qualified else socket.gethostname()


@function("ip", family=S, subject=None, returns="string", description="The IP address of the machine.")
def ip() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


@function("thread", family=S, subject=None, returns="string", description="The name of the current thread.")
def thread() -> str:
    return threading.current_thread().name


_counter = itertools.count()
_counter_lock = threading.Lock()

@function("nextInt", family=S, subject=None, returns="whole_number",
          description="A counter: 0 the first time, then one more at every call (per flowyard process).")
def next_int() -> int:
    with _counter_lock:
        return next(_counter)


_URI_SAFE = {
    "user": "!$&'()*+,;=:-._~",
    "path": "/:@!$&'()*+,;=-._~",
    "query": "/?:@!$&'()*+,;=-._~",
}


@function("getUri", family=S, subject=None,
          args=(Arg("scheme"), Arg("user_info"), Arg("host"), Arg("port", "whole_number"), Arg("path"),
                Arg("query"), Arg("fragment")),
          returns="string",
          description="A URI built from its parts (null leaves a part out, port -1 means none); "
                      "characters not allowed in a part are percent-encoded.")
def get_uri(scheme: str | None, user_info: str | None, host: str | None, port: int | None, path: str | None,
            query: str | None, fragment: str | None) -> str:
    from urllib.parse import quote

    out = []
    if scheme:
        out.append(f"{scheme}:")
    if host is not None:
        out.append("//")
        if user_info is not None:
            out.append(quote(user_info, safe=_URI_SAFE["user"]) + "@")
        out.append(host)
        if port is not None and port != -1:
            out.append(f":{port}")
    if path:
        out.append(quote(path, safe=_URI_SAFE["path"]))
    if query is not None:
        out.append("?" + quote(query, safe=_URI_SAFE["query"]))
    if fragment is not None:
        out.append("#" + quote(fragment, safe=_URI_SAFE["query"]))
    return "".join(out)


@function("toString", family="type coercion", subject="any", returns="string",
          description="The subject as text.")
def to_string(s: Any) -> str | None:
    return as_text(s)



@function("evaluateELString", family="string manipulation", subject="string", returns="string", context=True,
          description="Evaluates the Expression Language inside the subject's text (parameters are not resolved).")
def evaluate_el_string(ctx: EvalContext, s: str) -> str | None:
    from flowyard.runtime.expression._parser import ExpressionError, compile_text

    try:
        compiled = compile_text(s)
    except ExpressionError as exc:
        raise EvaluationError(f"the text is not a valid expression: {exc}") from None
    if compiled.on_attributes:
        return as_text(compiled.node(ctx.attributes))
    inner = EvalContext(ctx.attributes, {}, ctx.state, ctx.environment)
    return as_text(compiled.node(inner))

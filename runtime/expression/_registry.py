"""The function registry of the Expression Language. Pure.

Each function is declared once with ``@function(...)``: its name, family,
subject type, arguments, return type and description. The declaration drives
compile-time checks (unknown function, wrong number of arguments), argument
conversion, null handling, and the catalogue the canvas uses for completion.

Type names used in declarations:

- value types: ``string``, ``whole_number``, ``decimal``, ``boolean``, ``date``, ``instant``;
- ``number``: a whole number or a decimal, whichever the value is (text is
  parsed as a whole number if it is one, else as a decimal);
- ``any``: the value unconverted.

Before the implementation is called, the subject and each argument are
converted to the declared type (``as_text``, ``as_number``, ...). With
``null_subject="null"`` (the default) a null subject makes the result null
without calling the implementation, as most NiFi functions do; functions that
treat null specially (``isNull``, ``replaceNull``, ``append``...) declare
``null_subject="pass"``.

Implementations receive ``(subject, *args)``; subjectless ones only
``(*args)``; with ``context=True`` an ``EvalContext`` comes first. They must
be pure apart from the context: no files, no network, no Python objects
beyond the values they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flowyard.runtime.expression._types import (
    Date,
    Instant,
    as_bool,
    as_date_ms,
    as_decimal,
    as_number,
    as_text,
    parse_decimal,
    parse_whole,
)

__all__ = ["REGISTRY", "Arg", "EvalContext", "EvaluationError", "Function", "coerce", "converter", "function",
           "load_functions"]


class EvaluationError(Exception):
    """An expression failed while evaluating (bad argument at run time, e.g. an
    invalid regular expression built from an attribute). Becomes ``ExpressionError``."""


@dataclass(frozen=True, slots=True)
class Arg:
    """One declared argument."""

    name: str
    type: str = "string"
    optional: bool = False
    variadic: bool = False


class EvalContext:
    """What an evaluation may see: flowfile attributes, parameters, component state.

    One is made per evaluation (so a plain class with slots, cheaper to build than a
    dataclass); ``item`` is the value a multi-attribute expression is evaluating now
    (set by the compiler)."""

    __slots__ = ("attributes", "environment", "item", "parameters", "state")

    def __init__(
        self,
        attributes: Mapping[str, str],
        parameters: Mapping[str, str] | None = None,
        state: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.attributes = attributes
        self.parameters: Mapping[str, str] = {} if parameters is None else parameters
        self.state: Mapping[str, str] = {} if state is None else state
        self.environment: Mapping[str, str] = {} if environment is None else environment
        self.item: Any = None

    def lookup(self, name: str) -> str | None:
        """An attribute by name; else an environment variable (NiFi's order, minus JVM properties)."""
        value = self.attributes.get(name)
        if value is None:
            value = self.environment.get(name)
        return value

    def __repr__(self) -> str:
        return f"EvalContext(attributes={self.attributes!r}, item={self.item!r})"


#: A compiled expression node (``flowyard.runtime.expression._nodes.Node``).
_Node = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Function:
    """A declared function. See the module docstring."""

    name: str
    family: str
    subject: str | None
    args: tuple[Arg, ...]
    returns: str
    description: str
    impl: Callable[..., Any]
    null_subject: str = "null"
    context: bool = False
    #: "any"/"all" for multi-attribute subject functions, "aggregate" for join/count.
    multi: str | None = None
    #: May also start an expression without a subject (``${math("random")}``).
    subject_optional: bool = False
    #: Called with the (converted) arguments when all are literals, at compile time; raises
    #: ``EvaluationError`` for a value NiFi refuses when compiling (a duration '1 fortnight').
    check_literals: Callable[..., None] | None = None
    #: Called with the (converted) arguments when all are literals, at compile time: an
    #: implementation taking the subject only, equivalent to ``impl(subject, *arguments)``
    #: but faster for those arguments, or None to keep ``impl``.
    specialize: Callable[..., Callable[[Any], Any] | None] | None = None
    #: Called at compile time with the subject's node and the arguments' nodes: a node doing
    #: exactly what the general call of ``impl`` would (conversions, null subject), written
    #: out for the hottest functions (``and``, ``or``, ``not``) to save a call per evaluation.
    compile_node: Callable[[_Node, list[_Node]], _Node] | None = None

    @property
    def min_args(self) -> int:
        return sum(1 for a in self.args if not a.optional and not a.variadic)

    @property
    def max_args(self) -> int | None:
        return None if any(a.variadic for a in self.args) else len(self.args)

    def to_dict(self) -> dict[str, object]:
        """Catalogue entry for docs and the canvas's autocompletion."""
        return {
            "name": self.name,
            "family": self.family,
            "subject": self.subject,
            "arguments": [{"name": a.name, "type": a.type, "optional": a.optional, "variadic": a.variadic}
                          for a in self.args],
            "returns": self.returns,
            "description": self.description,
        }


#: Every EL function by name. The function families fill it when they are imported, which
#: ``load_functions`` does the first time a function is looked up and not found.
REGISTRY: dict[str, Function] = {}

_functions_loaded = False


def load_functions() -> bool:
    """Import every function family (``_builtins``: ~20 ms, so that importing the
    package stays light) unless that was done; True if this call did it. The
    parser calls it when a name is not in ``REGISTRY``, ``catalogue`` before
    listing it."""
    global _functions_loaded
    if _functions_loaded:
        return False
    from flowyard.runtime.expression import _builtins  # noqa: F401  (registers the functions)

    _functions_loaded = True
    return True


def function(
    name: str,
    *,
    family: str,
    subject: str | None,
    returns: str,
    description: str,
    args: tuple[Arg, ...] = (),
    null_subject: str = "null",
    context: bool = False,
    multi: str | None = None,
    subject_optional: bool = False,
    check_literals: Callable[..., None] | None = None,
    specialize: Callable[..., Callable[[Any], Any] | None] | None = None,
    compile_node: Callable[[_Node, list[_Node]], _Node] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated implementation as EL function ``name``."""
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        if name in REGISTRY:
            raise ValueError(f"EL function {name!r} is declared twice")
        REGISTRY[name] = Function(name, family, subject, tuple(args), returns, description, impl,
                                  null_subject, context, multi, subject_optional, check_literals,
                                  specialize, compile_node)
        return impl
    return register


def _number(value: object) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, Date):
        return value.ms
    if isinstance(value, Instant):
        return value.ns // 1_000_000
    if isinstance(value, str):
        whole = parse_whole(value)
        return whole if whole is not None else parse_decimal(value)
    return None


def _date(value: object) -> Date | None:
    ms = as_date_ms(value)
    return Date(ms) if ms is not None else None


def _instant(value: object) -> Instant | None:
    if isinstance(value, Instant):
        return value
    ms = as_date_ms(value)
    return Instant(ms * 1_000_000) if ms is not None else None


_COERCE: dict[str, Callable[[object], object]] = {
    "string": as_text,
    "whole_number": as_number,
    "decimal": as_decimal,
    "number": _number,
    "boolean": as_bool,
    "date": _date,
    "instant": _instant,
    "any": lambda v: v,
}


def converter(type_name: str) -> Callable[[object], object]:
    """The conversion function for declared type ``type_name``."""
    return _COERCE[type_name]


def coerce(value: object, type_name: str) -> object:
    """``value`` converted to declared type ``type_name`` (null if it cannot be)."""
    return _COERCE[type_name](value)

"""``PropertyValue``: the configured value of one property, as a processor reads it.

It evaluates Expression Language through the evaluator the framework gives it,
converts the text (``as_int``, ``as_duration``, ``as_regex``, ...) raising
``PropertyValueError`` for a value it cannot convert, resolves controller
service references, and never shows a sensitive value in messages or reprs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar, cast, overload

from flowyard.runtime.sdk._property_specs import Evaluator, PropertySpec, PropertyValueError
from flowyard.runtime.sdk._units import _show, parse_data_size, parse_duration
from flowyard.runtime.sdk.validators import _parse_bool, _parse_float, _parse_int, _regex_problem

if TYPE_CHECKING:
    from flowyard.runtime.sdk._service import ControllerService, ControllerServiceLookup

__all__ = ["PropertyValue"]



class _StatefulEvaluator(Protocol):
    def __call__(self, text: str, attributes: Mapping[str, str] | None, *,
                 state: Mapping[str, str] | None = None) -> str: ...

_T = TypeVar("_T")
_MASK = "********"


class PropertyValue:
    """The configured value of one property, as a processor reads it.

    Immutable. ``raw`` is the text already resolved by the framework
    (configured value, or the default when unset): no defaulting happens
    here. The ``as_*`` conversions ignore surrounding whitespace (except
    ``as_str`` and ``as_regex``) and raise ``PropertyValueError`` naming the
    property and the value when the value is unset or cannot be converted.
    """

    __slots__ = ("_evaluator", "_literal", "_name", "_raw", "_services", "_spec")

    def __init__(
        self,
        raw: str | None,
        spec: PropertySpec | None = None,
        *,
        evaluator: Evaluator | None = None,
        name: str | None = None,
        services: ControllerServiceLookup | None = None,
    ) -> None:
        """``name`` labels the value in errors when there is no spec (dynamic
        properties); otherwise the spec's display name is used. ``services``
        resolves ``as_controller_service``."""
        self._raw = raw
        self._spec = spec
        self._evaluator = evaluator
        # Text without "$" or "#" holds no expression, escape or parameter: it evaluates to itself.
        self._literal = raw is not None and "$" not in raw and "#" not in raw
        self._name = name
        self._services = services

    @property
    def raw(self) -> str | None:
        """The configured text, or ``None`` when unset."""
        return self._raw

    @property
    def value(self) -> str | None:
        """The value's text; the same as ``raw``."""
        return self._raw

    @property
    def is_set(self) -> bool:
        """Whether there is a value (configured or defaulted)."""
        return self._raw is not None

    @property
    def spec(self) -> PropertySpec | None:
        """The spec of the property, if known."""
        return self._spec

    @property
    def is_literal(self) -> bool:
        """Whether the value is set and evaluates to itself whatever the attributes
        (no ``$`` or ``#``: no expression, escape or parameter), so a processor
        may read ``raw`` once instead of evaluating per FlowFile."""
        return self._literal

    @property
    def _label(self) -> str:
        if self._name is not None:
            return self._name
        return self._spec.display_name if self._spec is not None else "property"

    @property
    def _sensitive(self) -> bool:
        return self._spec is not None and self._spec.sensitive

    def evaluate(
        self, attributes: Mapping[str, str] | None = None, *, state: Mapping[str, str] | None = None
    ) -> PropertyValue:
        """The value with its Expression Language evaluated against ``attributes``.

        Returns a new PropertyValue holding ``evaluator(raw, attributes)``;
        it has no evaluator, so a result containing ``${`` is never evaluated
        twice. Returns ``self`` when there is no evaluator, no value, or the value
        cannot hold an expression (no ``$`` or ``#``: it evaluates to itself).
        ``state`` is the component state that ``getStateValue('key')`` reads
        (NiFi's ``evaluateAttributeExpressions(flowFile, null, null, stateValues)``);
        it is passed as the evaluator's ``state`` keyword, which the Expression
        Language's evaluator takes. Errors from the evaluator propagate unchanged.
        """
        if self._evaluator is None or self._raw is None or self._literal:
            return self
        if state is None:
            result = self._evaluator(self._raw, attributes)
        else:
            result = cast(_StatefulEvaluator, self._evaluator)(self._raw, attributes, state=state)
        return PropertyValue(result, self._spec, name=self._name, services=self._services)

    def _fail(self, explanation: str) -> PropertyValueError:
        return PropertyValueError(self._label, self._raw, explanation)

    def _text(self) -> str:
        if self._raw is None:
            raise self._fail("it has no value")
        return self._raw

    def _shown(self) -> str:
        return "the sensitive value" if self._sensitive else _show(self._text())

    def as_str(self) -> str:
        """The text itself. Raises ``PropertyValueError`` when unset."""
        return self._text()

    def as_int(self) -> int:
        """The value as an integer (ASCII digits, optional sign)."""
        number = _parse_int(self._text())
        if number is None:
            raise self._fail(f"{self._shown()} is not an integer")
        return number

    def as_float(self) -> float:
        """The value as a finite float (``nan`` and ``inf`` are refused)."""
        number = _parse_float(self._text())
        if number is None:
            raise self._fail(f"{self._shown()} is not a number")
        return number

    def as_bool(self) -> bool:
        """``True`` for ``"true"``, ``False`` for ``"false"``, in any case."""
        flag = _parse_bool(self._text())
        if flag is None:
            raise self._fail(f"{self._shown()} is not 'true' or 'false'")
        return flag

    def as_duration(self) -> float:
        """The value as a time period (e.g. ``"30 sec"``) in seconds."""
        try:
            return parse_duration(self._text())
        except ValueError as exc:
            raise self._fail(
                f"{self._shown()} is not a valid time period" if self._sensitive else str(exc)
            ) from None

    def as_data_size(self) -> int:
        """The value as a data size (e.g. ``"1 GB"``) in bytes."""
        try:
            return parse_data_size(self._text())
        except ValueError as exc:
            raise self._fail(
                f"{self._shown()} is not a valid data size" if self._sensitive else str(exc)
            ) from None

    def as_regex(self) -> re.Pattern[str]:
        """The value, a Java regular expression (not stripped), compiled to Python's
        equivalent (``flowyard.runtime.sdk.javaregex``)."""
        from flowyard.runtime.expression._javaregex import compile_java

        text = self._text()
        problem = _regex_problem(text)
        if problem is not None:
            raise self._fail(
                f"{self._shown()} is not a valid regular expression" if self._sensitive else problem
            )
        return compile_java(text).regex

    @overload
    def as_controller_service(self) -> ControllerService: ...

    @overload
    def as_controller_service(self, api: type[_T]) -> _T: ...

    def as_controller_service(self, api: type[object] | None = None) -> object:
        """The enabled controller service the value (a service id) names.

        Only for properties whose spec has ``identifies_controller_service``.
        ``api`` is the class the caller will use the service as (the API's
        base class); the service must be an instance of it, and the return
        type follows it. Raises ``PropertyValueError`` naming the property
        when the value is unset, when no such service is in scope, when it
        does not provide the spec's API or is not an ``api``, or when it is
        not enabled — all of which validation reports before a processor
        starts, so at run time they mean the configuration changed underneath.
        """
        wanted = self._spec.identifies_controller_service if self._spec is not None else None
        if wanted is None:
            raise self._fail("it does not identify a controller service")
        from flowyard.runtime.sdk._service import service_reference_problem

        service_id = self._text().strip()
        problem = service_reference_problem(self._services, service_id, wanted)
        service = self._services.get(service_id) if problem is None and self._services is not None else None
        if problem is None and service is None:
            problem = f"controller service {_show(service_id)} is not enabled"
        if problem is not None:
            raise self._fail(problem)
        if api is not None and not isinstance(service, api):
            raise self._fail(
                f"controller service {_show(service_id)} ({type(service).__name__}) is not a {api.__name__}"
            )
        return service

    def __repr__(self) -> str:
        shown = _MASK if self._sensitive and self._raw is not None else repr(self._raw)
        key = f", key={self._spec.key!r}" if self._spec is not None else ""
        return f"PropertyValue({shown}{key})"

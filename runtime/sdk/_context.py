"""``ProcessContext``: what a processor sees of its configuration and its component."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from flowyard.runtime.sdk._properties import Evaluator, ExpressionScope, PropertySpec, PropertyValue

__all__ = ["ComponentLog", "ProcessContext"]

_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}
#: NiFi's level names that Python spells differently.
_ALIASES = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "ERROR", "CRITICAL": "ERROR"}

BulletinSink = Callable[[str, str], None]
"""Receives ``(level, message)`` for WARNING and ERROR messages."""


class ComponentLog:
    """A processor's logger. Messages go to Python logging under
    ``flowyard.processor.<type>``; WARNING and ERROR also become bulletins on the
    component (shown on the canvas), as in NiFi."""

    __slots__ = ("_logger", "_prefix", "_sink")

    def __init__(self, component_type: str, component_id: str, name: str, sink: BulletinSink | None) -> None:
        self._logger = logging.getLogger(f"flowyard.processor.{component_type}")
        self._prefix = f"{name}[{component_id}] "
        self._sink = sink

    @staticmethod
    def _level(level: str) -> str:
        name = level.upper()
        name = _ALIASES.get(name, name)
        if name not in _LEVELS:
            raise ValueError(
                f"unknown log level {level!r}: expected one of TRACE, DEBUG, INFO, WARN, WARNING, ERROR, "
                "FATAL, CRITICAL"
            )
        return name

    def is_enabled(self, level: str) -> bool:
        """Whether a message at ``level`` would be logged or become a bulletin."""
        name = self._level(level)
        return self._logger.isEnabledFor(_LEVELS[name]) or (self._sink is not None and name in ("WARNING", "ERROR"))

    def log(self, level: str, message: str) -> None:
        """Log ``message`` at ``level``: NiFi's names (TRACE, DEBUG, INFO, WARN, ERROR,
        FATAL) or Python's, any case. Raises ``ValueError`` for an unknown level."""
        level = self._level(level)
        self._logger.log(_LEVELS[level], "%s%s", self._prefix, message)
        if self._sink is not None and level in ("WARNING", "ERROR"):
            self._sink(level, message)

    def debug(self, message: str) -> None:
        """Log at DEBUG."""
        self.log("DEBUG", message)

    def info(self, message: str) -> None:
        """Log at INFO."""
        self.log("INFO", message)

    def warning(self, message: str) -> None:
        """Log at WARNING and raise a bulletin."""
        self.log("WARNING", message)

    def error(self, message: str) -> None:
        """Log at ERROR and raise a bulletin."""
        self.log("ERROR", message)


class ProcessContext:
    """The configuration of one processor component, as its processor reads it.

    Property values are already resolved (defaults applied) and validated
    before the processor is scheduled. ``property(key)`` returns a
    ``PropertyValue``; call ``.evaluate(flowfile.attributes)`` on it for
    properties that support the Expression Language.
    """

    def __init__(
        self,
        *,
        component_id: str,
        name: str,
        component_type: str,
        specs: tuple[PropertySpec, ...],
        properties: Mapping[str, str | None],
        dynamic: Mapping[str, str],
        evaluator: Evaluator | None = None,
        concurrent_tasks: int = 1,
        penalty_seconds: float = 30.0,
        yield_seconds: float = 1.0,
        bulletins: BulletinSink | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.component_id = component_id
        self.name = name
        self.component_type = component_type
        self.max_concurrent_tasks = concurrent_tasks
        self.penalty_seconds = penalty_seconds
        self.yield_seconds = yield_seconds
        self._specs = {s.key: s for s in specs}
        self._values = dict(properties)
        self._dynamic = dict(dynamic)
        self._evaluator = evaluator
        self.logger = ComponentLog(component_type, component_id, name, bulletins)
        self.yield_requested = False
        self._clock = clock

    def now_ms(self) -> int:
        """The framework's time in epoch milliseconds: the engine's clock, or the
        test runner's mock clock. Use it instead of ``time.time()`` for anything a
        test should control (file ages, time windows)."""
        return self._clock() if self._clock is not None else int(time.time() * 1000)

    @property
    def expression_language_enabled(self) -> bool:
        """Whether property values are evaluated as Expression Language (else literal)."""
        return self._evaluator is not None

    @property
    def properties(self) -> Mapping[str, str | None]:
        """Every declared property key with its resolved value (read-only)."""
        return MappingProxyType(self._values)

    @property
    def dynamic_properties(self) -> Mapping[str, PropertyValue]:
        """User-named properties, by name, as values."""
        return {
            name: PropertyValue(value, None, evaluator=self._evaluator, name=name)
            for name, value in self._dynamic.items()
        }

    def yield_(self) -> None:
        """Ask not to be triggered again for the yield duration (no work to do now)."""
        self.yield_requested = True

    def property(self, key: str | PropertySpec) -> PropertyValue:
        """The value of the property with ``key`` (or of ``spec``).

        Raises ``KeyError`` naming the known keys for a key the processor does not declare.
        """
        k = key.key if isinstance(key, PropertySpec) else key
        spec = self._specs.get(k)
        if spec is None:
            raise KeyError(f"{self.component_type} has no property {k!r}; known: {', '.join(self._specs)}")
        evaluator = self._evaluator if spec.expression_scope is not ExpressionScope.NONE else None
        return PropertyValue(self._values.get(k), spec, evaluator=evaluator)

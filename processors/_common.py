"""Small pieces several standard processors share: boolean property specs,
NiFi log levels, evaluating a property against a flowfile, and a stream that
puts back bytes already peeked.

Private to ``flowyard.processors``; processor authors outside this package
build on ``flowyard.runtime.sdk`` alone.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from flowyard.runtime.sdk import (
    AllowableValue,
    ComponentLog,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    PropertyValue,
    validators,
)

__all__ = [
    "BOOLEAN_VALUES",
    "NIFI_LOG_LEVELS",
    "PrefixedStream",
    "boolean_property",
    "evaluate_text",
    "is_true",
    "log_at",
]

BOOLEAN_VALUES = (AllowableValue("true"), AllowableValue("false"))
"""The allowable values NiFi gives its true/false properties, in NiFi's order."""

# NiFi's org.apache.nifi.logging.LogLevel names mapped onto ComponentLog's
# levels. ComponentLog has no TRACE or FATAL: TRACE logs at DEBUG and FATAL at
# ERROR, the nearest levels that keep (or raise) the bulletin behaviour.
_LEVEL_MAP = {
    "TRACE": "DEBUG",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "ERROR": "ERROR",
    "FATAL": "ERROR",
}

NIFI_LOG_LEVELS = tuple(
    AllowableValue(name) for name in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "NONE")
)
"""NiFi's ``LogLevel`` values, as FetchFile offers them."""


def boolean_property(
    key: str,
    display_name: str,
    description: str,
    default: str,
    *,
    aliases: tuple[str, ...] = (),
    dependencies: tuple[PropertyDependency, ...] = (),
    required: bool = True,
) -> PropertySpec:
    """A ``true``/``false`` property with a default, as NiFi declares them (required unless said)."""
    return PropertySpec(
        key=key,
        display_name=display_name,
        description=description,
        required=required,
        default=default,
        allowed_values=BOOLEAN_VALUES,
        validator=validators.BOOLEAN,
        aliases=aliases,
        dependencies=dependencies,
    )


def log_at(logger: ComponentLog, level: str, message: str) -> None:
    """Log ``message`` at a NiFi level name (any case). ``NONE`` (or an unknown
    name) logs nothing; see ``_LEVEL_MAP`` for levels ComponentLog lacks."""
    mapped = _LEVEL_MAP.get(level.strip().upper())
    if mapped is not None:
        logger.log(mapped, message)


def is_true(text: str | None) -> bool:
    """NiFi's ``Boolean.parseBoolean`` on an evaluated value: only ``true``
    (any case, surrounding whitespace ignored) is true; anything else, including
    no value, is false. Never raises."""
    return text is not None and text.strip().lower() == "true"


def evaluate_text(
    value: PropertyValue, attributes: Mapping[str, str] | None, scope: ExpressionScope
) -> str | None:
    """The text of ``value`` after Expression Language evaluation.

    ``scope`` is the property's declared scope: flowfile attributes are only
    offered to properties that may read them. Evaluator errors propagate.
    """
    if scope is ExpressionScope.NONE:
        return value.value
    offered = attributes if scope is ExpressionScope.FLOWFILE_ATTRIBUTES else None
    return value.evaluate(offered).value


class PrefixedStream(io.RawIOBase):
    """``head`` (bytes already read to peek at the content) followed by the rest of
    ``stream``: what the readers that sniff the start of their input hand on."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            head, self._head = self._head, b""
            return head + self._stream.read()
        if not self._head:
            return self._stream.read(size)
        part, self._head = self._head[:size], self._head[size:]
        return part + self._stream.read(size - len(part)) if len(part) < size else part

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[:len(data)] = data
        return len(data)

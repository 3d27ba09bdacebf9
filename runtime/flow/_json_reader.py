"""Reading a flow's JSON form: typed access with the limits of ``_limits`` and
errors that name the place (``_Reader``), and how a wrong JSON value is described.
The parsers built on it are in ``flowyard.runtime.flow._json``."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from flowyard.runtime.flow._limits import (
    MAX_COMPONENTS,
    MAX_COORDINATE,
    MAX_DATA_SIZE_BYTES,
    MAX_DURATION_SECONDS,
    MAX_IDENTIFIER,
    MAX_LIST_ITEMS,
    MAX_NAME,
    MAX_TEXT,
)
from flowyard.runtime.sdk._errors import FlowDefinitionError
from flowyard.runtime.sdk._units import format_data_size, format_duration, parse_data_size, parse_duration

_IDENTIFIER_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f/\\?#%]")


class _Reader:
    """Typed access to a JSON object, within the limits of ``_limits``, with errors
    that name the place. ``problem`` records a wrong field and lets reading go on
    (so one answer lists every wrong field); ``fail`` is for what stops reading
    (something is not even an object). ``finish`` raises what was recorded."""

    def __init__(self, source: str, *, require_names: bool = False) -> None:
        self.source = source
        #: Whether the top component's name given as blank is an error (API edits; files may hold empty names).
        self.require_names = require_names
        self.problems: list[tuple[str, str]] = []
        self.components = 0

    def fail(self, where: str, message: str) -> FlowDefinitionError:
        problems = [*self.problems, (where.lstrip("."), message)]
        first = problems[0]
        return FlowDefinitionError(first[1], source=self.source, where=first[0], problems=problems)

    def problem(self, where: str, message: str) -> None:
        self.problems.append((where.lstrip("."), message))

    def finish(self) -> None:
        if self.problems:
            where, message = self.problems[0]
            raise FlowDefinitionError(message, source=self.source, where=where, problems=self.problems)

    def count(self, where: str) -> None:
        self.components += 1
        if self.components > MAX_COMPONENTS:
            raise self.fail(where, f"a flow holds at most {MAX_COMPONENTS:,} components")

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, found {_kind(value)}")
        return value

    def items(self, obj: Mapping[str, Any], key: str, where: str, limit: int = MAX_LIST_ITEMS) -> list[Any]:
        value = obj.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{where}.{key}", f"expected a list, found {_kind(value)}")
        if len(value) > limit:
            raise self.fail(f"{where}.{key}", f"holds {len(value):,} items; at most {limit:,} are allowed")
        return value

    def text(self, obj: Mapping[str, Any], key: str, where: str, default: str | None = None, *,
             limit: int = MAX_TEXT) -> str:
        value = obj.get(key, default)
        if value is None:
            self.problem(f"{where}.{key}", "is required")
            return ""
        if not isinstance(value, str):
            self.problem(f"{where}.{key}", f"must be text, found {_kind(value)}")
            return default or ""
        if len(value) > limit:
            self.problem(f"{where}.{key}", f"is {len(value):,} characters long; at most {limit:,} are allowed")
            return value[:limit]
        return value

    def name(self, obj: Mapping[str, Any], where: str, default: str | None) -> str:
        value = self.text(obj, "name", where, default, limit=MAX_NAME)
        if self.require_names and "." not in where and "name" in obj and isinstance(obj["name"], str) \
                and not value.strip():  # the component edited itself, not what a group holds
            self.problem(f"{where}.name", "must not be empty")
        return value

    def identifier(self, obj: Mapping[str, Any], where: str, default: str | None = None) -> str:
        value = self.text(obj, "identifier", where, default, limit=MAX_IDENTIFIER)
        if value and not value.strip():
            self.problem(f"{where}.identifier", "must not be blank")
        elif _IDENTIFIER_FORBIDDEN.search(value):
            self.problem(f"{where}.identifier", f"{value!r} holds a character identifiers cannot have "
                                                "(a control character, / \\ ? # or %)")
        return value

    def number(self, obj: Mapping[str, Any], key: str, where: str, default: int, *, minimum: int = 0,
               maximum: int) -> int:
        value = obj.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{where}.{key}", f"must be a whole number, found {_shown(value)}")
            return default
        if not minimum <= value <= maximum:
            self.problem(f"{where}.{key}", f"must be from {minimum:,} to {maximum:,}, found {value:,}")
            return default
        return value

    def coordinate_pair(self, pos: Any, where: str) -> tuple[float, float]:
        if not isinstance(pos, dict) or not all(
                isinstance(v := pos.get(k), int | float) and not isinstance(v, bool) and math.isfinite(v)
                and abs(v) <= MAX_COORDINATE for k in ("x", "y")):
            self.problem(where, f'must be {{"x": number, "y": number}} with finite numbers from '
                                f"-{MAX_COORDINATE:g} to {MAX_COORDINATE:g}")
            return (0.0, 0.0)
        return (float(pos["x"]), float(pos["y"]))

    def position(self, obj: Mapping[str, Any], where: str) -> tuple[float, float]:
        return self.coordinate_pair(obj.get("position", {"x": 0, "y": 0}), f"{where}.position")

    def duration(self, obj: Mapping[str, Any], key: str, where: str, default: str, *,
                 maximum: float = MAX_DURATION_SECONDS) -> str:
        text = self.text(obj, key, where, default, limit=MAX_NAME)
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            self.problem(f"{where}.{key}", str(exc))
            return default
        if seconds > maximum:
            self.problem(f"{where}.{key}", f"{text!r} is longer than the {format_duration(maximum)} allowed")
            return default
        return text

    def data_size(self, obj: Mapping[str, Any], key: str, where: str, default: str) -> str:
        text = self.text(obj, key, where, default, limit=MAX_NAME)
        try:
            size = parse_data_size(text)
        except ValueError as exc:
            self.problem(f"{where}.{key}", str(exc))
            return default
        if size > MAX_DATA_SIZE_BYTES:
            self.problem(f"{where}.{key}", f"{text!r} is larger than the {format_data_size(MAX_DATA_SIZE_BYTES)} "
                                           "allowed")
            return default
        return text

    def choice(self, obj: Mapping[str, Any], key: str, where: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.text(obj, key, where, default, limit=MAX_NAME)
        if value not in allowed:
            self.problem(f"{where}.{key}", f"{value!r} is not one of {', '.join(allowed)}")
            return default
        return value

    def names(self, obj: Mapping[str, Any], key: str, where: str, what: str) -> list[str]:
        values = self.items(obj, key, where)
        if not all(isinstance(v, str) and len(v) <= MAX_NAME for v in values):
            self.problem(f"{where}.{key}", f"must be a list of {what} (text of at most {MAX_NAME:,} characters)")
            return []
        return list(values)


def _kind(value: Any) -> str:
    """What a JSON value is, in plain words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _shown(value: Any) -> str:
    """A value as the user wrote it when short, else what it is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float) and len(repr(value)) <= 40:
        return repr(value)
    return _kind(value)

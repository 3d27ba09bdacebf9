"""EL JSON functions: jsonPath, jsonPathDelete/Add/Set/Put and isJson. Pure.

Documents are parsed strictly (no NaN, no trailing text) and written back as
compact JSON the way Jackson does (decimals as Java prints doubles, non-ASCII
unescaped). Reading: a scalar result prints as text, null as ``''``, a
one-element list as its element, anything else as compact JSON; a definite path
that matches nothing gives ``''``. Updates leave the document unchanged when the
path matches nothing and give ``''`` when the operation is impossible (adding to
a non-array, putting into a non-object, replacing the root), as NiFi does after
logging Jayway's exception. An empty or invalid subject, or an invalid path,
raises ``EvaluationError``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from flowyard.runtime.expression._jsonpath import JsonPathError, Path, compile_path
from flowyard.runtime.expression._registry import Arg, EvaluationError, function
from flowyard.runtime.expression._types import Date, Instant, as_text, format_decimal

__all__ = ["to_json"]

_SEARCH = "searching"
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _string(text: str) -> str:
    out = ['"']
    for c in text:
        if c in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[c])
        elif c < " ":
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def to_json(value: object) -> str:
    """``value`` as compact JSON, as Jackson writes it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_decimal(value) if math.isfinite(value) else f'"{format_decimal(value)}"'
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if isinstance(value, Date):
        return str(value.ms)
    if isinstance(value, Instant):
        return _string(as_text(value) or "")
    return _string(str(value))


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _parse(subject: str | None) -> object:
    if subject is None or not subject.strip():
        raise EvaluationError("the subject is empty: it must be a JSON document")
    try:
        return json.loads(subject, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise EvaluationError(f"the subject is not valid JSON: {exc}") from None


def _path(text: str | None) -> Path:
    if text is None:
        raise EvaluationError("the JsonPath is null")
    try:
        return compile_path(text)
    except JsonPathError as exc:
        raise EvaluationError(f"invalid JsonPath {text!r}: {exc}") from None


def _represent(value: object) -> str:
    if isinstance(value, list) and len(value) == 1:
        return _represent(value[0])
    if isinstance(value, dict | list):
        return to_json(value)
    return as_text(value) or ""


@function("isJson", family="boolean logic", subject="string", returns="boolean", null_subject="pass",
          description="True only when the subject parses as a JSON object or a JSON array.")
def is_json(subject: str | None) -> bool:
    if subject is None or subject.strip()[:1] not in ("{", "["):
        return False
    try:
        json.loads(subject, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False
    return True


@function("jsonPath", family=_SEARCH, subject="string", returns="string", null_subject="pass",
          args=(Arg("jsonPath"),),
          description="Evaluates a JsonPath against the subject parsed as JSON; scalars come back as text, "
                      "other results as compact JSON, no match as ''.")
def json_path(subject: str | None, path_text: str | None) -> str:
    document = _parse(subject)
    path = _path(path_text)
    try:
        hits = path.select(document)
    except JsonPathError as exc:
        raise EvaluationError(f"JsonPath {path_text!r} failed: {exc}") from None
    if path.definite or path.function is not None:
        return _represent(hits[0]) if hits else ""
    return _represent(hits)


def _update(subject: str | None, path_text: str | None,
            change: Callable[[object, object], None]) -> str:
    document = _parse(subject)
    path = _path(path_text)
    refs = path.refs(document)
    try:
        # Delete from the end so earlier array indexes stay valid.
        for parent, key in sorted(refs, key=lambda ref: -ref[1] if isinstance(ref[1], int) else 0):
            change(parent, key)
    except _Impossible:
        return ""
    return to_json(document)


class _Impossible(Exception):
    """Jayway refused the modification (NiFi logs it and returns '')."""


def _target(parent: object, key: object) -> object:
    if parent is None:
        raise _Impossible
    return parent[key]  # type: ignore[index]


@function("jsonPathDelete", family=_SEARCH, subject="string", returns="string", null_subject="pass",
          args=(Arg("jsonPath"),),
          description="Removes the element(s) at the path and returns the updated document as JSON text.")
def json_path_delete(subject: str | None, path_text: str | None) -> str:
    def delete(parent: object, key: object) -> None:
        if isinstance(parent, dict | list):
            del parent[key]  # type: ignore[arg-type]
        else:
            raise _Impossible
    return _update(subject, path_text, delete)


@function("jsonPathSet", family=_SEARCH, subject="string", returns="string", null_subject="pass",
          args=(Arg("jsonPath"), Arg("value", "any")),
          description="Replaces the value at the path and returns the updated JSON text.")
def json_path_set(subject: str | None, path_text: str | None, value: object) -> str:
    def assign(parent: object, key: object) -> None:
        if not isinstance(parent, dict | list):
            raise _Impossible
        parent[key] = value  # type: ignore[call-overload]
    return _update(subject, path_text, assign)


@function("jsonPathAdd", family=_SEARCH, subject="string", returns="string", null_subject="pass",
          args=(Arg("jsonPath"), Arg("value", "any")),
          description="Appends a value to the array at the path and returns the updated JSON text.")
def json_path_add(subject: str | None, path_text: str | None, value: object) -> str:
    def add(parent: object, key: object) -> None:
        target = _target(parent, key)
        if target is None:
            return
        if not isinstance(target, list):
            raise _Impossible
        target.append(value)
    return _update(subject, path_text, add)


@function("jsonPathPut", family=_SEARCH, subject="string", returns="string", null_subject="pass",
          args=(Arg("jsonPath"), Arg("key"), Arg("value", "any")),
          description="Puts key=value into the object at the path (adding or overwriting) and returns the "
                      "updated JSON text.")
def json_path_put(subject: str | None, path_text: str | None, key: str | None, value: object) -> str:
    def put(parent: object, at: object) -> None:
        target = _target(parent, at) if parent is not None else root
        if target is None:
            return
        if not isinstance(target, dict) or key is None:
            raise _Impossible
        target[key] = value

    root = _parse(subject)
    path = _path(path_text)
    try:
        for parent, at in path.refs(root):
            put(parent, at)
    except _Impossible:
        return ""
    return to_json(root)

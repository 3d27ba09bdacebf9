"""The bounds of a flow definition, and JSON parsing that respects them. Pure.

Every way a flow enters flowyard (a flow file given to ``run``/``serve``, the
API's request bodies, a group import) goes through these limits, so nothing
that cannot be saved, loaded again or run can get in. A value over a limit is
refused with an error naming the field; docs/security.md lists the limits and
why each is where it is.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = [
    "MAX_COMPONENTS",
    "MAX_CONCURRENT_TASKS",
    "MAX_COORDINATE",
    "MAX_DATA_SIZE_BYTES",
    "MAX_DURATION_SECONDS",
    "MAX_GROUP_DEPTH",
    "MAX_IDENTIFIER",
    "MAX_JSON_DEPTH",
    "MAX_LIST_ITEMS",
    "MAX_NAME",
    "MAX_NUMBER_CHARS",
    "MAX_OBJECT_THRESHOLD",
    "MAX_PROPERTIES",
    "MAX_RUN_DURATION_SECONDS",
    "MAX_TEXT",
    "JsonLimitError",
    "check_json_depth",
    "loads_bounded",
]

#: Process groups nest at most this deep below the root group.
MAX_GROUP_DEPTH = 32
#: Characters of a component identifier (NiFi's are 36-character UUIDs).
MAX_IDENTIFIER = 200
#: Characters of a name (component, relationship, property, parameter, label style key).
MAX_NAME = 1_000
#: Characters of a longer text: comments, label text, one property or parameter value.
MAX_TEXT = 1_000_000
#: Components of all kinds in one flow (groups and parameter contexts included).
MAX_COMPONENTS = 100_000
#: Properties of one processor or controller service.
MAX_PROPERTIES = 1_000
#: Items of any other list in a component (relationships, bends, parameters...).
MAX_LIST_ITEMS = 10_000
#: Concurrent tasks of one processor (NiFi bounds them by its thread pool; see docs/security.md).
MAX_CONCURRENT_TASKS = 100
#: Back-pressure object threshold of a connection.
MAX_OBJECT_THRESHOLD = 1_000_000_000
#: Back-pressure data size threshold of a connection (1 PB).
MAX_DATA_SIZE_BYTES = 1024**5
#: Any duration (scheduling period, penalty, yield, expiration): one year.
MAX_DURATION_SECONDS = 366 * 86_400
#: Run duration of a processor (NiFi offers up to 2 seconds).
MAX_RUN_DURATION_SECONDS = 60
#: Canvas coordinates and label sizes.
MAX_COORDINATE = 1e9
#: Nesting of any JSON document flowyard reads (a flow nested MAX_GROUP_DEPTH deep needs about 75).
MAX_JSON_DEPTH = 100
#: Characters of one JSON number (20 digits hold any 64-bit integer).
MAX_NUMBER_CHARS = 40


class JsonLimitError(ValueError):
    """A JSON text is not valid, nests too deeply or holds an oversized number.
    ``reason`` says which, ``where`` the line and column when known."""

    def __init__(self, reason: str, where: str = "") -> None:
        super().__init__(f"{reason} at {where}" if where else reason)
        self.reason = reason
        self.where = where


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 20:
        raise JsonLimitError(f"the number {text[:24]}... has more than 20 digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonLimitError(f"the number {text[:24]}... is longer than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise JsonLimitError(f"the number {text} is too large")
    return value


def _constant(name: str) -> Any:
    raise JsonLimitError(f"{name} is not a JSON number")


def loads_bounded(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON, refusing NaN/Infinity, numbers over ``MAX_NUMBER_CHARS`` (or
    20 digits) and nesting deeper than ``max_depth``. Raises ``JsonLimitError``
    (a ``ValueError``) with a message fit to show the user."""
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except JsonLimitError:
        raise
    except RecursionError:
        raise JsonLimitError(f"the JSON nests deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise JsonLimitError(f"not valid JSON: {exc.msg}", f"line {exc.lineno} column {exc.colno}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonLimitError(f"not valid JSON: {exc}") from None
    check_json_depth(value, max_depth)
    if _SURROGATE_ESCAPE.search(text if isinstance(text, str) else text.decode("utf-8", "replace")):
        _check_text(value)
    return value


#: A JSON escape of a UTF-16 surrogate: valid pairs become one character when
#: parsed, but a lone one stays as text that can be neither saved nor hashed.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_text(value: Any) -> None:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonLimitError("the JSON holds a lone UTF-16 surrogate (\\udXXX without its pair): not text") from None


def check_json_depth(value: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise ``JsonLimitError`` when ``value`` (parsed JSON) nests deeper than ``max_depth``."""
    level: list[Any] = [value]
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            raise JsonLimitError(f"the JSON nests deeper than {max_depth} levels")
        nested: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nested.extend(v for v in item.values() if isinstance(v, dict | list))
            elif isinstance(item, list):
                nested.extend(v for v in item if isinstance(v, dict | list))
        level = nested

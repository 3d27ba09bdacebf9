"""JSON text as NiFi's Java libraries read and write it.

NiFi's JSON processors parse with Jackson and print scalars with Java's
``toString``; Python's ``json`` differs in small visible ways (``True`` vs
``true``, ``1e-05`` vs ``1.0E-5``, lowercase ``\\u001f``). These helpers give
the Java spelling so results match NiFi byte for byte:

- ``parse_jackson`` reads one JSON value like Jackson's ``ObjectMapper``:
  leading and trailing whitespace allowed, text after the first value
  ignored (Jackson does not fail on trailing tokens by default), ``NaN`` and
  ``Infinity`` refused, and a string longer than ``max_string_length``
  refused.
- ``java_string`` is ``Objects.toString`` of a parsed scalar.
- ``to_json`` is Jackson's ``writeValueAsString`` (compact), or its default
  pretty printer with ``pretty=True``.

Pure functions; they raise ``JsonTextError`` (a ``ValueError``) for bad input.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from json.encoder import encode_basestring as _encode_basestring
from typing import Any

__all__ = [
    "JsonTextError", "java_double", "java_string", "parse_jackson", "parse_strict", "strip_comments", "to_json",
]


class JsonTextError(ValueError):
    """The text is not the JSON a processor expects; the message says where."""


def _refuse_constant(name: str) -> Any:
    raise JsonTextError(f"non-standard number {name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_COMMENT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|//[^\n\r]*|/\*.*?\*/', re.DOTALL)


def strip_comments(text: str) -> str:
    """``text`` without ``//`` and ``/* */`` comments outside strings (Jackson's
    ALLOW_COMMENTS); an unterminated block comment is left for the parser to refuse."""
    if "/" not in text:
        return text
    return _COMMENT_OR_STRING.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _check_strings(value: Any, limit: int) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > limit:
                raise JsonTextError(f"a string of {len(item)} characters exceeds the maximum length {limit}")
        elif isinstance(item, dict):
            for key, child in item.items():
                if len(key) > limit:
                    raise JsonTextError(f"a name of {len(key)} characters exceeds the maximum length {limit}")
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


def _decode_problem(exc: json.JSONDecodeError) -> str:
    """The decoder's complaint, worded as Jackson's are (``... expecting ...``, lower case)."""
    message = exc.msg[:1].lower() + exc.msg[1:]
    return f"invalid JSON: {message} at line {exc.lineno} column {exc.colno}"


def parse_jackson(text: str, max_string_length: int | None = None) -> Any:
    """One JSON value from ``text``, as Jackson's ObjectMapper reads it.

    Text after the first complete value is ignored, as Jackson does by
    default. Raises ``JsonTextError`` for empty or invalid text, for NaN or
    Infinity, and for a string longer than ``max_string_length`` characters.
    """
    start = _WHITESPACE.match(text, 0)
    index = start.end() if start else 0
    if index >= len(text):
        raise JsonTextError("no JSON value: the content is empty")
    try:
        value, _ = _DECODER.raw_decode(text, index)
    except json.JSONDecodeError as exc:
        raise JsonTextError(_decode_problem(exc)) from None
    except RecursionError:
        raise JsonTextError("invalid JSON: nested too deeply") from None
    if max_string_length is not None and len(text) > max_string_length:
        _check_strings(value, max_string_length)
    return value


def parse_strict(text: str, max_string_length: int | None = None) -> Any:
    """One JSON value that must be the whole of ``text`` (surrounding whitespace
    allowed). Raises ``JsonTextError`` like ``parse_jackson``, and also for
    text after the value."""
    start = _WHITESPACE.match(text, 0)
    index = start.end() if start else 0
    if index >= len(text):
        raise JsonTextError("no JSON value: the content is empty")
    try:
        value, end = _DECODER.raw_decode(text, index)
    except json.JSONDecodeError as exc:
        raise JsonTextError(_decode_problem(exc)) from None
    except RecursionError:
        raise JsonTextError("invalid JSON: nested too deeply") from None
    tail = _WHITESPACE.match(text, end)
    if tail is not None and tail.end() != len(text):
        raise JsonTextError(f"invalid JSON: unexpected text after the value at character {tail.end()}")
    if max_string_length is not None and len(text) > max_string_length:
        _check_strings(value, max_string_length)
    return value


def java_double(number: float) -> str:
    """Java's ``Double.toString`` (JDK 19+, shortest digits): ``1.0``, ``0.001``,
    ``1.0E-4``, ``1.0E7``, ``NaN``, ``Infinity``."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "-0.0" if math.copysign(1.0, number) < 0 else "0.0"
    sign = "-" if number < 0 else ""
    shortest = Decimal(repr(abs(number)))
    if 1e-3 <= abs(number) < 1e7:
        text = format(shortest, "f")
        if "." not in text:
            return f"{sign}{text}.0"
        return sign + text
    _, digit_tuple, exponent = shortest.as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    scientific = len(digit_tuple) - 1 + int(exponent)
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{scientific}"


def java_string(value: Any, null_text: str = "") -> str:
    """``Objects.toString(value, null_text)`` of a value Jackson parsed: strings
    as they are, ``true``/``false``, integers in full, doubles as Java prints
    them, containers as compact JSON."""
    if value is None:
        return null_text
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    return to_json(value)


# a \u00XX escape of a control character (not one whose backslash is itself escaped)
_CONTROL = re.compile(r"(?<!\\)((?:\\\\)*)\\u00([01][0-9a-f])")


def _upper_hex(match: re.Match[str]) -> str:
    return match.group(1) + "\\u00" + match.group(2).upper()


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _encode_string(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return '"' + text + '"'
    encoded: str = _encode_basestring(text)
    if "\\u00" in encoded:
        # Jackson writes control characters with uppercase hex digits
        encoded = _CONTROL.sub(_upper_hex, encoded)
    return encoded


def _write(value: Any, pretty: bool, depth: int, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_string(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(java_double(value))
    elif isinstance(value, Decimal):
        out.append(str(value))  # BigDecimal.toString
    elif isinstance(value, dict):
        if not value:
            out.append("{ }" if pretty else "{}")
            return
        inner = ",\n" + "  " * (depth + 1) if pretty else ","
        colon = " : " if pretty else ":"
        out.append("{\n" + "  " * (depth + 1) if pretty else "{")
        first = True
        for key, child in value.items():
            if first:
                first = False
            else:
                out.append(inner)
            out.append(_encode_string(key if isinstance(key, str) else str(key)))
            out.append(colon)
            _write(child, pretty, depth + 1, out)
        out.append("\n" + "  " * depth + "}" if pretty else "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[ ]" if pretty else "[]")
            return
        comma = ", " if pretty else ","
        out.append("[ " if pretty else "[")
        first = True
        for child in value:
            if first:
                first = False
            else:
                out.append(comma)
            _write(child, pretty, depth, out)
        out.append(" ]" if pretty else "]")
    else:
        out.append(_encode_string(str(value)))


def _has_float(value: Any) -> bool:
    """Whether ``value`` holds a number Python would print unlike Java (a
    Decimal, or a double outside [1e-3, 1e7) where Java switches to E notation)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if (item != 0.0 and not (1e-3 <= abs(item) < 1e7)) or item != item:
                return True
        elif isinstance(item, Decimal):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _escape_non_ascii(text: str) -> str:
    """Jackson's ESCAPE_NON_ASCII: every character above U+007F as ``\\uXXXX``
    (uppercase hex, UTF-16 surrogate pairs). Non-ASCII characters only occur
    inside JSON strings, so the whole text can be processed."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x80:
            out.append(ch)
        elif code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}")
        else:
            out.append(f"\\u{code:04X}")
    return "".join(out)


def to_json(value: Any, *, pretty: bool = False, ascii_only: bool = False) -> str:
    """``value`` as Jackson writes it: compact (``{"a":1}``), or with Jackson's
    default pretty printer (two-space indents, ``"a" : 1``, arrays on one line);
    ``ascii_only`` escapes every non-ASCII character (ESCAPE_NON_ASCII)."""
    text = _to_json(value, pretty)
    return _escape_non_ascii(text) if ascii_only and not text.isascii() else text


def _to_json(value: Any, pretty: bool) -> str:
    if not pretty and not _has_float(value):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if "\\u00" in text:
            text = _CONTROL.sub(_upper_hex, text)
        return text
    out: list[str] = []
    _write(value, pretty, 0, out)
    return "".join(out)

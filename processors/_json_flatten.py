"""Flatten and unflatten JSON the way the ``json-flattener`` Java library
(com.github.wnameless.json) does it for NiFi's FlattenJson.

    flatten('{"a":{"b":1,"c":[true]}}', mode=KEEP_ARRAYS)  ->  '{"a.b":1,"a.c":[true]}'
    unflatten('{"a.b":1}')                                   ->  '{"a":{"b":1}}'

Flatten modes: ``normal`` (every object and array is flattened: ``a[0].b``),
``keep arrays`` (arrays are kept, objects inside them flattened on their
own), ``dot notation`` (MongoDB style: ``a.0.b``; a key holding the
separator is an error) and ``keep primitive arrays`` (arrays of scalars are
kept, others flattened). A key holding the separator or a bracket is
written ``["key"]`` unless reserved characters are ignored.

Output follows the library byte for byte where NiFi shows it: strings and
keys escaped with Commons Text's ``ESCAPE_JSON`` (``\\/``, ``\\u00E9``) at the
top level while arrays kept inside are printed with the library's default
policy (only ``"``, ``\\`` and control characters); numbers keep their
written form (``6.0`` stays ``6.0``); the pretty printer is the library's
(``"key" : value``, two-space indents, arrays on one line).

Pure functions raising ``FlattenError`` (a ``ValueError``) for input the
library refuses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = [
    "DOT_NOTATION",
    "KEEP_ARRAYS",
    "KEEP_PRIMITIVE_ARRAYS",
    "NORMAL",
    "FlattenError",
    "flatten",
    "pretty_print",
    "unflatten",
]

NORMAL = "normal"
KEEP_ARRAYS = "keep arrays"
DOT_NOTATION = "dot notation"
KEEP_PRIMITIVE_ARRAYS = "keep primitive arrays"

_ROOT = "root"


class FlattenError(ValueError):
    """The document or the options cannot be flattened or unflattened."""


def _refuse_constant(name: str) -> Any:
    raise FlattenError(f"non-standard number {name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)
_SPACE = re.compile(r"[ \t\n\r]*")


def parse(text: str) -> Any:
    """One JSON value as Jackson's ``readTree`` reads it (text after it is
    ignored); decimals as ``Decimal`` so their written form survives."""
    start = _SPACE.match(text)
    index = start.end() if start else 0
    if index >= len(text):
        raise FlattenError("the content is empty")
    try:
        value, _ = _DECODER.raw_decode(text, index)
    except json.JSONDecodeError as exc:
        raise FlattenError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise FlattenError("invalid JSON: nested too deeply") from None
    return value


# -- string escaping (Commons Text translators) ---------------------------------------------

_CTRL = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}


_ESCAPE_JSON_NEEDED = re.compile(r'[^ !#-.0-\[\]-~]')
_ESCAPE_DEFAULT_NEEDED = re.compile(r'["\\\b\n\t\f\r]')


def _escape_json_char(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _CTRL:
        return _CTRL[ch]
    if ch in '"\\/':
        return "\\" + ch
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}"
    return f"\\u{code:04X}"


def escape_json(text: str) -> str:
    """Commons Text ``StringEscapeUtils.ESCAPE_JSON``."""
    if _ESCAPE_JSON_NEEDED.search(text) is None:
        return text
    return _ESCAPE_JSON_NEEDED.sub(_escape_json_char, text)


def escape_default(text: str) -> str:
    """json-flattener's ``StringEscapePolicy.DEFAULT``: quotes, backslashes and
    the five named control characters only."""
    if _ESCAPE_DEFAULT_NEEDED.search(text) is None:
        return text
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in _CTRL:
            out.append(_CTRL[ch])
        else:
            out.append(ch)
    return "".join(out)


# -- flatten ------------------------------------------------------------------------------


class _Flattener:
    def __init__(self, mode: str, separator: str, ignore_reserved: bool) -> None:
        self.mode = mode
        self.separator = separator
        self.ignore_reserved = ignore_reserved

    def flatten_map(self, value: Any) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        self._reduce(value, None, flat)
        return flat

    def _reduce(self, value: Any, prefix: str | None, flat: dict[str, Any]) -> None:
        # ``prefix`` is the key written so far; ``None`` at the root.
        if isinstance(value, dict):
            if value:
                for key, child in value.items():
                    self._reduce(child, self._join_key(prefix, key), flat)
                return
        elif isinstance(value, list):
            if value:
                if self.mode == KEEP_ARRAYS or (
                    self.mode == KEEP_PRIMITIVE_ARRAYS and not any(isinstance(v, (dict, list)) for v in value)
                ):
                    flat[_ROOT if prefix is None else prefix] = [self._value(v) for v in value]
                    return
                for index, child in enumerate(value):
                    self._reduce(child, self._join_index(prefix, index), flat)
                return
        else:
            flat[_ROOT if prefix is None else prefix] = value
            return
        converted = self._value(value)
        if prefix is None and isinstance(converted, dict) and not converted:
            return
        flat[_ROOT if prefix is None else prefix] = converted

    def _value(self, value: Any) -> Any:
        if isinstance(value, list):
            if self.mode == KEEP_ARRAYS:
                return _KeptList(self._value(v) for v in value)
            return _KeptList()
        if isinstance(value, dict):
            if self.mode == KEEP_ARRAYS and value:
                return _KeptMap(self.flatten_map(value))
            return _KeptMap()
        return value

    def _join_index(self, prefix: str | None, index: int) -> str:
        text = f"{self.separator}{index}" if self.mode == DOT_NOTATION else f"[{index}]"
        return text if prefix is None else prefix + text

    def _join_key(self, prefix: str | None, key: str) -> str:
        if not self.ignore_reserved and self._reserved(key):
            text = f'["{escape_json(key)}"]'
        elif prefix:
            text = self.separator + key
        else:
            text = key
        return text if prefix is None else prefix + text

    def _reserved(self, key: str) -> bool:
        if self.mode == DOT_NOTATION and self.separator in key:
            raise FlattenError(f"Key cannot contain separator({self.separator}) in FlattenMode.MONGODB")
        return self.separator in key or "[" in key or "]" in key


class _KeptList(list[Any]):
    """A list kept by the flattener: printed with the default escape policy."""


class _KeptMap(dict[str, Any]):
    """A map kept by the flattener: printed with the default escape policy."""


def _scalar(value: Any, escape: Callable[[str], str]) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return '"' + escape(value) + '"'
    return str(value)


def _print(value: Any, escape: Callable[[str], str]) -> str:
    # Containers inside are copied by the library into new Jsonify* objects,
    # which print with the default escape policy.
    if isinstance(value, dict):
        items = (f'"{escape(key)}":{_member(child, escape)}' for key, child in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_member(child, escape) for child in value) + "]"
    return _scalar(value, escape)


def _member(value: Any, escape: Callable[[str], str]) -> str:
    return _print(value, escape_default) if isinstance(value, (dict, list)) else _scalar(value, escape)


def _check_separator(separator: str) -> None:
    if len(separator) != 1:
        raise FlattenError(f"the separator must be one character, got {separator!r}")
    if separator == '"' or separator.isspace():
        raise FlattenError(f"Separator contains illegal character({separator})")
    if separator in "[]":
        raise FlattenError(f"Separator({separator}) is already used in brackets")


def flatten(text: str, *, mode: str = KEEP_ARRAYS, separator: str = ".", ignore_reserved: bool = False,
            pretty: bool = False) -> str:
    """``text`` flattened as ``JsonFlattener.flatten()`` returns it (with
    NiFi's ESCAPE_JSON policy). Raises ``FlattenError``."""
    _check_separator(separator)
    source = parse(text)
    flattener = _Flattener(mode, separator, ignore_reserved)
    flat = flattener.flatten_map(source)
    if isinstance(source, dict) or (isinstance(source, list) and _ROOT not in flat):
        result = _print(flat, escape_json)
    else:
        root = flat.get(_ROOT)
        if isinstance(root, list):
            result = _print(root, escape_json)
        else:
            return _scalar(root, escape_json) if not isinstance(root, dict) else _print(root, escape_json)
    return pretty_print(result) if pretty else result


def pretty_print(text: str) -> str:
    """json-base's ``JsonPrinter.prettyPrint``: objects one member per line with
    two-space indents and ``" : "``, arrays on one line (``[ 1, 2 ]``) — also
    the members of an object inside an array, as the library does."""
    out: list[str] = []
    indent = 0
    in_quote = False
    escaped = False
    in_bracket = False
    for ch in text:
        if in_quote:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_quote = False
            continue
        if ch == '"':
            in_quote = True
            out.append(ch)
        elif ch == "{":
            indent += 1
            out.append("{\n" + "  " * indent)
        elif ch == "}":
            indent -= 1
            out.append("\n" + "  " * indent + "}")
        elif ch == "[":
            in_bracket = True
            out.append("[ ")
        elif ch == "]":
            in_bracket = False
            out.append(" ]")
        elif ch == ",":
            out.append(", " if in_bracket else ",\n" + "  " * indent)
        elif ch == ":":
            out.append(" : ")
        elif not ch.isspace():
            out.append(ch)
    return "".join(out)


# -- unflatten ------------------------------------------------------------------------------


_BRACKET_INDEX = re.compile(r"\[\s*\d+\s*\]")
_BRACKET_KEY = re.compile(r'\[\s*"(.+?)"\s*\]')


class _Unflattener:
    def __init__(self, mode: str, separator: str) -> None:
        self.mode = mode
        self.separator = separator
        sep = re.escape(separator)
        if mode == DOT_NOTATION:
            self.parts = re.compile(f"[^{sep}]+")
        else:
            self.parts = re.compile(r'\[\s*\d+\s*\]|\[\s*".+?"\s*\]|' + f"[^{sep}\\[\\]]+")

    def is_index(self, part: str) -> bool:
        if part[0] == "[" and _BRACKET_INDEX.fullmatch(part):
            return True
        return self.mode == DOT_NOTATION and part.isdigit()

    @staticmethod
    def index(part: str) -> int:
        return int(part.strip("[] \t\r\n"))

    @staticmethod
    def key(part: str) -> str:
        if part[0] != "[":
            return part
        match = _BRACKET_KEY.fullmatch(part)
        return match.group(1) if match else part

    def unflatten(self, value: Any) -> Any:
        if isinstance(value, list):
            return self.unflatten_array(value)
        if not isinstance(value, dict):
            return value
        if not value:
            return {}
        result: Any = None
        parsed: dict[str, tuple[str | None, int | None]] = {}
        for flat_key, flat_value in value.items():
            current = result
            obj_key: str | None = None
            index: int | None = None
            for part in self.parts.findall(flat_key):
                found = parsed.get(part)
                if found is None:
                    found = parsed[part] = (None, self.index(part)) if self.is_index(part) else (self.key(part), None)
                if obj_key is not None or index is not None:
                    current = _child(current, obj_key, index, dict if found[1] is None else list)
                obj_key, index = found
                if current is None:
                    current = {} if index is None else []
                if result is None:
                    result = current
            if obj_key is None and index is None:
                raise FlattenError(f"the key {flat_key!r} names nothing")
            self.set(current, obj_key, index, flat_value)
        return result

    def set(self, container: Any, obj_key: str | None, index: int | None, value: Any) -> None:
        if obj_key is not None:
            if not isinstance(container, dict):
                raise FlattenError(f"cannot set {obj_key!r} in a {type(container).__name__}")
            if isinstance(value, list):
                value = [self.unflatten(item) for item in value]
            container[obj_key] = value
        else:
            if not isinstance(container, list) or index is None:
                raise FlattenError("cannot set an array element in an object")
            while index >= len(container):
                container.append(None)
            container[index] = value

    def unflatten_array(self, array: list[Any]) -> list[Any]:
        return [self.unflatten_array(v) if isinstance(v, list) else self.unflatten(v) if isinstance(v, dict) else v
                for v in array]


def _child(current: Any, obj_key: str | None, index: int | None, kind: type) -> Any:
    if obj_key is not None:
        if not isinstance(current, dict):
            raise FlattenError(f"cannot descend into {obj_key!r}: not an object")
        if current.get(obj_key) is None:
            current[obj_key] = kind()
        child = current[obj_key]
    else:
        if not isinstance(current, list) or index is None:
            raise FlattenError("cannot descend into an array element: not an array")
        if index >= len(current) or current[index] is None:
            while index >= len(current):
                current.append(None)
            current[index] = kind()
        child = current[index]
    if not isinstance(child, kind):
        raise FlattenError(f"a key mixes a {type(child).__name__} value with nested keys")
    return child


def unflatten(text: str, *, mode: str = KEEP_ARRAYS, separator: str = ".", pretty: bool = False) -> str:
    """``text`` unflattened as ``JsonUnflattener.unflatten()`` returns it.
    Raises ``FlattenError``."""
    from flowyard.processors._json_text import to_json

    _check_separator(separator)
    result = _Unflattener(mode, separator).unflatten(parse(text))
    printed = to_json(result)
    return pretty_print(printed) if pretty else printed

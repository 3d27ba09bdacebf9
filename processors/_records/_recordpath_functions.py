"""RecordPath's functions (``FUNCTIONS``, by name: how many arguments each takes and
what it does): string, hashing, encoding, date, JSON, map/record/array building and
filter functions, as NiFi defines them. ``_recordpath`` re-exports ``FUNCTIONS``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flowyard.processors._records._coerce import to_text
from flowyard.processors._records._infer import infer_type
from flowyard.processors._records._recordpath_tree import _Ctx, _Node
from flowyard.processors._records._recordpath_values import STRING, FieldValue, _computed
from flowyard.processors._records._types import DataType, RecordField, RecordFieldType, RecordSchema
from flowyard.runtime.sdk.javaregex import JavaReplacement, compile_java
from flowyard.runtime.sdk.javatime import JavaDateFormat, format_ms, parse_ms

# -- functions ---------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else to_text(value)


def _one(node: _Node, ctx: _Ctx, current: FieldValue, what: str) -> Any:
    """The value of an argument such as a pattern or a length: its first value (None when it
    selects nothing), as NiFi takes it."""
    for fv in node.values(ctx, current):
        return fv.value
    return None


def _string_fn(transform: Callable[..., Any], *arg_names: str, null_as_empty: bool = False) -> Callable[
        [_Ctx, FieldValue, list[_Node]], Iterator[FieldValue]]:
    """A function applying ``transform(text, *args)`` to each value of its first argument; a null
    gives nothing (or the empty text with ``null_as_empty``, as NiFi's case functions do)."""
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
        extra = [_one(a, ctx, current, name) for a, name in zip(args[1:], arg_names, strict=False)]
        for fv in args[0].values(ctx, current):
            if fv.value is None:
                if null_as_empty:
                    yield _computed("", fv.name, STRING, fv.parent)
            else:
                yield _computed(transform(_text(fv.value), *extra), fv.name, STRING, fv.parent)
    return fn


def _java_substring(text: str, start: Any, end: Any) -> str:
    """NiFi's substring: a negative index counts from the end, -1 being the length."""
    try:
        s, e = _integer(start), _integer(end)
    except (TypeError, ValueError):
        return ""
    n = len(text)
    s = n + 1 + s if s < 0 else s
    e = n + 1 + e if e < 0 else e
    if e <= s or s < 0 or s > n:
        return ""
    return text[s:min(e, n)]


def _integer(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        raise TypeError("not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return int(str(value).strip())


def _before(text: str, search: Any) -> str:
    i = text.find(_text(search))
    return text if i < 0 or not _text(search) else text[:i]


def _before_last(text: str, search: Any) -> str:
    i = text.rfind(_text(search))
    return text if i < 0 or not _text(search) else text[:i]


def _after(text: str, search: Any) -> str:
    s = _text(search)
    i = text.find(s)
    return text if i < 0 or not s else text[i + len(s):]


def _after_last(text: str, search: Any) -> str:
    s = _text(search)
    i = text.rfind(s)
    return text if i < 0 or not s else text[i + len(s):]


def _replace_regex(text: str, regex: Any, replacement: Any) -> str:
    pattern = compile_java(_text(regex))
    replaced: str = pattern.regex.sub(JavaReplacement(_text(replacement), pattern).as_function(), text)
    return replaced


def _pad(left: bool) -> Callable[[_Ctx, FieldValue, list[_Node]], Iterator[FieldValue]]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
        try:
            size = _integer(_one(args[1], ctx, current, "the desired length"))
        except (TypeError, ValueError):
            raise ValueError("the desired length of padLeft/padRight must be an integer") from None
        pad = _text(_one(args[2], ctx, current, "the padding")) if len(args) > 2 else "_"
        for fv in args[0].values(ctx, current):
            if fv.value is None:
                yield _computed(None, fv.name, STRING, fv.parent)
                continue
            text = _text(fv.value)
            missing = size - len(text)
            if missing <= 0 or not pad:
                yield _computed(text, fv.name, STRING, fv.parent)
                continue
            padding = (pad * (missing // len(pad) + 1))[:missing]
            yield _computed(padding + text if left else text + padding, fv.name, STRING, fv.parent)
    return fn


def _concat(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    parts = [_text(fv.value) for a in args for fv in a.values(ctx, current) if fv.value is not None]
    yield _computed("".join(parts), "concat", STRING)


def _join(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    delimiter = _text(_one(args[0], ctx, current, "the delimiter"))
    parts: list[str] = []
    for a in args[1:]:
        for fv in a.values(ctx, current):
            if isinstance(fv.value, (list, tuple)):
                parts.extend(_text(v) for v in fv.value if v is not None)
            elif fv.value is not None:
                parts.append(_text(fv.value))
    yield _computed(delimiter.join(parts), "join", STRING)


def _field_name(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for fv in args[0].values(ctx, current):
        yield _computed(fv.name, "fieldName", STRING, fv.parent)


def _count(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    yield _computed(sum(1 for _ in args[0].values(ctx, current)), "count", RecordFieldType.LONG.data_type())


def _coalesce(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for a in args:
        for fv in a.values(ctx, current):
            if fv.value is not None:
                yield fv
                return


def _replace_null(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for fv in args[0].values(ctx, current):
        if fv.value is not None:
            yield fv
            continue
        replacement = next(iter(args[1].values(ctx, fv)), None)
        yield _computed(None if replacement is None else replacement.value, fv.name,
                        replacement.data_type if replacement is not None else None, fv.parent)


def _uuid(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    yield _computed(str(uuid.uuid4()), "uuid", STRING)


def _uuid5(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    namespace_text = _one(args[1], ctx, current, "the namespace") if len(args) > 1 else None
    try:
        namespace = uuid.UUID(int=0) if namespace_text is None else uuid.UUID(_text(namespace_text))
    except ValueError:
        raise ValueError(f"uuid5: the namespace {_text(namespace_text)!r} is not a UUID") from None
    for fv in args[0].values(ctx, current):
        if fv.value is not None:
            yield _computed(str(uuid.uuid5(namespace, _text(fv.value))), fv.name, STRING, fv.parent)


def _java_json(value: Any) -> Any:
    if isinstance(value, (datetime, date, time, Decimal, uuid.UUID)):
        return to_text(value)
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, dict):
        return {k: _java_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_java_json(v) for v in value]
    return value


def _escape_json(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for fv in args[0].values(ctx, current):
        text = json.dumps(_java_json(fv.value), ensure_ascii=False, separators=(",", ":"))
        yield _computed(text, fv.name, STRING, fv.parent)


def _unescape_json(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for fv in args[0].values(ctx, current):
        if fv.value is None:
            yield _computed(None, fv.name, None, fv.parent)
            continue
        if not isinstance(fv.value, str):
            raise ValueError(f"unescapeJson needs text; the field {fv.name!r} holds {type(fv.value).__name__}")
        try:
            parsed = json.loads(fv.value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"unescapeJson: the field {fv.name!r} is not JSON: {exc}") from None
        yield _computed(parsed, fv.name, infer_type(parsed) if parsed is not None else None, fv.parent)


_HASHES = {"MD2": None, "MD5": "md5", "SHA": "sha1", "SHA-1": "sha1", "SHA-224": "sha224", "SHA-256": "sha256",
           "SHA-384": "sha384", "SHA-512": "sha512", "SHA-512/224": "sha512_224", "SHA-512/256": "sha512_256",
           "SHA3-224": "sha3_224", "SHA3-256": "sha3_256", "SHA3-384": "sha3_384", "SHA3-512": "sha3_512"}


def _hash(text: str, algorithm: Any) -> str:
    name = _HASHES.get(_text(algorithm).upper())
    if name is None:
        raise ValueError(f"hash: unsupported algorithm {_text(algorithm)!r}; "
                         f"use one of {', '.join(k for k, v in _HASHES.items() if v)}")
    return hashlib.new(name, text.encode("utf-8")).hexdigest()


def _base64(encode: bool) -> Callable[[_Ctx, FieldValue, list[_Node]], Iterator[FieldValue]]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
        for fv in args[0].values(ctx, current):
            value = fv.value
            if value is None:
                yield _computed(None, fv.name, fv.data_type, fv.parent)
                continue
            raw = bytes(value) if isinstance(value, (bytes, bytearray)) else _text(value).encode("utf-8")
            try:
                out = base64.b64encode(raw) if encode else base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"base64Decode: the field {fv.name!r} is not Base64") from None
            if isinstance(value, (bytes, bytearray)):
                yield _computed(out, fv.name, DataType.array(RecordFieldType.BYTE.data_type()), fv.parent)
            else:
                yield _computed(out.decode("utf-8", "replace"), fv.name, STRING, fv.parent)
    return fn


def _to_string(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    charset = _text(_one(args[1], ctx, current, "the character set"))
    for fv in args[0].values(ctx, current):
        value = fv.value
        if isinstance(value, (bytes, bytearray)):
            text: str | None = bytes(value).decode(_codec(charset), "replace")
        elif isinstance(value, list) and all(isinstance(v, int) for v in value):
            text = bytes(v & 0xFF for v in value).decode(_codec(charset), "replace")
        else:
            text = None if value is None else _text(value)
        yield _computed(text, fv.name, STRING, fv.parent)


def _to_bytes(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    charset = _text(_one(args[1], ctx, current, "the character set"))
    for fv in args[0].values(ctx, current):
        value = fv.value
        if value is None:
            yield _computed(None, fv.name, None, fv.parent)
            continue
        if not isinstance(value, str):
            raise ValueError(f"toBytes needs text; the field {fv.name!r} holds {type(value).__name__}")
        yield _computed(value.encode(_codec(charset)), fv.name, DataType.array(RecordFieldType.BYTE.data_type()),
                        fv.parent)


def _codec(charset: str) -> str:
    import codecs
    try:
        return codecs.lookup(charset).name
    except LookupError:
        raise ValueError(f"unknown character set {charset!r}") from None


_TIMESTAMP = RecordFieldType.TIMESTAMP.data_type()


def _to_date(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    pattern = _text(_one(args[1], ctx, current, "the date format")) if len(args) > 1 else None
    zone = _text(_one(args[2], ctx, current, "the time zone")) if len(args) > 2 else None
    for fv in args[0].values(ctx, current):
        value = fv.value
        if value is None:
            continue
        if not isinstance(value, str) or not pattern:
            yield fv
            continue
        try:
            if zone:
                ms = parse_ms(value, pattern, zone)
                if ms is None:
                    raise ValueError(value)
                parsed = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
            else:
                parsed = JavaDateFormat(pattern).parse(value)
        except (ValueError, OverflowError):
            yield fv  # as NiFi: a value that does not match stays as it is
            continue
        yield _computed(parsed, fv.name, _TIMESTAMP, fv.parent)


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int((value - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))
    if isinstance(value, date):
        return _epoch_ms(datetime(value.year, value.month, value.day))
    if isinstance(value, time):
        return _epoch_ms(datetime.combine(date(1970, 1, 1), value))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _format(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    pattern = _text(_one(args[1], ctx, current, "the date format"))
    zone = _text(_one(args[2], ctx, current, "the time zone")) if len(args) > 2 else None
    for fv in args[0].values(ctx, current):
        value = fv.value
        ms = _epoch_ms(value)
        if ms is None:
            yield fv
            continue
        try:
            if not zone and isinstance(value, (datetime, date, time)):
                text = JavaDateFormat(pattern).format(value)
            else:
                text = format_ms(ms, pattern, zone or "UTC")
        except (ValueError, OverflowError):
            yield fv  # as NiFi: an invalid pattern or zone leaves the value as it is
            continue
        yield _computed(text, fv.name, STRING, fv.parent)


def _anchored(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    for anchor in args[0].values(ctx, current):
        yield from args[1].values(_Ctx(anchor), anchor)


def _pairs(name: str) -> Callable[[_Ctx, FieldValue, list[_Node]], Iterator[FieldValue]]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
        if len(args) % 2:
            raise ValueError(f"{name} takes pairs of a name and a value; found {len(args)} arguments")
        out: dict[str, Any] = {}
        fields: list[RecordField] = []
        for key_node, value_node in zip(args[::2], args[1::2], strict=True):
            key = _text(_one(key_node, ctx, current, f"a {name} key"))
            values = list(value_node.values(ctx, current))
            value = values[0].value if values else None
            if name == "mapOf":
                out[key] = None if value is None else _text(value)
            else:
                out[key] = value
                fields.append(RecordField(key, values[0].effective_type if values else STRING))
        data_type = DataType.map(STRING) if name == "mapOf" else DataType.record(RecordSchema(tuple(fields)))
        yield _computed(out, name, data_type)
    return fn


def _array_of(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> Iterator[FieldValue]:
    values = [fv for a in args for fv in a.values(ctx, current)]
    types = {fv.effective_type for fv in values if fv.value is not None}
    element = DataType.choice(list(types)) if types else STRING
    yield _computed([fv.value for fv in values], "arrayOf", DataType.array(element))


# filter functions: (ctx, current, args) → bool, true when any value of the first argument passes
def _text_filter(test: Callable[[str, str], bool]) -> Callable[[_Ctx, FieldValue, list[_Node]], bool]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> bool:
        needle = _text(_one(args[1], ctx, current, "the search text"))
        return any(fv.value is not None and test(_text(fv.value), needle) for fv in args[0].values(ctx, current))
    return fn


def _regex_filter(full: bool) -> Callable[[_Ctx, FieldValue, list[_Node]], bool]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> bool:
        regex = compile_java(_text(_one(args[1], ctx, current, "the regular expression"))).regex
        for fv in args[0].values(ctx, current):
            if fv.value is None:
                continue
            text = _text(fv.value)
            if (regex.fullmatch(text) if full else regex.search(text)) is not None:
                return True
        return False
    return fn


def _is_empty(blank: bool) -> Callable[[_Ctx, FieldValue, list[_Node]], bool]:
    def fn(ctx: _Ctx, current: FieldValue, args: list[_Node]) -> bool:
        values = list(args[0].values(ctx, current))
        if not values:
            return True
        return any(fv.value is None or (_text(fv.value).strip() if blank else _text(fv.value)) == ""
                   for fv in values)
    return fn


@dataclass(frozen=True)
class _Function:
    min_args: int
    max_args: int | None
    value: Callable[[_Ctx, FieldValue, list[_Node]], Iterator[FieldValue]] | None = None
    condition: Callable[[_Ctx, FieldValue, list[_Node]], bool] | None = None


#: The functions, by name: how many arguments they take and what they do.
FUNCTIONS: dict[str, _Function] = {
    "substring": _Function(3, 3, _string_fn(_java_substring, "the start index", "the end index")),
    "substringBefore": _Function(2, 2, _string_fn(_before, "the search text")),
    "substringBeforeLast": _Function(2, 2, _string_fn(_before_last, "the search text")),
    "substringAfter": _Function(2, 2, _string_fn(_after, "the search text")),
    "substringAfterLast": _Function(2, 2, _string_fn(_after_last, "the search text")),
    "replace": _Function(3, 3, _string_fn(lambda t, s, r: t.replace(_text(s), _text(r)) if _text(s) else t,
                                          "the search text", "the replacement")),
    "replaceRegex": _Function(3, 3, _string_fn(_replace_regex, "the regular expression", "the replacement")),
    "replaceNull": _Function(2, 2, _replace_null),
    "concat": _Function(1, None, _concat),
    "join": _Function(2, None, _join),
    "toUpperCase": _Function(1, 1, _string_fn(str.upper, null_as_empty=True)),
    "toLowerCase": _Function(1, 1, _string_fn(str.lower, null_as_empty=True)),
    "trim": _Function(1, 1, _string_fn(str.strip, null_as_empty=True)),
    "padLeft": _Function(2, 3, _pad(True)),
    "padRight": _Function(2, 3, _pad(False)),
    "fieldName": _Function(1, 1, _field_name),
    "count": _Function(1, 1, _count),
    "coalesce": _Function(1, None, _coalesce),
    "uuid": _Function(0, 0, _uuid),
    "uuid5": _Function(1, 2, _uuid5),
    "escapeJson": _Function(1, 1, _escape_json),
    "unescapeJson": _Function(1, 3, _unescape_json),
    "hash": _Function(2, 2, _string_fn(_hash, "the algorithm")),
    "base64Encode": _Function(1, 1, _base64(True)),
    "base64Decode": _Function(1, 1, _base64(False)),
    "toString": _Function(2, 2, _to_string),
    "toBytes": _Function(2, 2, _to_bytes),
    "toDate": _Function(2, 3, _to_date),
    "format": _Function(2, 3, _format),
    "anchored": _Function(2, 2, _anchored),
    "mapOf": _Function(0, None, _pairs("mapOf")),
    "recordOf": _Function(0, None, _pairs("recordOf")),
    "arrayOf": _Function(0, None, _array_of),
    "contains": _Function(2, 2, condition=_text_filter(lambda t, n: n in t)),
    "startsWith": _Function(2, 2, condition=_text_filter(str.startswith)),
    "endsWith": _Function(2, 2, condition=_text_filter(str.endswith)),
    "matchesRegex": _Function(2, 2, condition=_regex_filter(True)),
    "containsRegex": _Function(2, 2, condition=_regex_filter(False)),
    "isEmpty": _Function(1, 1, condition=_is_empty(False)),
    "isBlank": _Function(1, 1, condition=_is_empty(True)),
    "not": _Function(1, 1),
}


class _ValueCall(_Node):
    def __init__(self, name: str, args: list[_Node], fn: Callable[[_Ctx, FieldValue, list[_Node]],
                                                                   Iterator[FieldValue]]) -> None:
        self.name, self.args, self.fn = name, args, fn

    def values(self, ctx: _Ctx, current: FieldValue) -> Iterator[FieldValue]:
        return self.fn(ctx, current, self.args)

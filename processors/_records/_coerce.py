"""NiFi's coercion rules (``DataTypeUtils.convertType``) for the common cases."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from flowyard.processors._records._types import DataType, Record, RecordFieldType, RecordSchema
from flowyard.runtime.sdk.javatime import compiled

__all__ = ["DEFAULT_FORMATS", "IllegalTypeConversion", "TimeFormats", "coerce", "coerce_record", "to_text"]

T = RecordFieldType

_INT_RANGES = {
    T.BYTE: (-(2**7), 2**7 - 1), T.SHORT: (-(2**15), 2**15 - 1), T.INT: (-(2**31), 2**31 - 1),
    T.LONG: (-(2**63), 2**63 - 1),
}
_EPOCH = datetime(1970, 1, 1)


class IllegalTypeConversion(ValueError):
    """A value cannot be converted to the requested type (NiFi's ``IllegalTypeConversionException``)."""


@dataclass(frozen=True, slots=True)
class TimeFormats:
    """The Java patterns of a reader's or writer's Date, Time and Timestamp Format
    properties; None means NiFi's default (``yyyy-MM-dd``, ``HH:mm:ss``,
    ``yyyy-MM-dd HH:mm:ss``)."""

    date: str | None = None
    time: str | None = None
    timestamp: str | None = None

    @property
    def date_pattern(self) -> str:
        """The date pattern in force."""
        return self.date or "yyyy-MM-dd"

    @property
    def time_pattern(self) -> str:
        """The time pattern in force."""
        return self.time or "HH:mm:ss"

    @property
    def timestamp_pattern(self) -> str:
        """The timestamp pattern in force."""
        return self.timestamp or "yyyy-MM-dd HH:mm:ss"


DEFAULT_FORMATS = TimeFormats()


def _fail(value: Any, data_type: DataType, why: str = "") -> IllegalTypeConversion:
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    tail = f": {why}" if why else ""
    return IllegalTypeConversion(
        f"cannot convert value {shown} of type {type(value).__name__} to {data_type}{tail}")


def _java_double_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e7:
        return f"{int(value)}.0" if value or math.copysign(1, value) > 0 else "-0.0"
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}E{int(exp)}"
    return text


def to_text(value: Any, formats: TimeFormats = DEFAULT_FORMATS) -> str:
    """``value`` as NiFi writes it as a string (``true``, ``1.0``, dates in ``formats``); a record,
    map or array as compact JSON (its dates, decimals and UUIDs as text, bytes as numbers)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        def default(item: Any) -> Any:
            if isinstance(item, (bytes, bytearray)):
                return list(item)
            return to_text(item, formats)

        return json.dumps(value, ensure_ascii=False, default=default, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _java_double_text(value)
    if isinstance(value, datetime):
        return compiled(formats.timestamp_pattern).format(value)
    if isinstance(value, date):
        return compiled(formats.date_pattern).format(value)
    if isinstance(value, time):
        return compiled(formats.time_pattern).format(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, Decimal):
        whole = value == value.to_integral_value() and int(value.as_tuple().exponent) > 0
        return format(value, "f") if whole else str(value)
    return str(value)


def _to_int(value: Any, data_type: DataType) -> int:
    kind = data_type.field_type
    if isinstance(value, bool):
        raise _fail(value, data_type)
    if isinstance(value, int):
        number = value
    elif isinstance(value, (float, Decimal)):
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(value, data_type)
        number = int(value)  # Java's Number.intValue()/longValue() truncate
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = int(text, 10) if text and text.lstrip("+-").isdigit() else int("x")
        except ValueError:
            raise _fail(value, data_type, "not a whole number") from None
    elif isinstance(value, datetime):
        number = _epoch_millis(value)
    elif isinstance(value, date):
        number = (value - date(1970, 1, 1)).days * 86_400_000
    else:
        raise _fail(value, data_type)
    bounds = _INT_RANGES.get(kind)
    if bounds is not None and not bounds[0] <= number <= bounds[1]:
        raise _fail(value, data_type, "out of range")
    return number


def _to_float(value: Any, data_type: DataType) -> float:
    if isinstance(value, bool):
        raise _fail(value, data_type)
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise _fail(value, data_type, "not a number") from None
    raise _fail(value, data_type)


def _to_decimal(value: Any, data_type: DataType) -> Decimal:
    if isinstance(value, bool):
        raise _fail(value, data_type)
    try:
        if isinstance(value, float):
            result = Decimal(repr(value))
        elif isinstance(value, (int, Decimal)):
            result = Decimal(value)
        elif isinstance(value, str):
            result = Decimal(value.strip())
            if not result.is_finite():
                raise InvalidOperation
        else:
            raise _fail(value, data_type)
    except InvalidOperation:
        raise _fail(value, data_type, "not a decimal number") from None
    if data_type.scale is not None:
        result = result.quantize(Decimal(1).scaleb(-data_type.scale))
    return result


def _epoch_millis(value: datetime) -> int:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _from_millis(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def _parse_with(value: str, pattern: str, data_type: DataType) -> datetime:
    try:
        return compiled(pattern).parse(value.strip())
    except ValueError as exc:
        raise _fail(value, data_type, str(exc)) from None


def _to_temporal(value: Any, data_type: DataType, formats: TimeFormats) -> date | time | datetime:
    kind = data_type.field_type
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and not (kind is T.DATE and formats.date) and not (
                kind is T.TIMESTAMP and formats.timestamp) and not (kind is T.TIME and formats.time):
            value = int(text)  # NiFi reads a number in text as milliseconds since the epoch
        else:
            pattern = {T.DATE: formats.date_pattern, T.TIME: formats.time_pattern,
                       T.TIMESTAMP: formats.timestamp_pattern}[kind]
            parsed = _parse_with(text, pattern, data_type)
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            return parsed.date() if kind is T.DATE else parsed.time() if kind is T.TIME else parsed
    if isinstance(value, bool):
        raise _fail(value, data_type)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(value, data_type)
        stamp = _from_millis(int(value))
        return stamp.date() if kind is T.DATE else stamp.time() if kind is T.TIME else stamp
    if isinstance(value, datetime):
        return value.date() if kind is T.DATE else value.time() if kind is T.TIME else value
    if isinstance(value, date):
        if kind is T.TIME:
            raise _fail(value, data_type)
        return value if kind is T.DATE else datetime(value.year, value.month, value.day)
    if isinstance(value, time):
        if kind is not T.TIME:
            raise _fail(value, data_type)
        return value
    raise _fail(value, data_type)


def _is_exact(value: Any, data_type: DataType) -> bool:
    """Whether ``value`` already is of ``data_type`` (for choosing a choice's branch)."""
    kind = data_type.field_type
    if kind is T.STRING:
        return isinstance(value, str)
    if kind is T.BOOLEAN:
        return isinstance(value, bool)
    if kind in _INT_RANGES or kind is T.BIGINT:
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        bounds = _INT_RANGES.get(kind)
        return bounds is None or bounds[0] <= value <= bounds[1]
    if kind in (T.FLOAT, T.DOUBLE):
        return isinstance(value, float)
    if kind is T.DECIMAL:
        return isinstance(value, Decimal)
    if kind is T.TIMESTAMP:
        return isinstance(value, datetime)
    if kind is T.DATE:
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind is T.TIME:
        return isinstance(value, time)
    if kind is T.UUID:
        return isinstance(value, uuid.UUID)
    if kind is T.RECORD:
        return isinstance(value, dict) and (data_type.schema is None or all(
            k in data_type.schema._index for k in value))
    if kind is T.MAP:
        return isinstance(value, dict)
    if kind is T.ARRAY:
        return isinstance(value, (list, tuple))
    if kind is T.ENUM:
        return isinstance(value, str) and value in data_type.symbols
    if kind is T.CHAR:
        return isinstance(value, str) and len(value) == 1
    return False


def coerce(value: Any, data_type: DataType, formats: TimeFormats = DEFAULT_FORMATS, name: str = "") -> Any:
    """``value`` converted to ``data_type`` by NiFi's rules; None stays None.

    Raises ``IllegalTypeConversion`` when the value cannot be converted (a
    text that is not a number for a number, a record for a string, ...).
    """
    if value is None:
        return None
    kind = data_type.field_type
    if kind is T.STRING and type(value) is str:
        return value
    try:
        if kind is T.STRING:
            if isinstance(value, (dict, list, tuple)):
                raise _fail(value, data_type)
            return to_text(value, formats)
        if kind is T.BOOLEAN:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise _fail(value, data_type)
        if kind in _INT_RANGES or kind is T.BIGINT:
            return _to_int(value, data_type)
        if kind in (T.FLOAT, T.DOUBLE):
            return _to_float(value, data_type)
        if kind is T.DECIMAL:
            return _to_decimal(value, data_type)
        if kind in (T.DATE, T.TIME, T.TIMESTAMP):
            return _to_temporal(value, data_type, formats)
        if kind is T.CHAR:
            text = to_text(value, formats) if not isinstance(value, (dict, list)) else None
            if not text:
                raise _fail(value, data_type)
            return text[0]
        if kind is T.UUID:
            if isinstance(value, uuid.UUID):
                return value
            if isinstance(value, (bytes, bytearray)) and len(value) == 16:
                return uuid.UUID(bytes=bytes(value))
            try:
                return uuid.UUID(str(value).strip())
            except ValueError:
                raise _fail(value, data_type, "not a UUID") from None
        if kind is T.ENUM:
            text = to_text(value, formats) if not isinstance(value, (dict, list)) else None
            if text is None or (data_type.symbols and text not in data_type.symbols):
                raise _fail(value, data_type, f"not one of {list(data_type.symbols)}")
            return text
        if kind is T.RECORD:
            if not isinstance(value, dict):
                raise _fail(value, data_type)
            return value if data_type.schema is None else coerce_record(value, data_type.schema, formats)
        if kind is T.MAP:
            if not isinstance(value, dict):
                raise _fail(value, data_type)
            element = data_type.element
            return {str(k): (v if element is None else coerce(v, element, formats, f"{name}.{k}"))
                    for k, v in value.items()}
        if kind is T.ARRAY:
            element = data_type.element
            if isinstance(value, (bytes, bytearray)) and element is not None and element.field_type is T.BYTE:
                return bytes(value)
            if not isinstance(value, (list, tuple)):
                raise _fail(value, data_type)
            return [v if element is None else coerce(v, element, formats, f"{name}[{i}]")
                    for i, v in enumerate(value)]
        if kind is T.CHOICE:
            for choice in data_type.choices:
                if _is_exact(value, choice):
                    return coerce(value, choice, formats, name)
            for choice in data_type.choices:
                try:
                    return coerce(value, choice, formats, name)
                except IllegalTypeConversion:
                    continue
            raise _fail(value, data_type)
    except IllegalTypeConversion as exc:
        if name and not str(exc).startswith("field "):
            raise IllegalTypeConversion(f"field {name!r}: {exc}") from None
        raise
    raise _fail(value, data_type)


def coerce_or_keep(value: Any, data_type: DataType, formats: TimeFormats = DEFAULT_FORMATS, name: str = "") -> Any:
    """``coerce``, or ``value`` as it is when it cannot be converted: what a reader asked not to
    coerce types gives (NiFi's ``convertSimpleIfPossible``), so that ValidateRecord can call
    the record invalid instead of the whole content unreadable."""
    try:
        return coerce(value, data_type, formats, name)
    except ValueError:
        return value


def coerce_record(record: Record, schema: RecordSchema, formats: TimeFormats = DEFAULT_FORMATS) -> Record:
    """``record`` with each field of ``schema`` coerced (missing fields get their
    default; fields the schema lacks are dropped). Raises ``IllegalTypeConversion``
    naming the field, also for a null in a field that is not nullable."""
    out: Record = {}
    for f in schema.fields:
        raw = record[f.name] if f.name in record else next((record[a] for a in f.aliases if a in record), f.default)
        value = coerce(raw, f.data_type, formats, f.name)
        if value is None and not f.nullable:
            raise IllegalTypeConversion(f"field {f.name!r} cannot be null")
        out[f.name] = value
    return out

"""Values of the Expression Language and the conversions between them. Pure.

Runtime representation of each EL type:

=============  ==========================================================
``string``     ``str``
``whole_number``  ``int`` (NiFi's 64-bit Long; arithmetic wraps like Java's)
``decimal``    ``float`` (NiFi's Double)
``boolean``    ``bool``
``date``       ``Date`` — epoch milliseconds (``java.util.Date``)
``instant``    ``Instant`` — epoch nanoseconds (``java.time.Instant``)
null           ``None`` (a missing attribute, a failed conversion)
=============  ==========================================================

Conversions follow NiFi: text becomes a number only if it is one (else null),
a boolean is true only for ``true`` (any case, trimmed), dates print as
``EEE MMM dd HH:mm:ss zzz yyyy`` in the local time zone, instants as ISO-8601.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

__all__ = [
    "TYPES",
    "Date",
    "Instant",
    "TypedValue",
    "as_bool",
    "as_date_ms",
    "as_decimal",
    "as_number",
    "as_text",
    "format_decimal",
    "parse_decimal",
    "parse_whole",
    "type_of",
    "wrap_long",
]

#: The names ``TypedValue.type`` takes.
TYPES = ("string", "whole_number", "decimal", "boolean", "date", "instant")


@dataclass(frozen=True, slots=True)
class Date:
    """A point in time with millisecond precision (NiFi's Date)."""

    ms: int


@dataclass(frozen=True, slots=True)
class Instant:
    """A point in time with nanosecond precision (NiFi's Instant)."""

    ns: int


@dataclass(frozen=True, slots=True)
class TypedValue:
    """The result of one expression with its EL type (one of ``TYPES``, or None for null)."""

    type: str | None
    value: object

    def __str__(self) -> str:
        return as_text(self.value) or ""


def type_of(value: object) -> str | None:
    """The EL type name of a runtime value (None for null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "whole_number"
    if isinstance(value, float):
        return "decimal"
    if isinstance(value, Date):
        return "date"
    if isinstance(value, Instant):
        return "instant"
    return "string"


_LONG = 1 << 64


def wrap_long(n: int) -> int:
    """``n`` as Java's 64-bit long arithmetic would leave it (two's complement wrap)."""
    n &= _LONG - 1
    return n - _LONG if n >= 1 << 63 else n


_WHOLE = re.compile(r"[+-]?\d+")
_HEX_WHOLE = re.compile(r"([+-]?)0[xX]([0-9a-fA-F]+)")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)")


def parse_whole(text: str) -> int | None:
    """A whole number from text (decimal digits or 0x hex, optional sign), else None."""
    if text.isdecimal() and len(text) < 19:
        # The common case, answered without the regular expressions: digits only (what
        # str.isdecimal accepts is what \d matches), at most 18 of them, so within a long.
        return int(text)
    t = text.strip()
    if _WHOLE.fullmatch(t):
        n = int(t)
    else:
        m = _HEX_WHOLE.fullmatch(t)
        if not m:
            return None
        n = int(m.group(2), 16) * (-1 if m.group(1) == "-" else 1)
    if not -(1 << 63) <= n < (1 << 63):
        return None
    return n


def parse_decimal(text: str) -> float | None:
    """A decimal from text (Java's Double.parseDouble forms, incl. Infinity and NaN), else None."""
    t = text.strip()
    if t in ("NaN", "+NaN", "-NaN"):
        return math.nan
    if t in ("Infinity", "+Infinity"):
        return math.inf
    if t == "-Infinity":
        return -math.inf
    t2 = t[:-1] if t[-1:] in ("d", "D", "f", "F") else t
    if _DECIMAL.fullmatch(t2):
        return float(t2)
    if t2.lower().startswith(("0x", "-0x", "+0x")) and "p" in t2.lower():
        try:
            return float.fromhex(t2)
        except ValueError:
            return None
    return None


def format_decimal(x: float) -> str:
    """``x`` as Java's ``Double.toString`` writes it (``2.0``, ``1.0E10``, ``NaN``)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    if 1e-3 <= abs(x) < 1e7:
        text = repr(x)  # positional in this range, shortest round trip
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(x)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    exp10 = len(digits) - 1 + int(exponent)
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{exp10}"


def as_text(value: object) -> str | None:
    """The string form NiFi gives a value (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_decimal(value)
    if isinstance(value, Date):
        return format_java_date_default(value.ms)
    if isinstance(value, Instant):
        return format_instant_iso(value.ns)
    return str(value)


def as_bool(value: object) -> bool | None:
    """NiFi's boolean view: booleans as is, text true only for ``true`` (trimmed, any case)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return None


def as_number(value: object) -> int | None:
    """A whole number: numbers truncate toward zero, dates give epoch ms, text is parsed (decimals truncate)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return wrap_long(int(value))
    if isinstance(value, Date):
        return value.ms
    if isinstance(value, Instant):
        return value.ns // 1_000_000
    if isinstance(value, str):
        whole = parse_whole(value)
        if whole is not None:
            return whole
        dec = parse_decimal(value)
        if dec is not None and not (math.isnan(dec) or math.isinf(dec)):
            return wrap_long(int(dec))
    return None


def as_decimal(value: object) -> float | None:
    """A decimal: numbers widen, dates give epoch ms, text is parsed."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, Date):
        return float(value.ms)
    if isinstance(value, Instant):
        return float(value.ns // 1_000_000)
    if isinstance(value, str):
        whole = parse_whole(value)
        if whole is not None:
            return float(whole)
        return parse_decimal(value)
    return None


_DEFAULT_DATE = re.compile(r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def local_tz_offset(ms: int) -> timedelta:
    """The local time zone's offset at ``ms``."""
    t = time.localtime(ms // 1000)
    return timedelta(seconds=t.tm_gmtoff)


def _local(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone()


def format_java_date_default(ms: int) -> str:
    """``java.util.Date.toString``: ``EEE MMM dd HH:mm:ss zzz yyyy`` in the local zone."""
    d = _local(ms)
    zone = d.tzname() or "UTC"
    return (f"{_DAYS[d.weekday()]} {_MONTHS[d.month - 1]} {d.day:02d} {d.hour:02d}:{d.minute:02d}:"
            f"{d.second:02d} {zone} {d.year}")


def format_instant_iso(ns: int) -> str:
    """``Instant.toString``: ISO-8601 in UTC with as many fraction digits as needed (0, 3, 6 or 9)."""
    seconds, frac = divmod(ns, 1_000_000_000)
    d = datetime.fromtimestamp(seconds, UTC)
    base = d.strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 0:
        return base + "Z"
    if frac % 1_000_000 == 0:
        return f"{base}.{frac // 1_000_000:03d}Z"
    if frac % 1_000 == 0:
        return f"{base}.{frac // 1_000:06d}Z"
    return f"{base}.{frac:09d}Z"


_EPOCH_DIGITS = re.compile(r"[0-9]+")


def as_date_ms(value: object) -> int | None:
    """Epoch ms of a value used as a date: dates, instants, whole numbers, and text that
    is all digits, ``yyyy/MM/dd HH:mm:ss[.SSS]`` (local time) or ``Date.toString``'s form."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Date):
        return value.ms
    if isinstance(value, Instant):
        return value.ns // 1_000_000
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        t = value.strip()
        if _EPOCH_DIGITS.fullmatch(t):  # Java's \\d+: ASCII digits only, no sign
            return int(t)
        m = _DEFAULT_DATE.fullmatch(t)
        if m:
            y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
            frac = int(m.group(7) or 0)
            local = datetime(y, mo, d, h, mi, s).astimezone()
            return int(local.timestamp()) * 1000 + frac
        parts = t.split()
        if len(parts) == 6 and parts[1] in _MONTHS:
            try:
                hh, mm, ss = (int(x) for x in parts[3].split(":"))
                local = datetime(int(parts[5]), _MONTHS.index(parts[1]) + 1, int(parts[2]), hh, mm, ss).astimezone()
                return int(local.timestamp()) * 1000
            except ValueError:
                return None
    return None

"""Date functions of the Expression Language: ``format``, ``toDate``, ``toInstant``,
``formatInstant``, ``toMicros``, ``toNanos``, the ``plus``/``minus`` ``[Instant]Duration``
family, ``now``, and the date checks ``isValidDate``/``isValidInstant``. Pure (``now``
reads the clock).

``format``/``toDate`` use ``SimpleDateFormat`` patterns and ``formatInstant``/
``toInstant``/``isValidDate`` ``DateTimeFormatter`` patterns (see ``_javatime``). Without a
zone argument the system zone is used, as NiFi uses the JVM's default zone.

A subject that cannot be read as a date (text that is neither epoch milliseconds nor one of
NiFi's implicit date forms) raises ``EvaluationError``, as does text that does not match a
``toDate``/``toInstant`` pattern; a missing attribute gives null.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import date, timedelta
from typing import Any

from flowyard.runtime.expression._javatime import (
    ISO,
    SIMPLE,
    PatternError,
    Zone,
    format_ns,
    parse_instant_text,
    parse_ns,
    resolve_zone,
)
from flowyard.runtime.expression._registry import REGISTRY, Arg, EvaluationError, function
from flowyard.runtime.expression._types import Date, Instant, as_date_ms, as_number, as_text

D = "date"
_NS = 1_000_000_000
_MS = 1_000_000
_UTC = Zone("UTC", offset=0)
_PATTERN = Arg("pattern")
_ZONE = Arg("timeZone", optional=True)


def _date_ms(value: Any) -> int:
    ms = as_date_ms(value)
    if ms is None:
        raise EvaluationError(f"cannot convert {as_text(value)!r} to a date")
    return ms


_EPOCH_DIGITS = re.compile(r"[0-9]+")


def _instant_ns(value: Any) -> int:
    """Nanoseconds of an Instant, a Date, a number (epoch milliseconds, a decimal truncated), or
    text: ASCII digits (epoch milliseconds) or ISO-8601 / RFC 1123 (NiFi's InstantCastEvaluator;
    unlike a date, no ``yyyy/MM/dd HH:mm:ss`` and no ``Date.toString`` form, and no sign)."""
    if isinstance(value, Instant):
        return value.ns
    if isinstance(value, str):
        text = value.strip()
        if _EPOCH_DIGITS.fullmatch(text):
            return int(text) * _MS
        ns = parse_instant_text(text)
        if ns is None:
            raise EvaluationError(f"cannot convert {value!r} to an instant: expected epoch milliseconds, "
                                  "ISO-8601 or RFC 1123")
        return ns
    return _date_ms(value) * _MS


def _zone(tz: str | None) -> Zone:
    try:
        return resolve_zone(tz)
    except PatternError as exc:
        raise EvaluationError(str(exc)) from None


def _format(ns: int, pattern: str, tz: str | None, dialect: str) -> str:
    try:
        return format_ns(ns, pattern, _zone(tz), dialect=dialect)
    except PatternError as exc:
        raise EvaluationError(str(exc)) from None


def _parse(text: str, pattern: str, tz: str | None, dialect: str) -> int:
    try:
        ns = parse_ns(text, pattern, _zone(tz), dialect=dialect)
    except PatternError as exc:
        raise EvaluationError(str(exc)) from None
    if ns is None:
        raise EvaluationError(f"{text!r} does not match the date pattern {pattern!r}")
    return ns


@function("format", family=D, subject="any", args=(_PATTERN, _ZONE), returns="string",
          description="Formats a date (or epoch milliseconds) with a SimpleDateFormat pattern, in the given "
                      "time zone or the system zone.")
def format_(subject: Any, pattern: str | None, tz: str | None = None) -> str | None:
    if pattern is None:
        return None
    return _format(_date_ms(subject) * _MS, pattern, tz, SIMPLE)


@function("toDate", family=D, subject="any", args=(Arg("pattern", optional=True), _ZONE), returns="date",
          description="Parses text with a SimpleDateFormat pattern (in the given or the system zone); without a "
                      "pattern, or for a number, the subject as a number is epoch milliseconds (not a number: null).")
def to_date(subject: Any, pattern: str | None = None, tz: str | None = None) -> Date | None:
    # NiFi: StringToDateEvaluator only for a text subject with a pattern, else NumberToDateEvaluator
    # over the subject as a whole number (so '-5' is 5 ms before the epoch, 'abc' is null).
    if pattern is None or not isinstance(subject, str):
        ms = as_number(subject)
        return None if ms is None else Date(ms)
    if not subject.strip():
        return None
    return Date(_parse(subject, pattern, tz, SIMPLE) // _MS)


@function("toInstant", family=D, subject="any", args=(Arg("pattern", optional=True), _ZONE), returns="instant",
          description="Parses text into an instant with a DateTimeFormatter pattern and a time zone (both, or "
                      "neither); without them, or for a number, the subject as a number is epoch milliseconds "
                      "(not a number: null).")
def to_instant(subject: Any, pattern: str | None = None, tz: str | None = None) -> Instant | None:
    # NiFi: StringToInstantEvaluator only for a text subject with pattern and zone, else
    # NumberToInstantEvaluator over the subject as a whole number.
    if pattern is None or not isinstance(subject, str):
        ms = as_number(subject)
        return None if ms is None else Instant(ms * _MS)
    if not subject.strip():
        return None
    return Instant(_parse(subject, pattern, tz, ISO))


@function("formatInstant", family=D, subject="any", args=(_PATTERN, Arg("timeZone")), returns="string",
          description="Formats an instant (or epoch milliseconds, or ISO-8601 / RFC 1123 text) with a "
                      "DateTimeFormatter pattern in a time zone.")
def format_instant(subject: Any, pattern: str | None, tz: str | None = None) -> str | None:
    if pattern is None:
        return None
    return _format(_instant_ns(subject), pattern, tz, ISO)


@function("toMicros", family=D, subject="any", returns="whole_number",
          description="Microseconds since the epoch of an instant (finer digits dropped).")
def to_micros(subject: Any) -> int:
    return _instant_ns(subject) // 1000


@function("toNanos", family=D, subject="any", returns="whole_number",
          description="Nanoseconds since the epoch of an instant.")
def to_nanos(subject: Any) -> int:
    return _instant_ns(subject)


@function("now", family=D, subject=None, returns="date",
          description="The current date and time (millisecond precision).")
def now() -> Date:
    return Date(time.time_ns() // _MS)


# --- durations ---------------------------------------------------------------------------------------------

# NiFi's DateAmountParser: a non-negative integer (ASCII digits, no sign), whitespace, then a unit
# (nanosecond, second, minute, hour, day, week, month, year; singular or plural, any case).
_DURATION = re.compile(r"\s*([0-9]+)\s+([A-Za-z]+)\s*")
_EXACT = {"nanosecond": 1, "second": _NS, "minute": 60 * _NS, "hour": 3600 * _NS}
_CALENDAR = ("day", "week", "month", "year")


def parse_duration(amount: str) -> tuple[int, str]:
    """``'<integer> <unit>'`` as (amount, singular unit). Raises ``EvaluationError`` otherwise."""
    m = _DURATION.fullmatch(amount)
    unit = m.group(2).lower() if m else ""
    unit = unit[:-1] if unit.endswith("s") else unit
    if not m or (unit not in _EXACT and unit not in _CALENDAR):
        raise EvaluationError(f"invalid duration {amount!r}: expected '<integer> <unit>' (a non-negative whole "
                              "number) with unit nanoseconds, seconds, minutes, hours, days, weeks, months or years")
    return int(m.group(1)), unit


def _add_months(d: date, months: int) -> date:
    y, m0 = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m0 + 1, min(d.day, calendar.monthrange(y, m0 + 1)[1]))


def shift(ns: int, amount: str, zone: Zone, sign: int = 1) -> int:
    """``ns`` moved by duration text ``amount`` (backwards if ``sign`` is -1): exact for
    nanoseconds to hours, on ``zone``'s wall clock for days to years (month ends clamped, the
    old offset kept when still valid), as ``ZonedDateTime.plus`` does."""
    n, unit = parse_duration(amount)
    n *= sign
    if unit in _EXACT:
        return ns + n * _EXACT[unit]
    seconds, frac = divmod(ns, _NS)
    offset = zone.offset_at(seconds)
    local_s = seconds + offset
    days, of_day = divmod(local_s, 86400)
    try:
        d = date(1970, 1, 1) + timedelta(days=days)
        if unit in ("day", "week"):
            d += timedelta(days=n * (7 if unit == "week" else 1))
        else:
            d = _add_months(d, n * (12 if unit == "year" else 1))
    except (OverflowError, ValueError):
        raise EvaluationError(f"date out of range after adding {amount!r}") from None
    new_local = (d - date(1970, 1, 1)).days * 86400 + of_day
    if zone.offset_at(new_local - offset) == offset:
        return (new_local - offset) * _NS + frac
    return (zone.to_epoch(new_local) or 0) * _NS + frac  # never None when not strict


def _check_amount(amount: str | None) -> None:
    if amount is not None:
        parse_duration(amount)


def _duration_function(name: str, sign: int, instant: bool) -> None:
    kind = "instant" if instant else "date"
    verb = "Adds" if sign > 0 else "Subtracts"
    where = "in UTC" if instant else "in the system time zone"

    @function(name, family=D, subject="any", args=(Arg("amount"),), returns=kind, check_literals=_check_amount,
              description=f"{verb} an amount such as '3 months' to/from the {kind} (calendar units {where}, "
                          "month ends clamped).")
    def impl(subject: Any, amount: str | None) -> Any:
        if amount is None:
            return None
        if instant:
            return Instant(shift(_instant_ns(subject), amount, _UTC, sign))
        return Date(shift(_date_ms(subject) * _MS, amount, _zone(None), sign) // _MS)


_duration_function("plusDuration", 1, instant=False)
_duration_function("minusDuration", -1, instant=False)
_duration_function("plusInstantDuration", 1, instant=True)
_duration_function("minusInstantDuration", -1, instant=True)


# --- checks (boolean logic) --------------------------------------------------------------------------------

if "isValidDate" not in REGISTRY:
    @function("isValidDate", family="boolean logic", subject="string", args=(_PATTERN, _ZONE), returns="boolean",
              null_subject="pass",
              description="True when the subject (trimmed) is a real date/time for the DateTimeFormatter pattern "
                          "in the zone (no rolling, no time inside a DST gap); never fails.")
    def is_valid_date(subject: str | None, pattern: str | None, tz: str | None = None) -> bool:
        if subject is None or pattern is None:
            return False
        try:
            return parse_ns(subject.strip(), pattern, tz, dialect=ISO, strict=True) is not None
        except PatternError:
            return False

if "isValidInstant" not in REGISTRY:
    @function("isValidInstant", family="boolean logic", subject="string", returns="boolean", null_subject="pass",
              description="True when the subject is an ISO-8601 instant or offset date-time, or an RFC 1123 "
                          "date-time; never fails.")
    def is_valid_instant(subject: str | None) -> bool:
        return subject is not None and parse_instant_text(subject) is not None

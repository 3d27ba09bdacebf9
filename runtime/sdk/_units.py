"""Time periods and data sizes in NiFi's text forms.

NiFi writes durations as ``"30 sec"`` or ``"500 millis"`` and data sizes as
``"1 GB"``; flows exported from NiFi use these strings, so flowyard parses the
same grammar: a non-negative number (``12`` or ``2.5``, never ``1e3``, ``.5``
or a sign), optional whitespace, then a case-insensitive unit. Surrounding
whitespace is ignored.

Arithmetic is exact (``fractions.Fraction``) until the final conversion, so
``"100 millis"`` is exactly the float ``0.1`` and ``"1.5 MB"`` exactly
1572864 bytes. The ``format_*`` functions write a canonical short form that
parses back to the value they were given.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "format_data_size",
    "format_duration",
    "parse_data_size",
    "parse_duration",
]

_NUMBER_AND_UNIT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(.*)", re.ASCII | re.DOTALL)

# Python refuses to convert integers longer than this (sys.int_info); such
# inputs are certainly mistakes, so they are rejected before conversion.
_MAX_DIGITS = 4000

_SECONDS_PER_UNIT: dict[str, Fraction] = {
    name: seconds
    for names, seconds in (
        (("ns", "nano", "nanos", "nanosecond", "nanoseconds"), Fraction(1, 10**9)),
        (("µs", "μs", "us", "micro", "micros", "microsecond", "microseconds"), Fraction(1, 10**6)),
        (("ms", "milli", "millis", "millisecond", "milliseconds"), Fraction(1, 1000)),
        (("s", "sec", "secs", "second", "seconds"), Fraction(1)),
        (("m", "min", "mins", "minute", "minutes"), Fraction(60)),
        (("h", "hr", "hrs", "hour", "hours"), Fraction(3600)),
        (("d", "day", "days"), Fraction(86400)),
        (("w", "wk", "wks", "week", "weeks"), Fraction(604800)),
    )
    for name in names
}

_BYTES_PER_UNIT: dict[str, int] = {
    name: size
    for names, size in (
        (("b", "byte", "bytes"), 1),
        (("kb", "kib"), 1024),
        (("mb", "mib"), 1024**2),
        (("gb", "gib"), 1024**3),
        (("tb", "tib"), 1024**4),
    )
    for name in names
}

_DURATION_UNITS_SHOWN = "nanos, micros, millis, sec, min, hr, day, week"
_DATA_SIZE_UNITS_SHOWN = "B, KB, MB, GB, TB"

# Largest first: format_duration picks the first unit that divides the value.
_FORMAT_DURATION_UNITS: tuple[tuple[Fraction, str, str], ...] = (
    (Fraction(604800), "week", "weeks"),
    (Fraction(86400), "day", "days"),
    (Fraction(3600), "hour", "hours"),
    (Fraction(60), "min", "min"),
    (Fraction(1), "sec", "sec"),
    (Fraction(1, 1000), "millis", "millis"),
    (Fraction(1, 10**6), "micros", "micros"),
    (Fraction(1, 10**9), "nanos", "nanos"),
)

_FORMAT_SIZE_UNITS: tuple[tuple[int, str], ...] = (
    (1024**4, "TB"),
    (1024**3, "GB"),
    (1024**2, "MB"),
    (1024, "KB"),
)
# format_data_size uses a larger unit only when the number stays this short.
_MAX_SIZE_DECIMALS = 3


def _show(text: str, limit: int = 60) -> str:
    """``text`` quoted for an error message, shortened when long.

    ``repr`` keeps control characters and invisible whitespace visible, which
    is usually exactly what is wrong with the value.
    """
    if len(text) > limit:
        return repr(text[:limit]) + f"... ({len(text)} characters)"
    return repr(text)


def _split(text: str, kind: str, example: str) -> tuple[str, str]:
    """``text`` as (number, unit), or ``ValueError`` saying what is wrong."""
    stripped = text.strip()
    match = _NUMBER_AND_UNIT.fullmatch(stripped)
    if stripped.startswith("-") and len(stripped) > 1:
        problem = f"a {kind} cannot be negative"
    elif match is None or len(match[1]) > _MAX_DIGITS or (match[2] and not match[2].isalpha()):
        problem = f"expected a non-negative number followed by a unit, such as {example!r}"
    elif not match[2]:
        problem = f"the unit is missing; expected a number followed by a unit, such as {example!r}"
    else:
        return match[1], match[2]
    raise ValueError(f"{_show(text)} is not a valid {kind}: {problem}")


def _unknown_unit(text: str, kind: str, unit: str, units: str) -> ValueError:
    return ValueError(
        f"{_show(text)} is not a valid {kind}: unknown unit {_show(unit)}; expected one of {units}"
    )


@functools.lru_cache(maxsize=4096)
def parse_duration(text: str) -> float:
    """The time period ``text`` (NiFi's format, e.g. ``"30 sec"``) in seconds.

    Units are case-insensitive: ``ns``/``nanos``, ``us``/``µs``/``micros``,
    ``ms``/``millis``, ``s``/``sec``, ``m``/``min``, ``h``/``hr``,
    ``d``/``day``, ``w``/``wk`` and their singular and plural spellings.
    The result is the float nearest to the exact value.

    Raises ``ValueError`` naming ``text`` and the expected form when ``text``
    is empty, negative, lacks a unit, has an unknown unit, or is too large for
    a float.
    """
    number, unit = _split(text, "time period", "30 sec")
    if unit.lower() not in _SECONDS_PER_UNIT:
        raise _unknown_unit(text, "time period", unit, _DURATION_UNITS_SHOWN)
    try:
        return float(Fraction(number) * _SECONDS_PER_UNIT[unit.lower()])
    except OverflowError:
        raise ValueError(f"{_show(text)} is not a valid time period: it is too large") from None


def format_duration(seconds: float) -> str:
    """``seconds`` as a canonical short time period, e.g. ``"30 sec"``.

    Uses the largest unit in which the value is a whole number (``60`` ->
    ``"1 min"``, ``0.5`` -> ``"500 millis"``, ``90`` -> ``"90 sec"``, ``0`` ->
    ``"0 sec"``); a value finer than a nanosecond is written as a decimal
    number of nanos. The value taken is the shortest decimal that reads back
    as ``seconds``, so ``parse_duration(format_duration(x)) == x`` for every
    finite non-negative float ``x``.

    Raises ``ValueError`` for negative, infinite or NaN input.
    """
    value = float(seconds)
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            f"cannot format {seconds!r} as a time period: expected a finite value >= 0"
        )
    if value == 0:
        return "0 sec"
    exact = Decimal(repr(value))
    fraction = Fraction(exact)
    for unit_seconds, singular, plural in _FORMAT_DURATION_UNITS:
        count = fraction / unit_seconds
        if count.denominator == 1:
            return f"{count.numerator} {singular if count.numerator == 1 else plural}"
    return f"{_plain_decimal(exact.scaleb(9))} nanos"


def _plain_decimal(number: Decimal) -> str:
    """``number`` in positional notation with no trailing zeros."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


@functools.lru_cache(maxsize=4096)
def parse_data_size(text: str) -> int:
    """The data size ``text`` (NiFi's format, e.g. ``"1 GB"``) in bytes.

    Units are case-insensitive ``B``/``bytes``, ``KB``, ``MB``, ``GB``, ``TB``;
    like NiFi's ``DataUnit`` they are multiples of 1024, and the ``KiB``
    spellings mean the same. A fractional byte count is truncated
    (``"1.3 KB"`` -> 1331).

    Raises ``ValueError`` naming ``text`` and the expected form when ``text``
    is empty, negative, lacks a unit or has an unknown unit.
    """
    number, unit = _split(text, "data size", "10 MB")
    if unit.lower() not in _BYTES_PER_UNIT:
        raise _unknown_unit(text, "data size", unit, _DATA_SIZE_UNITS_SHOWN)
    return math.floor(Fraction(number) * _BYTES_PER_UNIT[unit.lower()])


def format_data_size(n: int) -> str:
    """``n`` bytes as a canonical short data size, e.g. ``"1 GB"`` or ``"1.5 KB"``.

    Uses the largest unit (1024-based, as NiFi) that is not bigger than ``n``
    and in which ``n`` is written exactly with at most three decimals;
    otherwise plain bytes. ``parse_data_size(format_data_size(n)) == n``
    always holds.

    Raises ``ValueError`` for a negative ``n``.
    """
    if n < 0:
        raise ValueError(f"cannot format {n!r} as a data size: expected a byte count >= 0")
    for unit_bytes, name in _FORMAT_SIZE_UNITS:
        if n < unit_bytes:
            continue
        # Short enough exactly when n / unit * 10**k is whole; then the
        # decimal is built from that integer, with no rounding anywhere.
        scaled = Fraction(n * 10**_MAX_SIZE_DECIMALS, unit_bytes)
        if scaled.denominator == 1:
            decimal = Decimal(scaled.numerator).scaleb(-_MAX_SIZE_DECIMALS)
            return f"{_plain_decimal(decimal)} {name}"
    return f"{n} B"

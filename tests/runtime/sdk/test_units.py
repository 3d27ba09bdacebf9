"""NiFi's time periods and data sizes: parsing every unit spelling, canonical
formatting, and error messages that quote the text that was wrong."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowyard.runtime.sdk import format_data_size, format_duration, parse_data_size, parse_duration

DURATION_UNITS = "nanos, micros, millis, sec, min, hr, day, week"
SIZE_UNITS = "B, KB, MB, GB, TB"

# -- parse_duration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spellings", "seconds"),
    [
        (["ns", "nano", "nanos", "nanosecond", "nanoseconds"], 1e-9),
        (["us", "µs", "μs", "micro", "micros", "microsecond", "microseconds"], 1e-6),
        (["ms", "milli", "millis", "millisecond", "milliseconds"], 0.001),
        (["s", "sec", "secs", "second", "seconds"], 1.0),
        (["m", "min", "mins", "minute", "minutes"], 60.0),
        (["h", "hr", "hrs", "hour", "hours"], 3600.0),
        (["d", "day", "days"], 86400.0),
        (["w", "wk", "wks", "week", "weeks"], 604800.0),
    ],
)
def test_every_duration_unit_spelling_in_any_case(spellings: list[str], seconds: float) -> None:
    for unit in spellings:
        for text in (f"1 {unit}", f"1{unit}", f"1 {unit.upper()}", f"  1\t{unit.title()}  "):
            assert parse_duration(text) == seconds, text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30 sec", 30.0),
        ("0 sec", 0.0),
        ("500 millis", 0.5),
        ("100 millis", 0.1),  # exact arithmetic: the float nearest 1/10, not 100 * 0.001
        ("2.5 min", 150.0),
        ("0.1 s", 0.1),
        ("1.5 hours", 5400.0),
        ("007 sec", 7.0),
        ("3 days", 259200.0),
    ],
)
def test_parse_duration_values(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "expected a non-negative number followed by a unit, such as '30 sec'"),
        ("   ", "expected a non-negative number followed by a unit"),
        ("sec", "expected a non-negative number followed by a unit"),
        ("-1 sec", "a time period cannot be negative"),
        ("-", "expected a non-negative number followed by a unit"),
        ("+1 sec", "expected a non-negative number followed by a unit"),
        ("1e3 sec", "expected a non-negative number followed by a unit"),
        (".5 sec", "expected a non-negative number followed by a unit"),
        ("5. sec", "expected a non-negative number followed by a unit"),
        ("1,5 sec", "expected a non-negative number followed by a unit"),
        ("5 sec!", "expected a non-negative number followed by a unit"),
        ("5 sec 3 min", "expected a non-negative number followed by a unit"),
        ("10", "the unit is missing; expected a number followed by a unit, such as '30 sec'"),
        ("10 parsecs", f"unknown unit 'parsecs'; expected one of {DURATION_UNITS}"),
        ("10 MB", f"unknown unit 'MB'; expected one of {DURATION_UNITS}"),
        ("9" * 400 + " weeks", "it is too large"),
    ],
)
def test_parse_duration_errors_quote_the_text(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    message = str(info.value)
    assert fragment in message
    assert message.startswith(f"{text!r} is not a valid time period: " if len(text) <= 60 else repr(text[:60]))


def test_long_bad_text_is_shortened_in_the_message() -> None:
    text = "x" * 100
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value).startswith(f"{'x' * 60!r}... (100 characters) is not a valid time period")


def test_huge_digit_strings_are_refused_before_conversion() -> None:
    with pytest.raises(ValueError, match=r"\(5002 characters\) is not a valid time period: expected"):
        parse_duration("1" * 5000 + " s")


# -- parse_data_size ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spellings", "size"),
    [
        (["b", "byte", "bytes"], 1),
        (["kb", "kib"], 1024),
        (["mb", "mib"], 1024**2),
        (["gb", "gib"], 1024**3),
        (["tb", "tib"], 1024**4),
    ],
)
def test_every_data_unit_spelling_in_any_case(spellings: list[str], size: int) -> None:
    for unit in spellings:
        for text in (f"1 {unit}", f"1{unit}", f"1 {unit.upper()}", f" 1  {unit.title()} "):
            assert parse_data_size(text) == size, text


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0 B", 0),
        ("10 KB", 10240),
        ("1.5 MB", 1572864),
        ("1 GB", 1073741824),
        ("1.3 KB", 1331),  # 1331.2 truncated
        ("0.9 B", 0),
        ("2 TB", 2 * 1024**4),
    ],
)
def test_parse_data_size_values(text: str, size: int) -> None:
    assert parse_data_size(text) == size


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "expected a non-negative number followed by a unit, such as '10 MB'"),
        ("-1 KB", "a data size cannot be negative"),
        ("1e3 B", "expected a non-negative number followed by a unit"),
        ("10", "the unit is missing; expected a number followed by a unit, such as '10 MB'"),
        ("10 XB", f"unknown unit 'XB'; expected one of {SIZE_UNITS}"),
        ("10 sec", f"unknown unit 'sec'; expected one of {SIZE_UNITS}"),
        ("1 PB", f"unknown unit 'PB'; expected one of {SIZE_UNITS}"),
    ],
)
def test_parse_data_size_errors_quote_the_text(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_data_size(text)
    assert str(info.value).startswith(f"{text!r} is not a valid data size: ")
    assert fragment in str(info.value)


# -- formatting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 sec"),
        (1, "1 sec"),
        (90, "90 sec"),
        (60, "1 min"),
        (120, "2 min"),
        (3600, "1 hour"),
        (7200, "2 hours"),
        (86400, "1 day"),
        (172800, "2 days"),
        (604800, "1 week"),
        (1209600, "2 weeks"),
        (0.5, "500 millis"),
        (1.5, "1500 millis"),
        (0.001, "1 millis"),
        (123.456, "123456 millis"),
        (2e-6, "2 micros"),
        (1e-9, "1 nanos"),
        (1e-10, "0.1 nanos"),
    ],
)
def test_format_duration_uses_the_largest_whole_unit(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("seconds", [-1, -1e-9, float("inf"), float("-inf"), float("nan")])
def test_format_duration_refuses_negative_and_non_finite(seconds: float) -> None:
    with pytest.raises(ValueError, match="expected a finite value >= 0"):
        format_duration(seconds)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1023 B"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (1025, "1025 B"),  # 1.0009765625 KB needs more than three decimals
        (1331, "1331 B"),
        (1024**2, "1 MB"),
        (1572864, "1.5 MB"),
        (1024**3, "1 GB"),
        (5 * 1024**4, "5 TB"),
        (1024**5, "1024 TB"),
    ],
)
def test_format_data_size(size: int, text: str) -> None:
    assert format_data_size(size) == text
    assert parse_data_size(text) == size


def test_format_data_size_refuses_negative() -> None:
    with pytest.raises(ValueError, match="cannot format -1 as a data size: expected a byte count >= 0"):
        format_data_size(-1)


@settings(database=None, max_examples=300)
@given(st.floats(min_value=0, allow_nan=False, allow_infinity=False))
def test_format_duration_round_trips_every_float(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@settings(database=None, max_examples=300)
@given(st.integers(min_value=0, max_value=1 << 70))
def test_format_data_size_round_trips_every_count(size: int) -> None:
    assert parse_data_size(format_data_size(size)) == size

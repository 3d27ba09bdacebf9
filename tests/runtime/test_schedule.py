"""CronSchedule: Quartz expressions (NiFi's CRON_DRIVEN scheduling) and their firing
times, computed from fixed UTC epoch seconds so nothing depends on the clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from flowyard.runtime.schedule import CronSchedule


def epoch(text: str) -> float:
    """``'2024-01-01 00:00:00'`` (UTC) as epoch seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


MONDAY = "2024-01-01 00:00:00"  # 1704067200, a Monday


def test_epoch_helper_is_utc() -> None:
    assert epoch(MONDAY) == 1704067200.0


@pytest.mark.parametrize(
    ("expression", "start", "firings"),
    [
        ("* * * * * ?", MONDAY, ["2024-01-01 00:00:01", "2024-01-01 00:00:02"]),
        ("0 */5 * * * ?", MONDAY, ["2024-01-01 00:05:00", "2024-01-01 00:10:00"]),
        ("30 15 10 1 1 ?", MONDAY, ["2024-01-01 10:15:30", "2025-01-01 10:15:30"]),
        ("0 0 0 * * ?", "2023-12-31 23:59:59", ["2024-01-01 00:00:00", "2024-01-02 00:00:00"]),
        ("0 0 12 15 * ?", MONDAY, ["2024-01-15 12:00:00", "2024-02-15 12:00:00"]),
        ("0 0 12 L * ?", MONDAY, ["2024-01-31 12:00:00", "2024-02-29 12:00:00"]),
        ("0 0 12 * JAN,MAR ?", "2024-01-31 13:00:00", ["2024-03-01 12:00:00", "2024-03-02 12:00:00"]),
        # day of week: Quartz counts 1 = Sunday .. 7 = Saturday
        ("0 0 12 ? * 1", MONDAY, ["2024-01-07 12:00:00", "2024-01-14 12:00:00"]),
        ("0 0 12 ? * 7", MONDAY, ["2024-01-06 12:00:00", "2024-01-13 12:00:00"]),
        ("0 0 12 ? * 2", MONDAY, ["2024-01-01 12:00:00", "2024-01-08 12:00:00"]),
        ("0 0 12 ? * 2-6", "2024-01-05 13:00:00", ["2024-01-08 12:00:00", "2024-01-09 12:00:00"]),
        ("0 0 12 ? * 1,7", MONDAY, ["2024-01-06 12:00:00", "2024-01-07 12:00:00"]),
        ("0 0 12 ? * SUN,7", MONDAY, ["2024-01-06 12:00:00", "2024-01-07 12:00:00"]),
        ("0 0 12 ? * MON-FRI", "2024-01-05 13:00:00", ["2024-01-08 12:00:00", "2024-01-09 12:00:00"]),
        # the number after / is a step and after # an occurrence, not a day
        ("0 0 12 ? * 1/2", MONDAY, ["2024-01-02 12:00:00", "2024-01-04 12:00:00"]),  # Sun, Tue, Thu, Sat
        ("0 0 12 ? * 1-7/3", MONDAY, ["2024-01-03 12:00:00", "2024-01-06 12:00:00"]),  # Sun, Wed, Sat
        ("0 0 12 ? * 2#2", MONDAY, ["2024-01-08 12:00:00", "2024-02-12 12:00:00"]),  # second Monday
        ("0 0 12 ? * 6#1", MONDAY, ["2024-01-05 12:00:00", "2024-02-02 12:00:00"]),  # first Friday
        # '?' in day of month with a day of week; '?' in day of week with a day of month
        ("0 0 8 ? * 4", MONDAY, ["2024-01-03 08:00:00", "2024-01-10 08:00:00"]),
        ("0 0 8 3 * ?", MONDAY, ["2024-01-03 08:00:00", "2024-02-03 08:00:00"]),
        # the optional year, only as *
        ("0 0 12 * * ? *", MONDAY, ["2024-01-01 12:00:00", "2024-01-02 12:00:00"]),
        ("  0  0 12 * * ?  ", MONDAY, ["2024-01-01 12:00:00", "2024-01-02 12:00:00"]),
    ],
)
def test_next_after(expression: str, start: str, firings: list[str]) -> None:
    schedule = CronSchedule(expression)
    assert schedule.expression == expression
    first = schedule.next_after(epoch(start))
    assert (first, schedule.next_after(first)) == (epoch(firings[0]), epoch(firings[1]))


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (MONDAY, "2024-01-01 00:00:10"),  # strictly after: a firing time is not its own successor
        ("2023-12-31 23:59:59", "2024-01-01 00:00:00"),
    ],
)
def test_next_after_is_strictly_after(start: str, expected: str) -> None:
    assert CronSchedule("*/10 * * * * ?").next_after(epoch(start)) == epoch(expected)


def test_next_after_a_fractional_second() -> None:
    assert CronSchedule("* * * * * ?").next_after(epoch(MONDAY) + 0.5) == epoch(MONDAY) + 1
    assert CronSchedule("*/10 * * * * ?").next_after(epoch(MONDAY) + 9.999) == epoch(MONDAY) + 10


def test_next_after_returns_a_float() -> None:
    assert type(CronSchedule("0 0 * * * ?").next_after(epoch(MONDAY))) is float


@pytest.mark.parametrize(
    ("expression", "count"),
    [("", 0), ("0 0 12 * *", 5), ("0 0 12 * * ? * *", 8), ("* * * *", 4)],
)
def test_wrong_field_counts(expression: str, count: int) -> None:
    with pytest.raises(ValueError) as info:
        CronSchedule(expression)
    assert str(info.value) == (
        f"cron expression {expression!r} has {count} fields; expected 6 or 7 "
        "(seconds minutes hours day-of-month month day-of-week [year]), e.g. '0 */5 * * * ?'"
    )


@pytest.mark.parametrize("year", ["2024", "2024-2030", "*/2"])
def test_only_a_wildcard_year(year: str) -> None:
    expression = f"0 0 12 * * ? {year}"
    with pytest.raises(ValueError) as info:
        CronSchedule(expression)
    assert str(info.value) == f"cron expression {expression!r}: a year field other than * is not supported"


@pytest.mark.parametrize(
    "expression",
    [
        "60 0 0 * * ?",  # second
        "0 60 0 * * ?",  # minute
        "0 0 24 * * ?",  # hour
        "0 0 0 32 * ?",  # day of month
        "0 0 0 0 * ?",
        "0 0 0 ? 13 *",  # month
        "0 0 0 ? 0 *",
        "0 0 0 ? * 8",  # day of week
        "0 0 0 ? * FOO",
        "a b c d e f",
        "0 0 -1 * * ?",
        "0 0 0 ? * 0",  # Quartz days of week are 1-7
    ],
)
def test_out_of_range_or_malformed_fields(expression: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(f'cron expression {expression!r} is not valid: ')}"):
        CronSchedule(expression)


def test_last_weekday_of_month() -> None:
    schedule = CronSchedule("0 0 12 ? * 6L")
    assert schedule.next_after(epoch(MONDAY)) == epoch("2024-01-26 12:00:00")

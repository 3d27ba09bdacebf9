"""Date functions, through the evaluator: explicit zones, and the system zone pinned with TZ."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowyard.runtime.expression import ExpressionError, evaluate, evaluate_typed
from flowyard.runtime.expression._fn_dates import parse_duration, shift
from flowyard.runtime.expression._javatime import ISO, format_ns, resolve_zone
from flowyard.runtime.expression._registry import REGISTRY, EvaluationError
from flowyard.runtime.expression._types import Date, Instant

DATA = Path(__file__).parent / "data"
FUNCTIONS = {"format", "formatInstant", "toDate", "toInstant", "toMicros", "toNanos", "plusDuration",
             "minusDuration", "plusInstantDuration", "minusInstantDuration", "now", "isValidDate",
             "isValidInstant"}
T = "1420058163264"  # 2014-12-31T20:36:03.264Z


def set_system_zone(zone: str | None) -> None:
    if zone is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = zone
    time.tzset()


@pytest.fixture
def system_zone() -> Iterator[Any]:
    """Call it with a zone id to make that the system zone for the test."""
    old = os.environ.get("TZ")
    yield set_system_zone
    set_system_zone(old)


@pytest.fixture
def utc(system_zone: Any) -> None:
    system_zone("UTC")


def test_every_date_function_is_declared() -> None:
    catalogue = json.loads((DATA / "el_functions.json").read_text())
    names = {f["name"] for f in catalogue if f["family"] == "date"}
    assert names <= set(REGISTRY)
    assert all(REGISTRY[n].family == "date" for n in names)


@pytest.mark.parametrize(("expression", "attributes", "expected"), [
    ("${t:format('yyyy/MM/dd HH:mm:ss.SSS', 'GMT')}", {"t": T}, "2014/12/31 20:36:03.264"),
    ("${t:format('yyyy/MM/dd HH:mm:ss z', 'America/Los_Angeles')}", {"t": T}, "2014/12/31 12:36:03 PST"),
    ("${t:format('yyyy-MM-dd HH:mm', 'GMT+05:00')}", {"t": T}, "2015-01-01 01:36"),
    ("${t:format('EEE MMM d', 'UTC')}", {"t": "2014/12/31 20:36:03"}, "Wed Dec 31"),  # implicit local form
    ("${t:format('HH:mm:ss.SSS', 'UTC')}", {"t": "2014/12/31 20:36:03.250"}, "20:36:03.250"),
    ("${t:format('yyyy-MM-dd HH:mm', 'UTC')}", {"t": "Wed Dec 31 20:36:03 UTC 2014"}, "2014-12-31 20:36"),
    ("${t:toNumber():plus(86400000):format('yyyy-MM-dd', 'UTC')}", {"t": T}, "2015-01-01"),
    ("${literal(1500.9):format('HH:mm:ss.SSS', 'UTC')}", {}, "00:00:01.500"),  # decimal truncated
    ("${missing:format('yyyy', 'UTC')}", {}, ""),
    ("${t:format('yyyy', ${missingZone})}", {"t": T}, "2014"),  # null zone: system zone
    ("${t:format(${missingPattern})}", {"t": T}, ""),
    ("${t:format('yyyy/MM/dd HH:mm')}", {"t": T}, "2014/12/31 20:36"),  # system zone (UTC)
])
def test_format(utc: None, expression: str, attributes: dict[str, str], expected: str) -> None:
    assert evaluate(expression, attributes) == expected


@pytest.mark.parametrize(("zone", "expected"), [
    ("Europe/Kiev", "2014/12/31 22:36"), ("Asia/Tokyo", "2015/01/01 05:36"), ("America/New_York", "2014/12/31 15:36"),
])
def test_format_uses_the_system_zone(system_zone: Any, zone: str, expected: str) -> None:
    system_zone(zone)
    assert evaluate("${t:format('yyyy/MM/dd HH:mm')}", {"t": T}) == expected


@pytest.mark.parametrize(("expression", "attributes"), [
    ("${t:format('yyyy', 'UTC')}", {"t": "not a date"}),
    ("${t:format('yyyy', 'UTC')}", {"t": ""}),
    ("${t:format('yyyy', 'UTC')}", {"t": "1.5"}),
    ("${t:format('yyyy', 'Mars/Olympus')}", {"t": T}),
    ("${t:format('yyyy-bb', 'UTC')}", {"t": T}),
    ("${t:toDate('yyyy-MM-dd', 'UTC')}", {"t": "31/12/2014"}),
    ("${t:toInstant('yyyy-MM-dd', 'UTC')}", {"t": "2014"}),
    ("${t:formatInstant('yyyy', 'UTC')}", {"t": "2014/12/31 20:36:03"}),  # InstantCastEvaluator: no DATE forms
    ("${t:formatInstant('yyyy', 'UTC')}", {"t": "31 December"}),
    ("${t:toMicros()}", {"t": "soon"}),
])
def test_bad_dates_raise(utc: None, expression: str, attributes: dict[str, str]) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expression, attributes)


@pytest.mark.parametrize(("expression", "attributes", "expected"), [
    ("${t:toDate('yyyy-MM-dd', 'UTC')}", {"t": "2014-12-31"}, Date(1419984000000)),
    ("${t:toDate('yyyy-MM-dd', 'Asia/Tokyo')}", {"t": "2014-12-31"}, Date(1419951600000)),
    ("${t:toDate('yyyy-MM-dd')}", {"t": "2014-12-31"}, Date(1419984000000)),  # system zone
    ("${t:toDate('ddMMMyyyy', 'UTC')}", {"t": "10may2004"}, Date(1084147200000)),
    ("${t:toDate()}", {"t": T}, Date(1420058163264)),
    ("${t:toNumber():toDate()}", {"t": T}, Date(1420058163264)),
    ("${missing:toDate('yyyy', 'UTC')}", {}, None),
    ("${t:toDate('yyyy', 'UTC')}", {"t": ""}, None),
    ("${t:toInstant('yyyy-MM-dd HH:mm:ss.SSSSSS', 'UTC')}", {"t": "2014-12-31 20:36:03.264001"},
     Instant(1420058163264001000)),
    ("${t:toInstant()}", {"t": T}, Instant(1420058163264000000)),
    # NiFi's compiler: toInstant() is NumberToInstantEvaluator over the subject as a whole number, and
    # toDate() NumberToDateEvaluator: text that is no number gives null, signed and decimal numbers count
    ("${t:toInstant()}", {"t": "2014-12-31T20:36:03.264000001Z"}, None),
    ("${t:toInstant()}", {"t": "-5"}, Instant(-5_000_000)),
    ("${t:toInstant()}", {"t": "1500.9"}, Instant(1_500_000_000)),
    ("${t:toDate()}", {"t": "tomorrow"}, None),
    ("${t:toDate()}", {"t": "-5"}, Date(-5)),
    ("${t:toNumber():toInstant('yyyy', 'UTC')}", {"t": T}, Instant(1420058163264000000)),  # a number: no parsing
    ("${t:toNumber():toDate('yyyy', 'UTC')}", {"t": T}, Date(1420058163264)),
    ("${missing:toInstant()}", {}, None),
    ("${t:toDate('yyyy', 'UTC'):toInstant()}", {"t": "2014"}, Instant(1388534400000000000)),
    ("${t:toInstant('yyyy', 'UTC'):toNumber()}", {"t": "2014"}, 1388534400000),
    ("${t:toDate('yyyy', 'UTC'):toNumber()}", {"t": "2014"}, 1388534400000),
    ("${t:toInstant()}", {"t": "Wed, 31 Dec 2014 20:36:03 GMT"}, None),
])
def test_to_date_and_to_instant(utc: None, expression: str, attributes: dict[str, str], expected: object) -> None:
    assert evaluate_typed(expression, attributes).value == expected


def test_dates_render_like_java_in_the_system_zone(system_zone: Any) -> None:
    system_zone("America/New_York")
    assert evaluate("${t:toDate()}", {"t": T}) == "Wed Dec 31 15:36:03 EST 2014"
    assert evaluate("${t:toInstant()}", {"t": T}) == "2014-12-31T20:36:03.264Z"


@pytest.mark.parametrize(("expression", "attributes", "expected"), [
    ("${t:formatInstant('yyyy-MM-dd HH:mm:ss.SSSSSSSSS', 'UTC')}", {"t": "2014-12-31T20:36:03.264000001Z"},
     "2014-12-31 20:36:03.264000001"),
    ("${t:formatInstant('yyyy-MM-dd HH:mm:ss', 'Asia/Tokyo')}", {"t": "2022-12-03T10:15:30+01:00"},
     "2022-12-03 18:15:30"),
    ("${t:formatInstant('yyyy-MM-dd HH:mm:ss VV', 'Europe/Paris')}", {"t": "Thu, 01 Dec 2022 16:00:00 GMT"},
     "2022-12-01 17:00:00 Europe/Paris"),
    ("${t:formatInstant('uuuu-MM-dd HH:mm:ss.SSS', 'UTC')}", {"t": T}, "2014-12-31 20:36:03.264"),
    ("${t:formatInstant('HH:mm', 'UTC')}", {"t": T}, "20:36"),
    ("${t:toDate():formatInstant('HH:mm xxx', 'Asia/Kolkata')}", {"t": T}, "02:06 +05:30"),
    ("${missing:formatInstant('yyyy', 'UTC')}", {}, ""),
    ("${t:toInstant('yyyy/MM/dd HH:mm:ss.SSSSSSSSS', 'UTC'):toMicros()}", {"t": "2022/03/18 10:22:27.678234567"},
     "1647598947678234"),
    ("${t:toInstant('yyyy/MM/dd HH:mm:ss.SSSSSSSSS', 'UTC'):toNanos()}", {"t": "2022/03/18 10:22:27.678234567"},
     "1647598947678234567"),
    ("${t:toInstant():toMicros()}", {"t": T}, "1420058163264000"),
    ("${missing:toInstant():toNanos()}", {}, ""),
])
def test_format_instant(utc: None, expression: str, attributes: dict[str, str], expected: str) -> None:
    assert evaluate(expression, attributes) == expected


# --- durations ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "function", "amount", "expected"), [
    ("2026-08-04 00:00:00.000", "plusDuration", "1 week", "2026-08-11 00:00:00.000"),
    ("2026-08-04 00:00:00.000", "plusDuration", "2 WEEKS", "2026-08-18 00:00:00.000"),
    ("2026-01-31 00:00:00.000", "plusDuration", "1 month", "2026-02-28 00:00:00.000"),
    ("2024-02-29 00:00:00.000", "plusDuration", "1 year", "2025-02-28 00:00:00.000"),
    ("2024-02-29 00:00:00.000", "plusDuration", "4 years", "2028-02-29 00:00:00.000"),
    ("2026-08-04 00:00:00.000", "plusDuration", "90 minutes", "2026-08-04 01:30:00.000"),
    ("2026-08-04 00:00:00.000", "plusDuration", "1 nanosecond", "2026-08-04 00:00:00.000"),
    ("2026-08-04 00:00:00.000", "plusDuration", "1000000000 nanoseconds", "2026-08-04 00:00:01.000"),
    ("2026-08-04 00:00:00.000", "plusDuration", " 3 Seconds ", "2026-08-04 00:00:03.000"),
    ("2026-08-04 00:00:00.000", "minusDuration", "1 nanosecond", "2026-08-03 23:59:59.999"),
    ("2026-03-31 00:00:00.000", "minusDuration", "1 month", "2026-02-28 00:00:00.000"),
    # America/New_York: DST starts 2026-03-08 02:00 - days keep the wall clock, hours do not
    ("2026-03-07 12:00:00.000", "plusDuration", "1 day", "2026-03-08 12:00:00.000"),
    ("2026-03-07 12:00:00.000", "plusDuration", "24 hours", "2026-03-08 13:00:00.000"),
    ("2026-03-07 02:30:00.000", "plusDuration", "1 day", "2026-03-08 03:30:00.000"),  # into the gap
    ("2026-10-31 01:30:00.000", "plusDuration", "1 day", "2026-11-01 01:30:00.000"),  # into the overlap
])
def test_date_durations(system_zone: Any, start: str, function: str, amount: str, expected: str) -> None:
    system_zone("America/New_York")
    pattern = "yyyy-MM-dd HH:mm:ss.SSS"
    expression = f"${{t:toDate('{pattern}'):{function}('{amount}'):format('{pattern}')}}"
    assert evaluate(expression, {"t": start}) == expected


def test_a_day_into_an_overlap_keeps_the_offset_it_had() -> None:
    # 2026-10-31 01:30 EDT + 1 day = 2026-11-01 01:30, which happens twice: Java keeps EDT
    zone = resolve_zone("America/New_York")
    moved = shift(1793424600 * 10**9, "1 day", zone)
    assert format_ns(moved, "yyyy-MM-dd HH:mm XXX", zone, dialect=ISO) == "2026-11-01 01:30 -04:00"
    assert format_ns(shift(moved, "1 hour", zone), "HH:mm XXX", zone, dialect=ISO) == "01:30 -05:00"


@pytest.mark.parametrize(("start", "function", "amount", "zone", "expected"), [
    ("04-08-2026 00:00:00", "plusInstantDuration", "3 months", "Australia/Sydney", "04-11-2026 01:00:00"),
    ("04-08-2026 00:00:00", "minusInstantDuration", "3 months", "Australia/Sydney", "04-05-2026 00:00:00"),
    ("31-01-2026 00:00:00", "plusInstantDuration", "1 month", "UTC", "28-02-2026 00:00:00"),
    ("04-08-2026 00:00:00", "plusInstantDuration", "1 nanosecond", "UTC", "04-08-2026 00:00:00.000000001"),
    ("04-08-2026 00:00:00", "minusInstantDuration", "1 nanosecond", "UTC", "03-08-2026 23:59:59.999999999"),
])
def test_instant_durations(start: str, function: str, amount: str, zone: str, expected: str) -> None:
    out = "dd-MM-yyyy HH:mm:ss" + (".SSSSSSSSS" if "nano" in amount else "")
    expression = (f"${{t:toInstant('dd-MM-yyyy HH:mm:ss', '{zone}'):{function}('{amount}')"
                  f":formatInstant('{out}', '{zone}')}}")
    assert evaluate(expression, {"t": start}) == expected


@pytest.mark.parametrize("amount", ["1days", "1 Monday", "2 fortnights", "", "day", "1.5 days", "1 day 2"])
@pytest.mark.parametrize("function", ["plusDuration", "minusInstantDuration"])
def test_bad_durations_raise(utc: None, function: str, amount: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(f"${{t:toInstant():{function}('{amount}')}}", {"t": T})


@pytest.mark.parametrize("function", ["plusDuration", "minusDuration", "plusInstantDuration",
                                      "minusInstantDuration"])
def test_durations_on_null_and_plain_text(utc: None, function: str) -> None:
    assert evaluate(f"${{missing:{function}('1 day')}}", {}) == ""
    with pytest.raises(ExpressionError):
        evaluate(f"${{t:{function}('1 day')}}", {"t": "hello"})
    assert evaluate(f"${{t:{function}('1 day'):toNumber()}}", {"t": T}) == str(
        int(T) + (86400000 if function.startswith("plus") else -86400000))


def test_parse_duration() -> None:
    assert parse_duration("3 Months") == (3, "month")
    assert parse_duration("  2   weeks  ") == (2, "week")
    # NiFi's DateAmountParserTest.testValidateRejectsInvalidExpressions
    for amount in ("3 millis", "500 milliseconds", "-1 days", "+1 nanosecond", "1.5 days", "1 day 2 hours",
                   "1days", "", "   ", "2", "weeks", "1 decade", "B weeks", "\u0661 day"):
        with pytest.raises(EvaluationError):
            parse_duration(amount)


def test_now(utc: None) -> None:
    before = time.time_ns() // 1_000_000
    value = evaluate_typed("${now()}").value
    after = time.time_ns() // 1_000_000
    assert isinstance(value, Date)
    assert before <= value.ms <= after
    assert abs(int(evaluate("${now():toNumber()}")) - after) < 5000
    assert evaluate("${now():format('yyyy')}") == time.strftime("%Y", time.gmtime())


@pytest.mark.parametrize(("value", "pattern", "zone", "expected"), [
    ("04-08-2026", "dd-MM-yyyy", None, "true"),
    (" 04-08-2026 ", "dd-MM-yyyy", None, "true"),
    ("31-02-2026", "dd-MM-yyyy", None, "false"),
    ("29-02-2001", "dd-MM-yyyy", None, "false"),
    ("29-02-2000", "dd-MM-yyyy", None, "true"),
    ("29-02", "dd-MM", None, "true"),
    ("2024-10-06 02:30", "yyyy-MM-dd HH:mm", "Australia/Sydney", "false"),  # DST gap
    ("2024-10-06 02:30 AM", "yyyy-MM-dd hh:mm a", "Australia/Sydney", "false"),
    ("2024-10-06 03:30", "yyyy-MM-dd HH:mm", "Australia/Sydney", "true"),
    ("not-a-date", "dd-MM-yyyy", None, "false"),
    ("04-08-2026", "bad pattern", None, "false"),
])
def test_is_valid_date(utc: None, value: str, pattern: str, zone: str | None, expected: str) -> None:
    zone_arg = f", '{zone}'" if zone else ""
    assert evaluate(f"${{v:isValidDate('{pattern}'{zone_arg})}}", {"v": value}) == expected
    assert evaluate(f"${{missing:isValidDate('{pattern}')}}", {}) == "false"


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-08-04T10:15:30Z", "true"), ("2026-08-04T10:15:30.123+05:30", "true"),
    ("Tue, 04 Aug 2026 10:15:30 GMT", "true"), ("2026-08-04", "false"), ("not-a-date", "false"), ("", "false"),
])
def test_is_valid_instant(value: str, expected: str) -> None:
    assert evaluate("${v:isValidInstant()}", {"v": value}) == expected
    assert evaluate("${missing:isValidInstant()}", {}) == "false"


# --- the guide's examples -------------------------------------------------------------------------------------

def guide_examples() -> list[Any]:
    examples = json.loads((DATA / "el_guide_examples.json").read_text())
    cases = []
    for e in examples:
        if e["function"] not in FUNCTIONS:
            continue
        if e.get("expected_actual") is None and e["expected"] is None and "expected_epoch_millis" not in e:
            continue
        cases.append(pytest.param(e, id=e["id"]))
    return cases


@pytest.mark.parametrize("example", guide_examples())
def test_guide_example(utc: None, example: dict[str, Any]) -> None:
    expression = example.get("corrected_expression", example["expression"])
    if "expected_epoch_millis" in example:  # a Date or Instant result; its text depends on the zone
        value = evaluate_typed(expression, example["attributes"]).value
        ms = value.ms if isinstance(value, Date) else value.ns // 1_000_000 if isinstance(value, Instant) else None
        assert ms == example["expected_epoch_millis"]
    else:
        expected = example.get("expected_actual", example["expected"])
        assert evaluate(expression, example["attributes"]) == expected

"""Java date patterns and time zones (``_javatime``), without the expression evaluator."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from flowyard.runtime.expression._javatime import (
    ISO,
    SIMPLE,
    PatternError,
    format_ms,
    format_ns,
    parse_instant_text,
    parse_ms,
    parse_ns,
    resolve_zone,
)

T = 1420058163264  # 2014-12-31T20:36:03.264Z, a Wednesday
SUMMER = 1404165600000  # 2014-06-30T22:00:00Z
NS = 1647613347678234567  # 2022-03-18T14:22:27.678234567Z


@pytest.fixture
def system_zone() -> Iterator[None]:
    """Runs the test with the system zone set to Asia/Tokyo."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.mark.parametrize(("ms", "pattern", "tz", "expected"), [
    (T, "yyyy/MM/dd HH:mm:ss.SSS'Z'", "GMT", "2014/12/31 20:36:03.264Z"),
    (T, "yyyy/MM/dd HH:mm:ss.SSS'Z'", "America/Los_Angeles", "2014/12/31 12:36:03.264Z"),
    (T, "yyyy/MM/dd HH:mm:ss.SSS'Z'", "Asia/Tokyo", "2015/01/01 05:36:03.264Z"),
    (T, "EEE, d MMM yyyy HH:mm:ss Z", "America/Los_Angeles", "Wed, 31 Dec 2014 12:36:03 -0800"),
    (T, "EEEE MMMM M MM", "GMT", "Wednesday December 12 12"),
    (T, "y yy yyy yyyy yyyyy", "GMT", "2014 14 2014 2014 02014"),
    (T, "h:mm a", "America/Los_Angeles", "12:36 PM"),
    (0, "H K k h a", "GMT", "0 0 24 12 AM"),
    (T, "D w W F u G", "GMT", "365 1 5 5 3 AD"),  # the week of 31 Dec 2014 is week 1 of 2015 (US weeks)
    (T, "Y", "GMT", "2015"),
    (SUMMER, "z zzzz", "America/Los_Angeles", "PDT Pacific Daylight Time"),
    (T, "z zzzz", "America/Los_Angeles", "PST Pacific Standard Time"),
    (T, "X XX XXX", "Asia/Kolkata", "+05 +0530 +05:30"),
    (T, "X XX XXX Z", "GMT", "Z Z Z +0000"),
    (T, "z", "GMT+05:00", "GMT+05:00"),
    (T, "z", "UTC", "UTC"),
    (T, "HH:mm", "-08:00", "12:36"),
    (T, "'o''clock' hh ''", "GMT", "o'clock 08 '"),
    (T, "yyyy-MM-dd'T'HH:mm", "GMT", "2014-12-31T20:36"),
    (5, "S SS SSS SSSS", "GMT", "5 05 005 0005"),  # SimpleDateFormat: S is a millisecond count
    (1711846799000, "HH:mm:ss z", "Europe/Paris", "01:59:59 CET"),  # last second before DST
    (1711846800000, "HH:mm:ss z", "Europe/Paris", "03:00:00 CEST"),
    (-1, "yyyy-MM-dd HH:mm:ss.SSS", "UTC", "1969-12-31 23:59:59.999"),
])
def test_format_simple(ms: int, pattern: str, tz: str, expected: str) -> None:
    assert format_ms(ms, pattern, tz) == expected


@pytest.mark.parametrize(("ns", "pattern", "tz", "expected"), [
    (NS, "uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS", "America/New_York", "2022-03-18T10:22:27.678234567"),
    (NS, "SSS S SSSS", "UTC", "678 6 6782"),  # DateTimeFormatter: S is the fraction, truncated
    (NS, "n", "UTC", "678234567"),
    (NS, "VV", "Europe/Paris", "Europe/Paris"),
    (NS, "O OOOO", "Asia/Kolkata", "GMT+5:30 GMT+05:30"),
    (NS, "O OOOO ZZZZ ZZZZZ X x xxx", "UTC", "GMT GMT GMT Z Z +00 +00:00"),
    (NS, "Z ZZZZZ XXX", "America/New_York", "-0400 -04:00 -04:00"),
    (NS, "Q QQ QQQ QQQQ", "UTC", "1 01 Q1 1st quarter"),
    (NS, "e eee eeee EEEEE MMMMM", "UTC", "6 Fri Friday F M"),
    (NS, "yyyy[ HH]", "UTC", "2022 14"),
    (NS, "A", "UTC", "51747678"),
    (NS, "GGGG", "UTC", "Anno Domini"),
])
def test_format_iso(ns: int, pattern: str, tz: str, expected: str) -> None:
    assert format_ns(ns, pattern, tz, dialect=ISO) == expected


@pytest.mark.parametrize(("pattern", "dialect"), [
    ("yyyy-bb", SIMPLE),
    ("'unterminated", SIMPLE),
    ("XXXX", SIMPLE),
    ("n", SIMPLE),
    ("VVV", ISO),
    ("SSSSSSSSSS", ISO),
    ("yyyy#", ISO),
    ("yyyy]", ISO),
])
def test_bad_patterns_raise(pattern: str, dialect: str) -> None:
    with pytest.raises(PatternError):
        format_ms(T, pattern, "UTC", dialect=dialect)
    with pytest.raises(PatternError):
        parse_ms("2014", pattern, "UTC", dialect=dialect)


@pytest.mark.parametrize("tz", ["Mars/Olympus", "GMT+25:00", "../etc/passwd", "/etc/localtime"])
def test_unknown_zones_raise(tz: str) -> None:
    with pytest.raises(PatternError):
        resolve_zone(tz)


@pytest.mark.parametrize(("tz", "offset"), [
    ("GMT", 0), ("UTC", 0), ("Z", 0), ("GMT+05:00", 18000), ("GMT-5", -18000), ("+0530", 19800),
    ("UTC+01:00", 3600), ("-08:00", -28800),
])
def test_fixed_zones(tz: str, offset: int) -> None:
    assert resolve_zone(tz).offset == offset


def test_java_short_ids_are_zones() -> None:
    assert format_ms(SUMMER, "z", "PST") == "PDT"
    assert format_ms(T, "HH", "IST") == "02"


def test_system_zone_follows_tz(system_zone: None) -> None:
    assert resolve_zone(None).id == "Asia/Tokyo"
    assert format_ms(0, "HH:mm z") == "09:00 JST"
    assert parse_ms("1970-01-01 09:00", "yyyy-MM-dd HH:mm") == 0


@pytest.mark.parametrize(("text", "pattern", "tz", "dialect", "expected"), [
    ("2014", "yyyy", "GMT", SIMPLE, 1388534400000),
    ("2014/12/31 15:36:03.264Z", "yyyy/MM/dd HH:mm:ss.SSS'Z'", "GMT", SIMPLE, 1420040163264),
    ("10may2004", "ddMMMyyyy", "UTC", SIMPLE, 1084147200000),  # names in any case
    ("10MAY2004", "ddMMMyyyy", "UTC", ISO, 1084147200000),
    ("10 May 2004", "ddMMMyyyy", "UTC", SIMPLE, None),
    ("Monday, 10 May 2004", "EEEE, d MMMM yyyy", "UTC", SIMPLE, 1084147200000),
    ("12-24-2014", "MM-dd-yyyy", "UTC", SIMPLE, 1419379200000),
    ("12-24-2014", "MM-dd-yyyy", "America/New_York", SIMPLE, 1419397200000),
    ("1-2-2014", "MM-dd-yyyy", "UTC", SIMPLE, 1388620800000),  # widths are loose in SimpleDateFormat
    ("1-2-2014", "MM-dd-yyyy", "UTC", ISO, None),  # ...and strict in DateTimeFormatter
    ("13-01-2014", "MM-dd-yyyy", "UTC", SIMPLE, 1420070400000),  # lenient: month 13 rolls over
    ("13-01-2014", "MM-dd-yyyy", "UTC", ISO, None),
    ("2023-02-30", "yyyy-MM-dd", "UTC", ISO, 1677542400000),  # SMART resolver clamps to Feb 28
    ("2014-01-01 and more", "yyyy-MM-dd", "UTC", SIMPLE, 1388534400000),  # trailing text ignored
    ("2014-01-01 and more", "yyyy-MM-dd", "UTC", ISO, None),
    ("20140102", "yyyyMMdd", "UTC", SIMPLE, 1388620800000),
    ("20140102", "yyyyMMdd", "UTC", ISO, 1388620800000),
    ("12:30 AM", "hh:mm a", "UTC", SIMPLE, 1800000),
    ("12:30 PM", "hh:mm a", "UTC", SIMPLE, 45000000),
    ("01:00 pm", "hh:mm a", "UTC", ISO, 46800000),
    ("24:00", "kk:mm", "UTC", SIMPLE, 0),
    ("2014-01-01 00:00 PST", "yyyy-MM-dd HH:mm z", "UTC", SIMPLE, 1388563200000),
    ("2014-01-01 00:00 Pacific Standard Time", "yyyy-MM-dd HH:mm zzzz", "UTC", SIMPLE, 1388563200000),
    ("2014-01-01 00:00 GMT+01:00", "yyyy-MM-dd HH:mm z", "UTC", SIMPLE, 1388530800000),
    ("2014-01-01 00:00 +0100", "yyyy-MM-dd HH:mm Z", "UTC", SIMPLE, 1388530800000),
    ("2014-01-01T00:00:00+05:30", "yyyy-MM-dd'T'HH:mm:ssXXX", "UTC", ISO, 1388514600000),
    ("2014-01-01T00:00:00Z", "yyyy-MM-dd'T'HH:mm:ssXXX", "Asia/Tokyo", ISO, 1388534400000),
    ("2014-06-01 12:00 Europe/Paris", "yyyy-MM-dd HH:mm VV", "UTC", ISO, 1401616800000),
    ("2014-01-01 00:00 Nowhere", "yyyy-MM-dd HH:mm z", "UTC", SIMPLE, None),
    ("01/02/14", "MM/dd/yy", "UTC", SIMPLE, 1388620800000),
    ("01/02/14", "MM/dd/yy", "UTC", ISO, 1388620800000),
    ("2014 032", "yyyy DDD", "UTC", SIMPLE, 1391212800000),
    ("2014-01-01 00:00:00.5", "yyyy-MM-dd HH:mm:ss.S", "UTC", SIMPLE, 1388534400005),  # 5 ms, as Java does
    ("2014-01-01 00:00:00.5", "yyyy-MM-dd HH:mm:ss.S", "UTC", ISO, 1388534400500),
    ("2014", "yyyy[-MM]", "UTC", ISO, 1388534400000),
    ("2014-02", "yyyy[-MM]", "UTC", ISO, 1391212800000),
    ("2014-02", "yyyy[-MM", "UTC", ISO, 1391212800000),  # an open section closes at the end
    ("abc", "yyyy", "UTC", SIMPLE, None),
    ("", "yyyy", "UTC", SIMPLE, None),
    ("12:00", "HH:mm", "UTC", SIMPLE, 43200000),  # missing date fields: 1970-01-01
])
def test_parse(text: str, pattern: str, tz: str, dialect: str, expected: int | None) -> None:
    assert parse_ms(text, pattern, tz, dialect=dialect) == expected


def test_an_offset_in_the_text_picks_the_later_of_two_wall_clock_times() -> None:
    assert parse_ms("2024-11-03 01:30 -05:00", "yyyy-MM-dd HH:mm XXX", "America/New_York") == 1730615400000


@pytest.mark.parametrize(("text", "strict", "expected"), [
    # America/New_York: 2024-03-10 02:00-03:00 does not exist; 2024-11-03 01:00-02:00 happens twice
    ("2024-03-10 02:30", False, 1710055800000),  # moved forward: 03:30 EDT
    ("2024-03-10 02:30", True, None),
    ("2024-03-10 03:30", True, 1710055800000),
    ("2024-11-03 01:30", False, 1730611800000),  # the earlier instant: 01:30 EDT
    ("2024-11-03 01:30", True, 1730611800000),
])
def test_parse_dst_edges(text: str, strict: bool, expected: int | None) -> None:
    assert parse_ms(text, "yyyy-MM-dd HH:mm", "America/New_York", dialect=ISO, strict=strict) == expected


@pytest.mark.parametrize(("text", "pattern", "valid"), [
    ("29-02-2000", "dd-MM-yyyy", True),
    ("29-02-2001", "dd-MM-yyyy", False),
    ("31-02-2026", "dd-MM-yyyy", False),
    ("29-02", "dd-MM", True),
    ("2014-01-01 junk", "yyyy-MM-dd", False),
    ("24:00", "HH:mm", False),
])
def test_parse_strict(text: str, pattern: str, valid: bool) -> None:
    assert (parse_ns(text, pattern, "UTC", dialect=ISO, strict=True) is not None) is valid


def test_parse_nanoseconds() -> None:
    assert parse_ns("2022/03/18 10:22:27.678234567", "yyyy/MM/dd HH:mm:ss.SSSSSSSSS", "America/New_York",
                    dialect=ISO) == NS


@pytest.mark.parametrize("pattern", [
    "yyyy-MM-dd HH:mm:ss.SSS", "EEE, d MMM yyyy hh:mm:ss a z", "yyyyMMddHHmmssSSS", "dd/MM/yy HH:mm:ss.SSS XXX",
])
@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Australia/Sydney", "Asia/Kolkata"])
@pytest.mark.parametrize("ms", [0, T, SUMMER, 1710055800000, 1730611800000, 253402214400000])
def test_format_then_parse_round_trips(pattern: str, tz: str, ms: int) -> None:
    if "yy " in pattern and ms > 4102444800000:
        pytest.skip("two-digit years only cover a century")
    expected = ms if "S" in pattern else ms - ms % 1000
    assert parse_ms(format_ms(ms, pattern, tz), pattern, tz) == expected


def test_format_out_of_range_raises() -> None:
    with pytest.raises(PatternError):
        format_ms(10 ** 15, "yyyy", "UTC")


@pytest.mark.parametrize(("text", "expected_ms"), [
    ("2022-12-03T10:15:30Z", 1670062530000),
    ("2022-12-03T10:15:30+01:00", 1670058930000),
    ("2022-12-03T10:15:30.5-02:00", 1670069730500),
    ("2022-12-03T10:15Z", 1670062500000),
    ("Thu, 01 Dec 2022 16:00:00 GMT", 1669910400000),
    ("1 Dec 2022 16:00:00 +0100", 1669906800000),
    ("2022-12-03", None),
    ("2022-13-03T10:15:30Z", None),
    ("2022-12-03T10:15:30", None),
    ("", None),
])
def test_parse_instant_text(text: str, expected_ms: int | None) -> None:
    ns = parse_instant_text(text)
    assert (None if ns is None else ns // 1_000_000) == expected_ms

"""sql.args attributes as driver parameters and JDBC placeholders as %s (pure, no database)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest

from flowyard.processors._db_params import jdbc_to_driver_sql, parameters_from_attributes


def _one(type_code: str, value: str | None, fmt: str | None = None) -> Any:
    attributes = {"sql.args.1.type": type_code}
    if value is not None:
        attributes["sql.args.1.value"] = value
    if fmt is not None:
        attributes["sql.args.1.format"] = fmt
    return parameters_from_attributes(attributes)[0]


@pytest.mark.parametrize(("type_code", "value", "fmt", "expected"), [
    ("4", "42", None, 42),
    ("-5", "-9000000000", None, -9000000000),
    ("5", "32767", None, 32767),
    ("12", "text ?%", None, "text ?%"),
    ("16", "TRUE", None, True),
    ("16", "yes", None, False),  # Java's Boolean.parseBoolean
    ("-7", "true", None, True),
    ("8", "2.5", None, 2.5),
    ("3", "12.340", None, decimal.Decimal("12.340")),
    ("91", "2020-02-29", None, dt.date(2020, 2, 29)),
    ("91", "86400000", None, dt.date(1970, 1, 2)),
    ("91", "29/02/2020", "dd/MM/yyyy", dt.date(2020, 2, 29)),
    ("92", "10:11:12", None, dt.time(10, 11, 12)),
    ("93", "2024-05-01 10:11:12.5", None, dt.datetime(2024, 5, 1, 10, 11, 12, 500000)),
    ("93", "1000", None, dt.datetime(1970, 1, 1, 0, 0, 1)),
    ("93", "2024-05-01T10:11:12", "ISO_LOCAL_DATE_TIME", dt.datetime(2024, 5, 1, 10, 11, 12)),
    ("93", "2024/05/01 10-11", "yyyy/MM/dd HH-mm", dt.datetime(2024, 5, 1, 10, 11)),
    ("-3", "414243", "hex", b"ABC"),
    ("-2", "QUJD", "base64", b"ABC"),
    ("-4", "ABC", None, b"ABC"),
    ("1111", "{\"a\": 1}", None, "{\"a\": 1}"),
    ("4", None, None, None),
])
def test_each_jdbc_type_converts(type_code: str, value: str | None, fmt: str | None, expected: Any) -> None:
    assert _one(type_code, value, fmt) == expected


@pytest.mark.parametrize(("type_code", "value", "fmt", "message"), [
    ("4", "one", None, "sql.args.1.value"),
    ("4", "2147483648", None, "out of range"),
    ("-6", "200", None, "out of range"),
    ("93", "2024-05-01", None, "Timestamp format"),
    ("91", "2020-13-01", None, "DATE"),
    ("-3", "zz", "hex", "VARBINARY"),
    ("93", "2024", "yyyy QQ", "not supported"),
    ("integer", "1", None, "not a valid JDBC numeral type"),
])
def test_bad_values_are_refused_with_the_attribute_named(type_code: str, value: str, fmt: str | None,
                                                         message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _one(type_code, value, fmt)


def test_parameters_are_ordered_by_index_not_by_attribute_order() -> None:
    attributes = {"sql.args.10.type": "4", "sql.args.10.value": "10", "sql.args.2.type": "4",
                  "sql.args.2.value": "2", "sql.args.1.type": "12", "sql.args.1.value": "a", "other": "x"}
    assert parameters_from_attributes(attributes) == ["a", 2, 10]


@pytest.mark.parametrize(("jdbc", "driver"), [
    ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
    ("SELECT '?', \"a?\", `b?` FROM t WHERE c = ?", "SELECT '?', \"a?\", `b?` FROM t WHERE c = %s"),
    ("SELECT 'it''s ?' || ? -- why?\n", "SELECT 'it''s ?' || %s -- why?\n"),
    ("SELECT 5 % 2, '100%' /* ? % */ WHERE x LIKE ?", "SELECT 5 %% 2, '100%%' /* ? %% */ WHERE x LIKE %s"),
    ("SELECT 'a\\'?' , ?", "SELECT 'a\\'?' , %s"),
])
def test_placeholders_outside_quotes_and_comments_become_percent_s(jdbc: str, driver: str) -> None:
    assert jdbc_to_driver_sql(jdbc) == driver

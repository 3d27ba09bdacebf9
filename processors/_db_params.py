"""NiFi's ``sql.args.N.type`` / ``sql.args.N.value`` / ``sql.args.N.format`` attributes
as DB-API parameters, and JDBC ``?`` placeholders in the drivers' ``%s`` style.

Pure functions, no I/O. Every conversion problem raises ``ValueError`` naming
the attribute, which the processors turn into a routing to ``failure``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["JDBC_TYPES", "SqlArgument", "jdbc_to_driver_sql", "parameters_from_attributes"]

#: java.sql.Types codes and their names.
JDBC_TYPES: dict[int, str] = {
    -7: "BIT", -6: "TINYINT", 5: "SMALLINT", 4: "INTEGER", -5: "BIGINT", 6: "FLOAT", 7: "REAL", 8: "DOUBLE",
    2: "NUMERIC", 3: "DECIMAL", 1: "CHAR", 12: "VARCHAR", -1: "LONGVARCHAR", 91: "DATE", 92: "TIME",
    93: "TIMESTAMP", -2: "BINARY", -3: "VARBINARY", -4: "LONGVARBINARY", 0: "NULL", 1111: "OTHER",
    2004: "BLOB", 2005: "CLOB", 16: "BOOLEAN", -15: "NCHAR", -9: "NVARCHAR", -16: "LONGNVARCHAR", 2011: "NCLOB",
    -8: "ROWID", 2009: "SQLXML", 2013: "TIME_WITH_TIMEZONE", 2014: "TIMESTAMP_WITH_TIMEZONE", 2003: "ARRAY",
}

_ARG = re.compile(r"sql\.args\.(\d+)\.type")
_DIGITS = re.compile(r"-?\d+")
_INT_RANGES = {-6: (-(2**7), 2**7 - 1), 5: (-(2**15), 2**15 - 1), 4: (-(2**31), 2**31 - 1),
               -5: (-(2**63), 2**63 - 1)}
#: DateTimeFormatter constants NiFi accepts by name in sql.args.N.format.
_NAMED_FORMATS = {
    "BASIC_ISO_DATE": "%Y%m%d", "ISO_LOCAL_DATE": "%Y-%m-%d", "ISO_DATE": "%Y-%m-%d",
    "ISO_LOCAL_TIME": "iso", "ISO_TIME": "iso", "ISO_LOCAL_DATE_TIME": "iso", "ISO_DATE_TIME": "iso",
    "ISO_OFFSET_DATE_TIME": "iso", "ISO_ZONED_DATE_TIME": "iso", "ISO_INSTANT": "iso", "ISO_OFFSET_DATE": "iso",
}
_JAVA_PATTERN = re.compile(r"'[^']*'|y+|M+|d+|H+|h+|m+|s+|S+|a|X+|Z+|E+|.", re.DOTALL)
_JAVA_TO_STRPTIME = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "M": "%m", "MMM": "%b", "MMMM": "%B", "dd": "%d",
                     "d": "%d", "HH": "%H", "H": "%H", "hh": "%I", "h": "%I", "mm": "%M", "m": "%M", "ss": "%S",
                     "s": "%S", "a": "%p", "XXX": "%z", "XX": "%z", "X": "%z", "Z": "%z", "EEE": "%a", "EEEE": "%A"}


class SqlArgument:
    """One statement parameter read from the attributes."""

    __slots__ = ("format", "index", "type_code", "value")

    def __init__(self, index: int, type_code: int, value: str | None, format: str | None) -> None:
        self.index = index
        self.type_code = type_code
        self.value = value
        self.format = format


def parameters_from_attributes(attributes: Mapping[str, str]) -> list[Any]:
    """The parameters ``sql.args.1..N`` as driver values, in index order. Raises
    ``ValueError`` for a type that is not a JDBC type number or a value that does
    not convert to its type."""
    arguments = []
    for key, text in attributes.items():
        match = _ARG.fullmatch(key)
        if match is None:
            continue
        index = int(match[1])
        if not _DIGITS.fullmatch(text.strip()):
            raise ValueError(f"Value of the {key} attribute is {text!r}, which is not a valid JDBC numeral type")
        arguments.append(SqlArgument(index, int(text.strip()), attributes.get(f"sql.args.{index}.value"),
                                     attributes.get(f"sql.args.{index}.format")))
    arguments.sort(key=lambda a: a.index)
    return [_convert(a) for a in arguments]


def _convert(arg: SqlArgument) -> Any:
    value, code = arg.value, arg.type_code
    if value is None:
        return None
    name = f"sql.args.{arg.index}.value"
    try:
        return _convert_value(code, value, arg.format or "")
    except (ValueError, ArithmeticError, binascii.Error) as exc:
        raise ValueError(f"the value {value!r} of {name} is not a valid {JDBC_TYPES.get(code, code)}: {exc}") \
            from None


def _convert_value(code: int, value: str, fmt: str) -> Any:
    if code in (-7, 16):
        return value.strip().lower() == "true"  # Java's Boolean.parseBoolean
    if code in _INT_RANGES:
        number = int(value.strip())
        low, high = _INT_RANGES[code]
        if not low <= number <= high:
            raise ValueError("out of range")
        return number
    if code in (6, 7, 8):
        return float(value)
    if code in (2, 3):
        return decimal.Decimal(value.strip())
    if code == 91:
        return _date(value, fmt)
    if code == 92:
        return _time(value, fmt)
    if code in (93, 2014):
        return _timestamp(value, fmt)
    if code in (-2, -3, -4, 2004):
        if fmt.lower() == "hex":
            return bytes.fromhex(value)
        if fmt.lower() == "base64":
            return base64.b64decode(value, validate=True)
        return value.encode("ascii")
    return value  # character types, CLOB, OTHER (the database converts text)


def _parse_with(value: str, fmt: str) -> dt.datetime:
    named = _NAMED_FORMATS.get(fmt)
    if named == "iso":
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return dt.datetime.strptime(value.strip(), named or _java_pattern(fmt))


def _java_pattern(fmt: str) -> str:
    out = []
    for token in _JAVA_PATTERN.findall(fmt):
        if token.startswith("'"):
            out.append(token[1:-1].replace("%", "%%") or "'")
        elif token.startswith("S"):
            out.append("%f")
        elif token in _JAVA_TO_STRPTIME:
            out.append(_JAVA_TO_STRPTIME[token])
        elif token[0].isalpha():
            raise ValueError(f"the date pattern letter {token!r} in {fmt!r} is not supported")
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)


def _date(value: str, fmt: str) -> dt.date:
    if not fmt:
        if _DIGITS.fullmatch(value.strip()):
            return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC).date()
        return dt.date.fromisoformat(value.strip()[:10])
    return _parse_with(value, fmt).date()


def _time(value: str, fmt: str) -> dt.time:
    if not fmt:
        if _DIGITS.fullmatch(value.strip()):
            return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC).time()
        return dt.time.fromisoformat(value.strip())
    return _parse_with(value, fmt).time()


def _timestamp(value: str, fmt: str) -> dt.datetime:
    if not fmt:
        if _DIGITS.fullmatch(value.strip()):
            return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC).replace(tzinfo=None)
        # java.sql.Timestamp.valueOf: yyyy-[m]m-[d]d hh:mm:ss[.f...]
        text = value.strip()
        if not re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}(\.\d{1,9})?", text):
            raise ValueError("Timestamp format must be yyyy-mm-dd hh:mm:ss[.fffffffff]")
        date_part, time_part = text.split(" ")
        y, mo, d = (int(p) for p in date_part.split("-"))
        hms, _, fraction = time_part.partition(".")
        h, mi, s = (int(p) for p in hms.split(":"))
        return dt.datetime(y, mo, d, h, mi, s, int((fraction or "0").ljust(6, "0")[:6]))
    return _parse_with(value, fmt)


def jdbc_to_driver_sql(sql: str) -> str:
    """``sql`` with each JDBC ``?`` placeholder turned into ``%s`` and each ``%``
    doubled, leaving quoted strings, quoted identifiers and comments alone."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            end = i + 1
            while end < n:
                if sql[end] == c:
                    if end + 1 < n and sql[end + 1] == c:  # doubled quote
                        end += 2
                        continue
                    break
                if sql[end] == "\\" and c != '"':
                    end += 1
                end += 1
            out.append(sql[i:end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif c == "?":
            out.append("%s")
            i += 1
        elif c == "%":
            out.append("%%")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)

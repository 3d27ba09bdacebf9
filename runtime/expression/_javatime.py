"""Dates formatted and parsed with Java patterns, in Java time zones. Pure.

Two pattern dialects, because NiFi uses two Java APIs:

- ``SIMPLE`` (``java.text.SimpleDateFormat``, used by ``format``/``toDate``):
  letters ``G y Y M L w W D d F E u a H k K h m s S z Z X``; ``S`` is the
  millisecond *number* (``SSS`` = ``007``), ``u`` the ISO day-of-week number.
  Parsing is lenient like Java's: numbers may have any width unless two numeric
  fields abut, out-of-range values roll over (month 13 = January next year), a
  two-digit year lands within 80 years before / 20 after today, and text after
  the pattern is ignored.
- ``ISO`` (``java.time.format.DateTimeFormatter``, used for instants): also
  ``u`` (year), ``Q q e c n N A V v O x`` and optional sections ``[...]``;
  ``S`` is the *fraction* of the second (``SSSSSSSSS`` = nanoseconds). Parsing
  checks ranges (a day past the month's end is clamped, as Java's SMART
  resolver does) and must consume the whole text.

In both, quoted text is literal (``'T'``, ``''`` for a quote), month and day
names match in any case, and names are English (Java's ``Locale.US``, whose
weeks start on Sunday). A zone written in the text (``z Z X x O V``) wins over
the zone argument. Wall-clock times in a DST gap move forward by the gap; in an
overlap the earlier instant is taken (``ZonedDateTime.ofLocal``).

Zones are Java ids (``Europe/Paris``), ``GMT``/``UTC``/``Z``, offsets
(``GMT+05:00``, ``+0530``) or a few of Java's three-letter ids (``PST``). None
means the system zone (``TZ``, else the OS's), looked up on every call so a
changed ``TZ`` (with ``time.tzset()``) takes effect. An invalid pattern or an
unknown zone raises ``PatternError``; text that does not match gives None.
Zones (``Zone``, ``resolve_zone``) and ``PatternError`` live in ``_javazone``
and are re-exported here.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flowyard.runtime.expression._javazone import (
    _ABBREVIATIONS,
    _EPOCH,
    _LONG_NAMES,
    _LONG_TO_ABBREVIATION,
    PatternError,
    Zone,
    _named_zone,
    _offset_text,
    resolve_zone,
)

__all__ = ["ISO", "SIMPLE", "PatternError", "Zone", "format_ms", "format_ns", "parse_instant_text", "parse_ms",
           "parse_ns", "resolve_zone"]

SIMPLE = "simple"
ISO = "iso"

_NS = 1_000_000_000

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --- patterns ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Field:
    letter: str
    count: int


_Token = _Field | str  # str: literal text, or "[" / "]" (optional section, ISO only)

_LETTERS = {SIMPLE: "GyYMLwWDdFEuaHkKhmsSzZX", ISO: "GuyDMLdQqYwWEecFahKkHmsSAnNVvzOXxZ"}
_MAX_COUNT = {"S": 9, "n": 9, "X": 5, "x": 5, "Z": 5, "O": 4, "V": 2, "a": 1, "Q": 5, "q": 5, "e": 5, "c": 5,
              "M": 5, "L": 5, "E": 5, "G": 5, "d": 2, "H": 2, "h": 2, "K": 2, "k": 2, "m": 2, "s": 2, "D": 3,
              "W": 1, "F": 1, "w": 2, "v": 4, "z": 4}


@functools.lru_cache(maxsize=512)
def _tokenize(pattern: str, dialect: str) -> tuple[_Token, ...]:
    letters = _LETTERS[dialect]
    tokens: list[_Token] = []
    i, n, depth = 0, len(pattern), 0

    def literal(text: str) -> None:
        if tokens and isinstance(tokens[-1], str) and tokens[-1] not in ("[", "]"):
            tokens[-1] += text
        elif text:
            tokens.append(text)

    while i < n:
        c = pattern[i]
        if c == "'":
            if pattern.startswith("''", i):
                literal("'")
                i += 2
                continue
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise PatternError(f"unterminated quote in pattern {pattern!r}")
                if pattern[j] == "'":
                    if pattern.startswith("''", j):
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(pattern[j])
                j += 1
            literal("".join(buf))
            i = j + 1
        elif "a" <= c.lower() <= "z":
            j = i
            while j < n and pattern[j] == c:
                j += 1
            count = j - i
            if c not in letters:
                raise PatternError(f"illegal pattern character {c!r} in {pattern!r}")
            if dialect == ISO and count > _MAX_COUNT.get(c, 19):
                raise PatternError(f"too many pattern letters {c * count!r} in {pattern!r}")
            if dialect == ISO and c == "V" and count != 2:
                raise PatternError(f"pattern letter 'V' must be 'VV' in {pattern!r}")
            tokens.append(_Field(c, count))
            i = j
        elif dialect == ISO and c in "[]":
            depth += 1 if c == "[" else -1
            if depth < 0:
                raise PatternError(f"']' without a previous '[' in pattern {pattern!r}")
            tokens.append(c)
            i += 1
        elif dialect == ISO and c in "#{}":
            raise PatternError(f"reserved pattern character {c!r} in {pattern!r}")
        else:
            literal(c)
            i += 1
    tokens.extend("]" * depth)  # Java closes open optional sections at the end
    if dialect == SIMPLE and any(isinstance(t, _Field) and t.letter == "X" and t.count > 3 for t in tokens):
        raise PatternError(f"invalid ISO 8601 format length in {pattern!r}")
    return tuple(tokens)


# --- formatting --------------------------------------------------------------------------------------------

def _week_start(d: date) -> date:
    return d - timedelta(days=(d.weekday() + 1) % 7)  # Sunday


def _week_of_year(d: date) -> tuple[int, int]:
    """(week-based year, week of year) with US rules: weeks start on Sunday, week 1 holds January 1."""
    start = _week_start(d)
    if (start + timedelta(days=6)).year > d.year:
        return d.year + 1, 1
    return d.year, (start - _week_start(date(d.year, 1, 1))).days // 7 + 1


def _pad(value: int, count: int) -> str:
    return f"{'-' if value < 0 else ''}{abs(value):0{count}d}"


def _year(value: int, count: int, dialect: str) -> str:
    if count == 2:
        return f"{value % 100:02d}"
    if dialect == ISO and count == 4 and value > 9999:
        return "+" + str(value)
    return _pad(value, count)


def _text(names: tuple[str, ...], index: int, count: int, dialect: str) -> str:
    name = names[index]
    if count >= 4 and not (dialect == ISO and count == 5):
        return name
    if dialect == ISO and count == 5:
        return name[0]
    return name[:3]


def _offset_field(letter: str, count: int, off: int, dialect: str) -> str:
    if letter == "Z":
        if dialect == SIMPLE or count <= 3:
            return _offset_text(off, "")
        if count == 4:
            return "GMT" + _offset_text(off, with_seconds=True) if off else "GMT"
        return _offset_text(off, with_seconds=True) if off else "Z"
    if letter == "O":
        if not off:
            return "GMT"
        if count == 4:
            return "GMT" + _offset_text(off, with_seconds=True)
        sign, (h, rest) = ("-" if off < 0 else "+"), divmod(abs(off), 3600)
        m, s = divmod(rest, 60)
        return f"GMT{sign}{h}" + (f":{m:02d}" if m or s else "") + (f":{s:02d}" if s else "")
    # X and x
    if letter == "X" and not off:
        return "Z"
    if count == 1:
        if dialect == SIMPLE or not off % 3600:
            return _offset_text(off, hours_only=True)
        return _offset_text(off, "")
    sep = "" if count in (2, 4) else ":"
    return _offset_text(off, sep, with_seconds=count >= 4)


def _format_field(tok: _Field, d: datetime, nano: int, off: int, name: str, zone: Zone, dialect: str) -> str:
    c, n = tok.letter, tok.count
    if c == "G":
        return "Anno Domini" if dialect == ISO and n == 4 else "A" if dialect == ISO and n == 5 else "AD"
    if c == "y" or (c == "u" and dialect == ISO):
        return _year(d.year, n, dialect)
    if c == "Y":
        return _year(_week_of_year(d.date())[0], n, dialect)
    if c in "ML":
        return _pad(d.month, n) if n <= 2 else _text(MONTHS, d.month - 1, n, dialect)
    if c == "w":
        return _pad(_week_of_year(d.date())[1], n)
    if c == "W":
        first = d.date().replace(day=1)
        return _pad((d.date() - _week_start(first)).days // 7 + 1, n)
    if c == "D":
        return _pad(d.timetuple().tm_yday, n)
    if c == "d":
        return _pad(d.day, n)
    if c == "F":
        return _pad((d.day - 1) // 7 + 1, n)
    if c == "E":
        return _text(DAYS, d.weekday(), n, dialect)
    if c == "u":
        return _pad(d.weekday() + 1, n)
    if c in "ec":
        return _pad((d.weekday() + 1) % 7 + 1, n) if n <= 2 else _text(DAYS, d.weekday(), n, dialect)
    if c in "Qq":
        q = (d.month - 1) // 3 + 1
        return (_pad(q, n) if n <= 2 else f"Q{q}" if n == 3
                else f"{q}{('st', 'nd', 'rd', 'th')[q - 1]} quarter" if n == 4 else str(q))
    if c == "a":
        return "AM" if d.hour < 12 else "PM"
    if c == "H":
        return _pad(d.hour, n)
    if c == "k":
        return _pad(d.hour or 24, n)
    if c == "K":
        return _pad(d.hour % 12, n)
    if c == "h":
        return _pad(d.hour % 12 or 12, n)
    if c == "m":
        return _pad(d.minute, n)
    if c == "s":
        return _pad(d.second, n)
    if c == "S":
        return _pad(nano // 1_000_000, n) if dialect == SIMPLE else f"{nano:09d}"[:n]
    if c == "n":
        return _pad(nano, n)
    if c in "AN":
        of_day = (d.hour * 3600 + d.minute * 60 + d.second) * _NS + nano
        return _pad(of_day // 1_000_000 if c == "A" else of_day, n)
    if c in "zv":
        return _LONG_NAMES.get(name, name) if n == 4 else name
    if c == "V":
        return zone.id
    return _offset_field(c, n, off, dialect)


def format_ns(ns: int, pattern: str, tz: str | Zone | None = None, *, dialect: str = SIMPLE) -> str:
    """Instant ``ns`` (epoch nanoseconds) written with ``pattern`` in zone ``tz``.
    Raises ``PatternError`` for a bad pattern or zone, or a year outside 1..9999."""
    tokens = _tokenize(pattern, dialect)
    zone = resolve_zone(tz)
    seconds, nano = divmod(ns, _NS)
    off, name = zone.offset_and_name(seconds)
    try:
        local = _EPOCH + timedelta(seconds=seconds + off)
    except OverflowError:
        raise PatternError("date out of range (years 1 to 9999)") from None
    return "".join(tok if isinstance(tok, str) and tok not in ("[", "]")
                   else "" if isinstance(tok, str)
                   else _format_field(tok, local, nano, off, name, zone, dialect)
                   for tok in tokens)


def format_ms(ms: int, pattern: str, tz: str | Zone | None = None, *, dialect: str = SIMPLE) -> str:
    """Like ``format_ns`` for epoch milliseconds."""
    return format_ns(ms * 1_000_000, pattern, tz, dialect=dialect)


# --- parsing -----------------------------------------------------------------------------------------------

_NUMERIC = set("yYwWDdFHkKhmsSnNA")
_OFFSET_RE = r"Z|(?:GMT|UTC|UT)?[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?|GMT|UTC|UT"
_ZONE_ID_RE = r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*"
_NAME_RE = "|".join(sorted((re.escape(v) for v in _LONG_NAMES.values()), key=len, reverse=True))


def _is_numeric(tok: _Token, dialect: str) -> bool:
    if not isinstance(tok, _Field):
        return False
    c = tok.letter
    return c in _NUMERIC or c == "u" or (c in "MLeQqc" and tok.count <= 2)


def _names_re(names: tuple[str, ...]) -> str:
    alternatives = sorted({*names, *(x[:3] for x in names)}, key=len, reverse=True)
    return "(?i:" + "|".join(alternatives) + ")"


def _field_re(tok: _Field, abutting: bool, dialect: str) -> str:
    c, n = tok.letter, tok.count
    if _is_numeric(tok, dialect):
        if abutting:
            return rf"\d{{{n}}}"
        if dialect == SIMPLE or n == 1 or c == "n" or c == "N" or c == "A":
            return r"\d+"
        if c in "yuY" and n != 2:
            return rf"\d{{{n},19}}"
        return rf"\d{{{n}}}"
    if c in "ML":
        return _names_re(MONTHS)
    if c in "Eec":
        return _names_re(DAYS)
    if c in "Qq":
        return r"(?i:Q[1-4]|[1-4](?:st|nd|rd|th) quarter)"
    if c == "a":
        return "(?i:AM|PM)"
    if c == "G":
        return "(?i:AD|BC|Anno Domini|Before Christ)"
    if c in "zv":
        return f"(?:{_NAME_RE}|{_OFFSET_RE}|{_ZONE_ID_RE})"
    if c == "V":
        return _ZONE_ID_RE
    return f"(?:{_OFFSET_RE})"


@functools.lru_cache(maxsize=512)
def _parser(pattern: str, dialect: str) -> tuple[re.Pattern[str], tuple[_Field, ...]]:
    tokens = _tokenize(pattern, dialect)
    parts: list[str] = []
    fields: list[_Field] = []
    for i, tok in enumerate(tokens):
        if tok == "[":
            parts.append("(?:")
        elif tok == "]":
            parts.append(")?")
        elif isinstance(tok, str):
            parts.append(re.escape(tok))
        else:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            abutting = _is_numeric(tok, dialect) and nxt is not None and _is_numeric(nxt, dialect)
            parts.append(f"({_field_re(tok, abutting, dialect)})")
            fields.append(tok)
    return re.compile("".join(parts)), tuple(fields)


def _zone_from_text(text: str) -> Zone | int | None:
    """A zone or a fixed offset (seconds) written in parsed text, or None if unknown."""
    t = text.strip()
    if t.upper() in _ABBREVIATIONS:
        return _ABBREVIATIONS[t.upper()]
    abbreviation = _LONG_TO_ABBREVIATION.get(t.lower())
    if abbreviation:
        return _ABBREVIATIONS[abbreviation]
    try:
        zone = _named_zone(t)
    except PatternError:
        m = re.fullmatch(r"([+-])(\d)(\d{2})", t)  # +530 style
        return (-1 if m.group(1) == "-" else 1) * (int(m.group(2)) * 3600 + int(m.group(3)) * 60) if m else None
    return zone.offset if zone.offset is not None else zone


def _two_digit_year(value: int) -> int:
    start = time.gmtime().tm_year - 80
    year = start // 100 * 100 + value
    return year + 100 if year < start else year


def _match_index(names: tuple[str, ...], text: str) -> int:
    t = text.lower()
    return next(i for i, name in enumerate(names) if name.lower() == t or name[:3].lower() == t)


def parse_ns(text: str, pattern: str, tz: str | Zone | None = None, *, dialect: str = SIMPLE,
             strict: bool = False) -> int | None:
    """Epoch nanoseconds of ``text`` read with ``pattern`` (zone ``tz`` unless the text names one),
    or None if it does not match. Missing fields default to 1970-01-01T00:00. ``strict`` (for
    validity checks): the whole text must match, out-of-range fields are neither rolled nor
    clamped, times inside a DST gap fail, and a pattern without a year accepts February 29.
    Raises ``PatternError`` for a bad pattern or zone."""
    regex, fields = _parser(pattern, dialect)
    zone = resolve_zone(tz)
    m = regex.fullmatch(text) if dialect == ISO or strict else regex.match(text)
    if m is None:
        return None
    v: dict[str, int] = {}
    text_zone: Zone | int | None = None
    for tok, raw in zip(fields, m.groups()):
        if raw is None:
            continue
        c, n = tok.letter, tok.count
        if _is_numeric(tok, dialect):
            num = int(raw)
            if c == "y" or (c == "u" and dialect == ISO):
                if n == 2 and len(raw) == 2:
                    num = 2000 + num if dialect == ISO else _two_digit_year(num)
                v["y"] = num
            elif c == "Y":
                v.setdefault("Y", num)
            elif c == "S" and dialect == ISO:
                v["nano"] = int(raw.ljust(9, "0")[:9])
            elif c == "S":
                v["ms"] = num
            elif c in "ML":
                v["M"] = num
            elif c not in "ueqQcwWF":
                v[c] = num
        elif c in "ML":
            v["M"] = _match_index(MONTHS, raw) + 1
        elif c == "a":
            v["pm"] = raw.upper() == "PM"
        elif c == "G":
            v["bc"] = raw.upper() in ("BC", "BEFORE CHRIST")
        elif c in "zvVZXxO":
            text_zone = _zone_from_text(raw)
            if text_zone is None:
                return None
    # strict: a pattern without a year checks the day against a leap year (29-02 is a real day)
    year = v.get("y", v.get("Y", 2000 if strict else 1970))
    if v.get("bc"):
        year = 1 - year
    month, day = v.get("M", 1), v.get("d", 1)
    pm = v.get("pm", False)
    if "H" in v:
        hour = v["H"]
    elif "k" in v:
        hour = 0 if v["k"] == 24 and dialect == SIMPLE else v["k"]
    elif "K" in v:
        hour = v["K"] + (12 if pm else 0)
    elif "h" in v:
        hour = (v["h"] % 12 if dialect == SIMPLE or 1 <= v["h"] <= 12 else 99) + (12 if pm else 0)
    else:
        hour = 12 if pm else 0
    minute, second = v.get("m", 0), v.get("s", 0)
    nano = v.get("nano", v.get("n", 0)) + v.get("ms", 0) * 1_000_000
    lenient = dialect == SIMPLE and not strict
    try:
        if "D" in v and "M" not in v and "d" not in v:
            if not lenient and not 1 <= v["D"] <= (366 if _leap(year) else 365):
                return None
            day_number = (date(year, 1, 1) - date(1970, 1, 1)).days + v["D"] - 1
        elif lenient:
            y, m0 = divmod(year * 12 + month - 1, 12)
            day_number = (date(y, m0 + 1, 1) - date(1970, 1, 1)).days + day - 1
        else:
            if not 1 <= month <= 12 or not 1 <= day <= 31:
                return None
            last = _month_length(year, month)
            if day > last:
                if strict:
                    return None
                day = last
            day_number = (date(year, month, day) - date(1970, 1, 1)).days
    except (ValueError, OverflowError):
        return None
    if not lenient and not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59 and 0 <= nano < _NS):
        return None
    if "N" in v:
        nano += v["N"]
    if "A" in v:
        nano += v["A"] * 1_000_000
    local_ns = ((day_number * 24 + hour) * 60 + minute) * 60 * _NS + second * _NS + nano
    local_s, frac = divmod(local_ns, _NS)
    if isinstance(text_zone, int):
        return (local_s - text_zone) * _NS + frac
    epoch_s = (text_zone or zone).to_epoch(local_s, strict=strict)
    return None if epoch_s is None else epoch_s * _NS + frac


def parse_ms(text: str, pattern: str, tz: str | Zone | None = None, *, dialect: str = SIMPLE,
             strict: bool = False) -> int | None:
    """Like ``parse_ns``, in epoch milliseconds (rounded toward the past)."""
    ns = parse_ns(text, pattern, tz, dialect=dialect, strict=strict)
    return None if ns is None else ns // 1_000_000


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _month_length(year: int, month: int) -> int:
    return 29 if month == 2 and _leap(year) else (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


_ISO_INSTANT = re.compile(r"([+-]?\d{4,9})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
                          r"(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)", re.IGNORECASE)
_RFC_1123 = re.compile(r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov"
                       r"|Dec) (\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? (GMT|[+-]\d{4})")


def parse_instant_text(text: str) -> int | None:
    """Epoch nanoseconds of an ISO-8601 instant or offset date-time (``2011-12-03T10:15:30Z``,
    ``...+01:00``, optional fraction) or an RFC 1123 date-time (``Thu, 01 Dec 2022 16:00:00 GMT``),
    else None. What ``Instant.parse``/``OffsetDateTime.parse``/``RFC_1123_DATE_TIME`` accept."""
    t = text.strip()
    m = _ISO_INSTANT.fullmatch(t)
    if m:
        y, mo, d, h, mi, s, frac, off = m.groups()
        fields = (int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
        offset_text = off.upper()
    else:
        m = _RFC_1123.fullmatch(t)
        if not m:
            return None
        d, mon, y, h, mi, s, offset_text = m.groups()
        fields = (int(y), MONTHS.index(next(x for x in MONTHS if x.startswith(mon))) + 1, int(d), int(h), int(mi),
                  int(s or 0))
        frac = None
    offset = 0 if offset_text in ("Z", "GMT") else _zone_from_text(offset_text)
    if not isinstance(offset, int):
        return None
    year, month, day, hour, minute, second = fields
    if not (1 <= month <= 12 and 0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59):
        return None
    try:
        days = (date(year, month, day) - date(1970, 1, 1)).days
    except ValueError:
        return None
    local_s = ((days * 24 + hour) * 60 + minute) * 60 + second
    return (local_s - offset) * _NS + int((frac or "").ljust(9, "0"))

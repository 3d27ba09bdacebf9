"""Java date patterns (``SimpleDateFormat`` / ``DateTimeFormatter`` letters) for
the record readers and writers: parse and format dates, times and timestamps.

Supported letters: ``y`` (year), ``M`` (month: number, ``MMM`` short name,
``MMMM`` full name), ``d``, ``D`` (day of year), ``H``, ``h``, ``k``, ``K``,
``m``, ``s``, ``S`` (fraction of second), ``a`` (AM/PM), ``E`` (day name),
``z``/``Z``/``X``/``x``/``XXX`` (offset), ``'quoted'`` literals and ``''``.
Other letters raise ``ValueError`` when the pattern is compiled.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache

__all__ = ["JavaDateFormat"]

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_LETTERS = set("yuMLdDHhkKmsSaEzZXx")


def _tokenize(pattern: str) -> list[tuple[str, int] | str]:
    tokens: list[tuple[str, int] | str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            end = pattern.find("'", i + 1)
            if end == i + 1:
                tokens.append("'")
                i += 2
                continue
            if end < 0:
                raise ValueError(f"unterminated quote in date pattern {pattern!r}")
            tokens.append(pattern[i + 1:end].replace("''", "'"))
            i = end + 1
        elif c.isascii() and c.isalpha():
            if c not in _LETTERS:
                raise ValueError(f"unsupported letter {c!r} in date pattern {pattern!r}")
            j = i
            while j < n and pattern[j] == c:
                j += 1
            tokens.append((c, j - i))
            i = j
        else:
            tokens.append(c)
            i += 1
    return tokens


def _alternatives(names: tuple[str, ...]) -> str:
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


class JavaDateFormat:
    """A compiled Java date pattern. Raises ``ValueError`` for a pattern with
    letters it does not support."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._tokens = _tokenize(pattern)
        parts: list[str] = []
        self._groups: list[tuple[str, int]] = []
        for k, tok in enumerate(self._tokens):
            if isinstance(tok, str):
                parts.append(re.escape(tok))
                continue
            letter, count = tok
            name = f"g{k}"
            self._groups.append((letter, count))
            nxt = self._tokens[k + 1] if k + 1 < len(self._tokens) else None
            abutting = isinstance(nxt, tuple)
            if letter in "yu":
                body = r"\d{2}" if count == 2 else (r"\d{4}" if abutting else r"[+-]?\d{1,9}")
            elif letter in "ML" and count >= 3:
                names = _MONTHS if count >= 4 else tuple(m[:3] for m in _MONTHS)
                body = _alternatives(names)
            elif letter == "E":
                body = _alternatives(_DAYS if count >= 4 else tuple(d[:3] for d in _DAYS))
            elif letter == "a":
                body = "AM|PM|am|pm"
            elif letter == "S":
                body = rf"\d{{{count}}}" if abutting else r"\d{1,9}"
            elif letter in "zZXx":
                body = r"Z|[+-]\d{2}:?(?:\d{2})?|UTC|GMT"
            else:
                width = 2 if letter != "D" else 3
                # as Java's DateTimeFormatter: one letter takes 1 or 2 digits, more letters exactly that many
                body = rf"\d{{{count}}}" if count > 1 or abutting else rf"\d{{1,{width}}}"
            parts.append(f"(?P<{name}>{body})")
        self._regex = re.compile("".join(parts), re.IGNORECASE)
        self._names = [f"g{k}" for k, tok in enumerate(self._tokens) if isinstance(tok, tuple)]

    # -- parsing ----------------------------------------------------------------------------

    def parse(self, text: str) -> datetime:
        """The instant ``text`` denotes (naive unless the pattern has an offset).
        Fields absent from the pattern default to 1970-01-01 00:00:00. Raises
        ``ValueError`` when ``text`` does not match the whole pattern."""
        m = self._regex.fullmatch(text)
        if m is None:
            raise ValueError(f"{text!r} does not match the date pattern {self.pattern!r}")
        year, month, day, doy = 1970, 1, 1, None
        hour, minute, second, micro = 0, 0, 0, 0
        pm: bool | None = None
        tz: timezone | None = None
        for name, (letter, count) in zip(self._names, self._groups, strict=True):
            value = m.group(name)
            if letter in "yu":
                year = int(value)
                if count == 2:
                    year += 2000 if year < 50 else 1900
            elif letter in "ML":
                if value.isdigit():
                    month = int(value)
                else:
                    lowered = value.lower()
                    month = 1 + next(i for i, full in enumerate(_MONTHS) if full.lower().startswith(lowered))
            elif letter == "d":
                day = int(value)
            elif letter == "D":
                doy = int(value)
            elif letter in "Hk":
                hour = int(value) % 24
            elif letter in "hK":
                hour = int(value) % 12
                pm = pm or False
            elif letter == "m":
                minute = int(value)
            elif letter == "s":
                second = int(value)
            elif letter == "S":
                micro = int((value + "000000")[:6])
            elif letter == "a":
                pm = value.lower() == "pm"
            elif letter in "zZXx":
                tz = _parse_offset(value)
        if pm:
            hour += 12
        base = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
        if doy is not None:
            base = base.replace(month=1, day=1) + timedelta(days=doy - 1)
        return base

    def parse_date(self, text: str) -> date:
        """``parse`` keeping the date."""
        return self.parse(text).date()

    def parse_time(self, text: str) -> time:
        """``parse`` keeping the time of day."""
        return self.parse(text).time()

    # -- formatting --------------------------------------------------------------------------

    def format(self, value: datetime | date | time) -> str:
        """``value`` in this pattern (a date has midnight, a time 1970-01-01)."""
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, date):
            dt = datetime(value.year, value.month, value.day)
        else:
            dt = datetime.combine(date(1970, 1, 1), value)
        out: list[str] = []
        for tok in self._tokens:
            if isinstance(tok, str):
                out.append(tok)
            else:
                out.append(_format_field(tok[0], tok[1], dt))
        return "".join(out)


def _parse_offset(value: str) -> timezone:
    upper = value.upper()
    if upper in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if value[0] == "-" else 1
    digits = value[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _format_field(letter: str, count: int, dt: datetime) -> str:
    if letter in "yu":
        return f"{dt.year % 100:02d}" if count == 2 else f"{dt.year:0{count}d}"
    if letter in "ML":
        if count >= 4:
            return _MONTHS[dt.month - 1]
        if count == 3:
            return _MONTHS[dt.month - 1][:3]
        return f"{dt.month:0{count}d}"
    if letter == "E":
        name = _DAYS[dt.weekday()]
        return name if count >= 4 else name[:3]
    if letter == "a":
        return "PM" if dt.hour >= 12 else "AM"
    if letter == "S":
        return f"{dt.microsecond:06d}{'0' * 3}"[:count] if count <= 9 else f"{dt.microsecond:06d}"
    if letter in "zZXx":
        offset = dt.utcoffset()
        if offset is None:
            return "Z" if letter == "X" else "+0000"
        if not offset and letter == "X":
            return "Z"
        total = int(offset.total_seconds()) // 60
        sign = "-" if total < 0 else "+"
        hh, mm = divmod(abs(total), 60)
        return f"{sign}{hh:02d}:{mm:02d}" if count >= 3 or letter == "z" else f"{sign}{hh:02d}{mm:02d}"
    value = {
        "d": dt.day, "D": dt.timetuple().tm_yday, "H": dt.hour, "k": dt.hour or 24, "K": dt.hour % 12,
        "h": dt.hour % 12 or 12, "m": dt.minute, "s": dt.second,
    }[letter]
    return f"{value:0{count}d}"


@lru_cache(maxsize=128)
def compiled(pattern: str) -> JavaDateFormat:
    """A cached ``JavaDateFormat`` of ``pattern``."""
    return JavaDateFormat(pattern)

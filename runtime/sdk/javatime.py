"""Java date patterns for processors: the Expression Language's implementation, shared.

NiFi users write date patterns in Java's letters everywhere: in the Expression
Language (``format``, ``toDate``) and in record readers and writers (Date,
Time and Timestamp Format). One implementation serves both
(``flowyard.runtime.expression._javatime``, documented there), in its two
dialects: ``SIMPLE`` (``java.text.SimpleDateFormat``, lenient) and ``ISO``
(``java.time.format.DateTimeFormatter``, range-checked, whole text).

``JavaDateFormat`` is the form the record code wants: a compiled pattern that
parses text into ``datetime`` / ``date`` / ``time`` and formats them back. It
uses the ``ISO`` dialect, as NiFi's record readers and writers do.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta

from flowyard.runtime.expression._javatime import (
    ISO,
    SIMPLE,
    PatternError,
    Zone,
    _Field,
    _tokenize,
    format_ms,
    format_ns,
    parse_ms,
    parse_ns,
    resolve_zone,
)

__all__ = ["ISO", "SIMPLE", "JavaDateFormat", "PatternError", "Zone", "compiled", "format_ms", "format_ns",
           "parse_ms", "parse_ns", "resolve_zone"]

_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_ZONE_LETTERS = frozenset("zZXxOVv")


class JavaDateFormat:
    """A compiled Java date pattern (``DateTimeFormatter`` letters). Raises
    ``PatternError`` (a ``ValueError``) naming the problem for an invalid pattern.

    ``parse`` gives a naive ``datetime`` (fields absent from the pattern are
    1970-01-01 00:00:00), or an aware one in UTC when the pattern reads a zone
    or offset; ``format`` writes a naive value as it is and an aware one in its
    own offset."""

    __slots__ = ("_zoned", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        tokens = _tokenize(pattern, ISO)
        self._zoned = any(isinstance(t, _Field) and t.letter in _ZONE_LETTERS for t in tokens)

    def parse(self, text: str) -> datetime:
        """The instant ``text`` denotes. Raises ``ValueError`` when ``text`` does
        not match the whole pattern or names an impossible date."""
        ns = parse_ns(text, self.pattern, "UTC", dialect=ISO)
        if ns is None:
            raise ValueError(f"{text!r} does not match the date pattern {self.pattern!r}")
        try:
            if self._zoned:
                return _EPOCH_UTC + timedelta(microseconds=ns // 1000)
            return _EPOCH + timedelta(microseconds=ns // 1000)
        except OverflowError:
            raise ValueError(f"{text!r} is out of range (years 1 to 9999)") from None

    def parse_date(self, text: str) -> date:
        """``parse`` keeping the date."""
        return self.parse(text).date()

    def parse_time(self, text: str) -> time:
        """``parse`` keeping the time of day."""
        return self.parse(text).time()

    def format(self, value: datetime | date | time) -> str:
        """``value`` in this pattern (a date has midnight, a time 1970-01-01)."""
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, date):
            dt = datetime(value.year, value.month, value.day)
        else:
            dt = datetime.combine(date(1970, 1, 1), value)
        offset = dt.utcoffset()
        if offset is None:
            delta = dt - _EPOCH
            zone = "UTC"
        else:
            delta = dt - _EPOCH_UTC
            seconds = int(offset.total_seconds())
            zone = "UTC" if not seconds else (
                f"{'-' if seconds < 0 else '+'}{abs(seconds) // 3600:02d}:{abs(seconds) % 3600 // 60:02d}")
        ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
        return format_ns(ns, self.pattern, zone, dialect=ISO)


@functools.lru_cache(maxsize=256)
def compiled(pattern: str) -> JavaDateFormat:
    """A cached ``JavaDateFormat`` of ``pattern``."""
    return JavaDateFormat(pattern)

"""Java time zones for ``_javatime``: ``Zone`` (a fixed offset, a tz database
zone or the system zone), ``resolve_zone`` (Java ids, ``GMT``/``UTC``/``Z``,
offsets such as ``GMT+05:00``, a few of Java's three-letter ids), the zone
names Java prints and parses, and ``PatternError``, which an unknown zone or an
invalid date pattern raises. Pure.
"""

from __future__ import annotations

import functools
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["PatternError", "Zone", "resolve_zone"]

_EPOCH = datetime(1970, 1, 1)
_MIN_S = int((datetime(1, 1, 2) - _EPOCH).total_seconds())
_MAX_S = int((datetime(9999, 12, 30) - _EPOCH).total_seconds())


class PatternError(ValueError):
    """An invalid date pattern or an unknown time zone."""


#: Java's ZoneId.SHORT_IDS (the ones that are not already tz database keys).
_SHORT_IDS = {
    "ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
    "ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo", "BST": "Asia/Dhaka",
    "CAT": "Africa/Harare", "CNT": "America/St_Johns", "CST": "America/Chicago", "CTT": "Asia/Shanghai",
    "EAT": "Africa/Addis_Ababa", "ECT": "Europe/Paris", "IET": "America/Indiana/Indianapolis",
    "IST": "Asia/Kolkata", "JST": "Asia/Tokyo", "MIT": "Pacific/Apia", "NET": "Asia/Yerevan",
    "NST": "Pacific/Auckland", "PLT": "Asia/Karachi", "PNT": "America/Phoenix", "PRT": "America/Puerto_Rico",
    "PST": "America/Los_Angeles", "SST": "Pacific/Guadalcanal", "VST": "Asia/Ho_Chi_Minh",
}

#: Long names Java prints for ``zzzz``, by abbreviation (others fall back to the abbreviation).
_LONG_NAMES = {
    "GMT": "Greenwich Mean Time", "UTC": "Coordinated Universal Time", "BST": "British Summer Time",
    "PST": "Pacific Standard Time", "PDT": "Pacific Daylight Time", "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time", "CST": "Central Standard Time", "CDT": "Central Daylight Time",
    "EST": "Eastern Standard Time", "EDT": "Eastern Daylight Time", "AKST": "Alaska Standard Time",
    "AKDT": "Alaska Daylight Time", "HST": "Hawaii-Aleutian Standard Time",
    "CET": "Central European Standard Time", "CEST": "Central European Summer Time",
    "EET": "Eastern European Standard Time", "EEST": "Eastern European Summer Time",
    "WET": "Western European Standard Time", "WEST": "Western European Summer Time",
    "MSK": "Moscow Standard Time", "IST": "India Standard Time", "JST": "Japan Standard Time",
    "KST": "Korean Standard Time", "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time", "NZST": "New Zealand Standard Time",
    "NZDT": "New Zealand Daylight Time",
}

#: Offsets (seconds) of abbreviations accepted when parsing ``z``.
_ABBREVIATIONS = {
    "GMT": 0, "UTC": 0, "UT": 0, "Z": 0, "WET": 0, "BST": 3600, "WEST": 3600, "CET": 3600, "CEST": 7200,
    "EET": 7200, "EEST": 10800, "MSK": 10800, "IST": 19800, "HKT": 28800, "SGT": 28800, "AWST": 28800,
    "JST": 32400, "KST": 32400, "ACST": 34200, "AEST": 36000, "AEDT": 39600, "NZST": 43200, "NZDT": 46800,
    "HST": -36000, "AKST": -32400, "AKDT": -28800, "PST": -28800, "PDT": -25200, "MST": -25200,
    "MDT": -21600, "CST": -21600, "CDT": -18000, "EST": -18000, "EDT": -14400, "SAST": 7200,
}
_LONG_TO_ABBREVIATION = {v.lower(): k for k, v in _LONG_NAMES.items()}

_OFFSET_ID = re.compile(r"(GMT|UTC|UT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?")


def _offset_text(seconds: int, sep: str = ":", *, hours_only: bool = False, with_seconds: bool = False) -> str:
    sign = "-" if seconds < 0 else "+"
    h, rest = divmod(abs(seconds), 3600)
    m, s = divmod(rest, 60)
    if hours_only:
        return f"{sign}{h:02d}"
    text = f"{sign}{h:02d}{sep}{m:02d}"
    return text + f"{sep}{s:02d}" if with_seconds and s else text


@dataclass(frozen=True, slots=True)
class Zone:
    """A time zone: a fixed offset (``offset`` seconds), a tz database zone (``tz``), or the system zone."""

    id: str
    offset: int | None = None
    tz: ZoneInfo | None = None

    def offset_at(self, epoch_s: int) -> int:
        """Seconds east of UTC at the instant ``epoch_s``."""
        return self.offset_and_name(epoch_s)[0]

    def offset_and_name(self, epoch_s: int) -> tuple[int, str]:
        """The offset at ``epoch_s`` and the short name Java would print (``PST``, ``GMT+05:00``)."""
        if self.offset is not None:
            return self.offset, self.id
        s = min(max(epoch_s, _MIN_S), _MAX_S)
        if self.tz is not None:
            d = datetime.fromtimestamp(s, self.tz)
            off = d.utcoffset()
            seconds = int(off.total_seconds()) if off is not None else 0
            name = d.tzname() or ""
        else:
            t = time.localtime(s)
            seconds, name = t.tm_gmtoff, t.tm_zone
        if not name or name[0] in "+-":
            name = "GMT" + _offset_text(seconds) if seconds else "GMT"
        return seconds, name

    def to_epoch(self, local_s: int, *, strict: bool = False) -> int | None:
        """Epoch seconds of wall-clock time ``local_s`` (seconds since 1970-01-01T00:00 local).
        A gap moves forward (None when ``strict``); an overlap takes the earlier instant."""
        if self.offset is not None:
            return local_s - self.offset
        candidates = {self.offset_at(local_s + d) for d in (-86400, 0, 86400)}
        valid = [o for o in candidates if self.offset_at(local_s - o) == o]
        if valid:
            return local_s - max(valid)
        if strict:
            return None
        return local_s - self.offset_at(local_s - max(candidates))


def _system_zone() -> Zone:
    key = os.environ.get("TZ", "").lstrip(":")
    if key:
        try:
            return Zone(key, tz=ZoneInfo(key))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return Zone(time.tzname[0] or "system")


@functools.lru_cache(maxsize=256)
def _named_zone(tz: str) -> Zone:
    t = tz.strip()
    if t in ("GMT", "UTC", "UT", "Z", "Etc/UTC", "Etc/GMT", "Zulu", "UCT"):
        return Zone({"Z": "Z", "Etc/GMT": "GMT"}.get(t, t if t in ("GMT", "UTC", "UT") else "UTC"), offset=0)
    m = _OFFSET_ID.fullmatch(t)
    if m:
        prefix, sign, hh, mm, ss = m.groups()
        seconds = int(hh) * 3600 + int(mm or 0) * 60 + int(ss or 0)
        if int(hh) > 18 or int(mm or 0) > 59 or int(ss or 0) > 59:
            raise PatternError(f"invalid time zone offset {tz!r}")
        seconds = -seconds if sign == "-" else seconds
        if not seconds:
            return Zone(prefix or "Z", offset=0)
        return Zone((prefix or "") + _offset_text(seconds, with_seconds=True), offset=seconds)
    for key in (t, _SHORT_IDS.get(t)):
        if key:
            try:
                return Zone(t, tz=ZoneInfo(key))
            except (ZoneInfoNotFoundError, ValueError):
                pass
    raise PatternError(f"unknown time zone {tz!r}")


def resolve_zone(tz: str | Zone | None) -> Zone:
    """The zone named ``tz`` (None or blank: the system zone). Raises ``PatternError`` if unknown."""
    if isinstance(tz, Zone):
        return tz
    if tz is None or not tz.strip():
        return _system_zone()
    return _named_zone(tz)

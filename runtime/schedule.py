"""Cron schedules in NiFi's (Quartz's) syntax, on top of croniter. Pure.

Quartz fields: seconds, minutes, hours, day of month, month, day of week,
optional year. Differences handled here: ``?`` means "no specific value"
(treated as ``*``), and numeric days of week run 1 (Sunday) to 7 (Saturday)
where croniter counts 0 to 6. A year field is accepted only as ``*``.
croniter (and dateutil under it) loads with the first cron schedule made.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["CronSchedule"]

_DOW_NUMBER = re.compile(r"(?<![#/])\b([1-7])\b")
_DOW_ZERO = re.compile(r"(?<![#/\d])0(?!\d)")
_DOW_LAST = re.compile(r"\b([1-7])L\b")  # Quartz "6L" = last Friday of the month


class CronSchedule:
    """A Quartz cron expression. Raises ``ValueError`` naming the problem."""

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) not in (6, 7):
            raise ValueError(
                f"cron expression {expression!r} has {len(fields)} fields; expected 6 or 7 "
                "(seconds minutes hours day-of-month month day-of-week [year]), e.g. '0 */5 * * * ?'"
            )
        if len(fields) == 7:
            if fields[6] not in ("*", "?"):
                raise ValueError(f"cron expression {expression!r}: a year field other than * is not supported")
            fields = fields[:6]
        fields = ["*" if f == "?" else f for f in fields]
        if _DOW_ZERO.search(fields[5]):
            raise ValueError(f"cron expression {expression!r} is not valid: days of week are 1 (Sunday) "
                             "to 7 (Saturday) or SUN-SAT, not 0")
        # croniter spells "last <weekday> of the month" L<n> with Sunday = 0.
        dow = _DOW_LAST.sub(lambda m: f"L{int(m.group(1)) - 1}", fields[5])
        fields[5] = _DOW_NUMBER.sub(lambda m: str(int(m.group(1)) - 1), dow) if "L" not in dow else dow
        from croniter import CroniterBadDateError, croniter

        self.expression = expression
        self._croniter_text = " ".join(fields[1:] + fields[:1])
        try:
            croniter(self._croniter_text, datetime.now(UTC), second_at_beginning=False)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"cron expression {expression!r} is not valid: {exc}") from None
        try:  # a valid expression may still name a date that does not exist, e.g. 31 February
            self.next_after(datetime.now(UTC).timestamp())
        except CroniterBadDateError:
            raise ValueError(f"cron expression {expression!r} never fires: no date matches it") from None

    def next_after(self, epoch_seconds: float) -> float:
        """The first firing time strictly after ``epoch_seconds`` (UTC epoch seconds)."""
        from croniter import croniter

        start = datetime.fromtimestamp(epoch_seconds, UTC)
        it = croniter(self._croniter_text, start, second_at_beginning=False)
        return float(it.get_next(float))

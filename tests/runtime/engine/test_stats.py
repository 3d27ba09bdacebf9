"""Rolling statistics and status history (pure, ``engine._stats``): exact totals
as samples age out of the windows, rates over the time really covered, ring
bounds, minute samples, components that come and go. Time is passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from flowyard.runtime.engine._node import NodeStats
from flowyard.runtime.engine._stats import CONNECTION, PROCESSOR, StatisticsHolder


@dataclass
class FakeProcessor:
    stats: NodeStats = field(default_factory=NodeStats)
    active_tasks: int = 0

    def emit(self, n: int, size: int = 10) -> None:
        """``n`` flowfiles of ``size`` bytes in, and out, in one trigger."""
        s = self.stats
        s.flowfiles_in += n
        s.bytes_in += n * size
        s.flowfiles_out += n
        s.bytes_out += n * size
        s.tasks += 1
        s.task_seconds += 0.25


@dataclass
class FakeQueue:
    enqueued_total: int = 0
    enqueued_bytes: int = 0
    dequeued_total: int = 0
    dequeued_bytes: int = 0
    count: int = 0
    size: int = 0

    def put(self, n: int, size: int = 10) -> None:
        self.enqueued_total += n
        self.enqueued_bytes += n * size
        self.count += n
        self.size += n * size

    def take(self, n: int, size: int = 10) -> None:
        self.dequeued_total += n
        self.dequeued_bytes += n * size
        self.count -= n
        self.size -= n * size


def totals(holder: StatisticsHolder, cid: str, kind: str = "processor") -> dict[str, int]:
    return holder.statistics([cid], kind).totals


def test_five_minute_totals_are_exact_as_samples_age_out() -> None:
    holder = StatisticsHolder()
    p = FakeProcessor()
    holder.start(0)
    for second in range(1, 302):  # k flowfiles during second k
        p.emit(second)
        holder.sample(second * 1000, {"p": p}, {})
    # the sample of second 1 (ending at 1,000 ms) is exactly 5 minutes old
    assert totals(holder, "p")["flowFilesIn"] == sum(range(2, 302))
    assert totals(holder, "p")["bytesOut"] == 10 * sum(range(2, 302))
    assert totals(holder, "p")["taskCount"] == 300
    assert totals(holder, "p")["tasksDurationNanos"] == 300 * 250_000_000
    stats = holder.statistics(["p"], "processor")
    assert stats.window_ms == 300_000
    assert stats.since_start["flowFilesIn"] == sum(range(1, 302))
    assert stats.rates_1s["flowFilesIn"] == 301.0
    assert stats.rates_10s["flowFilesIn"] == sum(range(292, 302)) / 10
    for second in range(302, 401):  # idle
        holder.sample(second * 1000, {"p": p}, {})
    assert totals(holder, "p")["flowFilesIn"] == sum(range(101, 302))
    assert holder.statistics(["p"], "processor").rates_10s["flowFilesIn"] == 0
    for second in range(401, 602):
        holder.sample(second * 1000, {"p": p}, {})
    assert totals(holder, "p")["flowFilesIn"] == 0, "the last activity (second 301) is now 5 minutes old"
    assert holder.statistics(["p"], "processor").since_start["flowFilesIn"] == sum(range(1, 302))


def test_stream_fields_follow_the_windows() -> None:
    holder = StatisticsHolder()
    p = FakeProcessor()
    assert holder.stream_fields("p", "processor")["flowFilesOutRate10s"] == 0, "zeros before the first sample"
    holder.start(0)
    for second in range(1, 21):
        p.emit(5 if second <= 10 else 0)
        holder.sample(second * 1000, {"p": p}, {})
        fields = holder.stream_fields("p", "processor")
        if second == 10:
            assert fields["flowFilesOut"] == 50
            assert fields["flowFilesOutRate1s"] == 5.0
            assert fields["bytesOutRate10s"] == 50.0
    fields = holder.stream_fields("p", "processor")
    assert fields["flowFilesOut"] == 50, "still within 5 minutes"
    assert fields["flowFilesOutRate1s"] == 0
    assert fields["flowFilesOutRate10s"] == 0, "all of it is more than 10 s old"
    assert set(fields) == {*PROCESSOR.counters, *(f"{n}Rate{w}" for n in PROCESSOR.counters[:4]
                                                  for w in ("1s", "10s"))}


def test_rates_divide_by_the_time_really_covered() -> None:
    holder = StatisticsHolder()
    p = FakeProcessor()
    holder.start(0)
    p.emit(10)
    holder.sample(1000, {"p": p}, {})
    s = holder.statistics(["p"], "processor")
    assert s.rates_10s["flowFilesIn"] == 10.0, "one second of history: 10 per second, not 1"
    assert s.window_ms == 1000
    p.emit(35)
    holder.sample(3500, {"p": p}, {})  # the loop was late: this sample covers 2.5 s
    s = holder.statistics(["p"], "processor")
    assert s.rates_1s["flowFilesIn"] == 14.0
    assert s.rates_10s["flowFilesIn"] == round(45 / 3.5, 3), "per second, to 3 decimals"
    assert holder.stream_fields("p", "processor")["flowFilesInRate1s"] == 14.0


def test_connection_counters_and_gauges() -> None:
    holder = StatisticsHolder()
    q = FakeQueue()
    holder.start(0)
    q.put(7)
    holder.sample(1000, {}, {"c": q})
    q.take(3)
    holder.sample(2000, {}, {"c": q})
    s = holder.statistics(["c"], "connection")
    assert s.totals == {"flowFilesIn": 7, "bytesIn": 70, "flowFilesOut": 3, "bytesOut": 30}
    assert s.gauges == {"queuedCount": 4, "queuedBytes": 40}
    assert s.rates_1s == {"flowFilesIn": 0.0, "bytesIn": 0.0, "flowFilesOut": 3.0, "bytesOut": 30.0}
    h = holder.history(["c"], "connection")
    assert h.fields == CONNECTION.fields
    assert h.timestamps == [1000, 2000]
    assert h.series["flowFilesIn"] == [7, 0]
    assert h.series["flowFilesOut"] == [0, 3]
    assert h.series["queuedCount"] == [7, 4], "gauges: the value at the end of each interval"


def test_second_ring_is_bounded_and_limits_the_window() -> None:
    holder = StatisticsHolder(second_capacity=5)
    p = FakeProcessor()
    holder.start(0)
    for second in range(1, 13):
        p.emit(second)
        holder.sample(second * 1000, {"p": p}, {})
        series = holder._series["p"]
        assert len(series.sec) <= 5 * PROCESSOR.width
    h = holder.history(["p"], "processor")
    assert h.timestamps == [8000, 9000, 10000, 11000, 12000]
    assert h.series["flowFilesIn"] == [8, 9, 10, 11, 12]
    assert totals(holder, "p")["flowFilesIn"] == sum(range(8, 13)), "the window cannot outlast the ring"
    assert holder.statistics(["p"], "processor").rates_10s["flowFilesIn"] == sum(range(8, 13)) / 5


def test_default_bounds_are_five_minutes_of_seconds_and_a_day_of_minutes() -> None:
    holder = StatisticsHolder()
    assert (holder.interval_ms, holder.second_capacity) == (1000, 300)
    assert (holder.minute_ms, holder.minute_capacity) == (60_000, 1440)


def test_minute_samples_sum_each_wall_clock_minute() -> None:
    holder = StatisticsHolder()
    p, q = FakeProcessor(), FakeQueue()
    holder.start(30_000)  # started half-way through the first minute
    for second in range(31, 181):
        p.emit(1)
        q.put(2)
        holder.sample(second * 1000, {"p": p}, {"c": q})
    h = holder.history(["p"], "processor", "1m")
    assert h.interval_ms == 60_000
    assert h.timestamps == [60_000, 120_000], "the minute ending at 180 s is still in progress"
    assert h.series["flowFilesIn"] == [30, 60]
    assert h.series["taskCount"] == [30, 60]
    qh = holder.history(["c"], "connection", "1m")
    assert qh.series["queuedCount"] == [60, 180]
    holder.sample(181_000, {"p": p}, {"c": q})
    assert holder.history(["p"], "processor", "1m").series["flowFilesIn"] == [30, 60, 60]


def test_minute_ring_is_bounded() -> None:
    holder = StatisticsHolder(minute_capacity=3, minute_ms=10_000)
    p = FakeProcessor()
    holder.start(0)
    for second in range(1, 101):
        p.emit(second // 10 + 1)  # seconds 1..9 emit 1 each, 10..19 emit 2 each, ...
        holder.sample(second * 1000, {"p": p}, {})
        assert len(holder._series["p"].mins) <= 3 * PROCESSOR.width
    h = holder.history(["p"], "processor", "1m")
    assert h.timestamps == [70_000, 80_000, 90_000]
    # (60, 70] holds seconds 61..70: nine of 7, one of 8
    assert h.series["flowFilesIn"] == [9 * 7 + 8, 9 * 8 + 9, 9 * 9 + 10]


def test_unknown_resolution_is_refused() -> None:
    with pytest.raises(ValueError, match="resolution"):
        StatisticsHolder().history(["p"], "processor", "5m")


def test_components_that_come_and_go() -> None:
    holder = StatisticsHolder()
    early, late = FakeProcessor(), FakeProcessor()
    holder.start(0)
    for second in range(1, 4):
        early.emit(1)
        holder.sample(second * 1000, {"early": early}, {})
    late.emit(4)  # counted from zero: it did this before its first sample
    for second in range(4, 6):
        holder.sample(second * 1000, {"early": early, "late": late}, {})
    assert holder.history(["late"], "processor").timestamps == [4000, 5000], "its history starts with it"
    both = holder.history(["early", "late"], "processor")
    assert both.timestamps == [1000, 2000, 3000, 4000, 5000]
    assert both.series["flowFilesIn"] == [1, 1, 1, 4, 0]
    holder.sample(6000, {"late": late}, {})
    assert "early" not in holder and holder.kind("early") is None
    assert holder.statistics(["early"], "processor").components == 0
    assert holder.kind("late") == "processor"


def test_a_component_replaced_under_the_same_id_starts_afresh() -> None:
    holder = StatisticsHolder()
    old = FakeProcessor()
    holder.start(0)
    old.emit(100)
    holder.sample(1000, {"p": old}, {})
    new = FakeProcessor()  # removed and added again with the same id between two samples
    new.emit(5)
    holder.sample(2000, {"p": new}, {})
    assert totals(holder, "p")["flowFilesIn"] == 5
    assert holder.history(["p"], "processor").timestamps == [2000]


def test_a_counter_that_goes_down_restarted_from_zero() -> None:
    holder = StatisticsHolder()
    p = FakeProcessor()
    holder.start(0)
    p.emit(100)
    holder.sample(1000, {"p": p}, {})
    p.stats.flowfiles_in = 5
    holder.sample(2000, {"p": p}, {})
    assert totals(holder, "p")["flowFilesIn"] == 105


def test_aggregate_sums_the_components_of_one_kind() -> None:
    holder = StatisticsHolder()
    a, b, q = FakeProcessor(active_tasks=1), FakeProcessor(active_tasks=2), FakeQueue()
    holder.start(0)
    a.emit(3)
    b.emit(4)
    q.put(9)
    holder.sample(1000, {"a": a, "b": b}, {"c": q})
    s = holder.statistics(["a", "b", "c", "missing"], "processor")
    assert s.components == 2
    assert s.totals["flowFilesIn"] == 7
    assert s.rates_1s["flowFilesOut"] == 7.0
    assert s.gauges == {"activeThreadCount": 3}
    c = holder.statistics(["a", "b", "c"], "connection")
    assert (c.components, c.totals["flowFilesIn"], c.gauges["queuedCount"]) == (1, 9, 9)


def test_statistics_before_any_sample_are_zero() -> None:
    s = StatisticsHolder().statistics(["p"], "processor")
    assert s.timestamp_ms == 0 and s.window_ms == 0 and s.components == 0
    assert set(s.totals.values()) == {0} and set(s.rates_1s.values()) == {0}


@pytest.mark.parametrize("kwargs", [{"interval_ms": 0}, {"second_capacity": 0}, {"minute_capacity": -1}])
def test_bad_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        StatisticsHolder(**kwargs)

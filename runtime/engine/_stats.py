"""Per-component statistics: rolling windows, rates and status history. Pure:
no trio, no I/O; time is whatever epoch milliseconds the caller passes in.

The engine calls ``StatisticsHolder.sample`` once a second. Each call reads
every component's cumulative counters (processor: ``NodeStats``; connection:
its queue's enqueued/dequeued totals) and gauges (active tasks; queued
count and bytes), and turns the difference since the previous call into one
*second sample*. From those samples:

- **rolling totals** over the last 5 minutes (NiFi's status figures) and over
  the last 10 seconds are kept as running sums: a new sample is added, a
  sample that ages out of a window is subtracted, so the totals are exact
  integers and the cost per call is O(components), never O(samples);
- **rates** (per second) over the last sample (about 1 s) and the last 10 s,
  divided by the time the samples really cover (shorter just after start,
  longer if the event loop was late);
- **status history**: the second samples themselves (a ring of the last 300,
  i.e. 5 minutes) and *minute samples* — second samples summed per wall-clock
  minute — in a ring of 1,440 (24 hours; NiFi's default of one snapshot a
  minute kept 1,440 times). A counter in a history sample is what happened
  during that interval (flowfiles per second, per minute); a gauge is its value
  at the end of the interval. NiFi's history instead repeats the 5-minute
  figures at each snapshot; per-interval values are what a sparkline of
  flowfiles/s needs, and the 5-minute figure is their sum.

All components are sampled at the same instants, so one ring of timestamps
serves them all: sample *g* (a global index) of a component that first
appeared at sample *f* sits at slot ``(g - f) % capacity`` of its own ring.
Rings are flat ``array('q')`` (8 bytes a value) that grow until full and then
wrap, so memory follows uptime up to a fixed bound:

=============  =====  ===========  ===========  =====================
component      width  1 s ring     1 min ring   total (with overhead)
=============  =====  ===========  ===========  =====================
processor      10     24,000 B     115,200 B    about 145 KB
connection     6      14,400 B     69,120 B     about 90 KB
=============  =====  ===========  ===========  =====================

(width = counters + gauges; the rest is window sums, the minute in progress
and the stream fields, measured with tracemalloc). 1,000 components (500 of
each) reach about 116 MB after 24 hours, 24 MB after the first hour; pass a
smaller ``minute_capacity`` to keep less. Nothing here survives a restart.

A component that disappears is forgotten at the next sample; one replaced by
another object under the same id (removed and added again between two
samples) starts afresh. A counter that goes down is taken as restarted from
zero.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import add, sub
from typing import Protocol

__all__ = [
    "CONNECTION",
    "PROCESSOR",
    "ComponentStatistics",
    "History",
    "Layout",
    "StatisticsHolder",
]


@dataclass(frozen=True, slots=True)
class Layout:
    """The figures of one kind of component: cumulative counters, then gauges.

    Both layouts start with the same four counters (flowfiles and bytes in and
    out), the ones the live stream carries rates for."""

    kind: str
    counters: tuple[str, ...]
    gauges: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return self.counters + self.gauges

    @property
    def width(self) -> int:
        return len(self.counters) + len(self.gauges)


#: A processor: ``flowFilesIn``/``bytesIn`` taken from its queues, ``flowFilesOut``/``bytesOut``
#: transferred to queues, content ``bytesRead``/``bytesWritten``, ``flowFilesRemoved``
#: (dropped or auto-terminated), triggers (``taskCount``) and their time; active tasks now.
PROCESSOR = Layout(
    "processor",
    ("flowFilesIn", "bytesIn", "flowFilesOut", "bytesOut", "bytesRead", "bytesWritten", "flowFilesRemoved",
     "taskCount", "tasksDurationNanos"),
    ("activeThreadCount",),
)
#: A connection: flowfiles and bytes that entered its queue and left it
#: (taken by the destination and committed, expired, or dropped); queued now.
CONNECTION = Layout("connection", ("flowFilesIn", "bytesIn", "flowFilesOut", "bytesOut"),
                    ("queuedCount", "queuedBytes"))

#: Counters (the first four of both layouts) the live stream carries rates for.
_STREAM_RATES = 4
_LAYOUTS = {"processor": PROCESSOR, "connection": CONNECTION}


def _stream_names(layout: Layout) -> tuple[str, ...]:
    rated = layout.counters[:_STREAM_RATES]
    return layout.counters + tuple(f"{n}Rate1s" for n in rated) + tuple(f"{n}Rate10s" for n in rated)


_STREAM_NAMES = {kind: _stream_names(layout) for kind, layout in _LAYOUTS.items()}
_STREAM_ZERO: dict[str, dict[str, int | float]] = {
    kind: dict.fromkeys(names, 0) for kind, names in _STREAM_NAMES.items()}


class _ProcessorCounters(Protocol):
    flowfiles_in: int
    bytes_in: int
    flowfiles_out: int
    bytes_out: int
    bytes_read: int
    bytes_written: int
    flowfiles_removed: int
    tasks: int
    task_seconds: float


class ProcessorLike(Protocol):
    """What is read from a processor (``ProcessorNode``)."""

    @property
    def stats(self) -> _ProcessorCounters: ...

    @property
    def active_tasks(self) -> int: ...


class QueueLike(Protocol):
    """What is read from a connection (``FlowFileQueue``)."""

    @property
    def enqueued_total(self) -> int: ...

    @property
    def enqueued_bytes(self) -> int: ...

    @property
    def dequeued_total(self) -> int: ...

    @property
    def dequeued_bytes(self) -> int: ...

    @property
    def count(self) -> int: ...

    @property
    def size(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ComponentStatistics:
    """Rolling figures of one component (or the sum over several of one kind).

    ``totals`` cover the last ``window_ms`` (5 minutes once the engine has run
    that long); ``rates_1s`` and ``rates_10s`` are per second; ``gauges`` are
    as of the last sample; ``since_start`` are the cumulative counters."""

    kind: str
    timestamp_ms: int
    window_ms: int
    totals: dict[str, int]
    rates_1s: dict[str, float]
    rates_10s: dict[str, float]
    gauges: dict[str, int]
    since_start: dict[str, int]
    components: int = 1


@dataclass(frozen=True, slots=True)
class History:
    """Status history samples, oldest first: ``timestamps[i]`` (epoch ms, end of
    the interval) with ``series[field][i]``. Counters are the change during the
    interval; gauges the value at its end."""

    kind: str
    interval_ms: int
    fields: tuple[str, ...]
    counters: tuple[str, ...]
    timestamps: list[int]
    series: dict[str, list[int]]


@dataclass(slots=True)
class _Window:
    """A rolling window over the second samples: ``first`` is the global index
    of its oldest sample; ``boundary_ms`` is where its coverage starts."""

    duration_ms: int
    first: int
    boundary_ms: int


class _Series:
    __slots__ = ("acc", "dirty", "fields", "first", "gauges", "last", "layout", "mfirst", "mins", "sec", "source",
                 "sums", "width")

    def __init__(self, layout: Layout, source: object, first: int, mfirst: int, windows: int) -> None:
        self.layout = layout
        self.source = source  # the node or queue sampled
        self.width = layout.width
        self.first = first  # global index of its first second sample
        self.mfirst = mfirst  # global index of its first minute sample
        n = len(layout.counters)
        self.last: Sequence[int] = (0,) * n  # cumulative counters at the last sample
        self.gauges: Sequence[int] = (0,) * len(layout.gauges)
        self.sec = array("q")
        self.mins = array("q")
        self.acc = [0] * n  # counters of the minute in progress
        self.sums = [[0] * n for _ in range(windows)]
        self.fields: dict[str, int | float] = _STREAM_ZERO[layout.kind]
        self.dirty = False  # a window sum changed since ``fields`` was computed


def _read_processor(node: ProcessorLike) -> tuple[tuple[int, ...], tuple[int, ...]]:
    s = node.stats
    return ((s.flowfiles_in, s.bytes_in, s.flowfiles_out, s.bytes_out, s.bytes_read, s.bytes_written,
             s.flowfiles_removed, s.tasks, round(s.task_seconds * 1e9)), (node.active_tasks,))


def _read_queue(q: QueueLike) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return (q.enqueued_total, q.enqueued_bytes, q.dequeued_total, q.dequeued_bytes), (q.count, q.size)


class StatisticsHolder:
    """Rolling statistics and status history of every component. See the module docstring.

    ``sample`` is meant to be called every ``interval_ms``; calling it later is
    fine (the sample covers the time since the previous one). Everything else
    reads and never changes state.
    """

    def __init__(self, *, interval_ms: int = 1000, second_capacity: int = 300, minute_capacity: int = 1440,
                 window_ms: int = 300_000, short_window_ms: int = 10_000, minute_ms: int = 60_000) -> None:
        if min(interval_ms, second_capacity, minute_capacity, window_ms, short_window_ms, minute_ms) <= 0:
            raise ValueError("intervals, windows and capacities must be positive")
        self.interval_ms = interval_ms
        self.second_capacity = second_capacity
        self.minute_capacity = minute_capacity
        self.minute_ms = minute_ms
        self._series: dict[str, _Series] = {}
        self._started_ms: int | None = None
        self._n = 0  # second samples taken
        self._ts = array("q", bytes(8 * second_capacity))
        self._mn = 0  # minute samples taken
        self._mts = array("q", bytes(8 * minute_capacity))
        self._bucket: int | None = None  # the minute in progress
        self._windows = [_Window(window_ms, 0, 0), _Window(short_window_ms, 0, 0)]

    # -- sampling --------------------------------------------------------------------

    def start(self, now_ms: int) -> None:
        """Mark the time the counters started from (the first sample covers the time since)."""
        self._started_ms = now_ms
        for w in self._windows:
            w.boundary_ms = now_ms if w.first == 0 else w.boundary_ms

    def sample(self, now_ms: int, processors: Mapping[str, ProcessorLike],
               connections: Mapping[str, QueueLike]) -> None:
        """Take one second sample of every component. O(components)."""
        if self._started_ms is None:
            self.start(now_ms - self.interval_ms)
        i = self._n
        cap = self.second_capacity
        prev_ms = self._ts[(i - 1) % cap] if i else self._started_ms
        assert prev_ms is not None
        bucket = (now_ms - 1) // self.minute_ms
        if self._bucket is not None and bucket != self._bucket:
            self._flush_minute((self._bucket + 1) * self.minute_ms)
        self._bucket = bucket
        self._age(now_ms, i)
        self._ts[i % cap] = now_ms
        dt = (now_ms - prev_ms) / 1000 if now_ms > prev_ms else self.interval_ms / 1000
        short = self._windows[1]
        dt10 = (now_ms - short.boundary_ms) / 1000 if now_ms > short.boundary_ms else dt
        for cid, node in processors.items():
            self._observe(cid, PROCESSOR, node, *_read_processor(node), i, dt, dt10)
        for cid, queue in connections.items():
            self._observe(cid, CONNECTION, queue, *_read_queue(queue), i, dt, dt10)
        series = self._series
        if len(series) != len(processors) + len(connections):
            for cid in [c for c in series if c not in processors and c not in connections]:
                del series[cid]
        self._n = i + 1

    def _observe(self, cid: str, layout: Layout, component: object, counters: tuple[int, ...],
                 gauges: tuple[int, ...], i: int, dt: float, dt10: float) -> None:
        """Add sample ``i`` of one component to its ring, window sums, minute and stream fields."""
        s = self._series.get(cid)
        if s is None or s.source is not component:  # new, or replaced by another with the same id
            s = self._series[cid] = _Series(layout, component, i, self._mn, len(self._windows))
        deltas = [c - p if c >= p else c for c, p in zip(counters, s.last)]
        s.last = counters
        s.gauges = gauges
        sec = s.sec
        width = s.width
        if len(sec) < self.second_capacity * width:
            sec.extend(deltas)
            sec.extend(gauges)
        else:
            at = ((i - s.first) % self.second_capacity) * width
            sec[at:at + width] = array("q", deltas + list(gauges))
        moved = any(deltas)
        totals, short = s.sums
        if moved:
            s.sums = [list(map(add, totals, deltas)), list(map(add, short, deltas))]
            totals, short = s.sums
            s.acc = list(map(add, s.acc, deltas))
        rated = _STREAM_RATES
        if moved or s.dirty or any(short[:rated]):
            # Idle components skip this: their figures cannot have changed.
            s.dirty = False
            per1, per10 = 1 / dt, 1 / dt10
            s.fields = dict(zip(_STREAM_NAMES[layout.kind], [
                *totals, *[round(d * per1, 2) if d else 0 for d in deltas[:rated]],
                *[round(v * per10, 2) if v else 0 for v in short[:rated]]], strict=True))

    def _age(self, now_ms: int, i: int) -> None:
        """Move every window's start past samples that are too old (or about to
        be overwritten in the ring), subtracting them from the running sums."""
        cap = self.second_capacity
        ts = self._ts
        for w_index, w in enumerate(self._windows):
            limit = now_ms - w.duration_ms
            while w.first < i and (ts[w.first % cap] <= limit or w.first <= i - cap):
                g = w.first
                for s in self._series.values():
                    if g >= s.first:
                        n = len(s.last)
                        at = ((g - s.first) % cap) * s.width
                        old = s.sec[at:at + n]
                        if any(old):
                            s.sums[w_index] = list(map(sub, s.sums[w_index], old))
                            s.dirty = True
                w.boundary_ms = ts[g % cap]
                w.first = g + 1

    def _flush_minute(self, end_ms: int) -> None:
        m = self._mn
        cap = self.minute_capacity
        self._mts[m % cap] = end_ms
        for s in self._series.values():
            row = s.acc + list(s.gauges)
            mins = s.mins
            if len(mins) < cap * s.width:
                mins.extend(row)
            else:
                at = ((m - s.mfirst) % cap) * s.width
                mins[at:at + len(row)] = array("q", row)
            s.acc = [0] * len(s.acc)
        self._mn = m + 1

    # -- reading ---------------------------------------------------------------------

    def __contains__(self, component_id: object) -> bool:
        return component_id in self._series

    def kind(self, component_id: str) -> str | None:
        """``processor``, ``connection``, or None if the component was never sampled."""
        s = self._series.get(component_id)
        return s.layout.kind if s is not None else None

    def stream_fields(self, component_id: str, kind: str) -> Mapping[str, int | float]:
        """The live stream's figures of a component, as computed at the last sample
        (zeros if it has not been sampled yet): the 5-minute totals under the
        counter names, and ``<counter>Rate1s`` / ``<counter>Rate10s`` (per second,
        2 decimals) for the first four counters. Do not modify the mapping."""
        s = self._series.get(component_id)
        return s.fields if s is not None else _STREAM_ZERO[kind]

    @property
    def timestamp_ms(self) -> int:
        """When the last sample was taken (0: never)."""
        return self._ts[(self._n - 1) % self.second_capacity] if self._n else 0

    def statistics(self, component_ids: Iterable[str], kind: str) -> ComponentStatistics:
        """The rolling figures of one component, or summed over several of ``kind``
        (the ones not of that kind, or never sampled, count as zero; rates are
        summed too). ``kind`` picks the layout: ``processor`` or ``connection``."""
        layout = _LAYOUTS[kind]
        n = len(layout.counters)
        totals, short, recent, since = [0] * n, [0] * n, [0] * n, [0] * n
        gauges = [0] * len(layout.gauges)
        count = 0
        i = self._n - 1
        cap = self.second_capacity
        for cid in component_ids:
            s = self._series.get(cid)
            if s is None or s.layout is not layout:
                continue
            count += 1
            for k in range(n):
                totals[k] += s.sums[0][k]
                short[k] += s.sums[1][k]
                since[k] += s.last[k]
            for k, g in enumerate(s.gauges):
                gauges[k] += g
            if i >= s.first:
                at = ((i - s.first) % cap) * layout.width
                for k in range(n):
                    recent[k] += s.sec[at + k]
        now = self.timestamp_ms
        long_w, short_w = self._windows
        if self._n:
            prev = self._ts[(self._n - 2) % cap] if self._n > 1 else self._started_ms
            assert prev is not None  # set by the first sample
            dt = max(now - prev, 1) / 1000
            dt10 = max(now - short_w.boundary_ms, 1) / 1000
        else:
            dt = dt10 = 1.0
        return ComponentStatistics(
            kind=kind, timestamp_ms=now, window_ms=max(now - long_w.boundary_ms, 0) if self._n else 0,
            totals=dict(zip(layout.counters, totals, strict=True)),
            rates_1s={name: round(v / dt, 3) for name, v in zip(layout.counters, recent, strict=True)},
            rates_10s={name: round(v / dt10, 3) for name, v in zip(layout.counters, short, strict=True)},
            gauges=dict(zip(layout.gauges, gauges, strict=True)),
            since_start=dict(zip(layout.counters, since, strict=True)),
            components=count,
        )

    def history(self, component_ids: Iterable[str], kind: str, resolution: str = "1s") -> History:
        """Status history of one component, or summed over several of ``kind``,
        oldest first: ``resolution`` ``1s`` (the second samples, last 5 minutes)
        or ``1m`` (completed minutes, last 24 hours; the minute in progress is
        not included). Raises ``ValueError`` for another resolution."""
        layout = _LAYOUTS[kind]
        if resolution == "1s":
            n, cap, stamps, interval = self._n, self.second_capacity, self._ts, self.interval_ms
        elif resolution == "1m":
            n, cap, stamps, interval = self._mn, self.minute_capacity, self._mts, self.minute_ms
        else:
            raise ValueError(f"unknown resolution {resolution!r}: expected '1s' or '1m'")
        picked = [(s.first, s.sec) if resolution == "1s" else (s.mfirst, s.mins)
                  for s in (self._series.get(cid) for cid in component_ids)
                  if s is not None and s.layout is layout]
        # From the oldest sample kept of the oldest component asked for: a
        # component's history starts when it did (later ones count as zero before).
        lo = max(n - cap, min((first for first, _ in picked), default=n))
        width = layout.width
        columns = [[0] * (n - lo) for _ in range(width)]
        for first, ring in picked:
            for g in range(max(lo, first), n):
                at = ((g - first) % cap) * width
                row = g - lo
                for k in range(width):
                    columns[k][row] += ring[at + k]
        return History(
            kind=kind, interval_ms=interval, fields=layout.fields, counters=layout.counters,
            timestamps=[stamps[g % cap] for g in range(lo, n)],
            series=dict(zip(layout.fields, columns, strict=True)),
        )

"""ControlRate: let at most so many flowfiles (or bytes, or an attribute's sum) through per time window."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from flowyard.runtime.sdk import (
    AllowableValue,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
    parse_data_size,
    parse_duration,
    validators,
)

__all__ = ["ControlRate"]

_BATCH = 1000  # NiFi's MAX_FLOW_FILES_PER_BATCH
#: NiFi's POSITIVE_LONG_PATTERN for the Rate Controlled Attribute (0 is not allowed).
_POSITIVE_LONG = re.compile(r"0*[1-9][0-9]*")
_MAX_LONG = (1 << 63) - 1

SUCCESS = Relationship("success", "FlowFiles let through within the rate.")
FAILURE = Relationship("failure", "FlowFiles whose Rate Controlled Attribute is missing or not a whole number.")
RATE_EXCEEDED = Relationship(
    "rate exceeded", 'FlowFiles over the rate, when Rate Exceeded Strategy is "Route to \'rate exceeded\'".')

DATA_RATE = "data rate"
COUNT = "flowfile count"
ATTRIBUTE = "attribute value"
DATA_OR_COUNT = "data rate or flowfile count"
HOLD = "Hold FlowFile"
ROUTE = "Route to 'rate exceeded'"

CRITERIA = PropertySpec(
    key="rate-control-criteria",
    display_name="Rate Control Criteria",
    description="What is counted against the rate.",
    required=True,
    default=DATA_RATE,
    allowed_values=(
        AllowableValue(DATA_RATE, description="The size of the FlowFiles' content."),
        AllowableValue(COUNT, description="The number of FlowFiles."),
        AllowableValue(ATTRIBUTE, description="The sum of a numeric attribute (Rate Controlled Attribute)."),
        AllowableValue(DATA_OR_COUNT, description="Both Maximum Data Rate and Maximum FlowFile Rate apply."),
    ),
)
TIME_DURATION = PropertySpec(
    key="time-period",
    display_name="Time Duration",
    description="The length of the window the maximum applies to; it starts again after this long.",
    required=True,
    default="1 min",
    validator=validators.TIME_PERIOD,
)
MAX_RATE = PropertySpec(
    key="max-rate",
    display_name="Maximum Rate",
    description=("The most let through per Time Duration: a data size (e.g. 1 MB) for 'data rate', a whole "
                 "number for 'flowfile count' and 'attribute value'."),
    dependencies=(PropertyDependency("rate-control-criteria", (DATA_RATE, COUNT, ATTRIBUTE)),),
)
MAX_DATA_RATE = PropertySpec(
    key="max-data-rate",
    display_name="Maximum Data Rate",
    description="With 'data rate or flowfile count': the most content let through per Time Duration.",
    validator=validators.DATA_SIZE,
    dependencies=(PropertyDependency("rate-control-criteria", (DATA_OR_COUNT,)),),
)
MAX_COUNT_RATE = PropertySpec(
    key="max-count-rate",
    display_name="Maximum FlowFile Rate",
    description="With 'data rate or flowfile count': the most FlowFiles let through per Time Duration.",
    validator=validators.POSITIVE_INTEGER,
    dependencies=(PropertyDependency("rate-control-criteria", (DATA_OR_COUNT,)),),
)
STRATEGY = PropertySpec(
    key="rate-exceeded-strategy",
    display_name="Rate Exceeded Strategy",
    description="What happens to a FlowFile over the rate.",
    required=True,
    default=HOLD,
    allowed_values=(
        AllowableValue(HOLD, description="Leave it in its queue until the next window (back pressure builds up)."),
        AllowableValue(ROUTE, description="Send it to 'rate exceeded' at once."),
    ),
)
RATE_ATTRIBUTE = PropertySpec(
    key="rate-controlled-attribute",
    display_name="Rate Controlled Attribute",
    description="With 'attribute value': the attribute whose whole-number values are summed against the rate.",
    dependencies=(PropertyDependency("rate-control-criteria", (ATTRIBUTE,)),),
)
GROUPING = PropertySpec(
    key="group-throttling-attribute",
    display_name="Grouping Attribute",
    description="FlowFiles with different values of this attribute are throttled separately.",
)


class Throttle:
    """NiFi's ControlRate throttle, on one clock: a sliding sum over ``seconds`` one-second
    bins (plus one), and a penalty for going over.

    ``try_add(value, now)`` refuses while a penalty runs, or while the sum of the bins
    updated within the last ``seconds`` seconds is at or above the maximum. Otherwise it adds
    ``value`` even past the maximum (a FlowFile passes whenever the rate is still below it);
    when the bin is then over the maximum by some fraction, the next attempt starts a penalty
    of that fraction of the period (the time the excess takes at the maximum rate). Pure.
    """

    __slots__ = ("bins", "last_update", "maximum", "penalty_ms", "penalty_until", "seconds")

    def __init__(self, seconds: int, maximum: int) -> None:
        self.seconds = seconds
        self.maximum = maximum
        #: [value, last update (ms)] per bin; a bin is index (now // 1000) % (seconds + 1).
        self.bins: list[list[int]] = [[0, 0] for _ in range(seconds + 1)]
        self.penalty_ms: int = 0
        self.penalty_until: int = 0
        self.last_update: int = 0

    def total(self, now: int) -> int | None:
        """The sum of the bins updated in the last ``seconds`` seconds (None: none was)."""
        since = now - self.seconds * 1000
        live = [value for value, updated in self.bins if updated >= since and updated > 0]
        return sum(live) if live else None

    def try_add(self, value: int, now: int) -> bool:
        if value < 0 or self.penalty_until > now:
            return False
        total = self.total(now)
        if total is not None and total >= self.maximum:
            return False
        if self.penalty_ms > 0:
            self.penalty_until = now + self.penalty_ms
            self.penalty_ms = 0
            return False
        current = self.bins[(now // 1000) % len(self.bins)]
        if current[1] < now - 1000:
            current[0] = 0
        current[0] += value
        current[1] = now
        if current[0] > self.maximum:
            # how long sending the excess takes at the maximum rate
            self.penalty_ms = int(self.seconds * 1000 * (current[0] - self.maximum) / self.maximum)
        self.last_update = now
        return True

    def dump(self) -> list[object]:
        return [self.penalty_ms, self.penalty_until, self.last_update, self.bins]

    @classmethod
    def load(cls, raw: object, seconds: int, maximum: int) -> Throttle | None:
        """A throttle from ``dump``'s form, or None if it is not that."""
        if not isinstance(raw, list) or len(raw) != 4 or not isinstance(raw[3], list):
            return None
        throttle = cls(seconds, maximum)
        try:
            bins: list[list[int]] = [[int(v), int(t)] for v, t in raw[3]]
            penalty_ms, penalty_until, last_update = int(raw[0]), int(raw[1]), int(raw[2])
        except (TypeError, ValueError):
            return None
        if len(bins) != seconds + 1:
            return None
        throttle.bins = bins
        throttle.penalty_ms, throttle.penalty_until, throttle.last_update = penalty_ms, penalty_until, last_update
        return throttle


class ControlRate(Processor):
    """Lets FlowFiles through at most at a configured rate per Time Duration,
    counted as content bytes, as FlowFiles, as the sum of an attribute, or as
    both bytes and FlowFiles. Over the rate a FlowFile is held in its queue
    (so back pressure builds up upstream), or routed to 'rate exceeded'. With
    a Grouping Attribute each value is throttled separately (FlowFiles without
    it share one throttle).

    NiFi's throttle, exactly: the rate is the sum over the last Time Duration
    in one-second bins (a sliding window); a FlowFile passes whenever that sum
    is still below the maximum, even if it then goes over, and going over by
    a fraction of the maximum holds the throttle for that fraction of Time
    Duration (so a 20000 attribute passes a 20000-per-second throttle that is
    at 9000, and the next one waits 1.45 seconds). With 'data rate or
    flowfile count' the data throttle is asked first, then the count. A
    FlowFile whose Rate Controlled Attribute is missing or not a positive
    whole number goes to failure (and ends the batch when holding, as in
    NiFi). Without a Grouping Attribute the first held FlowFile ends the batch.

    The throttles outlive a stop and start and a configuration change that
    keeps Rate Control Criteria, Time Duration, Rate Controlled Attribute and
    Grouping Attribute (a new maximum applies to the current throttles), as
    NiFi keeps them then and clears them when one of those four changes.
    flowyard also keeps them in component state, so a restart of the engine
    does not reset them either (state keys ``settings`` and ``throttles``;
    throttles unused for two periods are dropped). Like NiFi's
    (``@TriggerSerially``) it runs one task at a time: more than one
    concurrent task is invalid. Time Duration is at least 1 sec, as in NiFi.

    Differences from NiFi: NiFi's throttles live in memory only, so NiFi
    resets them when the whole instance restarts; flowyard keeps them.
    """

    blocking = False
    spec = ProcessorSpec(
        description="Limits how much passes per time window, counted as data size, FlowFile count or the sum of an "
                    "attribute's values.",
        tags=("rate control", "throttle", "rate", "throughput"),
        properties=(CRITERIA, TIME_DURATION, MAX_RATE, MAX_DATA_RATE, MAX_COUNT_RATE, STRATEGY, RATE_ATTRIBUTE,
                    GROUPING),
        relationships=(SUCCESS, FAILURE, RATE_EXCEEDED),
        input_requirement=InputRequirement.REQUIRED,
        stateful=True,
    )

    @classmethod
    def relationships_for(cls, dynamic_properties: Mapping[str, str],
                          properties: Mapping[str, str | None]) -> tuple[Relationship, ...]:
        """'rate exceeded' exists only when FlowFiles are routed there (as in NiFi)."""
        strategy = properties.get(STRATEGY.key) or properties.get(STRATEGY.display_name) or HOLD
        return (SUCCESS, FAILURE, RATE_EXCEEDED) if strategy == ROUTE else (SUCCESS, FAILURE)

    def __init__(self) -> None:
        self._data: dict[str, Throttle] = {}
        self._count: dict[str, Throttle] = {}
        #: Whether the throttles were read back from component state since scheduling.
        self._restored = False

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        if context.max_concurrent_tasks > 1:
            yield ValidationResult("Concurrent Tasks", "ControlRate runs one task at a time (as NiFi's "
                                   "@TriggerSerially): set Concurrent Tasks to 1")
        try:
            if parse_duration(context.property(TIME_DURATION).as_str()) < 1:
                yield ValidationResult(TIME_DURATION.display_name, "must be at least 1 sec (as in NiFi)",
                                       TIME_DURATION.key)
        except ValueError:
            pass  # the property's own validator says why
        criteria = context.property(CRITERIA).as_str()
        if criteria == DATA_OR_COUNT:
            for spec in (MAX_DATA_RATE, MAX_COUNT_RATE):
                if not context.property(spec).is_set:
                    yield ValidationResult(spec.display_name, f"is required with '{DATA_OR_COUNT}'")
            return
        rate = context.property(MAX_RATE)
        if not rate.is_set:
            yield ValidationResult(MAX_RATE.display_name, f"is required with '{criteria}'")
            return
        text = rate.as_str()
        try:
            ok = parse_data_size(text) > 0 if criteria == DATA_RATE else _positive_long(text) is not None
        except ValueError:
            ok = False
        if not ok:
            what = "a data size such as '1 MB'" if criteria == DATA_RATE else "a whole number above 0"
            yield ValidationResult(MAX_RATE.display_name, f"'{text}' is not {what}")
        if criteria == ATTRIBUTE and not context.property(RATE_ATTRIBUTE).is_set:
            yield ValidationResult(RATE_ATTRIBUTE.display_name, f"is required with '{ATTRIBUTE}'")

    def on_scheduled(self, context: ProcessContext) -> None:
        self._data.clear()
        self._count.clear()
        self._restored = False
        criteria = context.property(CRITERIA).as_str()
        self._criteria = criteria
        self._seconds = max(1, int(parse_duration(context.property(TIME_DURATION).as_str())))
        self._max_bytes = self._max_count = 0
        if criteria == DATA_RATE:
            self._max_bytes = parse_data_size(context.property(MAX_RATE).as_str())
        elif criteria in (COUNT, ATTRIBUTE):
            self._max_count = int(context.property(MAX_RATE).as_str())
        else:
            self._max_bytes = parse_data_size(context.property(MAX_DATA_RATE).as_str())
            self._max_count = int(context.property(MAX_COUNT_RATE).as_str())
        self._attribute = context.property(RATE_ATTRIBUTE).as_str() if criteria == ATTRIBUTE else ""
        self._route = context.property(STRATEGY).as_str() == ROUTE
        grouping = context.property(GROUPING)
        self._grouping = grouping.as_str() if grouping.is_set else None
        # What NiFi's onPropertyModified clears the throttles for (a new maximum keeps them).
        self._settings = "\n".join((criteria, str(self._seconds), self._attribute, self._grouping or ""))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        now = context.now_ms()
        if not self._restored:
            self._restore(session.get_state())
        if not self._route and not self._grouping and self._blocked(now):
            context.yield_()  # the default throttle refuses anything now: take nothing in vain
            return
        batch = session.get_batch(_BATCH)
        if not batch:
            context.yield_()
            return
        passed = 0
        stop = False
        for ff in batch:
            if stop:
                session.transfer(ff)  # not looked at: back to its queue, in order
                continue
            if not self._valid(ff):
                context.logger.error(f"{ff!r} has no positive whole-number '{self._attribute}' attribute: "
                                     "routing to failure")
                session.transfer(ff, FAILURE)
                stop = not self._route  # NiFi's filter: ACCEPT_AND_TERMINATE
                continue
            if self._accept(ff, now):
                passed += 1
                if self._route:
                    session.provenance.route(ff, SUCCESS.name)
                session.transfer(ff, SUCCESS)
            elif self._route:
                session.provenance.route(ff, RATE_EXCEEDED.name)
                session.transfer(ff, RATE_EXCEEDED)
            else:
                session.transfer(ff)  # held in its queue until the rate allows it
                stop = self._grouping is None  # NiFi: REJECT_AND_TERMINATE without grouping
        if passed:
            self._save(session, now)
        else:
            context.yield_()  # nothing could pass: wait instead of spinning

    # -- throttling -----------------------------------------------------------------------------

    def _valid(self, ff: FlowFile) -> bool:
        return self._criteria != ATTRIBUTE or _positive_long(ff.attributes.get(self._attribute)) is not None

    def _throttle(self, throttles: dict[str, Throttle], group: str, maximum: int) -> Throttle:
        throttle = throttles.get(group)
        if throttle is None:
            throttle = throttles[group] = Throttle(self._seconds, maximum)
        return throttle

    def _accept(self, ff: FlowFile, now: int) -> bool:
        """NiFi's ThrottleFilter: the data throttle first (if any), then the count throttle."""
        group = ff.attributes.get(self._grouping, "") if self._grouping else ""
        if self._max_bytes:
            if not self._throttle(self._data, group, self._max_bytes).try_add(ff.size, now):
                return False
            if not self._max_count:
                return True
        if self._max_count:
            amount = 1 if self._criteria != ATTRIBUTE else _positive_long(ff.attributes.get(self._attribute)) or 0
            return self._throttle(self._count, group, self._max_count).try_add(amount, now)
        return False

    def _blocked(self, now: int) -> bool:
        """Whether the shared throttle refuses anything now (so nothing need be taken)."""
        for throttles, maximum in ((self._data, self._max_bytes), (self._count, self._max_count)):
            throttle = throttles.get("")
            if maximum and throttle is not None:
                total = throttle.total(now)
                if throttle.penalty_until > now or (total is not None and total >= maximum):
                    return True
        return False

    # -- state ------------------------------------------------------------------------------------

    def _restore(self, state: Mapping[str, str]) -> None:
        """Take back the throttles of component state, unless the settings that define them changed
        (the current maxima apply, as NiFi sets a new maximum on its throttles)."""
        self._restored = True
        if state.get("settings") != self._settings:
            return
        try:
            saved = json.loads(state.get("throttles", "{}"))
        except ValueError:
            return
        if not isinstance(saved, dict):
            return
        for kind, throttles, maximum in (("data", self._data, self._max_bytes),
                                         ("count", self._count, self._max_count)):
            for group, raw in dict(saved.get(kind) or {}).items():
                throttle = Throttle.load(raw, self._seconds, maximum) if maximum else None
                if throttle is not None:
                    throttles[str(group)] = throttle

    def _save(self, session: ProcessSession, now: int) -> None:
        """Write the throttles to component state; those unused for two periods are dropped
        (NiFi clears them as well)."""
        horizon = now - 2 * self._seconds * 1000
        dumped: dict[str, dict[str, list[object]]] = {}
        for kind, throttles in (("data", self._data), ("count", self._count)):
            for group in [g for g, t in throttles.items() if t.last_update < horizon and t.penalty_until <= now]:
                del throttles[group]
            dumped[kind] = {group: t.dump() for group, t in throttles.items()}
        session.set_state({"settings": self._settings, "throttles": json.dumps(dumped, separators=(",", ":"))})


def _positive_long(value: str | None) -> int | None:
    if value is None or not _POSITIVE_LONG.fullmatch(value):
        return None
    number = int(value)
    return number if number <= _MAX_LONG else None

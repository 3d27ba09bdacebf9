"""ControlRate: let at most so many flowfiles (or bytes, or an attribute's sum) through per time window."""

from __future__ import annotations

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

_BATCH = 1000
_WINDOW = "window."

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


class ControlRate(Processor):
    """Lets FlowFiles through at most at a configured rate, per window of Time
    Duration: counted as content bytes, as FlowFiles, as the sum of an
    attribute, or as both bytes and FlowFiles. Over the rate a FlowFile is held
    in its queue until the window starts again (so back pressure builds up
    upstream), or routed to 'rate exceeded'. With a Grouping Attribute each
    value is throttled separately.

    A single FlowFile larger than the whole data rate passes when its window
    is still empty (otherwise it could never pass), as in NiFi.

    The windows outlive a stop and start and a configuration change that keeps
    Rate Control Criteria, Time Duration, Rate Controlled Attribute and
    Grouping Attribute (a new Maximum Rate applies to the current window), as
    NiFi keeps its throttles then and clears them when one of those four
    changes. flowyard also keeps them in component state, so a restart of the
    engine does not open a fresh window either (state keys ``settings`` and
    ``window.<group>``: start, bytes, count, sum; expired windows are dropped).
    Like NiFi's (``@TriggerSerially``) it runs one task at a time: more than
    one concurrent task is invalid.

    Differences from NiFi: NiFi's windows live in memory only, so NiFi opens
    new ones after a restart of the whole instance; flowyard keeps them.
    """

    blocking = False
    spec = ProcessorSpec(
        description="Controls the rate at which FlowFiles pass: by data size, count or an attribute's values.",
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
        #: group -> [window start (ms), bytes used, count used, attribute sum used]
        self._windows: dict[str, list[int]] = {}
        #: Whether the windows were read back from component state since scheduling.
        self._restored = False

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        if context.max_concurrent_tasks > 1:
            yield ValidationResult("Concurrent Tasks", "ControlRate runs one task at a time (as NiFi's "
                                   "@TriggerSerially): set Concurrent Tasks to 1")
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
            ok = parse_data_size(text) > 0 if criteria == DATA_RATE else int(text) > 0
        except ValueError:
            ok = False
        if not ok:
            what = "a data size such as '1 MB'" if criteria == DATA_RATE else "a whole number above 0"
            yield ValidationResult(MAX_RATE.display_name, f"'{text}' is not {what}")
        if criteria == ATTRIBUTE and not context.property(RATE_ATTRIBUTE).is_set:
            yield ValidationResult(RATE_ATTRIBUTE.display_name, f"is required with '{ATTRIBUTE}'")

    def on_scheduled(self, context: ProcessContext) -> None:
        self._windows.clear()
        self._restored = False
        criteria = context.property(CRITERIA).as_str()
        self._criteria = criteria
        self._period_ms = int(parse_duration(context.property(TIME_DURATION).as_str()) * 1000)
        self._max_bytes = self._max_count = self._max_sum = 0
        if criteria == DATA_RATE:
            self._max_bytes = parse_data_size(context.property(MAX_RATE).as_str())
        elif criteria == COUNT:
            self._max_count = int(context.property(MAX_RATE).as_str())
        elif criteria == ATTRIBUTE:
            self._max_sum = int(context.property(MAX_RATE).as_str())
            self._attribute = context.property(RATE_ATTRIBUTE).as_str()
        else:
            self._max_bytes = parse_data_size(context.property(MAX_DATA_RATE).as_str())
            self._max_count = int(context.property(MAX_COUNT_RATE).as_str())
        self._route = context.property(STRATEGY).as_str() == ROUTE
        grouping = context.property(GROUPING)
        self._grouping = grouping.as_str() if grouping.is_set else None
        attribute = self._attribute if criteria == ATTRIBUTE else ""
        # What NiFi's onPropertyModified clears the throttles for (a new maximum keeps them).
        self._settings = "\n".join((criteria, str(self._period_ms), attribute, self._grouping or ""))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        now = context.now_ms()
        if not self._restored:
            self._restore(session.get_state(), now)
        limit = self._room(now)
        if limit <= 0:
            context.yield_()  # the window is used up: nothing is taken (and counted) in vain
            return
        batch = session.get_batch(limit)
        if not batch:
            return
        held = 0
        for ff in batch:
            amount = self._amount(ff)
            if amount is None:
                context.logger.error(f"{ff!r} has no whole-number '{self._attribute}' attribute: routing to failure")
                session.transfer(ff, FAILURE)
                continue
            group = ff.attributes.get(self._grouping, "") if self._grouping else ""
            window = self._windows.get(group)
            if window is None or now - window[0] >= self._period_ms:
                window = self._windows[group] = [now, 0, 0, 0]
            if self._fits(window, ff.size, amount):
                window[1] += ff.size
                window[2] += 1
                window[3] += amount
                session.transfer(ff, SUCCESS)
            elif self._route:
                session.transfer(ff, RATE_EXCEEDED)
            else:
                session.transfer(ff)  # back to its queue until the window starts again
                held += 1
        if held < len(batch):
            self._save(session, now)
        if held == len(batch):
            context.yield_()  # nothing could pass: wait instead of spinning

    def _restore(self, state: Mapping[str, str], now: int) -> None:
        """Take back the windows of component state that are still open, unless the
        settings that define them changed."""
        self._restored = True
        if state.get("settings") != self._settings:
            return
        for key, value in state.items():
            if not key.startswith(_WINDOW):
                continue
            try:
                window = [int(part) for part in value.split(",")]
            except ValueError:
                continue
            if len(window) == 4 and 0 <= now - window[0] < self._period_ms:
                self._windows.setdefault(key[len(_WINDOW):], window)

    def _save(self, session: ProcessSession, now: int) -> None:
        """Write the open windows to component state (closed ones are forgotten)."""
        for group in [g for g, w in self._windows.items() if now - w[0] >= self._period_ms]:
            del self._windows[group]
        state = {f"{_WINDOW}{group}": ",".join(map(str, w)) for group, w in self._windows.items()}
        state["settings"] = self._settings
        session.set_state(state)

    def _room(self, now: int) -> int:
        """How many FlowFiles to take: without grouping and when holding, no more than
        the window has room for (none when it is used up), so held FlowFiles stay put."""
        if self._route or self._grouping:
            return _BATCH
        window = self._windows.get("")
        if window is None or now - window[0] >= self._period_ms:
            return min(_BATCH, self._max_count) if self._max_count else _BATCH
        if (self._max_bytes and window[1] >= self._max_bytes) or (self._max_sum and window[3] >= self._max_sum):
            return 0
        return min(_BATCH, self._max_count - window[2]) if self._max_count else _BATCH

    def _amount(self, ff: FlowFile) -> int | None:
        if self._criteria != ATTRIBUTE:
            return 0
        value = ff.attributes.get(self._attribute)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def _fits(self, window: list[int], size: int, amount: int) -> bool:
        empty = window[2] == 0
        if self._max_count and window[2] + 1 > self._max_count:
            return False
        if self._max_bytes and window[1] + size > self._max_bytes and not empty:
            return False
        return not (self._max_sum and window[3] + amount > self._max_sum and not empty)

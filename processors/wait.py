"""Wait: hold FlowFiles until Notify has signalled their release in a map cache."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

from flowyard.processors import _wait_notify
from flowyard.processors.map_cache import DISTRIBUTED_MAP_CACHE_CLIENT, DistributedMapCacheClient
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["WAIT_START_TIMESTAMP", "Wait"]

WAIT_START_TIMESTAMP = "wait.start.timestamp"
_COUNTER_PREFIX = "wait.counter."
_SCAN = 1000  # FlowFiles looked at per trigger to find one signal identifier's FlowFiles
_JAVA_LONG = re.compile(r"[+-]?[0-9]+")

REPLACE = "replace"
KEEP_ORIGINAL = "keeporiginal"
WAIT_MODE_WAIT = "wait"
WAIT_MODE_KEEP = "keep"

SUCCESS = Relationship("success", "FlowFiles released by their signal in the cache.")
WAIT = Relationship(
    "wait",
    "FlowFiles whose signal has not released them yet (with 'Transfer to wait relationship'); loop it back "
    "into Wait, ideally with a First In First Out prioritizer.",
)
EXPIRED = Relationship("expired", "FlowFiles that waited longer than the Expiration Duration.")
FAILURE = Relationship(
    "failure",
    "FlowFiles (penalized) whose Release Signal Identifier is empty, whose wait.start.timestamp, Target Signal "
    "Count or Releasable FlowFile Count is not a number.",
)

RELEASE_SIGNAL_IDENTIFIER = PropertySpec(
    key="release-signal-identifier",
    display_name="Release Signal Identifier",
    description="Evaluated against each FlowFile: the cache key of the release signal it waits for.",
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("release-signal-id",),
)
TARGET_SIGNAL_COUNT = PropertySpec(
    key="target-signal-count",
    display_name="Target Signal Count",
    description=(
        "How many signals (of the Signal Counter Name, or in total) release FlowFiles; that many are consumed "
        "each time."
    ),
    required=True,
    default="1",
    validator=validators.NON_NEGATIVE_INTEGER,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
SIGNAL_COUNTER_NAME = PropertySpec(
    key="signal-counter-name",
    display_name="Signal Counter Name",
    description="The counter of the signal to check; unset or empty checks the total of all counters.",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
WAIT_BUFFER_COUNT = PropertySpec(
    key="wait-buffer-count",
    display_name="Wait Buffer Count",
    description=(
        "How many FlowFiles with the same signal identifier are checked against the cache at once (one "
        "identifier per trigger)."
    ),
    required=True,
    default="1",
    validator=validators.POSITIVE_INTEGER,
)
RELEASABLE_FLOWFILE_COUNT = PropertySpec(
    key="releasable-flowfile-count",
    display_name="Releasable FlowFile Count",
    description=(
        "How many FlowFiles each Target Signal Count of signals releases. 0: every FlowFile passes while the "
        "count is reached, and nothing is consumed (a gate Notify opens with 1 and closes with 0)."
    ),
    required=True,
    default="1",
    validator=validators.NON_NEGATIVE_INTEGER,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
EXPIRATION_DURATION = PropertySpec(
    key="expiration-duration",
    display_name="Expiration Duration",
    description="How long a FlowFile may wait (from wait.start.timestamp) before it goes to expired.",
    required=True,
    default="10 min",
    validator=validators.TIME_PERIOD,
)
DISTRIBUTED_CACHE_SERVICE = PropertySpec(
    key="distributed-cache-service",
    display_name="Distributed Cache Service",
    description="The map cache the release signals are read from, shared with the Notify processors.",
    required=True,
    identifies_controller_service=DISTRIBUTED_MAP_CACHE_CLIENT,
)
ATTRIBUTE_COPY_MODE = PropertySpec(
    key="attribute-copy-mode",
    display_name="Attribute Copy Mode",
    description="How attributes cached by Notify are copied onto the FlowFiles.",
    required=True,
    default=KEEP_ORIGINAL,
    allowed_values=(
        AllowableValue(REPLACE, "Replace if present", "Cached attributes replace the FlowFile's own."),
        AllowableValue(KEEP_ORIGINAL, "Keep original", "Only attributes the FlowFile lacks are copied."),
    ),
)
WAIT_MODE = PropertySpec(
    key="wait-mode",
    display_name="Wait Mode",
    description="Where FlowFiles go while their signal has not released them.",
    required=True,
    default=WAIT_MODE_WAIT,
    allowed_values=(
        AllowableValue(
            WAIT_MODE_WAIT, "Transfer to wait relationship",
            "To the wait relationship, which lets other FlowFiles reach Wait; loop it back with a FIFO prioritizer.",
        ),
        AllowableValue(
            WAIT_MODE_KEEP, "Keep in the upstream connection",
            "Back to the connection they came from, so its back pressure holds the upstream processor.",
        ),
    ),
)
WAIT_PENALTY_DURATION = PropertySpec(
    key="wait-penalty-duration",
    display_name="Wait Penalty Duration",
    description=(
        "When set, a signal identifier whose FlowFiles were checked without any being released is skipped for "
        "this long, so it does not hold up other identifiers (keeping each identifier's order)."
    ),
    validator=validators.TIME_PERIOD,
)


def _signal_attributes(
    signal: _wait_notify.Signal | None, original_counts: Mapping[str, int], attributes: Mapping[str, str],
    replace: bool,
) -> dict[str, str]:
    """The attributes a FlowFile gets from the signal, as NiFi copies them."""
    if signal is None:
        return {}
    if replace:
        copied = {k: v for k, v in signal.attributes.items() if k != "uuid"}
    else:
        copied = {k: v for k, v in signal.attributes.items() if k not in attributes}
    for name, count in original_counts.items():
        copied[f"{_COUNTER_PREFIX}{name}"] = str(count)
    copied[f"{_COUNTER_PREFIX}total"] = str(sum(original_counts.values()))
    return copied


class Wait(Processor):
    """Routes FlowFiles to wait until the release signal named by their
    Release Signal Identifier, written by Notify into the map cache, has
    enough signals; then releases them to success.

    As NiFi's Wait: one signal identifier is handled per trigger, up to Wait
    Buffer Count of its FlowFiles (the first FlowFile taken chooses it);
    each FlowFile gets ``wait.start.timestamp`` the first time it is seen
    and goes to expired once it waited longer than the Expiration Duration.
    Without a signal, FlowFiles wait. With a Releasable FlowFile Count above
    0, each Target Signal Count signals of the counter (or of the total when
    no Signal Counter Name is set) release that many FlowFiles, the signals
    are consumed, and the releasable remainder is kept in the signal; the
    signal is removed once nothing is left. With 0, every FlowFile passes
    while the count is reached and nothing is consumed. Target and
    releasable counts come from the first FlowFile checked. FlowFiles that
    leave (success, expired) lose ``wait.start.timestamp``; every FlowFile
    routed while a signal exists gets the cached attributes (Attribute Copy
    Mode) and ``wait.counter.<name>`` for each counter (before consumption)
    plus ``wait.counter.total``. An empty identifier or an unparsable number
    sends the FlowFile to failure, penalized. 'Keep in the upstream
    connection' returns waiting FlowFiles to their queue. Wait Penalty
    Duration skips an identifier for a while after nothing was released.
    The signal is updated by compare-and-set: when another processor changed
    it meanwhile, the session is rolled back and tried again later.

    Differences from NiFi: NiFi picks the FlowFiles of one identifier from
    the whole queue without moving the others; flowyard looks at up to 1000
    FlowFiles per trigger, in chunks of the Wait Buffer Count, and puts the
    ones of other identifiers back at the end of the queue (behind the ones
    it did not look at, as NiFi's test kit does). A trigger that
    finds only FlowFiles of penalized identifiers yields. A Target Signal Count of 0 with a Releasable FlowFile
    Count above 0 sends the FlowFile to failure (NiFi divides by zero).
    Times come from the framework's clock (the mock clock in tests).
    """

    spec = ProcessorSpec(
        description=(
            "Holds FlowFiles back until Notify has recorded their release signal in a map cache, then lets them "
            "through to 'success'; those held past the Expiration Duration go to 'expired'."
        ),
        tags=("map", "cache", "wait", "hold", "distributed", "signal", "release"),
        properties=(RELEASE_SIGNAL_IDENTIFIER, TARGET_SIGNAL_COUNT, SIGNAL_COUNTER_NAME, WAIT_BUFFER_COUNT,
                    RELEASABLE_FLOWFILE_COUNT, EXPIRATION_DURATION, DISTRIBUTED_CACHE_SERVICE, ATTRIBUTE_COPY_MODE,
                    WAIT_MODE, WAIT_PENALTY_DURATION),
        relationships=(SUCCESS, WAIT, EXPIRED, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            (WAIT_START_TIMESTAMP, "When the FlowFile first entered Wait (epoch ms); removed when it leaves "
                                   "to success, expired or failure."),
            ("wait.counter.<counterName>", "Each counter of the signal (and wait.counter.total) when it was "
                                           "checked."),
        ),
    )

    def __init__(self) -> None:
        self._penalties: dict[str, int] = {}
        self._lock = threading.Lock()

    def on_stopped(self, context: ProcessContext) -> None:
        """Forget penalized signal identifiers."""
        with self._lock:
            self._penalties.clear()

    def _penalized(self, now: int) -> set[str]:
        with self._lock:
            for signal_id in [s for s, until in self._penalties.items() if until < now]:
                del self._penalties[signal_id]
            return set(self._penalties)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Check one signal identifier's FlowFiles against the cache."""
        buffer_count = context.property(WAIT_BUFFER_COUNT).as_int()
        now = context.now_ms()
        penalized = self._penalized(now)
        failed: list[FlowFile] = []
        accepted: list[FlowFile] = []
        rejected: list[FlowFile] = []
        target_id: str | None = None
        scanned = 0
        # NiFi filters the queue for the first identifier's FlowFiles; taking
        # them in chunks of the buffer size keeps what goes back to the queue small
        while len(accepted) < buffer_count and scanned < _SCAN:
            chunk = session.get_batch(min(buffer_count, _SCAN - scanned))
            if not chunk:
                break
            scanned += len(chunk)
            for index, ff in enumerate(chunk):
                if len(accepted) == buffer_count:
                    session.transfer_all(chunk[index:])  # not looked at: back to the queue first
                    break
                signal_id = self._signal_id(context, ff)
                if signal_id is None:
                    failed.append(ff)
                elif signal_id in penalized or (target_id is not None and signal_id != target_id):
                    rejected.append(ff)
                else:
                    target_id = signal_id
                    accepted.append(ff)
        session.transfer_all(rejected)  # after them, as NiFi's filter puts rejected FlowFiles back
        for ff in failed:
            self._to_failure(session, ff)
        if target_id is None:
            if not failed:
                context.yield_()  # nothing, or only penalized identifiers: do not spin
            return
        self._wait(context, session, target_id, accepted, now)

    @staticmethod
    def _signal_id(context: ProcessContext, ff: FlowFile) -> str | None:
        """The evaluated Release Signal Identifier, or None (logged) when it is empty or fails."""
        try:
            signal_id = context.property(RELEASE_SIGNAL_IDENTIFIER).evaluate(ff.attributes).value or ""
        except ValueError as exc:
            context.logger.error(f"cannot evaluate the Release Signal Identifier for {ff!r}: {exc}")
            return None
        if not signal_id.strip():
            context.logger.error(f"{ff!r} has no value for the Release Signal Identifier")
            return None
        return signal_id

    @staticmethod
    def _to_failure(session: ProcessSession, ff: FlowFile) -> None:
        ff = session.remove_attribute(session.penalize(ff), WAIT_START_TIMESTAMP)
        session.transfer(ff, FAILURE)

    def _wait(self, context: ProcessContext, session: ProcessSession, signal_id: str, flowfiles: list[FlowFile],
              now: int) -> None:
        cache = context.property(DISTRIBUTED_CACHE_SERVICE).as_controller_service(DistributedMapCacheClient)
        signal = _wait_notify.get_signal(cache, signal_id)
        original_counts = dict(signal.counts) if signal is not None else {}
        expiration_ms = int(context.property(EXPIRATION_DURATION).as_duration() * 1000)
        routed: dict[str, list[FlowFile]] = {SUCCESS.name: [], WAIT.name: [], EXPIRED.name: []}
        candidates: list[FlowFile] = []
        counter_name: str | None = None
        target_count = 1
        releasable = 1
        for ff in flowfiles:
            started = ff.attributes.get(WAIT_START_TIMESTAMP)
            if started is None:
                started = str(now)
                ff = session.put_attribute(ff, WAIT_START_TIMESTAMP, started)
            if not _JAVA_LONG.fullmatch(started):
                context.logger.error(f"{WAIT_START_TIMESTAMP} of {ff!r} is {started!r}, not a number")
                self._to_failure(session, ff)
                continue
            if now > int(started) + expiration_ms:
                context.logger.info(f"{ff!r} expired after {now - int(started)} ms")
                routed[EXPIRED.name].append(ff)
                continue
            if signal is None:
                routed[WAIT.name].append(ff)
                continue
            if not candidates:
                try:
                    counter_name, target_count, releasable = self._criteria(context, ff)
                except ValueError as exc:
                    context.logger.error(f"cannot check {ff!r}: {exc}; routing it to failure")
                    self._to_failure(session, ff)
                    continue
            candidates.append(ff)

        completed = progressed = False
        if signal is not None and candidates:
            if releasable > 0:
                released, waiting = signal.release(counter_name, target_count, releasable, candidates)
                routed[SUCCESS.name] += released
                routed[WAIT.name] += waiting
                completed = signal.total_count == 0 and signal.releasable_count == 0
                progressed = bool(routed[SUCCESS.name])
            elif signal.count(counter_name) >= target_count:
                routed[SUCCESS.name] += candidates
            else:
                routed[WAIT.name] += candidates

        replace = context.property(ATTRIBUTE_COPY_MODE).as_str() == REPLACE
        keep_upstream = context.property(WAIT_MODE).as_str() == WAIT_MODE_KEEP
        for relationship, members in routed.items():
            for ff in members:
                if relationship != WAIT.name:
                    ff = session.remove_attribute(ff, WAIT_START_TIMESTAMP)
                copied = _signal_attributes(signal, original_counts, ff.attributes, replace)
                if copied:
                    ff = session.put_attributes(ff, copied)
                if relationship == WAIT.name and keep_upstream:
                    session.transfer(ff)
                else:
                    session.transfer(ff, relationship)

        penalty = context.property(WAIT_PENALTY_DURATION)
        if penalty.is_set and not routed[SUCCESS.name]:
            with self._lock:
                self._penalties[signal_id] = now + int(penalty.as_duration() * 1000)
        if signal is not None and completed:
            _wait_notify.complete(cache, signal)
        elif signal is not None and progressed:
            _wait_notify.replace(cache, signal)

    @staticmethod
    def _criteria(context: ProcessContext, ff: FlowFile) -> tuple[str | None, int, int]:
        """Signal Counter Name, Target Signal Count and Releasable FlowFile Count for ``ff``."""
        attributes = ff.attributes
        counter = context.property(SIGNAL_COUNTER_NAME).evaluate(attributes).value
        target_text = context.property(TARGET_SIGNAL_COUNT).evaluate(attributes).value or ""
        releasable_text = context.property(RELEASABLE_FLOWFILE_COUNT).evaluate(attributes).value or ""
        if not _JAVA_LONG.fullmatch(target_text):
            raise ValueError(f"the Target Signal Count {target_text!r} is not a number")
        if not _JAVA_LONG.fullmatch(releasable_text):
            raise ValueError(f"the Releasable FlowFile Count {releasable_text!r} is not a number")
        target, releasable = int(target_text), int(releasable_text)
        if releasable > 0 and target <= 0:
            raise ValueError(f"a Target Signal Count of {target} cannot release FlowFiles by count")
        return counter, target, releasable

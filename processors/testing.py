"""Fault-injection processors for flowyard's own tests (engine, reliability, UI).

They are not in ``flowyard.processors.PROCESSORS`` and so not offered to
users; a test harness registers ``TEST_PROCESSORS`` explicitly where it wants
them (for instance an engine started with a test-only flag).

- ``RaiseError``: takes its input and raises, so the session is rolled back.
- ``Sleep``: blocks its worker thread for a while on every run.
- ``Hold``: takes FlowFiles and keeps them in an open session until released
  through a named ``threading.Event`` (``release_hold``) or a flag file.
- ``CountingSink``: drops everything it receives and counts it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable

from flowyard.runtime.sdk import (
    AllowableValue,
    InputRequirement,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = [
    "TEST_PROCESSORS",
    "CountingSink",
    "Hold",
    "RaiseError",
    "Sleep",
    "counted",
    "hold_event",
    "release_hold",
    "reset_counts",
    "reset_hold",
]

SUCCESS = Relationship("success", "FlowFiles the processor let through.")

BATCH_SIZE = PropertySpec(
    key="batch-size",
    display_name="Batch Size",
    description="The most FlowFiles taken in one run.",
    required=True,
    default="100",
    validator=validators.POSITIVE_INTEGER,
)

# -- RaiseError ------------------------------------------------------------------

EXCEPTION_TYPE = PropertySpec(
    key="exception-type",
    display_name="Exception Type",
    description="What is raised.",
    required=True,
    default="RuntimeError",
    allowed_values=(
        AllowableValue("RuntimeError", description="An unexpected error: rollback, yield and a bulletin."),
        AllowableValue("ProcessingError", description="An expected failure: rollback and penalized input."),
    ),
)
ERROR_MESSAGE = PropertySpec(
    key="error-message",
    display_name="Error Message",
    description="The message of the raised exception.",
    required=True,
    default="RaiseError was told to fail",
)
FAILURE_COUNT = PropertySpec(
    key="failure-count",
    display_name="Failure Count",
    description="How many runs raise before later runs pass their input to success; 0 means every run raises.",
    required=True,
    default="0",
    validator=validators.NON_NEGATIVE_INTEGER,
)


class RaiseError(Processor):
    """Takes a batch of input (if any) and raises, so the framework rolls the
    session back: ``RuntimeError`` (unexpected: yield and bulletin) or
    ``ProcessingError`` (expected: input penalized). With a Failure Count, only
    the first that many runs of this instance raise; later runs transfer
    their input to success."""

    blocking = False
    spec = ProcessorSpec(
        description="Test processor: raises an exception on every run (or on the first few runs).",
        tags=("test", "fault"),
        properties=(EXCEPTION_TYPE, ERROR_MESSAGE, FAILURE_COUNT, BATCH_SIZE),
        relationships=(SUCCESS,),
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs = 0

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Raise, or pass the input on once Failure Count runs have failed."""
        batch = session.get_batch(context.property(BATCH_SIZE).as_int())
        limit = context.property(FAILURE_COUNT).as_int()
        with self._lock:
            self.runs += 1
            fail = limit == 0 or self.runs <= limit
        if not fail:
            session.transfer_all(batch, SUCCESS)
            return
        message = context.property(ERROR_MESSAGE).as_str()
        if context.property(EXCEPTION_TYPE).as_str() == "ProcessingError":
            raise ProcessingError(message)
        raise RuntimeError(message)


# -- Sleep -----------------------------------------------------------------------

DURATION = PropertySpec(
    key="duration",
    display_name="Duration",
    description="How long each run blocks its worker thread.",
    required=True,
    default="1 sec",
    validator=validators.TIME_PERIOD,
)


class Sleep(Processor):
    """Takes a batch of input, blocks for Duration with ``time.sleep`` (a slow,
    uninterruptible processor), then transfers the batch to success. Runs
    without input sleep too."""

    spec = ProcessorSpec(
        description="Test processor: blocks for a fixed time on every run, then passes its input on.",
        tags=("test", "fault", "slow"),
        properties=(DURATION, BATCH_SIZE),
        relationships=(SUCCESS,),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Sleep, then pass the batch on."""
        batch = session.get_batch(context.property(BATCH_SIZE).as_int())
        time.sleep(context.property(DURATION).as_duration())
        session.transfer_all(batch, SUCCESS)


# -- Hold ------------------------------------------------------------------------

_events: dict[str, threading.Event] = {}
_events_lock = threading.Lock()


def hold_event(key: str) -> threading.Event:
    """The event that releases Hold processors whose Hold Key is ``key``
    (created unset on first use; shared by every Hold with that key)."""
    with _events_lock:
        event = _events.get(key)
        if event is None:
            event = _events[key] = threading.Event()
        return event


def release_hold(key: str) -> None:
    """Release every Hold with Hold Key ``key``, now and for later runs."""
    hold_event(key).set()


def reset_hold(key: str) -> None:
    """Make Hold processors with Hold Key ``key`` hold again."""
    hold_event(key).clear()


HOLD_KEY = PropertySpec(
    key="hold-key",
    display_name="Hold Key",
    description="Name of the release event (see release_hold); processors with the same key share it.",
    required=True,
    default="default",
    validator=validators.NON_EMPTY,
)
RELEASE_FLAG_FILE = PropertySpec(
    key="release-flag-file",
    display_name="Release Flag File",
    description="When set, FlowFiles are also released once a file exists at this path.",
    validator=validators.NON_EMPTY,
)
POLL_INTERVAL = PropertySpec(
    key="poll-interval",
    display_name="Poll Interval",
    description="How often the flag file is checked while holding.",
    required=True,
    default="10 millis",
    validator=validators.TIME_PERIOD,
)
MAXIMUM_HOLD = PropertySpec(
    key="maximum-hold-time",
    display_name="Maximum Hold Time",
    description="After holding this long without release, the run raises ProcessingError (input rolled back).",
    required=True,
    default="5 min",
    validator=validators.TIME_PERIOD,
)


class Hold(Processor):
    """Takes a batch of FlowFiles and keeps them in its open session, blocking
    its worker thread, until released; then transfers them to success.

    Released when the event ``hold_event(Hold Key)`` is set (``release_hold``)
    or, with Release Flag File, when that file exists. If neither happens
    within Maximum Hold Time the run raises ``ProcessingError``, so the
    FlowFiles go back to their queue, penalized. ``holding`` tells how many
    FlowFiles this instance holds right now and ``hold_started`` is set each
    time it starts holding a batch, so a test can wait for it without sleeping.
    """

    spec = ProcessorSpec(
        description="Test processor: holds FlowFiles in an open session until released by an event or a flag file.",
        tags=("test", "fault", "hold"),
        properties=(HOLD_KEY, RELEASE_FLAG_FILE, POLL_INTERVAL, MAXIMUM_HOLD, BATCH_SIZE),
        relationships=(SUCCESS,),
    )

    def __init__(self) -> None:
        self.holding = 0
        self.hold_started = threading.Event()

    def _released(self, flag: str | None, event: threading.Event) -> bool:
        return event.is_set() or (flag is not None and os.path.exists(flag))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Hold a batch until released, then pass it on."""
        batch = session.get_batch(context.property(BATCH_SIZE).as_int())
        if not batch:
            return
        event = hold_event(context.property(HOLD_KEY).as_str())
        flag = context.property(RELEASE_FLAG_FILE).value
        poll = max(context.property(POLL_INTERVAL).as_duration(), 0.001)
        deadline = time.monotonic() + context.property(MAXIMUM_HOLD).as_duration()
        self.holding += len(batch)
        self.hold_started.set()
        try:
            while not self._released(flag, event):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ProcessingError(f"Hold was not released within {context.property(MAXIMUM_HOLD).value}")
                event.wait(min(poll, remaining))
        finally:
            self.holding -= len(batch)
        session.transfer_all(batch, SUCCESS)


# -- CountingSink ----------------------------------------------------------------

_counts: dict[str, tuple[int, int]] = {}
_counts_lock = threading.Lock()


def counted(name: str) -> tuple[int, int]:
    """``(flowfiles, bytes)`` dropped so far by CountingSinks named ``name``."""
    with _counts_lock:
        return _counts.get(name, (0, 0))


def reset_counts(name: str | None = None) -> None:
    """Forget the counts of ``name`` (of every name when None)."""
    with _counts_lock:
        if name is None:
            _counts.clear()
        else:
            _counts.pop(name, None)


COUNTER_NAME = PropertySpec(
    key="counter-name",
    display_name="Counter Name",
    description="Name under which counted() reports what this sink dropped.",
    required=True,
    default="default",
    validator=validators.NON_EMPTY,
)


class CountingSink(Processor):
    """Removes every FlowFile it receives (DROP events) and counts them, per
    instance (``count``, ``bytes``) and per Counter Name (``counted``). The
    counts move only when the session commits."""

    blocking = False
    spec = ProcessorSpec(
        description="Test processor: drops all input and counts FlowFiles and bytes.",
        tags=("test", "sink"),
        properties=(COUNTER_NAME, BATCH_SIZE),
        input_requirement=InputRequirement.REQUIRED,
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.bytes = 0

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Drop a batch; count it once the session is committed."""
        batch = session.get_batch(context.property(BATCH_SIZE).as_int())
        if not batch:
            return
        name = context.property(COUNTER_NAME).as_str()
        n, size = len(batch), sum(ff.size for ff in batch)
        for ff in batch:
            session.remove(ff)

        def add() -> None:
            with self._lock:
                self.count += n
                self.bytes += size
            with _counts_lock:
                total_n, total_size = _counts.get(name, (0, 0))
                _counts[name] = (total_n + n, total_size + size)

        session.commit_async(on_success=add)


def _registry(classes: Iterable[type[Processor]]) -> dict[str, type[Processor]]:
    return {cls.type_name: cls for cls in classes}


TEST_PROCESSORS: dict[str, type[Processor]] = _registry((RaiseError, Sleep, Hold, CountingSink))
"""Type name → class of the fault-injection processors (never in ``PROCESSORS``)."""

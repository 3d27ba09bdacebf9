"""ProcessorRunner's run duration: the engine's loop (``on_trigger`` again in the same
session until the duration is used up, the input runs out, the processor yields or
a relationship is back-pressured), ended deterministically by ``trigger_cost``."""

from __future__ import annotations

import pytest

from flowyard.runtime.sdk import (
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)
from flowyard.runtime.sdk.testing import ProcessorRunner

SUCCESS = Relationship("success", "Let through.")
YIELD_AFTER = PropertySpec("yield-after", "Yield After", default="0", validator=validators.NON_NEGATIVE_INTEGER)


class OneAtATime(Processor):
    """Moves one flowfile per call and counts its calls (yields after ``Yield After`` calls, 0: never)."""

    blocking = False
    spec = ProcessorSpec("one per call", properties=(YIELD_AFTER,), relationships=(SUCCESS,))

    def __init__(self) -> None:
        self.calls = 0

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        self.calls += 1
        limit = context.property(YIELD_AFTER).as_int() or 0
        if limit and self.calls >= limit:
            context.yield_()
        ff = session.get()
        if ff is not None:
            session.transfer(ff, SUCCESS)


class OneAtATimeInAThread(OneAtATime):
    blocking = True


class OneAtATimeAsync(Processor):
    blocking = False
    spec = OneAtATime.spec

    def __init__(self) -> None:
        self.calls = 0

    async def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        self.calls += 1
        ff = session.get()
        if ff is not None:
            session.transfer(ff, SUCCESS)


def runner(cls: type[Processor] = OneAtATime, count: int = 100) -> ProcessorRunner:
    r = ProcessorRunner(cls)
    r.enqueue_many((str(i), {}) for i in range(count))
    return r


def commits(r: ProcessorRunner) -> int:
    return r.host.committer.commits_written


@pytest.mark.parametrize("cls", [OneAtATime, OneAtATimeInAThread, OneAtATimeAsync])
def test_a_trigger_repeats_on_trigger_in_one_session_for_the_run_duration(cls: type[Processor]) -> None:
    r = runner(cls)
    before, start = commits(r), r.clock()
    r.run(1, run_duration="25 ms")
    assert r.processor.calls == 25  # type: ignore[attr-defined]  # 1 ms each (trigger_cost)
    r.assert_all_transferred("success", 25)
    assert commits(r) - before == 1, "one session, one commit"
    assert r.clock() - start == 25


def test_each_iteration_is_one_run_duration() -> None:
    r = runner()
    r.run(3, run_duration="10 ms")
    assert r.processor.calls == 30  # type: ignore[attr-defined]
    r.assert_all_transferred("success", 30)


def test_the_trigger_cost_sets_how_many_calls_fit() -> None:
    r = runner()
    r.trigger_cost = 0.005
    r.run(run_duration="25 ms")
    assert r.processor.calls == 5  # type: ignore[attr-defined]


def test_without_a_run_duration_one_call_per_trigger_and_the_clock_stands_still() -> None:
    r = runner()
    start = r.clock()
    r.run(4)
    assert r.processor.calls == 4  # type: ignore[attr-defined]
    assert r.clock() == start


def test_the_loop_ends_when_the_input_runs_out() -> None:
    r = runner(count=7)
    r.run(run_duration="1 sec")
    assert r.processor.calls == 7  # type: ignore[attr-defined]
    r.assert_all_transferred("success", 7)
    r.assert_queue_empty()


def test_the_loop_ends_when_the_processor_yields() -> None:
    r = runner()
    r.set_property("Yield After", "3")
    r.run(run_duration="25 ms")
    assert r.processor.calls == 3  # type: ignore[attr-defined]
    assert r.yield_count == 1


def test_the_loop_ends_when_a_relationship_is_back_pressured() -> None:
    r = runner()
    r.set_relationship_unavailable("success")
    r.run(run_duration="25 ms")  # triggered once anyway (as NiFi's TestRunner), then the queue is full
    assert r.processor.calls == 1  # type: ignore[attr-defined]

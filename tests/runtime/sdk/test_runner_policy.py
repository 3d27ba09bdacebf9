"""ProcessorRunner handles what a trigger raises exactly as the engine does: it runs
the engine's ``ProcessorNode.trigger`` on a mock clock (issue 14, phase B)."""

from __future__ import annotations

import pytest

from flowyard.runtime.sdk import (
    AllowableValue,
    ContentNotFoundError,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    StorageFullError,
)
from flowyard.runtime.sdk.testing import ProcessorRunner

SUCCESS = Relationship("success", "Let through.")
FAILURE = Relationship("failure", "Could not be handled.")
MODES = ("ok", "processing", "runtime", "lost", "missing", "full", "yield", "penalize")
MODE = PropertySpec("mode", "Mode", required=True, default="ok",
                    allowed_values=tuple(AllowableValue(m) for m in MODES))


class Misbehaves(Processor):
    """Takes one flowfile and fails the way ``Mode`` says."""

    blocking = False
    spec = ProcessorSpec("fails on request", properties=(MODE,), relationships=(SUCCESS, FAILURE))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        mode = context.property(MODE).value
        if mode == "yield":
            context.yield_()
        ff = session.get()
        if ff is None:
            return
        if mode == "runtime":
            raise RuntimeError("bug")
        resource = ff.claim[0] if ff.claim is not None else None
        if mode == "processing":
            raise ProcessingError("remote said no")
        if mode == "lost":
            raise ContentNotFoundError("content resource gone", resource=resource)
        if mode == "missing":
            raise ContentNotFoundError("some content gone")
        if mode == "full":
            raise StorageFullError("no space left on device")
        if mode == "penalize":
            ff = session.penalize(ff)
        session.transfer(ff, SUCCESS)


def runner(mode: str) -> ProcessorRunner:
    r = ProcessorRunner(Misbehaves)
    r.set_property("Mode", mode)
    r.enqueue(b"payload", {"filename": "a.txt"})
    return r


def test_a_processing_error_rolls_back_penalizes_the_input_and_warns() -> None:
    r = runner("processing")
    r.run()  # not raised: the engine's answer to a ProcessingError is part of normal operation
    assert [type(e) for e in r.errors] == [ProcessingError]
    assert r.bulletins == [("WARNING", "failed to process session, input penalized: remote said no")]
    assert (r.queue_size, r.penalized_count, r.yield_count) == (1, 1, 0)
    assert r.flowfiles_for("success") == []


def test_the_penalty_runs_on_the_mock_clock() -> None:
    r = runner("processing")
    r.run()
    r.set_property("Mode", "ok")
    r.clock.advance(29.999)  # the default penalty is 30 s
    r.run()
    assert (r.penalized_count, r.flowfiles_for("success")) == (1, [])
    r.clock.advance(0.001)
    r.run()
    assert r.penalized_count == 0
    r.assert_all_transferred("success", 1)


def test_a_penalized_output_is_penalized_until_the_clock_passes_the_penalty() -> None:
    r = runner("penalize")
    r.run()
    out = r.flowfiles_for("success")[0]
    assert out.is_penalized(r.clock()) and out.is_penalized(r.clock() + 29_999)
    assert not out.is_penalized(r.clock() + 30_000)


def test_any_other_error_rolls_back_penalizes_yields_30_s_with_an_error_bulletin_and_is_raised() -> None:
    r = runner("runtime")
    with pytest.raises(RuntimeError, match="bug"):
        r.run()
    assert (r.yield_count, r.penalized_count) == (1, 1)
    [(level, message)] = r.bulletins
    assert level == "ERROR"
    assert message == ("failed to process session due to RuntimeError('bug'); rolled back, input penalized, "
                       "administratively yielded for 30 s")


def test_other_errors_are_only_recorded_without_raise_errors_and_each_trigger_yields() -> None:
    r = runner("runtime")
    r.enqueue_many([(b"2", {}), (b"3", {})])
    r.run(3, raise_errors=False)  # the runner triggers a yielding processor anyway, as NiFi's TestRunner
    assert [type(e) for e in r.errors] == [RuntimeError] * 3
    assert (r.yield_count, r.penalized_count) == (3, 3)
    assert [level for level, _ in r.bulletins] == ["ERROR"] * 3


def test_content_that_cannot_be_read_sends_its_flowfile_to_failure_next_time() -> None:
    r = runner("lost")
    r.run(raise_errors=False)
    assert [type(e) for e in r.errors] == [ContentNotFoundError]
    [(level, message)] = r.bulletins
    assert level == "ERROR" and message.startswith("the content of 1 flowfile(s) cannot be read")
    # rolled back without a penalty and without a yield: it is handled on the next take
    assert (r.queue_size, r.penalized_count, r.yield_count) == (1, 0, 0)
    r.run()  # the session sends it to failure before the processor sees it
    [failed] = r.flowfiles_for("failure")
    failed.assert_attribute_equals("flowyard.content.error", "content resource gone")
    failed.assert_content_equals(b"payload")  # (the test's "lost" resource is still readable here)
    assert r.flowfiles_for("success") == [] and r.queue_size == 0


def test_content_not_found_of_no_input_is_a_failure_with_a_yield() -> None:
    r = runner("missing")
    r.run(raise_errors=False)
    assert (r.penalized_count, r.yield_count) == (1, 1)
    [(level, message)] = r.bulletins
    assert level == "ERROR" and "rolled back, input penalized" in message


def test_a_full_disk_rolls_back_without_penalty_or_bulletin_and_tells_the_host() -> None:
    r = runner("full")
    r.run(raise_errors=False)
    assert [type(e) for e in r.host.storage_full_errors] == [StorageFullError]
    assert (r.bulletins, r.queue_size, r.penalized_count, r.yield_count) == ([], 1, 0, 0)


def test_a_processor_that_yields_is_counted_once_per_trigger() -> None:
    r = runner("yield")
    r.run(2)
    assert r.yield_count == 2
    r.assert_all_transferred("success", 1)
    assert r.errors == [] and r.bulletins == []

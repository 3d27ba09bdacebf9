from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from flowyard.processors import PROCESSORS
from flowyard.processors.testing import (
    TEST_PROCESSORS,
    CountingSink,
    Hold,
    RaiseError,
    Sleep,
    counted,
    hold_event,
    release_hold,
    reset_counts,
    reset_hold,
)
from flowyard.runtime.sdk import ProcessingError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner


def test_registry_is_separate_from_the_standard_library() -> None:
    assert sorted(TEST_PROCESSORS) == ["CountingSink", "Hold", "RaiseError", "Sleep"]
    assert not set(TEST_PROCESSORS) & set(PROCESSORS)


@pytest.mark.parametrize(
    ("exception_type", "raised", "yields"),
    [("RuntimeError", RuntimeError, 1), ("ProcessingError", ProcessingError, 0)],
)
def test_raise_error_rolls_back_and_penalizes(exception_type: str, raised: type[Exception], yields: int) -> None:
    r = ProcessorRunner(RaiseError)
    r.set_property("Exception Type", exception_type)
    r.set_property("Error Message", "boom")
    r.enqueue(b"kept", {})
    r.run(raise_errors=False)
    (error,) = r.errors
    assert isinstance(error, raised) and str(error) == "boom"
    assert r.yield_count == yields
    assert r.queue_size == 1 and r.penalized_count == 1
    r.assert_transferred("success", 0)


def test_raise_error_runtime_error_propagates_by_default() -> None:
    r = ProcessorRunner(RaiseError)
    with pytest.raises(RuntimeError, match="RaiseError was told to fail"):
        r.run()


def test_raise_error_failure_count() -> None:
    r = ProcessorRunner(RaiseError)
    r.set_property("Failure Count", "2")
    r.set_property("Exception Type", "ProcessingError")
    r.enqueue(b"x", {})
    r.run(2)
    assert len(r.errors) == 2
    r.clock.advance(60)  # wait out the penalty
    r.run()
    r.assert_all_transferred("success", 1)


@pytest.mark.parametrize(("duration", "minimum"), [("0 sec", 0.0), ("20 millis", 0.02)])
def test_sleep_blocks_then_passes_input_on(duration: str, minimum: float) -> None:
    r = ProcessorRunner(Sleep)
    r.set_property("Duration", duration)
    r.enqueue_many([(b"1", {}), (b"2", {})])
    started = time.monotonic()
    r.run()
    assert time.monotonic() - started >= minimum
    r.assert_all_transferred("success", 2)


@pytest.fixture
def hold_key(request: pytest.FixtureRequest) -> str:
    key = f"test-{request.node.name}"
    reset_hold(key)
    return key


def hold_runner(key: str, **properties: str) -> ProcessorRunner:
    r = ProcessorRunner(Hold)
    r.set_property("Hold Key", key)
    for name, value in properties.items():
        r.set_property(name, value)
    r.enqueue_many([(b"1", {}), (b"2", {})])
    return r


def test_hold_passes_through_once_released(hold_key: str) -> None:
    release_hold(hold_key)
    r = hold_runner(hold_key)
    r.run()
    r.assert_all_transferred("success", 2)


def test_hold_is_released_by_a_flag_file(hold_key: str, tmp_path: Path) -> None:
    flag = tmp_path / "release"
    flag.write_text("")
    r = hold_runner(hold_key, **{"Release Flag File": str(flag)})
    r.run()
    r.assert_all_transferred("success", 2)


def test_hold_gives_up_after_the_maximum_hold_time(hold_key: str) -> None:
    r = hold_runner(hold_key, **{"Maximum Hold Time": "0 sec"})
    r.run()
    assert isinstance(r.errors[0], ProcessingError)
    assert r.queue_size == 2 and r.penalized_count == 2
    assert isinstance(r.processor, Hold) and r.processor.holding == 0


def test_hold_keeps_flowfiles_in_its_session_until_released(hold_key: str) -> None:
    r = hold_runner(hold_key)
    processor = r.processor
    assert isinstance(processor, Hold)
    worker = threading.Thread(target=r.run)
    worker.start()
    try:
        assert processor.hold_started.wait(10)
        assert processor.holding == 2
        r.assert_transferred("success", 0)
    finally:
        release_hold(hold_key)
        worker.join(10)
    assert not worker.is_alive()
    r.assert_all_transferred("success", 2)
    assert hold_event(hold_key).is_set()


def test_counting_sink_drops_and_counts() -> None:
    reset_counts("sink-test")
    r = ProcessorRunner(CountingSink)
    r.set_property("Counter Name", "sink-test")
    r.enqueue_many([(b"abc", {}), (b"de", {})])
    r.run()
    r.assert_queue_empty()
    assert counted("sink-test") == (2, 5)
    processor = r.processor
    assert isinstance(processor, CountingSink) and (processor.count, processor.bytes) == (2, 5)
    assert len(r.provenance_events(ProvenanceEventType.DROP)) == 2
    reset_counts()
    assert counted("sink-test") == (0, 0)

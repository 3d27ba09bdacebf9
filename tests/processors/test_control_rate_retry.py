"""ControlRate and RetryFlowFile through ProcessorRunner (mock clock), with NiFi's
property names and relationships."""

from __future__ import annotations

import pytest

from flowyard.processors.control_rate import ControlRate
from flowyard.processors.retry_flowfile import RetryFlowFile
from flowyard.runtime.sdk.testing import ProcessorRunner


def rate(criteria: str, **props: str) -> ProcessorRunner:
    r = ProcessorRunner(ControlRate)
    r.set_property("Rate Control Criteria", criteria)
    r.set_property("Time Duration", "1 sec")
    for name, value in props.items():
        r.set_property(name.replace("_", " "), value)
    return r


def test_flowfile_count_holds_the_rest_until_the_next_window() -> None:
    r = rate("flowfile count", Maximum_Rate="3")
    r.enqueue_many([(b"x", {"n": str(i)}) for i in range(7)])
    r.run(stop_on_finish=False)
    r.assert_transferred("success", 3)
    assert r.queue_size == 4, "held in the queue, not dropped"
    assert [f.attributes["n"] for f in r.flowfiles_for("success")] == ["0", "1", "2"]
    r.run(stop_on_finish=False)
    r.assert_transferred("success", 3)
    assert r.yield_count == 1, "nothing could pass: it yields instead of spinning"
    r.clock.advance(1.0)
    r.run(stop_on_finish=False)
    r.assert_transferred("success", 6)
    r.clock.advance(1.0)
    r.run()
    r.assert_transferred("success", 7)
    r.assert_queue_empty()


def test_data_rate_lets_one_oversized_flowfile_through_an_empty_window() -> None:
    r = rate("data rate", Maximum_Rate="10 B")
    r.enqueue_many([(b"123456", {}), (b"12345", {}), (b"x" * 50, {})])
    r.run(stop_on_finish=False)
    r.assert_transferred("success", 1)
    r.clock.advance(1.0)
    r.run(stop_on_finish=False)
    r.assert_transferred("success", 2)
    r.clock.advance(1.0)
    r.run()
    r.assert_transferred("success", 3)


def test_route_to_rate_exceeded_and_grouping() -> None:
    r = rate("flowfile count", Maximum_Rate="1", Rate_Exceeded_Strategy="Route to 'rate exceeded'",
             Grouping_Attribute="customer")
    r.enqueue_many([(b"", {"customer": c}) for c in ("a", "a", "b", "b", "c")])
    r.run()
    assert [f.attributes["customer"] for f in r.flowfiles_for("success")] == ["a", "b", "c"]
    assert [f.attributes["customer"] for f in r.flowfiles_for("rate exceeded")] == ["a", "b"]


def test_attribute_value_sums_and_fails_non_numbers() -> None:
    r = rate("attribute value", Maximum_Rate="10", Rate_Controlled_Attribute="weight")
    r.enqueue_many([(b"", {"weight": "4"}), (b"", {"weight": "5"}), (b"", {"weight": "heavy"}),
                    (b"", {"weight": "3"})])
    r.run()
    assert [f.attributes["weight"] for f in r.flowfiles_for("success")] == ["4", "5"]
    r.assert_transferred("failure", 1)
    assert r.queue_size == 1


@pytest.mark.parametrize(("props", "subject"), [
    ({"Rate_Control_Criteria": "flowfile count"}, "Maximum Rate"),
    ({"Rate_Control_Criteria": "flowfile count", "Maximum_Rate": "lots"}, "Maximum Rate"),
    ({"Rate_Control_Criteria": "data rate", "Maximum_Rate": "3"}, "Maximum Rate"),
    ({"Rate_Control_Criteria": "attribute value", "Maximum_Rate": "3"}, "Rate Controlled Attribute"),
    ({"Rate_Control_Criteria": "data rate or flowfile count"}, "Maximum Data Rate"),
])
def test_invalid_configurations_name_the_property(props: dict[str, str], subject: str) -> None:
    r = ProcessorRunner(ControlRate)
    for name, value in props.items():
        r.set_property(name.replace("_", " "), value)
    reasons = " ".join(map(str, r.validation_results()))
    assert f"'{subject}' is invalid" in reasons


def retry(**props: str) -> ProcessorRunner:
    r = ProcessorRunner(RetryFlowFile, component_id="retry-1")
    for name, value in props.items():
        r.set_property(name.replace("_", " "), value)
    return r


def test_retries_count_up_then_give_up_with_the_dynamic_attributes() -> None:
    r = retry(Maximum_Retries="2")
    r.set_property("gave.up", "after ${flowfile.retries}")
    r.enqueue(b"job", {})
    r.run()
    first = r.flowfiles_for("retry")[0]
    first.assert_attribute_equals("flowfile.retries", "1")
    first.assert_attribute_equals("flowfile.retries.uuid", "retry-1")
    assert first.is_penalized(r.clock()), "retries wait their penalty"
    r.clear_transfer_state()
    r.enqueue(b"job", {"flowfile.retries": "2", "flowfile.retries.uuid": "retry-1"})
    r.run()
    r.assert_all_transferred("retries_exceeded", 1)
    r.flowfiles_for("retries_exceeded")[0].assert_attribute_equals("gave.up", "after 2")


@pytest.mark.parametrize(("mode", "relationship", "count"), [("fail", "failure", None), ("warn", "retry", "1"),
                                                              ("reset", "retry", "1")])
def test_reuse_mode(mode: str, relationship: str, count: str | None) -> None:
    r = retry(Reuse_Mode=mode)
    r.enqueue(b"", {"flowfile.retries": "2", "flowfile.retries.uuid": "someone-else"})
    r.run()
    r.assert_all_transferred(relationship, 1)
    if count is not None:
        r.flowfiles_for(relationship)[0].assert_attribute_equals("flowfile.retries", count)
    assert bool(r.bulletins) == (mode in ("fail", "warn"))


@pytest.mark.parametrize(("fail", "relationship"), [("true", "failure"), ("false", "retry")])
def test_non_numerical_counts(fail: str, relationship: str) -> None:
    r = retry(Fail_on_Nonnumerical_Overwrite=fail, Penalize_Retries="false")
    r.enqueue(b"", {"flowfile.retries": "many"})
    r.run()
    r.assert_all_transferred(relationship, 1)
    assert not r.flowfiles_for(relationship)[0].is_penalized(r.clock())


# -- ControlRate keeps its window (NiFi keeps its throttles unless the criteria change) ----------

def _count_rate(maximum: str = "3") -> ProcessorRunner:
    r = rate("flowfile count", Maximum_Rate=maximum)
    r.set_property("Time Duration", "1 min")
    r.enqueue_many([(b"x", {"n": str(i)}) for i in range(10)])
    r.run()
    r.assert_transferred("success", int(maximum))
    return r


def test_the_window_survives_a_stop_and_start() -> None:
    r = _count_rate()
    r.run()  # on_scheduled again, same window: nothing more passes
    r.assert_transferred("success", 3)
    r.clock.advance(60.0)
    r.run()
    r.assert_transferred("success", 6)


def test_a_new_maximum_applies_to_the_current_window() -> None:
    r = _count_rate()
    r.set_property("Maximum Rate", "5")  # a new processor instance, as a configuration change makes
    r.run()
    r.assert_transferred("success", 5)  # the window already let 3 through: 2 more, not 5 more
    r.run()
    r.assert_transferred("success", 5)


@pytest.mark.parametrize(("name", "value"), [
    ("Time Duration", "2 min"),
    ("Grouping Attribute", "n"),
    ("Rate Control Criteria", "data rate or flowfile count"),
])
def test_changing_what_the_window_means_starts_a_new_one(name: str, value: str) -> None:
    r = _count_rate()
    r.set_property(name, value)
    if value == "data rate or flowfile count":
        r.set_property("Maximum Data Rate", "1 MB")
        r.set_property("Maximum FlowFile Rate", "3")
    r.run()
    assert len(r.flowfiles_for("success")) > 3


def test_the_window_survives_a_restart_through_component_state() -> None:
    from flowyard.runtime.repository.state import ComponentState

    r = _count_rate()
    state = r.state()
    assert state["settings"] == "flowfile count\n60000\n\n"
    start, used_bytes, count, total = (int(x) for x in state["window."].split(","))
    assert (used_bytes, count, total) == (3, 3, 0)

    restarted = rate("flowfile count", Maximum_Rate="3")
    restarted.set_property("Time Duration", "1 min")
    restarted.clock.advance((start - restarted.clock()) / 1000 + 30)  # half-way through the old window
    restarted.repositories.state.set_now(restarted.component_id, ComponentState(state, 1))
    restarted.enqueue_many([(b"x", {}) for _ in range(5)])
    restarted.run()
    restarted.assert_transferred("success", 0)
    restarted.clock.advance(30.0)  # the old window has closed
    restarted.run()
    restarted.assert_transferred("success", 3)


def test_control_rate_runs_serially() -> None:
    from flowyard.processors.control_rate import ControlRate as CR
    from flowyard.runtime.sdk import ProcessContext

    context = ProcessContext(component_id="c", name="c", component_type="ControlRate",
                             specs=CR.spec.properties, properties={"rate-control-criteria": "flowfile count",
                                                                  "max-rate": "3"},
                             dynamic={}, concurrent_tasks=2)
    assert [r.subject for r in CR().validate(context)] == ["Concurrent Tasks"]

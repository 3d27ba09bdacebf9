"""EnforceOrder through ProcessorRunner on the mock clock; cases after NiFi's TestEnforceOrder."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from flowyard.processors.enforce_order import EnforceOrder
from flowyard.runtime.sdk.testing import ProcessorRunner

RELATIONSHIPS = ("success", "wait", "overtook", "failure", "skipped")


def runner(properties: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(EnforceOrder)
    r.set_property("Group Identifier", "${group}")
    r.set_property("Order Attribute", "index")
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def enqueue(r: ProcessorRunner, group: str, *orders: str, **extra: str) -> None:
    r.enqueue_many([(f"{group}.{o}", {"group": group, "index": o, **extra}) for o in orders])


def routed(r: ProcessorRunner) -> dict[str, list[str]]:
    """Contents per relationship, in queue order."""
    return {name: [ff.content.decode() for ff in r.flowfiles_for(name)] for name in RELATIONSHIPS
            if r.flowfiles_for(name)}


def loop_wait(r: ProcessorRunner) -> None:
    waiting = r.flowfiles_for("wait")
    r.clear_transfer_state()
    r.enqueue_many([(ff.content, ff.attributes) for ff in waiting])


def test_a_batch_is_sorted_within_groups() -> None:
    r = runner()
    enqueue(r, "b", "1", "0")
    enqueue(r, "a", "2", "0", "3", "1")
    r.run()
    assert routed(r) == {"success": ["a.0", "a.1", "a.2", "a.3", "b.0", "b.1"]}
    assert r.state() == {"a.target": "4", "a.updatedAt": str(r.clock.now_ms),
                         "b.target": "2", "b.updatedAt": str(r.clock.now_ms)}
    for ff in r.flowfiles_for("success"):
        ff.assert_attribute_equals("EnforceOrder.result", "success")
        ff.assert_attribute_equals("EnforceOrder.startedAt", str(r.clock.now_ms))
        assert "EnforceOrder.expectedOrder" not in ff.attributes and "EnforceOrder.detail" not in ff.attributes


def test_wait_then_release_when_the_missing_one_arrives() -> None:
    r = runner()
    enqueue(r, "a", "2", "1")
    r.run()
    assert routed(r) == {"wait": ["a.1", "a.2"]}
    for ff in r.flowfiles_for("wait"):
        ff.assert_attribute_equals("EnforceOrder.expectedOrder", "0")
        ff.assert_attribute_equals("EnforceOrder.result", "wait")
    started = r.flowfiles_for("wait")[0].attributes["EnforceOrder.startedAt"]
    loop_wait(r)
    r.clock.advance(5)
    enqueue(r, "a", "0")
    r.run()
    assert routed(r) == {"success": ["a.0", "a.1", "a.2"]}
    released = {ff.content: ff for ff in r.flowfiles_for("success")}
    assert released[b"a.1"].attributes["EnforceOrder.startedAt"] == started
    assert "EnforceOrder.expectedOrder" not in released[b"a.1"].attributes


def test_overtake_after_the_wait_timeout() -> None:
    r = runner({"Wait Timeout": "10 sec"})
    enqueue(r, "a", "3", "2")
    r.run()
    assert routed(r) == {"wait": ["a.2", "a.3"]}
    loop_wait(r)
    r.clock.advance(10)
    r.run()
    assert routed(r) == {"wait": ["a.2", "a.3"]}  # exactly at the timeout it still waits
    loop_wait(r)
    r.clock.advance(0.001)
    enqueue(r, "a", "5")  # arrives now: it has not waited
    r.run()
    assert routed(r) == {"overtook": ["a.2"], "success": ["a.3"], "wait": ["a.5"]}
    r.flowfiles_for("overtook")[0].assert_attribute_equals("EnforceOrder.expectedOrder", "0")
    r.flowfiles_for("overtook")[0].assert_attribute_equals("EnforceOrder.result", "overtook")
    r.flowfiles_for("wait")[0].assert_attribute_equals("EnforceOrder.expectedOrder", "4")
    assert r.state()["a.target"] == "4"
    loop_wait(r)
    r.clock.advance(10.001)
    r.run()
    assert routed(r) == {"overtook": ["a.5"]}
    assert r.state()["a.target"] == "6"


def test_late_arrivals_are_skipped() -> None:
    r = runner()
    enqueue(r, "a", "0", "1", "2")
    r.run()
    r.clear_transfer_state()
    enqueue(r, "a", "1")
    r.run()
    assert routed(r) == {"skipped": ["a.1"]}
    skipped = r.flowfiles_for("skipped")[0]
    skipped.assert_attribute_equals("EnforceOrder.expectedOrder", "3")
    skipped.assert_attribute_equals("EnforceOrder.detail", "Skipped, FlowFile order was 1 but current target is 3")
    assert r.bulletins  # a warning


def test_initial_order_from_an_attribute() -> None:
    r = runner({"Initial Order": "${start}"})
    enqueue(r, "a", "5", "6", start="5")
    enqueue(r, "b", "0", start="x")
    r.run()
    assert routed(r) == {"success": ["a.5", "a.6"], "failure": ["b.0"]}
    assert "Initial Order" in r.flowfiles_for("failure")[0].attributes["EnforceOrder.detail"]
    assert "b.target" not in r.state()


def test_maximum_order() -> None:
    r = runner({"Maximum Order": "${max}"})
    enqueue(r, "a", "0", "1", "2", "3", max="2")
    r.run()
    assert routed(r) == {"success": ["a.0", "a.1", "a.2"], "failure": ["a.3"]}
    assert r.flowfiles_for("failure")[0].attributes["EnforceOrder.detail"] == (
        "Order (3) is greater than the Maximum Order (2) for Group [a]")
    assert r.state()["a.target"] == "2" and r.state()["a.max"] == "2"  # the target stops at the maximum
    r.clear_transfer_state()
    enqueue(r, "a", "2", max="99")  # the maximum was computed once for the group
    r.run()
    assert routed(r) == {"success": ["a.2"]}


def test_overtaking_to_the_maximum_keeps_the_target_there() -> None:
    r = runner({"Maximum Order": "3", "Wait Timeout": "1 sec"})
    enqueue(r, "a", "3")
    r.run()
    loop_wait(r)
    r.clock.advance(2)
    r.run()
    assert routed(r) == {"overtook": ["a.3"]}
    assert r.state()["a.target"] == "3"


@pytest.mark.parametrize(
    ("attributes", "detail"),
    [
        ({"index": "1"}, "Failed to get Group Identifier."),
        ({"group": "a"}, "Failed to parse order attribute 'index': None is not an integer"),
        ({"group": "a", "index": "one"}, "Failed to parse order attribute 'index': 'one' is not an integer"),
        ({"group": "a", "index": " 1"}, "Failed to parse order attribute 'index': ' 1' is not an integer"),
        ({"group": "a", "index": "2147483648"}, "Failed to parse order attribute 'index': '2147483648' is not an "
                                                "integer"),
    ],
)
def test_failures(attributes: dict[str, str], detail: str) -> None:
    r = runner()
    r.enqueue(b"x", attributes)
    r.run()
    r.assert_all_transferred("failure", 1)
    ff = r.flowfiles_for("failure")[0]
    ff.assert_attribute_equals("EnforceOrder.detail", detail)
    ff.assert_attribute_equals("EnforceOrder.result", "failure")
    assert "EnforceOrder.startedAt" not in ff.attributes
    assert not ff.is_penalized(r.clock.now_ms)


def test_maximum_order_failures() -> None:
    r = runner({"Maximum Order": "${max}"})
    enqueue(r, "a", "0")
    enqueue(r, "b", "0", max="x")
    r.run()
    assert routed(r) == {"failure": ["a.0", "b.0"]}
    details = [ff.attributes["EnforceOrder.detail"] for ff in r.flowfiles_for("failure")]
    assert details[0] == "Maximum Order was specified but result was empty."
    assert "not an integer" in details[1]
    r.clear_transfer_state()
    enqueue(r, "b", "0", max="4")  # an unusable maximum is not kept: a later FlowFile can give one
    r.run()
    assert routed(r) == {"success": ["b.0"]}


def test_state_survives_a_restart() -> None:
    r = runner()
    enqueue(r, "a", "0", "1")
    r.run()
    r.stop()
    r.clear_transfer_state()
    enqueue(r, "a", "2")
    r.run()
    assert routed(r) == {"success": ["a.2"]}


def test_inactive_groups_are_forgotten() -> None:
    r = runner({"Wait Timeout": "1 min", "Inactive Timeout": "5 min"})
    enqueue(r, "a", "0", "1")
    r.run()
    r.clear_transfer_state()
    r.clock.advance(301)
    enqueue(r, "b", "0")
    r.run()
    assert "a.target" not in r.state() and r.state()["b.target"] == "1"
    r.clear_transfer_state()
    enqueue(r, "a", "2")  # the group starts again at the Initial Order
    r.run()
    assert routed(r) == {"wait": ["a.2"]}


def test_batch_count_limits_a_trigger() -> None:
    r = runner({"Batch Count": "2"})
    enqueue(r, "a", "1", "0", "2")
    r.run()
    assert routed(r) == {"success": ["a.0", "a.1"]}
    assert r.queue_size == 1
    r.run()
    assert routed(r) == {"success": ["a.0", "a.1", "a.2"]}



@pytest.mark.parametrize(
    ("properties", "valid"),
    [
        ({"Wait Timeout": "10 min", "Inactive Timeout": "10 min"}, False),
        ({"Wait Timeout": "31 min"}, False),
        ({"Wait Timeout": "1 min", "Inactive Timeout": "2 min"}, True),
        ({"Initial Order": "-1"}, False),
        ({"Maximum Order": "0"}, False),
        ({"Batch Count": "0"}, False),
        ({"Order Attribute": " "}, False),
    ],
)
def test_validation(properties: dict[str, str], valid: bool) -> None:
    r = runner(properties)
    assert (not r.validation_results()) is valid


def test_legacy_property_names() -> None:
    r = ProcessorRunner(EnforceOrder)
    legacy = {"group-id": "${g}", "order-attribute": "i", "initial-order": "1", "maximum-order": "9",
              "wait-timeout": "1 min", "inactive-timeout": "2 min", "batch-count": "5"}
    for name, value in legacy.items():
        r.set_property(name, value)
    assert dict(r.context.properties) == {
        "group-identifier": "${g}", "order-attribute": "i", "initial-order": "1", "maximum-order": "9",
        "batch-count": "5", "wait-timeout": "1 min", "inactive-timeout": "2 min",
    }


# -- NiFi's TestEnforceOrder ------------------------------------------------------------------


def test_sort() -> None:
    r = runner()
    enqueue(r, "b", "0")
    enqueue(r, "a", "1", "0")
    r.run()
    assert routed(r) == {"success": ["a.0", "a.1", "b.0"]}


def test_duplicated_order() -> None:
    r = runner({"Initial Order": "1"})
    enqueue(r, "b", "1")
    enqueue(r, "a", "2", "1", "2", "3")
    r.run()
    assert routed(r) == {"success": ["a.1", "a.2", "a.3", "b.1"], "skipped": ["a.2"]}
    r.flowfiles_for("skipped")[0].assert_attribute_equals("EnforceOrder.expectedOrder", "3")


def test_no_group_identifier_and_illegal_order() -> None:
    r = runner({"Initial Order": "1"})
    enqueue(r, "b", "1")
    enqueue(r, "a", "2")
    r.enqueue(b"no group id", {"index": "1"})
    r.enqueue(b"illegal order", {"group": "a", "index": "non-integer"})
    enqueue(r, "a", "1")
    r.run()
    assert routed(r) == {"success": ["a.1", "a.2", "b.1"], "failure": ["no group id", "illegal order"]}


def test_initial_order_value() -> None:
    r = runner({"Initial Order": "${index.start}", "Maximum Order": "${index.max}"})
    r.enqueue_many([
        (b"b.0", {"group": "b", "index": "0", "index.start": "0", "index.max": "99"}),
        (b"a.100", {"group": "a", "index": "100", "index.start": "100", "index.max": "103"}),
        (b"a.101", {"group": "a", "index": "101", "index.start": "100", "index.max": "103"}),
        (b"illegal initial order", {"group": "c", "index": "1", "index.start": "non-integer"}),
        (b"without initial order", {"group": "d", "index": "1"}),
        (b"b.1", {"group": "b", "index": "1"}),
    ])
    r.run()
    assert routed(r) == {"success": ["a.100", "a.101", "b.0", "b.1"],
                         "failure": ["illegal initial order", "without initial order"]}
    state = r.state()
    assert (state["a.target"], state["a.max"], state["b.target"], state["b.max"]) == ("102", "103", "2", "99")


def test_max_order() -> None:
    r = runner({"Group Identifier": "${fragment.identifier}", "Initial Order": "1",
                "Maximum Order": "${fragment.count}"})
    r.enqueue_many([
        (b"b.1", {"index": "1", "fragment.identifier": "b", "fragment.count": "3"}),
        (b"a.2", {"index": "2", "fragment.identifier": "a", "fragment.count": "2"}),
        (b"without max order", {"index": "1", "fragment.identifier": "c"}),
        (b"illegal max order", {"index": "1", "fragment.identifier": "d", "fragment.count": "X"}),
        (b"a.1", {"index": "1", "fragment.identifier": "a", "fragment.count": "2"}),
        (b"a.3", {"index": "3", "fragment.identifier": "a", "fragment.count": "2"}),
    ])
    r.run()
    assert routed(r) == {"success": ["a.1", "a.2", "b.1"],
                         "failure": ["without max order", "illegal max order", "a.3"]}
    assert (r.state()["a.target"], r.state()["a.max"]) == ("2", "2")


def test_wait_overtake_skip() -> None:
    r = runner({"Initial Order": "1", "Maximum Order": "10"})
    enqueue(r, "b", "1")
    enqueue(r, "a", "2", "1", "5")
    enqueue(r, "b", "3")
    enqueue(r, "c", "9")
    enqueue(r, "d", "10")
    r.run()
    assert routed(r) == {"success": ["a.1", "a.2", "b.1"], "wait": ["a.5", "b.3", "c.9", "d.10"]}
    state = r.state()
    assert [state[f"{g}.target"] for g in "abcd"] == ["3", "2", "1", "1"]
    loop_wait(r)
    r.run()
    assert routed(r) == {"wait": ["a.5", "b.3", "c.9", "d.10"]}
    r.set_property("Wait Timeout", "10 ms")
    loop_wait(r)
    r.clock.advance(0.02)
    enqueue(r, "b", "2")  # arrived in time
    enqueue(r, "a", "6")  # a.3 and a.4 have not arrived
    r.run()
    assert routed(r) == {"success": ["a.6", "b.2", "b.3"], "overtook": ["a.5", "c.9", "d.10"]}
    assert [ff.attributes["EnforceOrder.expectedOrder"] for ff in r.flowfiles_for("overtook")] == ["3", "1", "1"]
    state = r.state()
    assert [state[f"{g}.target"] for g in "abcd"] == ["7", "4", "10", "10"]
    r.clear_transfer_state()
    enqueue(r, "a", "3", "4")  # too late
    r.run()
    assert routed(r) == {"skipped": ["a.3", "a.4"]}

"""DistributeLoad through ProcessorRunner, and its strategies with partial availability."""

from __future__ import annotations

import pytest

from flowyard.processors.distribute_load import DistributeLoad, Distributor, relationship_weights
from flowyard.runtime.sdk import InvalidComponentError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner


def runner(properties: dict[str, str]) -> ProcessorRunner:
    r = ProcessorRunner(DistributeLoad)
    for name, value in properties.items():
        r.set_property(name, value)
    return r


def routed(r: ProcessorRunner, count: int) -> list[str]:
    """Relationship of each of ``count`` FlowFiles, in enqueue order."""
    names = sorted({name for name in map(str, range(1, 20)) if r.flowfiles_for(name)})
    order = {ff.attributes["n"]: name for name in names for ff in r.flowfiles_for(name)}
    return [order[str(i)] for i in range(count)]


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({}, ["1"]),
        ({"Number of Relationships": "4"}, ["1", "2", "3", "4"]),
        ({"Number of Relationships": "2", "2": "5"}, ["1", "2"]),
    ],
)
def test_relationships_follow_the_number(properties: dict[str, str], expected: list[str]) -> None:
    r = runner(properties)
    dynamic = {k: v for k, v in properties.items() if k.isdigit()}
    rels = DistributeLoad.relationships_for(dynamic, dict(r.context.properties))
    assert [rel.name for rel in rels] == expected


def test_round_robin_over_weights() -> None:
    r = runner({"Number of Relationships": "3", "2": "3"})
    r.enqueue_many([(b"", {"n": str(i)}) for i in range(10)])
    r.run()
    assert routed(r, 10) == ["1", "2", "2", "2", "3", "1", "2", "2", "2", "3"]
    for name in "123":
        for ff in r.flowfiles_for(name):
            ff.assert_attribute_equals("distribute.load.relationship", name)
    routes = r.provenance_events(ProvenanceEventType.ROUTE)
    assert len(routes) == 10


def test_the_turn_carries_on_across_triggers_and_restarts() -> None:
    r = runner({"Number of Relationships": "3"})
    r.enqueue(b"", {"n": "0"})
    r.run()
    r.enqueue(b"", {"n": "1"})
    r.run()
    assert routed(r, 2) == ["1", "2"]


@pytest.mark.parametrize(
    "properties",
    [
        {"Number of Relationships": "0"},
        {"Number of Relationships": "x"},
        {"Number of Relationships": "2", "3": "1"},
        {"Number of Relationships": "2", "0": "1"},
        {"Number of Relationships": "2", "one": "1"},
        {"Number of Relationships": "2", "2": "0"},
        {"Number of Relationships": "2", "2": "-1"},
        {"Number of Relationships": "2", "2": "2147483648"},
        {"Number of Relationships": "10001"},
        {"Number of Relationships": "9" * 30},
        {"Distribution Strategy": "random"},
    ],
)
def test_invalid_configurations(properties: dict[str, str]) -> None:
    r = runner(properties)
    r.enqueue(b"")
    with pytest.raises(InvalidComponentError):
        r.run()


@pytest.mark.parametrize("strategy", ["round robin", "next available"])
def test_strategies_with_everything_available(strategy: str) -> None:
    r = runner({"Number of Relationships": "2", "Distribution Strategy": strategy})
    r.enqueue_many([(b"", {"n": str(i)}) for i in range(4)])
    r.run(4)  # next available routes one FlowFile per trigger
    assert routed(r, 4) == ["1", "2", "1", "2"]


def test_overflow_with_everything_available_uses_the_first() -> None:
    r = runner({"Number of Relationships": "3", "Distribution Strategy": "overflow", "1": "2"})
    r.enqueue_many([(b"", {"n": str(i)}) for i in range(3)])
    r.run()
    assert r.queue_size == 2  # one FlowFile per trigger, as NiFi
    r.run(2)
    assert routed(r, 3) == ["1", "1", "1"]


def test_relationship_weights() -> None:
    assert relationship_weights(3, {"1": "2", "3": "3"}) == [("1", 2), ("2", 1), ("3", 3)]
    assert relationship_weights(1, {}) == [("1", 1)]
    assert relationship_weights(2, {"2": "9" * 30}) == [("1", 1), ("2", 1)]  # refused by validation


def test_huge_weights_cost_nothing() -> None:
    distributor = Distributor("round robin", [("1", 2**31 - 1), ("2", 1)])
    assert [distributor.choose({"1", "2"}) for _ in range(3)] == ["1", "1", "1"]
    distributor = Distributor("next available", [("1", 2**31 - 1), ("2", 1), ("3", 2)])
    assert [distributor.choose({"2", "3"}) for _ in range(4)] == ["2", "3", "3", "2"]


@pytest.mark.parametrize(
    ("strategy", "available", "expected"),
    [
        ("round robin", {"1", "2", "3"}, ["1", "2", "2", "3", "1", "2"]),
        ("round robin", {"1", "2"}, [None] * 6),
        ("next available", {"1", "3"}, ["1", "3", "1", "3", "1", "3"]),
        ("next available", {"2"}, ["2", "2", "2", "2", "2", "2"]),
        ("next available", set(), [None] * 6),
        ("overflow", {"2", "3"}, ["2"] * 6),
        ("overflow", {"3"}, ["3"] * 6),
        ("overflow", set(), [None] * 6),
    ],
)
def test_distributor_strategies(strategy: str, available: set[str], expected: list[str | None]) -> None:
    distributor = Distributor(strategy, [("1", 1), ("2", 2), ("3", 1)])
    assert [distributor.choose(available) for _ in expected] == expected


def test_empty_queue_does_nothing() -> None:
    r = runner({})
    r.run()
    r.assert_transferred("1", 0)


# -- NiFi's TestDistributeLoad ------------------------------------------------------------


def test_default_round_robin() -> None:
    r = runner({"Number of Relationships": "100"})
    r.enqueue_many([(b"", {}) for _ in range(101)])
    r.run(101)
    r.assert_transferred("1", 2)
    for n in range(2, 101):
        r.assert_transferred(str(n), 1)


def test_weighted_round_robin() -> None:
    r = runner({"Number of Relationships": "100", "1": "5", "2": "3"})
    r.enqueue_many([(b"", {}) for _ in range(106)])
    r.run(108)
    r.assert_transferred("1", 5)
    r.assert_transferred("2", 3)
    for n in range(3, 101):
        r.assert_transferred(str(n), 1)


def test_next_available_skips_an_unavailable_relationship() -> None:
    r = runner({"Number of Relationships": "100", "Distribution Strategy": "next available"})
    r.enqueue_many([(b"", {}) for _ in range(99)])
    r.set_relationship_unavailable("50")
    r.run(101)
    r.assert_queue_empty()
    for n in range(1, 101):
        r.assert_transferred(str(n), 0 if n == 50 else 1)
        for ff in r.flowfiles_for(str(n)):
            ff.assert_attribute_equals("distribute.load.relationship", str(n))


def test_overflow_follows_availability() -> None:
    r = runner({"Number of Relationships": "3", "Distribution Strategy": "overflow"})
    r.enqueue_many([(b"", {}) for _ in range(8)])

    def step(expected: dict[str, int]) -> None:
        r.run(2, stop_on_finish=False, initialize=True)
        for name, count in expected.items():
            r.assert_transferred(name, count)
        r.clear_transfer_state()

    step({"1": 2, "2": 0, "3": 0})
    r.set_relationship_unavailable("1")
    step({"1": 0, "2": 2, "3": 0})
    r.set_relationship_available("1")
    step({"1": 2, "2": 0, "3": 0})
    r.set_relationship_unavailable("1")
    r.set_relationship_unavailable("2")
    step({"1": 0, "2": 0, "3": 2})
    r.stop()


def test_round_robin_with_an_unavailable_relationship_yields() -> None:
    r = runner({"Number of Relationships": "2"})
    r.enqueue_many([(b"", {}) for _ in range(2)])
    r.set_relationship_unavailable("2")
    r.run()
    assert r.queue_size == 2 and r.yield_count == 1
    r.set_relationship_available("2")
    r.run()
    r.assert_transferred("1", 1)
    r.assert_transferred("2", 1)


def test_no_relationship_available_yields() -> None:
    r = runner({"Number of Relationships": "2", "Distribution Strategy": "overflow"})
    r.enqueue(b"")
    r.set_relationship_unavailable("1")
    r.set_relationship_unavailable("2")
    r.run()
    assert r.queue_size == 1 and r.yield_count == 1
